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
	ref := contactFlags(fs)
	format := fs.String("format", "json", "json, csv, xlsx or zip")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := ref.check(); err != nil {
		return err
	}
	if !web.ExportFormat(*format) {
		return errors.New("--format must be json, csv, xlsx or zip")
	}
	actx, id, err := m.resolve(ctx, ref, custos.RoleDPO)
	if err != nil {
		return err
	}
	x, err := m.DB.ExportContact(actx, id)
	if err != nil {
		return fmt.Errorf("export contact %d: %s", id, custos.ErrorMessage(err))
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
