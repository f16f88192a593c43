package importer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/vault"
)

// stage seals plain as Background.Stage does and returns the staged bytes.
func stage(t *testing.T, k *vault.FileKey, plain []byte) []byte {
	t.Helper()
	var staged bytes.Buffer
	w := &sealWriter{w: bufio.NewWriter(&staged), k: k}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return staged.Bytes()
}

func TestStagedFileSealed(t *testing.T) {
	k := vault.NewFileKey()
	plain := strings.Repeat("email,name\nmarker-person@example.com,Marker Person\n", 5000) // several segments
	staged := stage(t, k, []byte(plain))
	if bytes.Contains(staged, []byte("marker-person")) {
		t.Fatal("the staged file holds plaintext")
	}
	open := func(b []byte, k *vault.FileKey) (*stagedFile, error) {
		return openStaged(bytes.NewReader(b), int64(len(b)), k)
	}
	sf, err := open(staged, k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sf)
	if err != nil || string(got) != plain {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	// Read at any offset, across segments, and up to the end.
	for _, off := range []int{0, 1, segment - 3, segment, 2*segment + 17, len(plain) - 5} {
		p := make([]byte, 10)
		n, err := sf.ReadAt(p, int64(off))
		if want := plain[off:min(off+10, len(plain))]; string(p[:n]) != want || (n < 10) != (err == io.EOF) {
			t.Fatalf("at %d: %q, %v; want %q", off, p[:n], err, want)
		}
	}
	// Cut after a segment, or inside one, the file is refused, not read short.
	for _, cut := range []int{4 + int(staged[2])<<8 + int(staged[3]), len(staged) - 1} {
		if _, err := open(staged[:cut], k); err == nil || !strings.Contains(err.Error(), "cut short") && !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("cut at %d of %d: %v", cut, len(staged), err)
		}
	}
	// Another key opens nothing.
	if _, err := open(staged, vault.NewFileKey()); err == nil {
		t.Fatal("another key opened the file")
	}
	// A file of whole segments ends with an empty last one; an empty file
	// is one empty segment.
	for _, n := range []int{0, segment, 2 * segment} {
		b := bytes.Repeat([]byte("x"), n)
		sf, err := open(stage(t, k, b), k)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got, err := io.ReadAll(sf); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%d bytes: read %d, %v", n, len(got), err)
		}
	}
}

// TestStagedWorkbook: a staged workbook is read where it lies, through
// the staged file's ReadAt, not copied into memory; a staged CSV is read
// from its start.
func TestStagedWorkbook(t *testing.T) {
	k := vault.NewFileKey()
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"xlsx", book{rows: `<row r="1"><c t="inlineStr"><is><t>email</t></is></c></row><row r="2"><c t="inlineStr"><is><t>a@x.eu</t></is></c></row>`}.bytes(t)},
		{"csv", []byte("email\na@x.eu\n")},
	} {
		staged := stage(t, k, tt.data)
		sf, err := openStaged(bytes.NewReader(staged), int64(len(staged)), k)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Open(sf)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// Read from a stream, a workbook would have been read to its end.
		if _, book := r.(*xlsxReader); book != (tt.name == "xlsx") || book && sf.pos != 0 {
			t.Fatalf("%s: read as %T, to %d", tt.name, r, sf.pos)
		}
		row, err := r.Next()
		if err != nil || r.Header()[0]+" "+row.Cells[0] != "email a@x.eu" {
			t.Fatalf("%s: header %q, row %+v, %v", tt.name, r.Header(), row, err)
		}
		r.Close()
	}
}

