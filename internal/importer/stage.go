package importer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/durable"
	"github.com/custos/custos/internal/vault"
)

// segment is how much plaintext of a staged file each sealed segment holds.
const segment = 64 << 10

// sealWriter encrypts a stream into length-prefixed segments, each sealed
// under its number; the last under its number and ".last", so that a cut
// file is noticed.
type sealWriter struct {
	w   *bufio.Writer
	k   *vault.FileKey
	buf []byte
	n   int
}

func (s *sealWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		room := segment - len(s.buf)
		take := min(room, len(p))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == segment {
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
	}
	return total, nil
}

func (s *sealWriter) flush(last bool) error {
	name := strconv.Itoa(s.n)
	if last {
		name += ".last"
	}
	sealed := s.k.Seal(name, s.buf)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(sealed)))
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(sealed); err != nil {
		return err
	}
	s.n++
	s.buf = s.buf[:0]
	return nil
}

// Close seals the last segment.
func (s *sealWriter) Close() error {
	if err := s.flush(true); err != nil {
		return err
	}
	return s.w.Flush()
}

// stagedFile reads what a sealWriter wrote, at any offset, a segment at a
// time: a workbook, read from its end, is then read where it lies, not
// held in memory. Every segment but the last is sealed to the same size,
// so segment i starts at i times that size plus its length prefix.
type stagedFile struct {
	f      io.ReaderAt
	k      *vault.FileKey
	over   int64 // bytes sealing adds to a segment
	stride int64 // bytes of a full segment on disk, its length prefix included
	n      int64 // segments
	size   int64 // bytes of plaintext
	pos    int64 // where Read reads, for Read and Seek
	mu     sync.Mutex
	seg    int64 // the segment in plain, -1 for none
	plain  []byte
}

var errStagedCut = errors.New("the staged file is cut short")

// openStaged checks a staged file of size bytes on disk: its last segment
// must open as the last, so a file cut at a segment's end is refused.
func openStaged(f io.ReaderAt, size int64, k *vault.FileKey) (*stagedFile, error) {
	s := &stagedFile{f: f, k: k, seg: -1}
	s.over = int64(len(k.Seal("0", nil)))
	s.stride = 4 + segment + s.over
	s.n = (size + s.stride - 1) / s.stride
	if s.n == 0 {
		return nil, errStagedCut
	}
	plain, err := s.load(s.n - 1)
	if err != nil {
		return nil, err
	}
	if (s.n-1)*s.stride+4+int64(len(plain))+s.over != size {
		return nil, errors.New("the staged file is damaged")
	}
	s.size = (s.n-1)*segment + int64(len(plain))
	return s, nil
}

// load reads and opens segment i, under its number or, the last one,
// under its number and ".last".
func (s *stagedFile) load(i int64) ([]byte, error) {
	var l [4]byte
	if _, err := s.f.ReadAt(l[:], i*s.stride); err != nil {
		return nil, errStagedCut
	}
	size := int64(binary.BigEndian.Uint32(l[:]))
	if size > s.stride-4 {
		return nil, errors.New("the staged file is damaged")
	}
	sealed := make([]byte, size)
	if _, err := s.f.ReadAt(sealed, i*s.stride+4); err != nil {
		return nil, errStagedCut
	}
	name := strconv.FormatInt(i, 10)
	if i == s.n-1 {
		name += ".last"
	}
	plain, err := s.k.Open(name, sealed)
	if err != nil {
		if i == s.n-1 {
			if _, err := s.k.Open(strconv.FormatInt(i, 10), sealed); err == nil {
				return nil, errStagedCut
			}
		}
		return nil, errors.New("the staged file is damaged")
	}
	if i < s.n-1 && len(plain) != segment {
		return nil, errors.New("the staged file is damaged")
	}
	return plain, nil
}

// ReadAt reads the plaintext at off.
func (s *stagedFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(p) {
		if off >= s.size {
			return n, io.EOF
		}
		if i := off / segment; i != s.seg {
			plain, err := s.load(i)
			if err != nil {
				return n, err
			}
			s.seg, s.plain = i, plain
		}
		c := copy(p[n:], s.plain[off-s.seg*segment:])
		n += c
		off += int64(c)
	}
	return n, nil
}

func (s *stagedFile) Read(p []byte) (int, error) {
	n, err := s.ReadAt(p, s.pos)
	s.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (s *stagedFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 {
		return 0, errors.New("negative position")
	}
	s.pos = offset
	return offset, nil
}

// BackgroundStore is what background imports need of the store.
type BackgroundStore interface {
	Store
	StartImport(ctx context.Context, imp *custos.Import) (*custos.Import, error)
	FindImport(ctx context.Context, id int64) (*custos.Import, error)
	PutImportKey(ctx context.Context, id int64, k *vault.FileKey) error
	ImportKey(ctx context.Context, id int64) (*vault.FileKey, error)
	DropImportKey(ctx context.Context, id int64) error
}

// Background runs uploaded imports, one at a time, from files staged
// encrypted under a key of their own in dir. The file and its key are
// deleted when the import ends; a stopped server leaves both, and Resume
// takes the import up again after the restart.
type Background struct {
	dir  string
	db   BackgroundStore
	log  *slog.Logger
	ctx  context.Context
	jobs chan context.Context // an actor's context naming the import
	wg   sync.WaitGroup
	mu   sync.Mutex
	busy map[string]bool // imports queued or running, by file name
	// pending counts the jobs queued or running, for Flush.
	pending sync.WaitGroup
}

// Flush waits until every queued import has run.
func (b *Background) Flush() { b.pending.Wait() }

// NewBackground starts the worker; it stops when ctx ends. Upload names
// left by a crash before their import was recorded are removed.
func NewBackground(ctx context.Context, dir string, db BackgroundStore, log *slog.Logger) (*Background, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "upload-*.tmp"))
	for _, f := range stale {
		os.Remove(f)
	}
	b := &Background{dir: dir, db: db, log: log, ctx: ctx, jobs: make(chan context.Context, 1000), busy: map[string]bool{}}
	b.wg.Go(b.work)
	return b, nil
}

