package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// audit verifies a workspace's audit chain; it fails when the chain is
// broken, so that a scheduled run raises an alarm.
func (m *Main) audit(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(m.Stderr, "Usage: custos audit verify [--workspace W]")
		return flag.ErrHelp
	}
	fs := m.flagSet("audit verify")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace whose audit log to verify")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	rep, err := m.DB.VerifyAudit(actx)
	if err != nil {
		return err
	}
	if !rep.OK {
		return errors.New("the audit log of workspace " + *workspace + " is broken: " + rep.Problem)
	}
	held := "no checkpoint yet"
	if rep.Checkpoints > 0 {
		held = "held to its checkpoint"
	}
	fmt.Fprintf(m.Stdout, "The audit log of workspace %s is intact: %d entries, %s.\n", *workspace, rep.Entries, held)
	return nil
}
