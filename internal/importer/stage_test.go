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
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/vault"
)

func TestStagedFileSealed(t *testing.T) {
	k := vault.NewFileKey()
	plain := strings.Repeat("email,name\nmarker-person@example.com,Marker Person\n", 5000) // several segments
	var staged bytes.Buffer
	w := &sealWriter{w: bufio.NewWriter(&staged), k: k}
	if _, err := io.Copy(w, strings.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(staged.Bytes(), []byte("marker-person")) {
		t.Fatal("the staged file holds plaintext")
	}
	got, err := io.ReadAll(&openReader{r: bufio.NewReader(bytes.NewReader(staged.Bytes())), k: k})
	if err != nil || string(got) != plain {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	// Cut after its first segment, the file is refused, not read short.
	first := 4 + int(staged.Bytes()[2])<<8 + int(staged.Bytes()[3])
	if _, err := io.ReadAll(&openReader{r: bufio.NewReader(bytes.NewReader(staged.Bytes()[:first])), k: k}); err == nil {
		t.Fatal("a cut file read without an error")
	}
	// Another key opens nothing.
	if _, err := io.ReadAll(&openReader{r: bufio.NewReader(bytes.NewReader(staged.Bytes())), k: vault.NewFileKey()}); err == nil {
		t.Fatal("another key opened the file")
	}
}

// TestBackgroundResume leaves a staged upload and its key as a server
// stopped mid-import would, then starts a worker and resumes it: the import
// finishes, and the file and its key are gone.
func TestBackgroundResume(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	p := &custos.Purpose{Name: "Service", LegalBasis: custos.BasisContract, Channel: "email"}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatal(err)
	}
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
	wctx, cancel := context.WithCancel(context.Background())
	bg, err := NewBackground(wctx, dir, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); bg.Wait() }()
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
