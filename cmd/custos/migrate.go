package main

import (
	"context"
	"fmt"
)

// migrate creates or migrates the database and exits.
func (m *Main) migrate(ctx context.Context, args []string) error {
	if err := m.flagSet("migrate").Parse(args); err != nil {
		return err
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "The %s database is up to date.\n", m.DB.Dialect())
	return nil
}