// TestBackgroundResume leaves a staged upload and its key as a server
// stopped mid-import would, then starts a worker and resumes it: the import
// finishes, and the file and its key are gone.
func TestBackgroundResume(t *testing.T) {
	db, ctx, p := contractWorkspace(t)
	data := "email\nleft-behind@example.com\n"
	imp := start(t, db, ctx, data, custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisContract})
	dir := t.TempDir()
	a, _ := custos.ActorFrom(ctx)
	k := vault.NewFileKey()
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d-%d.import", a.WorkspaceID, imp.ID)))
	if err != nil {
		t.Fatal(err)
	}
	w := &sealWriter{w: bufio.NewWriter(f), k: k}
	io.WriteString(w, data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := db.PutImportKey(ctx, imp.ID, k); err != nil {
		t.Fatal(err)
	}
	bg := startBackground(t, dir, db)
	bg.Resume(a.WorkspaceID, imp.ID)
	bg.Resume(a.WorkspaceID, imp.ID+1) // no staged file: left alone
	bg.Flush()
	done, err := db.FindImport(ctx, imp.ID)
	if err != nil || done.Status != custos.ImportDone || done.Created != 1 {
		t.Fatalf("resumed import %+v %v", done, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left in the staging directory: %v", left)
	}
	if _, err := db.ImportKey(ctx, imp.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("the key: %v", err)
	}
}

// TestBackgroundWorkbook uploads a workbook through Stage: it is imported
// from the staged file, which then goes.
func TestBackgroundWorkbook(t *testing.T) {
	db, ctx, p := contractWorkspace(t)
	dir := t.TempDir()
	bg := startBackground(t, dir, db)
	data := book{rows: `<row r="1"><c t="inlineStr"><is><t>email</t></is></c></row><row r="2"><c t="inlineStr"><is><t>from-a-book@example.com</t></is></c></row>`}.bytes(t)
	imp, err := bg.Stage(ctx, "people.xlsx", custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisContract}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	bg.Flush()
	done, err := db.FindImport(ctx, imp.ID)
	if err != nil || done.Status != custos.ImportDone || done.Created != 1 {
		t.Fatalf("import %+v %v", done, err)
	}
	findByEmail(t, db, ctx, "from-a-book@example.com")
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left in the staging directory: %v", left)
	}
}

// TestBackgroundCutFile: a staged file cut short fails its import, which
// cannot succeed on a later start, and the file and its key go.
func TestBackgroundCutFile(t *testing.T) {
	db, ctx, p := contractWorkspace(t)
	data := strings.Repeat("email\ncut-person@example.com\n", 5000) // several segments
	imp := start(t, db, ctx, data, custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisContract})
	dir := t.TempDir()
	a, _ := custos.ActorFrom(ctx)
	k := vault.NewFileKey()
	staged := stage(t, k, []byte(data))
	first := 4 + int(staged[2])<<8 + int(staged[3])
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%d.import", a.WorkspaceID, imp.ID)), staged[:first], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.PutImportKey(ctx, imp.ID, k); err != nil {
		t.Fatal(err)
	}
	bg := startBackground(t, dir, db)
	bg.Resume(a.WorkspaceID, imp.ID)
	bg.Flush()
	done, err := db.FindImport(ctx, imp.ID)
	if err != nil || done.Status != custos.ImportFailed || !strings.Contains(done.Error, "cut short") || done.Created != 0 {
		t.Fatalf("import %+v %v", done, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left in the staging directory: %v", left)
	}
	if _, err := db.ImportKey(ctx, imp.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("the key: %v", err)
	}
}

// contractWorkspace opens a store with a workspace acting as admin and a
// purpose on the contract basis.
func contractWorkspace(t *testing.T) (*store.DB, context.Context, *custos.Purpose) {
	t.Helper()
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	p := &custos.Purpose{Name: "Service", LegalBasis: custos.BasisContract, Channel: "email"}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatal(err)
	}
	return db, ctx, p
}

// startBackground starts an import worker staging in dir, stopped when
// the test ends.
func startBackground(t *testing.T, dir string, db *store.DB) *Background {
	t.Helper()
	wctx, cancel := context.WithCancel(context.Background())
	bg, err := NewBackground(wctx, dir, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); bg.Wait() })
	return bg
}
