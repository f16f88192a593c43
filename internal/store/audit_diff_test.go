package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// TestAuditEntriesCarrySealedDiffs changes a contact through an API
// request: its entry holds the change's diff, sealed under the contact's
// key, opened only for a reader of personal data and nowhere in the clear
// at rest; once the contact is forgotten the diff is erased and the chain
// still verifies.
func TestAuditEntriesCarrySealedDiffs(t *testing.T) {
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	admin := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a, _ := custos.ActorFrom(admin)
	viewer := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: "test", Role: custos.RoleViewer})
	const oldName, newName, newEmail, tag = "Zq7OldNameMarker", "Zq7NewNameMarker", "zq7newmailmarker@example.com", "zq7tagmarker"
	markers := []string{oldName, newName, newEmail, tag}
	personal := markers[:3] // tags are kept in the clear on the contact itself
	c := mustContact(t, db, admin, "diff@example.com", map[string]any{"first_name": oldName})
	req := &custos.Request{Method: "PATCH", Route: "/api/v1/contacts/{id}", IP: "192.0.2.7", ContactID: c.ID}
	if _, err := db.UpdateContact(custos.WithRequest(admin, req), c.ID, custos.ContactUpdate{
		Email: ptr(newEmail), Tags: &[]string{tag}, Fields: map[string]any{"first_name": newName}}); err != nil {
		t.Fatal(err)
	}
	// A restriction changes the status: its entry has the status's diff.
	if _, err := db.RestrictContact(custos.WithRequest(admin, &custos.Request{Method: "POST", Route: "/api/v1/contacts/{id}/restrict", ContactID: c.ID}), c.ID, "checking"); err != nil {
		t.Fatal(err)
	}
	newest := func(ctx context.Context, n int) []*custos.AuditEntry {
		t.Helper()
		got, _, err := db.FindAudit(ctx, custos.AuditFilter{ContactID: &c.ID, Action: ptr(custos.AuditWrite), Limit: n})
		if err != nil || len(got) != n {
			t.Fatalf("audit: %d entries: %v", len(got), err)
		}
		return got
	}
	want := []custos.AuditChange{{Field: "email", Old: "diff@example.com", New: newEmail}, {Field: "tags", Old: []any{}, New: []any{tag}},
		{Field: "fields.first_name", Old: oldName, New: newName}}
	got := newest(admin, 2)
	upd, restrict := got[1], got[0]
	if upd.Route != "PATCH /api/v1/contacts/{id}" || upd.Diff == nil || upd.Diff.State != custos.DiffOpen || enc(t, upd.Diff.Changes) != enc(t, want) {
		t.Fatalf("update's entry %+v, diff %s; want %s", upd, enc(t, upd.Diff), enc(t, want))
	}
	if d := restrict.Diff; d == nil || d.State != custos.DiffOpen ||
		enc(t, d.Changes) != enc(t, []custos.AuditChange{{Field: "status", Old: "active", New: "restricted"}}) {
		t.Fatalf("restriction's diff %s", enc(t, d))
	}
	// Without personal_data:read: only the mark that a diff is sealed there.
	for _, e := range newest(viewer, 2) {
		if e.Diff == nil || e.Diff.State != custos.DiffSealed || e.Diff.Changes != nil {
			t.Fatalf("viewer sees diff %s", enc(t, e.Diff))
		}
		for _, m := range markers {
			if bytes.Contains([]byte(enc(t, e)), []byte(m)) {
				t.Fatalf("viewer's entry holds %q: %s", m, enc(t, e))
			}
		}
	}
	noPlaintext(t, db, cfg, markers, personal)

	if _, err := db.ForgetContact(admin, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "DSR-9"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := db.VerifyAudit(admin); err != nil || !rep.OK {
		t.Fatalf("verify after forgetting: %+v %v", rep, err)
	}
	for _, e := range newest(admin, 2) {
		if e.Diff == nil || e.Diff.State != custos.DiffErased || e.Diff.Changes != nil {
			t.Fatalf("forgotten contact's diff %s", enc(t, e.Diff))
		}
	}
	noPlaintext(t, db, cfg, markers, personal)
	// The hash covers the sealed diff: dropping it breaks the chain.
	off := "DROP TRIGGER audit_log_no_update"
	if db.Dialect() == "postgres" {
		off = "ALTER TABLE audit_log DISABLE TRIGGER USER"
	}
	if err := db.ExecRaw(context.Background(), off+"; UPDATE audit_log SET diff = NULL WHERE seq = "+itoa(upd.Seq)); err != nil {
		t.Fatal(err)
	}
	if rep, err := db.VerifyAudit(admin); err != nil || rep.OK || rep.Seq != upd.Seq {
		t.Fatalf("verify with a diff removed: %+v %v", rep, err)
	}
}

// TestImportAuditsEachUpdatedContact imports a row over an existing
// contact: its changed fields are in an entry of their own, as the import.
func TestImportAuditsEachUpdatedContact(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	p := mustPurpose(t, db, ctx, custos.BasisLegitimateInterests)
	c := mustContact(t, db, ctx, "imported@example.com", map[string]any{"first_name": "Before"})
	imp, err := db.StartImport(ctx, &custos.Import{Name: "people.csv", SHA256: strings.Repeat("a", 64),
		Options: custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisLegitimateInterests, Profile: custos.ProfileOverwrite}})
	if err != nil {
		t.Fatal(err)
	}
	rows := []custos.ImportRow{{Line: 2, Contact: &custos.Contact{Email: "imported@example.com", Fields: map[string]any{"first_name": "After"}}}}
	if _, err := db.ImportChunk(ctx, imp.ID, rows, nil, 2, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.FindAudit(ctx, custos.AuditFilter{ContactID: &c.ID, Action: ptr(custos.AuditContactChange)})
	if err != nil || len(got) != 1 {
		t.Fatalf("import's entries: %d %v", len(got), err)
	}
	want := []custos.AuditChange{{Field: "fields.first_name", Old: "Before", New: "After"}}
	if e := got[0]; e.Actor != "import:"+itoa(imp.ID) || e.Diff == nil || e.Diff.State != custos.DiffOpen || enc(t, e.Diff.Changes) != enc(t, want) {
		t.Fatalf("import's entry %+v, diff %s", e, enc(t, e.Diff))
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func enc(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noPlaintext fails when the audit log holds one of the markers, or on
// SQLite any file of the data directory (the WAL included) one of the
// personal ones.
func noPlaintext(t *testing.T, db *store.DB, cfg store.Config, markers, personal []string) {
	t.Helper()
	rows, err := db.RawBytes(context.Background(), `SELECT * FROM audit_log`)
	if err != nil || len(rows) == 0 {
		t.Fatalf("audit_log: %d bytes, %v", len(rows), err)
	}
	for _, m := range markers {
		if bytes.Contains(rows, []byte(m)) {
			t.Errorf("audit_log holds %q in plaintext", m)
		}
	}
	if cfg.DatabaseURL != "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range personal {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s holds %q in plaintext", filepath.Base(f), m)
			}
		}
	}
}
