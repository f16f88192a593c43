package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// contactRef is how a command names one contact: --workspace, and --id or
// --email.
type contactRef struct {
	workspace, email *string
	id               *int64
}

// contactFlags adds the flags that name one contact to fs.
func contactFlags(fs *flag.FlagSet) contactRef {
	return contactRef{
		workspace: fs.String("workspace", custos.DefaultWorkspace, "workspace of the contact"),
		id:        fs.Int64("id", 0, "id of the contact"),
		email:     fs.String("email", "", "e-mail address of the contact"),
	}
}

// check fails unless exactly one of --id and --email is given.
func (r contactRef) check() error {
	if (*r.id == 0) == (*r.email == "") {
		return errors.New("name the contact with exactly one of --id or --email")
	}
	return nil
}

// resolve opens the data directory and returns a context acting in the
// contact's workspace with the role, and the contact's id.
func (m *Main) resolve(ctx context.Context, r contactRef, role custos.Role) (context.Context, int64, error) {
	if _, err := m.open(ctx); err != nil {
		return nil, 0, err
	}
	actx, err := m.actAs(ctx, *r.workspace, role)
	if err != nil {
		return nil, 0, err
	}
	if *r.id != 0 {
		return actx, *r.id, nil
	}
	cs, _, err := m.DB.FindContacts(actx, custos.ContactFilter{Email: r.email, Limit: 1})
	if err != nil {
		return nil, 0, fmt.Errorf("find contact: %s", custos.ErrorMessage(err))
	} else if len(cs) == 0 {
		return nil, 0, errors.New("no contact has this e-mail address")
	}
	return actx, cs[0].ID, nil
}
