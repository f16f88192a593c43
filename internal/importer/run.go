package importer

import (
	"context"
	"errors"
	"io"

	"github.com/custos/custos/internal/custos"
)

// chunkRows is how many rows go to the store per transaction (and per
// checkpoint); tests make it small.
var chunkRows = 10000

// Store is what a run needs of the service.
type Store interface {
	FindFields(ctx context.Context) ([]*custos.FieldDef, error)
	ImportChunk(ctx context.Context, id int64, rows []custos.ImportRow, rejected []custos.ImportRejection, lastLine int64, unknown []string) (*custos.Import, error)
	FinishImport(ctx context.Context, id int64, failure string) (*custos.Import, error)
}

// Run reads the file of a started import row by row and stores it a chunk
// at a time, skipping the rows up to the import's checkpoint (a run that
// resumes). progress, when not nil, sees the import after every chunk. A
// file that cannot be read fails the import with a message that names the
// line; a cancelled ctx leaves it running, to be resumed.
func Run(ctx context.Context, s Store, imp *custos.Import, file io.Reader, progress func(*custos.Import)) (*custos.Import, error) {
	fail := func(err error) (*custos.Import, error) {
		if ctx.Err() != nil {
			return imp, ctx.Err()
		}
		msg := err.Error()
		if e := custos.AsError(err); e != nil {
			msg = e.Message
			if e.Field != "" {
				msg = e.Field + ": " + msg
			}
		}
		done, ferr := s.FinishImport(ctx, imp.ID, msg)
		if ferr != nil {
			return imp, ferr
		}
		return done, err
	}
	r, err := Open(file)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	defs, err := s.FindFields(ctx)
	if err != nil {
		return imp, err
	}
	m, err := NewMapping(r.Header(), imp.Options.Map, defs)
	if err != nil {
		return fail(err)
	}
	var rows []custos.ImportRow
	var rejected []custos.ImportRejection
	last := int64(0)
	flush := func() error {
		if len(rows) == 0 && len(rejected) == 0 {
			return nil
		}
		next, err := s.ImportChunk(ctx, imp.ID, rows, rejected, last, m.Unknown)
		if err != nil {
			return err
		}
		imp = next
		rows, rejected = rows[:0], rejected[:0]
		if progress != nil {
			progress(imp)
		}
		return nil
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			if ferr := flush(); ferr != nil {
				return imp, ferr
			}
			return fail(err)
		}
		if int64(row.Line) <= imp.LastLine {
			continue // committed by an earlier run
		}
		last = int64(row.Line)
		if row.Err != nil {
			rejected = append(rejected, custos.ImportRejection{Line: last, Column: row.Err.Column, Reason: row.Err.Reason})
		} else if c, proof, rerr := m.Contact(row); rerr != nil {
			rejected = append(rejected, custos.ImportRejection{Line: last, Column: rerr.Column, Reason: rerr.Reason})
		} else {
			ir := custos.ImportRow{Line: last, Contact: c}
			if proof != nil {
				ir.ConsentAt, ir.ConsentText = &proof.At, proof.Text
			}
			rows = append(rows, ir)
		}
		if len(rows)+len(rejected) >= chunkRows {
			if err := flush(); err != nil {
				return imp, err
			}
		}
	}
	if err := flush(); err != nil {
		return imp, err
	}
	if imp.LastLine == 0 {
		// An empty file still records its unknown columns.
		if imp, err = s.ImportChunk(ctx, imp.ID, nil, nil, 1, m.Unknown); err != nil {
			return imp, err
		}
	}
	return s.FinishImport(ctx, imp.ID, "")
}
