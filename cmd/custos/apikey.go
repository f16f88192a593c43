package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// apikey creates an API key and prints it as the last line of its output.
func (m *Main) apikey(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(m.Stderr, "Usage: custos apikey create --workspace NAME --role ROLE [--name NAME]")
		return flag.ErrHelp
	}
	fs := m.flagSet("apikey create")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace of the key")
	role := fs.String("role", "", "role of the key: admin, manager, marketer, sales, viewer, dpo, or the workspace's own")
	name := fs.String("name", "", "a name to recognise the key by")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := custos.CheckRoleName("role", custos.Role(*role)); err != nil {
		return errors.New("--role must be a role: admin, manager, marketer, sales, viewer, dpo, or one made with POST /api/v1/roles")
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	k := &custos.APIKey{Name: *name, Role: custos.Role(*role)}
	token, err := m.DB.CreateAPIKey(actx, k)
	if err != nil {
		return fmt.Errorf("create api key: %s", custos.ErrorMessage(err))
	}
	fmt.Fprintf(m.Stdout, "Created API key %d (%s) in workspace %s. It is shown only now:\n%s\n", k.ID, k.Role, *workspace, token)
	return nil
}
