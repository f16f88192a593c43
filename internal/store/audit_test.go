package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// audited returns a store whose workspace's audit log holds n exports of
// one contact, then an erasure of another.
func audited(t *testing.T, n int) (*store.DB, context.Context, *custos.Contact, *custos.Contact) {
	t.Helper()
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "audited@example.com", nil)
	gone := mustContact(t, db, ctx, "gone@example.com", nil)
	for range n {
		if _, err := db.ExportContact(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ForgetContact(ctx, gone.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "DSR-4"}); err != nil {
		t.Fatal(err)
	}
	return db, ctx, c, gone
}

func TestExportsAndErasuresAreAudited(t *testing.T) {
	db, ctx, c, gone := audited(t, 3)
	before := db.Now()

	all, next, err := db.FindAudit(ctx, custos.AuditFilter{})
	if err != nil || len(all) != 4 || next != 0 {
		t.Fatalf("audit: %d entries, next %d: %v", len(all), next, err)
	}
	first := all[0] // newest first
	if first.Seq != 4 || first.Action != custos.AuditContactForget || *first.ContactID != gone.ID || first.Detail != "mode=erase request=DSR-4" || first.Actor != "test" {
		t.Fatalf("erasure entry %+v", first)
	}
	if all[1].PrevHash != all[2].Hash || all[3].PrevHash != strings.Repeat("0", 64) {
		t.Fatalf("the entries are not chained: %+v", all)
	}
	exports, _, err := db.FindAudit(ctx, custos.AuditFilter{ContactID: &c.ID, Action: ptr(custos.AuditContactExport), Actor: ptr("test")})
	if err != nil || len(exports) != 3 {
		t.Fatalf("exports of the contact: %d %v", len(exports), err)
	}
	page, next, err := db.FindAudit(ctx, custos.AuditFilter{Limit: 3})
	if err != nil || len(page) != 3 || next != 2 {
		t.Fatalf("first page: %d entries, next %d: %v", len(page), next, err)
	}
	if rest, next, _ := db.FindAudit(ctx, custos.AuditFilter{Limit: 3, Cursor: next}); len(rest) != 1 || rest[0].Seq != 1 || next != 0 {
		t.Fatalf("second page: %+v, next %d", rest, next)
	}
	later := before.Add(time.Hour)
	if none, _, _ := db.FindAudit(ctx, custos.AuditFilter{After: &later}); len(none) != 0 {
		t.Fatalf("entries after an hour from now: %d", len(none))
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK || rep.Entries != 4 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// Another workspace has a log of its own.
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if got, _, _ := db.FindAudit(other, custos.AuditFilter{}); len(got) != 0 {
		t.Fatalf("another workspace sees %d entries", len(got))
	}
	if rep, err := db.VerifyAudit(other); err != nil || !rep.OK || rep.Entries != 0 {
		t.Fatalf("verify an empty log: %+v %v", rep, err)
	}
	if err := db.ExecRaw(context.Background(), "UPDATE audit_log SET detail = 'x'"); err == nil {
		t.Fatal("the database let an audit entry change")
	}
	if _, _, err := db.FindAudit(ctx, custos.AuditFilter{Limit: 501}); code(err) != custos.EINVALID {
		t.Fatalf("limit 501: %v", err)
	}
}

// TestAuditVerifyFindsTampering edits the log behind the store's back, with
// its append-only triggers off, and expects verify to name the entry.
func TestAuditVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name, stmt, problem string
		seq                 int64
	}{
		{"changed", "UPDATE audit_log SET detail = 'format=none' WHERE seq = 2", "entry 2 was changed", 2},
		{"removed", "DELETE FROM audit_log WHERE seq = 2", "entry 2 is missing", 2},
		{"cut off", "DELETE FROM audit_log WHERE seq = 4", "entries were cut off", 4},
		{"reordered", "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 100", "entry 2 does not follow entry 1", 2},
		{"rehashed", "UPDATE audit_log SET at = at + 1, hash = prev_hash WHERE seq = 3", "entry 3 was changed", 3},
		{"slipped in before", "INSERT INTO audit_log (workspace_id, seq, at, actor, action, contact_id, detail, prev_hash, hash) SELECT workspace_id, -1, at, actor, action, contact_id, 'forged', prev_hash, hash FROM audit_log WHERE seq = 1", "before the first", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, ctx, _, _ := audited(t, 3)
			// What an intruder with the database would do: triggers off, and
			// the position check gone (SQLite cannot drop a CHECK, so the
			// rule is switched off instead).
			off := "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; PRAGMA ignore_check_constraints = ON"
			if db.Dialect() == "postgres" {
				off = "ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_check"
			}
			if err := db.ExecRaw(context.Background(), off); err != nil {
				t.Fatal(err)
			}
			if err := db.ExecRaw(context.Background(), tc.stmt); err != nil {
				t.Fatal(err)
			}
			rep, err := db.VerifyAudit(ctx)
			if err != nil || rep.OK || rep.Seq != tc.seq || !strings.Contains(rep.Problem, tc.problem) {
				t.Fatalf("verify: %+v %v; want %q at %d", rep, err, tc.problem, tc.seq)
			}
		})
	}
}

