package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/vault"
)

// restored restores the backups in dirs, in order, into cfg, then opens it.
func restored(t *testing.T, cfg store.Config, v *vault.Vault, replace bool, journals []string, dirs ...string) *store.DB {
	t.Helper()
	for _, dir := range dirs {
		if _, err := store.Restore(context.Background(), cfg, v, dir, replace, journals...); err != nil {
			t.Fatalf("restore %s: %v", filepath.Base(dir), err)
		}
	}
	return storetest.OpenConfig(t, cfg, v)
}

// actingIn returns a context acting as an admin in the named workspace.
func actingIn(t *testing.T, db *store.DB, name string) context.Context {
	t.Helper()
	w, err := db.FindWorkspaceByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return custos.WithActor(context.Background(), custos.Actor{WorkspaceID: w.ID, Kind: "test", Role: custos.RoleAdmin})
}

// assertForgotten checks that the contact is nowhere in db, that the
// contact kept is whole, and that a new contact gets a fresh id.
func assertForgotten(t *testing.T, db *store.DB, c, keep *custos.Contact, request int64) {
	t.Helper()
	ctx := actingIn(t, db, "shop")
	if r, err := db.FindDSRRequest(ctx, request); err != nil || r.Email != "" || r.PersonalDataErasedAt == nil {
		t.Errorf("the person's request after restore: %+v %v", r, err)
	}
	if _, err := db.FindContactByID(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Errorf("forgotten contact after restore: %v", err)
	}
	for name, f := range map[string]custos.ContactFilter{
		"all": {}, "search": {Search: "zapomniana"}, "email": {Email: ptr(c.Email)}, "tag": {Tag: ptr("vip")},
	} {
		cs, _, err := db.FindContacts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range cs {
			if got.ID == c.ID {
				t.Errorf("%s finds the forgotten contact", name)
			}
		}
	}
	if got, err := db.FindContactByID(ctx, keep.ID); err != nil || got.Fields["first_name"] != "Zostaje" {
		t.Errorf("the contact kept: %+v %v", got, err)
	}
	if ts, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil || ts.RequestID != "DSR-9" {
		t.Errorf("the tombstone after restore: %+v %v", ts, err)
	}
	// The address was suppressed; the id is not handed out again.
	if err := db.CreateContact(ctx, &custos.Contact{Email: c.Email}); code(err) != custos.ECONFLICT {
		t.Errorf("suppressed address after restore: %v", err)
	}
	n := &custos.Contact{Email: "new-after-restore-" + strconv.FormatInt(db.Now().UnixNano(), 10) + "@example.com"}
	if err := db.CreateContact(ctx, n); err != nil || n.ID <= c.ID {
		t.Errorf("new contact after restore: id %d (forgotten %d): %v", n.ID, c.ID, err)
	}
}

