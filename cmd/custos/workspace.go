package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// workspace creates a workspace.
func (m *Main) workspace(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(m.Stderr, "Usage: custos workspace create NAME")
		return flag.ErrHelp
	}
	fs := m.flagSet("workspace create")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "Usage: custos workspace create NAME")
		return flag.ErrHelp
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	w := &custos.Workspace{Name: fs.Arg(0)}
	if err := m.DB.CreateWorkspace(ctx, w); err != nil {
		return fmt.Errorf("create workspace: %s", custos.ErrorMessage(err))
	}
	fmt.Fprintf(m.Stdout, "Created workspace %s (id %d). Give it an API key with: custos apikey create --workspace %s --role admin\n", w.Name, w.ID, w.Name)
	return nil
}
