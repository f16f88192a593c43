package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/importer"
)

// mapFlag collects --map COLUMN=FIELD flags.
type mapFlag map[string]string

func (f mapFlag) String() string { return "" }

func (f mapFlag) Set(s string) error {
	col, key, ok := strings.Cut(s, "=")
	if !ok || col == "" || key == "" {
		return errors.New("must be COLUMN=FIELD (FIELD - leaves the column out)")
	}
	f[col] = key
	return nil
}

// importFile imports a CSV or XLSX file of contacts. Running it again on
// the same file resumes where an interrupted run stopped.
func (m *Main) importFile(ctx context.Context, args []string) error {
	fs := m.flagSet("import")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace to import into")
	list := fs.Int64("list", 0, "id of the list the contacts join")
	purpose := fs.Int64("purpose", 0, "id of the purpose the contacts are processed for (required)")
	basis := fs.String("basis", "", "the purpose's legal basis: consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests (required)")
	notice := fs.String("notice", "", "for a consent purpose: the wording every person in the file agreed to")
	profile := fs.String("profile", string(custos.ProfileFillEmpty), "existing contacts' fields: overwrite, fill_empty or skip_existing")
	notFromSubject := fs.Bool("not-from-subject", false, "the data was not collected from the people themselves (Art. 14: they must be told within a month)")
	maps := mapFlag{}
	fs.Var(maps, "map", "COLUMN=FIELD, repeatable: the field a column goes to (- leaves it out)")
	// The file may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return errors.New("name one file: custos import FILE --purpose P --basis B [flags]")
	}
	o := custos.ImportOptions{ListID: *list, PurposeID: *purpose, Basis: custos.LegalBasis(*basis), Notice: *notice,
		Profile: custos.ProfilePolicy(*profile), NotFromSubject: *notFromSubject}
	if len(maps) > 0 {
		o.Map = maps
	}
	if err := o.Validate(); err != nil {
		flag := strings.NewReplacer("legal_basis", "basis", "purpose_id", "purpose", "list_id", "list").Replace(custos.AsError(err).Field)
		return fmt.Errorf("--%s %s", flag, custos.ErrorMessage(err))
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	imp, err := m.DB.StartImport(actx, &custos.Import{Name: filepath.Base(files[0]), SHA256: hex.EncodeToString(h.Sum(nil)), Options: o})
	if err != nil {
		return fmt.Errorf("import: %s", custos.ErrorMessage(err))
	}
	if imp.Status == custos.ImportDone {
		fmt.Fprintf(m.Stderr, "This file was imported already as import %d.\n", imp.ID)
		return m.importSummary(actx, imp)
	}
	if imp.LastLine > 0 {
		fmt.Fprintf(m.Stderr, "Resuming import %d after line %d.\n", imp.ID, imp.LastLine)
	}
	cr := &countingReader{f: f}
	var progress func(*custos.Import)
	tty := isTerminal(m.Stderr)
	if tty {
		progress = func(i *custos.Import) {
			fmt.Fprintf(m.Stderr, "\r%s %d rows: %d created, %d updated, %d rejected, %d skipped ",
				bar(cr.n.Load(), size), i.Done, i.Created, i.Updated, i.Rejected, i.Skipped)
		}
	}
	imp, err = importer.Run(actx, m.DB, imp, cr, progress)
	if tty {
		fmt.Fprintln(m.Stderr)
	}
	if err != nil {
		if imp != nil && imp.Status == custos.ImportFailed {
			return fmt.Errorf("import %d failed: %s", imp.ID, imp.Error)
		}
		return fmt.Errorf("import %d stopped: %s (run the same command again to resume)", imp.ID, custos.ErrorMessage(err))
	}
	return m.importSummary(actx, imp)
}

// importSummary prints the result line to standard error and the rejected
// rows, one a line, to standard output.
func (m *Main) importSummary(ctx context.Context, imp *custos.Import) error {
	fmt.Fprintf(m.Stderr, "Import %d %s: %d rows, %d created, %d updated, %d rejected, %d skipped (restricted).\n",
		imp.ID, imp.Status, imp.Done, imp.Created, imp.Updated, imp.Rejected, imp.Skipped)
	if len(imp.Unknown) > 0 {
		fmt.Fprintf(m.Stderr, "Columns not imported (no field matches; map them with --map COLUMN=FIELD or leave them out with --map COLUMN=-): %s\n",
			strings.Join(imp.Unknown, ", "))
	}
	for after := int64(0); ; {
		rs, next, err := m.DB.ImportRejections(ctx, imp.ID, after, custos.MaxLimit)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Column != "" {
				fmt.Fprintf(m.Stdout, "line %d, column %s: %s\n", r.Line, r.Column, r.Reason)
			} else {
				fmt.Fprintf(m.Stdout, "line %d: %s\n", r.Line, r.Reason)
			}
		}
		if next == 0 {
			return nil
		}
		after = next
	}
}

// countingReader counts the bytes read from the file, for the progress
// bar. It reads at offsets and seeks too, so the importer reads a
// workbook where it lies instead of into memory.
type countingReader struct {
	f *os.File
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.f.Seek(off, whence) }

var _ interface {
	io.ReaderAt
	io.Seeker
} = (*countingReader)(nil)

// bar draws a progress bar of done out of total bytes.
func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		total = 1
	}
	n := int(min(done, total) * width / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", n), strings.Repeat(" ", width-n), min(done, total)*100/total)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