// TestRestoreNeverBringsForgottenBack backs up, forgets, and restores the
// old backups in every combination: the registered backups into a fresh
// store; copies made elsewhere (which the erasure did not reach) with the
// live journal; old data or old keys over the live store.
func TestRestoreNeverBringsForgottenBack(t *testing.T) {
	ctx := context.Background()
	v := storetest.Vault(t)
	live := storetest.Config(t)
	db := storetest.OpenConfig(t, live, v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, _, _ := forgettable(t, db, wctx)
	keep := mustContact(t, db, wctx, "stays@example.com", map[string]any{"first_name": "Zostaje"})
	// The person's request holds their address under a key of its own.
	req := &custos.DSRRequest{Type: custos.DSRErasure, Email: c.Email}
	if err := db.CreateDSRRequest(wctx, req); err != nil {
		t.Fatal(err)
	}

	backups := t.TempDir()
	data, keys := filepath.Join(backups, "data"), filepath.Join(backups, "keys")
	if m, err := db.Backup(ctx, data, store.BackupData); err != nil || m.Kind != store.BackupData || m.Dialect != db.Dialect() || m.Migration < 5 {
		t.Fatalf("data backup: %+v %v", m, err)
	}
	if _, err := db.Backup(ctx, keys, store.BackupKeys); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Backup(ctx, data, store.BackupData); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("backup into a used directory: %v", err)
	}
	// Copies kept elsewhere, out of Custos's reach.
	offsite := t.TempDir()
	for _, d := range []string{data, keys} {
		if err := os.CopyFS(filepath.Join(offsite, filepath.Base(d)), os.DirFS(d)); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "DSR-9", Suppress: true}); err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(filepath.Join(data, store.JournalFile))
	if err != nil || !bytes.Contains(journal, []byte(`"contact_id":`+strconv.FormatInt(c.ID, 10))) {
		t.Fatalf("the erasure did not reach the data backup's journal: %v\n%s", err, journal)
	}

	t.Run("registered backups into a fresh store", func(t *testing.T) {
		// The erasure scrubbed the data backup and wrote its tombstone
		// into it: nothing is left to write back.
		fresh := restored(t, storetest.Config(t), v, false, nil, data, keys)
		if fresh.Replayed != 0 {
			t.Errorf("replayed %d tombstones, want 0", fresh.Replayed)
		}
		assertForgotten(t, fresh, c, keep, req.ID)
	})
	t.Run("the registered key backup lost the key", func(t *testing.T) {
		// The old data copy knows nothing of the erasure, and no journal
		// is given: the row is back, but its key was shredded in the
		// key backup, so it is unreadable.
		fresh := restored(t, storetest.Config(t), v, false, nil, filepath.Join(offsite, "data"), keys)
		if _, err := fresh.FindContactByID(actingIn(t, fresh, "shop"), c.ID); code(err) != custos.EGONE {
			t.Errorf("contact whose backed-up key was shredded: %v", err)
		}
	})
	t.Run("copies made elsewhere, with the live journal", func(t *testing.T) {
		fresh := restored(t, storetest.Config(t), v, false, []string{filepath.Join(live.DataDir, store.JournalFile)},
			filepath.Join(offsite, "data"), filepath.Join(offsite, "keys"))
		if fresh.Replayed != 1 || fresh.ReplayedKeys != 1 {
			t.Errorf("replayed %d tombstones and %d keys, want 1 and 1", fresh.Replayed, fresh.ReplayedKeys)
		}
		assertForgotten(t, fresh, c, keep, req.ID)
	})
	// Over the live store, one at a time: the old key store, then the old
	// data, which must not hand out the ids of contacts created since
	// (their keys are in the key store).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, live, v, filepath.Join(offsite, "data"), false); err == nil || !strings.Contains(err.Error(), "holds a database already") {
		t.Fatalf("restore over a store without replace: %v", err)
	}
	for _, step := range []struct {
		backup         string
		replayed, keys int64
	}{{"keys", 0, 2}, {"data", 1, 0}} { // the contact's key and its request's
		t.Run("old "+step.backup+" over the live store", func(t *testing.T) {
			again := restored(t, live, v, true, nil, filepath.Join(offsite, step.backup))
			if again.Replayed != step.replayed || again.ReplayedKeys != step.keys {
				t.Errorf("replayed %d tombstones and %d keys, want %d and %d", again.Replayed, again.ReplayedKeys, step.replayed, step.keys)
			}
			assertForgotten(t, again, c, keep, req.ID)
			again.Close()
		})
	}
}

