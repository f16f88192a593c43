package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// forget forgets one contact, named by id or e-mail address.
func (m *Main) forget(ctx context.Context, args []string) error {
	fs := m.flagSet("forget")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace of the contact")
	id := fs.Int64("id", 0, "id of the contact")
	email := fs.String("email", "", "e-mail address of the contact")
	mode := fs.String("mode", "", "erase or anonymize")
	request := fs.String("request-id", "", "reference of the data-subject request (never personal data)")
	suppress := fs.Bool("suppress", false, "keep a keyed hash of the address, so that the person is not added again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*id == 0) == (*email == "") {
		return errors.New("name the contact with exactly one of --id or --email")
	}
	req := custos.ForgetRequest{Mode: custos.ForgetMode(*mode), RequestID: *request, Suppress: *suppress}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("--%s %s", custos.AsError(err).Field, custos.ErrorMessage(err))
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	if *id, err = m.contactID(actx, *id, *email); err != nil {
		return err
	}
	t, err := m.DB.ForgetContact(actx, *id, req)
	if err != nil {
		return fmt.Errorf("forget contact %d: %s", *id, custos.ErrorMessage(err))
	}
	fmt.Fprintf(m.Stdout, "Contact %d forgotten (%s) at %s.\n", t.ContactID, t.Mode, t.ErasedAt.Format("2006-01-02 15:04:05 MST"))
	return nil
}
