package importer

import (
	"context"
	"errors"
	"io"
	"sync"

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
	// The file is read and mapped a chunk ahead, while the store writes
	// the chunk before. Unbuffered: with a buffer the reader, faster than
	// the store, would hold a second chunk ahead (about 12 MB of mapped rows
	// for chunks of 10,000) that the store never waits for.
	batches := make(chan batch)
	stop := make(chan struct{})
	var reader sync.WaitGroup
	defer func() { close(stop); reader.Wait() }()
	reader.Go(func() { readChunks(r, m, imp.LastLine, batches, stop) })
	for b := range batches {
		if len(b.rows)+len(b.rejected) > 0 {
			next, err := s.ImportChunk(ctx, imp.ID, b.rows, b.rejected, b.last, m.Unknown)
			if err != nil {
				return imp, err
			}
			imp = next
			if progress != nil {
				progress(imp)
			}
		}
		if b.err != nil {
			return fail(b.err)
		}
	}
	if imp.LastLine == 0 {
		// An empty file still records its unknown columns.
		next, err := s.ImportChunk(ctx, imp.ID, nil, nil, 1, m.Unknown)
		if err != nil {
			return imp, err
		}
		imp = next
	}
	return s.FinishImport(ctx, imp.ID, "")
}

// batch is a chunk of the file, read and mapped: the rows, the rows
// rejected, the last line it covers, and the error that ended the file.
type batch struct {
	rows     []custos.ImportRow
	rejected []custos.ImportRejection
	last     int64
	err      error
}

// readChunks reads the rows after line skip into batches of chunkRows
// until the end of the file, a fatal error (sent in the last batch) or
// stop.
func readChunks(r Reader, m *Mapping, skip int64, out chan<- batch, stop <-chan struct{}) {
	defer close(out)
	var b batch
	send := func() bool {
		select {
		case out <- b:
			b = batch{}
			return true
		case <-stop:
			return false
		}
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			send()
			return
		} else if err != nil {
			b.err = err
			send()
			return
		}
		line := int64(row.Line)
		if line <= skip {
			continue // committed by an earlier run
		}
		b.last = line
		if row.Err != nil {
			b.rejected = append(b.rejected, custos.ImportRejection{Line: line, Column: row.Err.Column, Reason: row.Err.Reason})
		} else if c, proof, rerr := m.Contact(row); rerr != nil {
			b.rejected = append(b.rejected, custos.ImportRejection{Line: line, Column: rerr.Column, Reason: rerr.Reason})
		} else {
			ir := custos.ImportRow{Line: line, Contact: c}
			if proof != nil {
				ir.ConsentAt, ir.ConsentText = &proof.At, proof.Text
			}
			b.rows = append(b.rows, ir)
		}
		if len(b.rows)+len(b.rejected) >= chunkRows && !send() {
			return
		}
	}
}