func TestRestoreRefusesWhatIsNotABackup(t *testing.T) {
	ctx := context.Background()
	v := storetest.Vault(t)
	db := storetest.Open(t)
	dir := filepath.Join(t.TempDir(), "b")
	if _, err := db.Backup(ctx, dir, store.BackupData); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, storetest.Config(t), v, t.TempDir(), false); err == nil || !strings.Contains(err.Error(), "no complete backup") {
		t.Errorf("restore of an empty directory: %v", err)
	}
	other := "postgres"
	if db.Dialect() == "postgres" {
		other = "sqlite"
	}
	m, err := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	forged := t.TempDir()
	if err := os.WriteFile(filepath.Join(forged, store.ManifestFile), bytes.Replace(m, []byte(`"`+db.Dialect()+`"`), []byte(`"`+other+`"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, storetest.Config(t), v, forged, false); err == nil || !strings.Contains(err.Error(), "backup; the target store is") {
		t.Errorf("restore of another dialect's backup: %v", err)
	}
	if _, err := db.Backup(ctx, dir+"x", "everything"); err == nil {
		t.Error("a backup of an unknown kind was made")
	}
}

// TestJournalIsAuthenticated alters the erasure journal: the store refuses
// to start rather than trust it. A torn last line (a crash mid-append) is
// left out.
func TestJournalIsAuthenticated(t *testing.T) {
	v := storetest.Vault(t)
	cfg := storetest.Config(t)
	db, err := store.Open(context.Background(), cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	for _, email := range []string{"a@example.com", "b@example.com"} {
		c := mustContact(t, db, ctx, email, nil)
		if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	path := filepath.Join(cfg.DataDir, store.JournalFile)
	good, err := os.ReadFile(path)
	if err != nil || bytes.Count(good, []byte("\n")) != 2 {
		t.Fatalf("journal: %v\n%s", err, good)
	}

	if err := os.WriteFile(path, append(append([]byte{}, good...), `{"workspace_id":1,"contact_`...), 0o600); err != nil {
		t.Fatal(err)
	}
	// The torn line is left out, and cut off by the next append.
	db = storetest.OpenConfig(t, cfg, v)
	c := mustContact(t, db, actingIn(t, db, "shop"), "c@example.com", nil)
	if _, err := db.ForgetContact(actingIn(t, db, "shop"), c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if b, _ := os.ReadFile(path); bytes.Count(b, []byte("\n")) != 3 || !bytes.HasPrefix(b, good) || bytes.Contains(b, []byte(`"contact_{`)) {
		t.Fatalf("journal after an append behind a torn line:\n%s", b)
	}
	db = storetest.OpenConfig(t, cfg, v)
	db.Close()
	good, _ = os.ReadFile(path)

	altered := bytes.Replace(good, []byte(`"mode":"erase"`), []byte(`"mode":"anonymize"`), 1)
	if err := os.WriteFile(path, altered, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(context.Background(), cfg, v); err == nil || !strings.Contains(err.Error(), "line 1: the MAC does not match") {
		t.Fatalf("open with an altered journal: %v", err)
	}
	if _, err := store.Open(context.Background(), cfg, storetest.Vault(t)); err == nil {
		t.Fatal("a journal was trusted under another master key")
	}
}

// TestKeyBackupsReachedAfterRestoreAndUnderLoad registers a key backup,
// restores an older data backup over the live store (which must not make
// Custos forget the key backup), then forgets contacts many at a time:
// every key must be gone from the key backup.
func TestKeyBackupsReachedAfterRestoreAndUnderLoad(t *testing.T) {
	v := storetest.Vault(t)
	live := storetest.Config(t)
	db := storetest.OpenConfig(t, live, v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	var cs []*custos.Contact
	for i := range 12 {
		cs = append(cs, mustContact(t, db, wctx, "p"+strconv.Itoa(i)+"@example.com", map[string]any{"first_name": "Zapomniana"}))
	}
	data, keys := backUp(t, db)
	old := t.TempDir() // out of Custos's reach
	if err := os.CopyFS(old, os.DirFS(data)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(old, store.JournalFile)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	db.Close()
	// The data backup predates the key backup's registration.
	db = restored(t, live, v, true, nil, data)
	wctx = actingIn(t, db, "shop")

	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() {
			_, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase})
			errs <- err
		}()
	}
	for range cs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The registered data backup lost the contacts too.
	reached := restored(t, storetest.Config(t), v, false, nil, data)
	for _, c := range cs {
		if _, err := reached.FindContactByID(actingIn(t, reached, "shop"), c.ID); code(err) != custos.ENOTFOUND {
			t.Errorf("contact %d from the data backup: %v", c.ID, err)
		}
	}
	// A copy of the data made elsewhere before, without any journal, with
	// the key backup: every contact is back as a row, none readable.
	fresh := restored(t, storetest.Config(t), v, false, nil, old, keys)
	fctx := actingIn(t, fresh, "shop")
	for _, c := range cs {
		if _, err := fresh.FindContactByID(fctx, c.ID); code(err) != custos.EGONE {
			t.Errorf("contact %d from the key backup: %v", c.ID, err)
		}
	}
}

// TestKeyBackupLeavesOutForgottenKeys backs up the key store while an
// erasure is under way (its tombstone committed, the key not yet
// shredded): the backup must not hold the key.
func TestKeyBackupLeavesOutForgottenKeys(t *testing.T) {
	ctx := context.Background()
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	gone := mustContact(t, db, wctx, "gone@example.com", nil)
	kept := mustContact(t, db, wctx, "kept@example.com", nil)
	a, _ := custos.ActorFrom(wctx)
	if err := db.ExecRaw(ctx, "INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at) VALUES ("+
		itoa(a.WorkspaceID)+", "+itoa(gone.ID)+", 'erase', '', 1)"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := db.Backup(ctx, dir, store.BackupKeys); err != nil {
		t.Fatal(err)
	}
	held := func(id int64) bool {
		if db.Dialect() == "postgres" {
			b, err := os.ReadFile(filepath.Join(dir, "contact_keys.copy"))
			if err != nil {
				t.Fatal(err)
			}
			return bytes.Contains(b, []byte("\n"+itoa(a.WorkspaceID)+"\t"+itoa(id)+"\t")) || bytes.HasPrefix(b, []byte(itoa(a.WorkspaceID)+"\t"+itoa(id)+"\t"))
		}
		d, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.KeysFile)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var n int
		if err := d.QueryRow(`SELECT COUNT(*) FROM contact_keys WHERE contact_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	if held(gone.ID) || !held(kept.ID) {
		t.Fatalf("the key backup holds the forgotten key: %v, the kept one: %v", held(gone.ID), held(kept.ID))
	}
}

// TestRestoreReplaysRequestsErasedWithTheirSubject makes a request by
// address before the person is a contact, copies the backups elsewhere,
// then forgets the contact made later with that address: restoring the
// copies with the live journal must erase the request too, and new
// requests must get ids of their own.
func TestRestoreReplaysRequestsErasedWithTheirSubject(t *testing.T) {
	v := storetest.Vault(t)
	live := storetest.Config(t)
	db := storetest.OpenConfig(t, live, v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	req := &custos.DSRRequest{Type: custos.DSRAccess, Email: "later@example.com"}
	if err := db.CreateDSRRequest(wctx, req); err != nil {
		t.Fatal(err)
	}
	data, keys := backUp(t, db)
	offsite := t.TempDir()
	for _, d := range []string{data, keys} {
		if err := os.CopyFS(filepath.Join(offsite, filepath.Base(d)), os.DirFS(d)); err != nil {
			t.Fatal(err)
		}
	}
	c := mustContact(t, db, wctx, "later@example.com", nil)
	if _, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	newer := &custos.DSRRequest{Type: custos.DSRObjection, Email: "someone@example.com"}
	if err := db.CreateDSRRequest(wctx, newer); err != nil {
		t.Fatal(err)
	}

	t.Run("copies into a fresh store, with the live journal", func(t *testing.T) {
		fresh := restored(t, storetest.Config(t), v, false, []string{filepath.Join(live.DataDir, store.JournalFile)},
			filepath.Join(offsite, "data"), filepath.Join(offsite, "keys"))
		if r, err := fresh.FindDSRRequest(actingIn(t, fresh, "shop"), req.ID); err != nil || r.Email != "" || r.PersonalDataErasedAt == nil {
			t.Fatalf("the request after restore: %+v %v", r, err)
		}
	})
	t.Run("old data over the live store", func(t *testing.T) {
		db.Close()
		again := restored(t, live, v, true, nil, filepath.Join(offsite, "data"))
		actx := actingIn(t, again, "shop")
		if r, err := again.FindDSRRequest(actx, req.ID); err != nil || r.Email != "" || r.PersonalDataErasedAt == nil {
			t.Fatalf("the request after restore: %+v %v", r, err)
		}
		// The live key store holds the key of the request made since.
		next := &custos.DSRRequest{Type: custos.DSRAccess, Email: "new@example.com"}
		if err := again.CreateDSRRequest(actx, next); err != nil || next.ID <= newer.ID {
			t.Fatalf("a new request after restore: id %d (latest before %d): %v", next.ID, newer.ID, err)
		}
	})
}

// TestRestoreResetsAuditCheckpoints restores a data backup over a store
// whose audit log has grown and been checkpointed since: the restored
// chain is shorter, legitimately, so verify passes, and the next
// checkpoint covers the restored head.
func TestRestoreResetsAuditCheckpoints(t *testing.T) {
	ctx := context.Background()
	v := storetest.Vault(t)
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, v)
	actx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, actx, "kept@example.com", nil)
	export := func(db *store.DB) {
		t.Helper()
		if _, err := db.ExportContact(actingIn(t, db, "shop"), c.ID); err != nil {
			t.Fatal(err)
		}
	}
	export(db)
	backup := filepath.Join(t.TempDir(), "data")
	if _, err := db.Backup(ctx, backup, store.BackupData); err != nil {
		t.Fatal(err)
	}
	export(db)
	if n, err := db.CheckpointAudit(ctx); err != nil || n != 1 {
		t.Fatalf("checkpoint: %d %v", n, err)
	}
	db.Close()
	db = restored(t, cfg, v, true, nil, backup)
	if rep, err := db.VerifyAudit(actingIn(t, db, "shop")); err != nil || !rep.OK || rep.Entries != 1 {
		t.Fatalf("verify after the restore: %+v %v", rep, err)
	}
	if n, err := db.CheckpointAudit(ctx); err != nil || n != 1 {
		t.Fatalf("checkpoint after the restore: %d %v", n, err)
	}
	export(db)
	if rep, err := db.VerifyAudit(actingIn(t, db, "shop")); err != nil || !rep.OK || rep.Entries != 2 || rep.Checkpoints != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// backUp backs up db's data and key store into two new directories, and
// answers them.
func backUp(t testing.TB, db *store.DB) (data, keys string) {
	t.Helper()
	backups := t.TempDir()
	data, keys = filepath.Join(backups, "data"), filepath.Join(backups, "keys")
	if _, err := db.Backup(context.Background(), data, store.BackupData); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Backup(context.Background(), keys, store.BackupKeys); err != nil {
		t.Fatal(err)
	}
	return data, keys
}
