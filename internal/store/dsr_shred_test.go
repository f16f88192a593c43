package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestDSRForgetLeavesNoBytes registers an erasure request with a marker
// address and note, answers an access request of the same person with an
// export holding the marker, executes the erasure, and then looks in every
// file of the SQLite data directory for the marker (which is only ever
// stored sealed) and for the wrapped request keys, which must be gone.
func TestDSRForgetLeavesNoBytes(t *testing.T) {
	dir := t.TempDir()
	db := openTestDBAt(t, dir)
	ctx := testActor(t, db)
	a, _ := custos.ActorFrom(ctx)
	const marker = "zq9dsr.marker@example.com"
	c := &custos.Contact{Email: marker}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	verify := func(typ custos.DSRType) *custos.DSRRequest {
		r := &custos.DSRRequest{Type: typ, Email: marker}
		if err := db.CreateDSRRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddDSRNote(ctx, r.ID, "note about "+marker); err != nil {
			t.Fatal(err)
		}
		var token string
		if _, err := db.SendDSRVerification(ctx, r.ID, func(_, tok string) error { token = tok; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.VerifyDSRToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		return r
	}
	access, erasure := verify(custos.DSRAccess), verify(custos.DSRErasure)
	if _, err := db.AnswerDSRExport(ctx, access.ID, "json", []byte(`{"email":"`+marker+`"}`)); err != nil {
		t.Fatal(err)
	}
	var wrapped [][]byte
	for _, id := range []int64{access.ID, erasure.ID} {
		var w []byte
		if err := db.keysRead.QueryRowContext(ctx, `SELECT wrapped FROM request_keys WHERE workspace_id = ? AND request_id = ?`, a.WorkspaceID, id).Scan(&w); err != nil {
			t.Fatal(err)
		}
		wrapped = append(wrapped, w)
	}
	scan := func(when string, keysGone bool) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) < 2 {
			t.Fatalf("only %v in the data directory", files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(bytes.ToLower(b), []byte(marker)) {
				t.Errorf("%s: %s holds the marker address in plaintext", when, filepath.Base(f))
			}
			for _, w := range wrapped {
				if keysGone && bytes.Contains(b, w) {
					t.Errorf("%s: %s still holds a shredded request key", when, filepath.Base(f))
				}
			}
		}
	}
	scan("before the erasure", false)
	done, err := db.EraseDSRSubject(ctx, erasure.ID, custos.ForgetErase, false)
	if err != nil {
		t.Fatal(err)
	}
	if done.Answer.Certificate.Removed["dsr_requests"] != 2 {
		t.Fatalf("certificate %+v", done.Answer.Certificate)
	}
	scan("after the erasure", true)
}