// TestAuditCheckpoints holds the chain to the checkpoints kept outside the
// database: cutting entries off and rewriting the head, or replacing the
// whole chain with another valid one, passes the chain's own checks but
// not the checkpoints; an altered checkpoint file fails too.
func TestAuditCheckpoints(t *testing.T) {
	intrude := func(t *testing.T, db *store.DB, stmt string) {
		t.Helper()
		off := "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
		if db.Dialect() == "postgres" {
			off = "ALTER TABLE audit_log DISABLE TRIGGER USER"
		}
		if err := db.ExecRaw(context.Background(), off+"; "+stmt); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint := func(t *testing.T, db *store.DB, want int) {
		t.Helper()
		if n, err := db.CheckpointAudit(context.Background()); err != nil || n != want {
			t.Fatalf("checkpoint: %d %v, want %d", n, err, want)
		}
	}
	verify := func(t *testing.T, db *store.DB, ctx context.Context, problem string) {
		t.Helper()
		rep, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if problem == "" && (!rep.OK || rep.Checkpoints == 0) {
			t.Fatalf("verify: %+v, want OK against the checkpoints", rep)
		} else if problem != "" && (rep.OK || !strings.Contains(rep.Problem, problem)) {
			t.Fatalf("verify: %+v, want %q", rep, problem)
		}
	}

	t.Run("cut off with the head rewritten", func(t *testing.T) {
		db, ctx, _, _ := audited(t, 3)
		checkpoint(t, db, 1)
		checkpoint(t, db, 0) // nothing moved
		verify(t, db, ctx, "")
		// Without the checkpoints the shorter chain would look whole.
		intrude(t, db, `DELETE FROM audit_log WHERE seq = 4;
			UPDATE audit_heads SET seq = 3, hash = (SELECT hash FROM audit_log l WHERE l.workspace_id = audit_heads.workspace_id AND l.seq = 3)`)
		verify(t, db, ctx, "entry 4 was checkpointed")
	})
	t.Run("rewritten", func(t *testing.T) {
		db, ctx, c, _ := audited(t, 3)
		checkpoint(t, db, 1)
		// A new, valid chain of the same length in place of the old.
		intrude(t, db, "DELETE FROM audit_log; DELETE FROM audit_heads")
		for range 4 {
			if _, err := db.ExportContact(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		verify(t, db, ctx, "the chain was rewritten")
	})
	t.Run("checkpoint file altered", func(t *testing.T) {
		db, ctx, _, _ := audited(t, 1)
		checkpoint(t, db, 1)
		path := filepath.Join(db.DataDir(), store.CheckpointFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(`"seq":2`), []byte(`"seq":1`), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		verify(t, db, ctx, "altered")
	})
	t.Run("growing chain", func(t *testing.T) {
		db, ctx, c, _ := audited(t, 1)
		checkpoint(t, db, 1)
		if _, err := db.ExportContact(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		verify(t, db, ctx, "") // entries after the last checkpoint are fine
		checkpoint(t, db, 1)
		verify(t, db, ctx, "")
		// Only the latest checkpoint is kept: the file does not grow with
		// the chain.
		for range 3 {
			if _, err := db.ExportContact(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			checkpoint(t, db, 1)
		}
		b, err := os.ReadFile(filepath.Join(db.DataDir(), store.CheckpointFile))
		if err != nil {
			t.Fatal(err)
		}
		if lines := bytes.Count(b, []byte{'\n'}); lines != 1 {
			t.Errorf("the checkpoint file has %d lines, want the latest only:\n%s", lines, b)
		}
		verify(t, db, ctx, "")
	})
}
