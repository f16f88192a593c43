package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/web"
)

// export writes everything held about one contact, for an access or
// portability request, to a file or standard output.
func (m *Main) export(ctx context.Context, args []string) error {
	fs := m.flagSet("export")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace of the contact")
	id := fs.Int64("id", 0, "id of the contact")
	email := fs.String("email", "", "e-mail address of the contact")
	format := fs.String("format", "json", "json, csv, xlsx or zip")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !web.ExportFormat(*format) {
		return errors.New("--format must be json, csv, xlsx or zip")
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleDPO)
	if err != nil {
		return err
	}
	if *id, err = m.contactID(actx, *id, *email); err != nil {
		return err
	}
	x, err := m.DB.ExportContact(actx, *id)
	if err != nil {
		return fmt.Errorf("export contact %d: %s", *id, custos.ErrorMessage(err))
	}
	var w io.Writer = m.Stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return web.NewExporter().Write(w, x, *format)
}

// contactID returns id, or the id of the contact with the address: exactly
// one of them must be given.
func (m *Main) contactID(ctx context.Context, id int64, email string) (int64, error) {
	if (id == 0) == (email == "") {
		return 0, errors.New("name the contact with exactly one of --id or --email")
	}
	if id != 0 {
		return id, nil
	}
	cs, _, err := m.DB.FindContacts(ctx, custos.ContactFilter{Email: &email, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("find contact: %s", custos.ErrorMessage(err))
	} else if len(cs) == 0 {
		return 0, errors.New("no contact has this e-mail address")
	}
	return cs[0].ID, nil
}
