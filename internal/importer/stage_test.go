package importer

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

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