// Wait waits for the worker to stop after its context ends.
func (b *Background) Wait() { b.wg.Wait() }

func (b *Background) file(ws, id int64) string {
	return filepath.Join(b.dir, fmt.Sprintf("%d-%d.import", ws, id))
}

// Stage encrypts the upload to disk while hashing it, records the import
// (or finds the one of the same file) and queues it. It returns at once.
func (b *Background) Stage(ctx context.Context, name string, o custos.ImportOptions, r io.Reader) (*custos.Import, error) {
	a, ok := custos.ActorFrom(ctx)
	if !ok {
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "no actor")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(b.dir, "upload-*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	k := vault.NewFileKey()
	h := sha256.New()
	sw := &sealWriter{w: bufio.NewWriterSize(tmp, 256<<10), k: k}
	if _, err := io.Copy(io.MultiWriter(sw, h), r); err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	imp, err := b.db.StartImport(ctx, &custos.Import{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Options: o})
	if err != nil {
		return nil, err
	}
	if imp.Status != custos.ImportRunning {
		return imp, nil // done before: nothing to do
	}
	dst := b.file(a.WorkspaceID, imp.ID)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy[dst] {
		return imp, nil // the same file is queued or running
	}
	if err := b.db.PutImportKey(ctx, imp.ID, k); err != nil {
		return nil, err
	}
	// The upload is answered as taken: a power cut must not undo the
	// rename and leave the import running without its file.
	if err := durable.Rename(tmp.Name(), dst); err != nil {
		return nil, err
	}
	b.queue(custos.WithActor(context.Background(), a), dst)
	return imp, nil
}

// Resume queues a running import of the workspace whose staged file is
// still there (a server stopped during it). An import without one, such as
// a command-line import, is left alone.
func (b *Background) Resume(ws, id int64) {
	dst := b.file(ws, id)
	if _, err := os.Stat(dst); err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.busy[dst] {
		b.queue(custos.WithActor(context.Background(), custos.Actor{WorkspaceID: ws, Kind: custos.ActorSystem, Role: custos.RoleAdmin}), dst)
	}
}

// queue adds a job; b.mu is held.
func (b *Background) queue(actx context.Context, dst string) {
	b.busy[dst] = true
	b.pending.Add(1)
	select {
	case b.jobs <- context.WithValue(actx, fileKey{}, dst):
	default:
		b.pending.Done()
		// The queue is full: the file stays staged, and the next start
		// resumes it.
		delete(b.busy, dst)
		b.log.Warn("import queue full; the import resumes at the next start", "file", filepath.Base(dst))
	}
}

type fileKey struct{}

func (b *Background) work() {
	for {
		select {
		case <-b.ctx.Done():
			return
		case job := <-b.jobs:
			b.run(job)
		}
	}
}

// run imports one staged file; when the import ends (done or failed) the
// file and its key go.
func (b *Background) run(job context.Context) {
	dst := job.Value(fileKey{}).(string)
	defer b.pending.Done()
	defer func() {
		b.mu.Lock()
		delete(b.busy, dst)
		b.mu.Unlock()
	}()
	a, _ := custos.ActorFrom(job)
	ctx := custos.WithActor(b.ctx, a)
	var id int64
	fmt.Sscanf(filepath.Base(dst), "%d-%d.import", new(int64), &id)
	imp, err := b.db.FindImport(ctx, id)
	if err != nil {
		b.log.Error("import", "id", id, "err", err)
		return
	}
	end := func() {
		os.Remove(dst)
		if err := b.db.DropImportKey(ctx, id); err != nil {
			b.log.Error("import: drop the staged file's key", "id", id, "err", err)
		}
	}
	if imp.Status != custos.ImportRunning {
		end()
		return
	}
	k, err := b.db.ImportKey(ctx, id)
	if err != nil {
		b.db.FinishImport(ctx, id, "the uploaded file's key is gone; upload the file again")
		end()
		return
	}
	f, err := os.Open(dst)
	if err != nil {
		b.log.Error("import: open the staged file", "id", id, "err", err)
		return
	}
	defer f.Close()
	var file io.Reader
	st, err := f.Stat()
	if err == nil {
		file, err = openStaged(f, st.Size(), k)
	}
	if err != nil {
		b.db.FinishImport(ctx, id, err.Error())
		end()
		return
	}
	imp, err = Run(ctx, b.db, imp, file, nil)
	if ctx.Err() != nil {
		return // stopped with the server: resumed at the next start
	}
	if err != nil {
		b.log.Warn("import failed", "id", id, "err", custos.ErrorMessage(err))
		switch custos.ErrorCode(err) {
		case custos.EINVALID, custos.ECONFLICT, custos.ECONSENT, custos.EGONE:
			// Running it again would fail the same way: end it, and with
			// it the staged file and its key.
			b.db.FinishImport(ctx, id, "the import stopped: "+custos.ErrorMessage(err))
		default:
			if imp == nil || imp.Status == custos.ImportRunning {
				return // a store error: left running, resumed at the next start
			}
		}
	}
	end()
}
