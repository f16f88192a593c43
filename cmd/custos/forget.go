package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// forget forgets one contact, named by id or e-mail address.
func (m *Main) forget(ctx context.Context, args []string) error {
	fs := m.flagSet("forget")
	ref := contactFlags(fs)
	mode := fs.String("mode", "", "erase or anonymize")
	request := fs.String("request-id", "", "reference of the data-subject request (never personal data)")
	suppress := fs.Bool("suppress", false, "keep a keyed hash of the address, so that the person is not added again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := ref.check(); err != nil {
		return err
	}
	req := custos.ForgetRequest{Mode: custos.ForgetMode(*mode), RequestID: *request, Suppress: *suppress}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("--%s %s", strings.ReplaceAll(custos.AsError(err).Field, "_", "-"), custos.ErrorMessage(err))
	}
	actx, id, err := m.resolve(ctx, ref, custos.RoleAdmin)
	if err != nil {
		return err
	}
	t, err := m.DB.ForgetContact(actx, id, req)
	if err != nil {
		return fmt.Errorf("forget contact %d: %s", id, custos.ErrorMessage(err))
	}
	fmt.Fprintf(m.Stdout, "Contact %d forgotten (%s) at %s; removed: %v.\n", t.ContactID, t.Mode, t.ErasedAt.Format("2006-01-02 15:04:05 MST"), t.Removed)
	warnPendingScrubs(m)
	return nil
}
