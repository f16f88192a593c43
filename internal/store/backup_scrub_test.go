package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// markedContact creates a contact whose tag and source detail, both kept
// in clear, are unique markers.
func markedContact(t *testing.T, db *store.DB, ctx context.Context, name string) *custos.Contact {
	t.Helper()
	c := &custos.Contact{Email: name + "@example.com", Tags: []string{"zq9tag" + name}, Source: custos.Source{Kind: custos.SourceAPI, Detail: "zq9src" + name},
		Fields: map[string]any{"first_name": "Zq9" + name}}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// filesHolding returns the files under dir that hold s, in any letter case.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s))) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestForgetScrubsDataBackups forgets one contact by erasure and one by
// anonymization after a data and a key backup were made: no clear value
// of either (tag, source detail) remains in any file of the backups, the
// value of a contact kept is still there, and the backups still restore.
func TestForgetScrubsDataBackups(t *testing.T) {
	v := storetest.Vault(t)
	db := storetest.OpenConfig(t, storetest.Config(t), v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	erased, anon, keep := markedContact(t, db, wctx, "erased"), markedContact(t, db, wctx, "anon"), markedContact(t, db, wctx, "keep")
	// Rows in the tables that refer to the contact, so that a restore
	// checks their foreign keys.
	c, _, _ := forgettable(t, db, wctx)
	data, keys := backUp(t, db)
	for _, s := range []string{"zq9tagerased", "zq9srcerased", "zq9taganon", "zq9srcanon"} {
		if len(filesHolding(t, data, s)) == 0 {
			t.Fatalf("the data backup does not hold %s before the erasure: the search is wrong", s)
		}
	}
	for _, f := range []struct {
		c    *custos.Contact
		mode custos.ForgetMode
	}{{erased, custos.ForgetErase}, {anon, custos.ForgetAnonymize}, {c, custos.ForgetErase}} {
		if _, err := db.ForgetContact(wctx, f.c.ID, custos.ForgetRequest{Mode: f.mode}); err != nil {
			t.Fatal(err)
		}
	}
	// The markers are long enough not to turn up by chance in the
	// backups' ciphertext, as three letters in any case did ("vip", the
	// tag of c, found once in the erasure journal's random bytes).
	for _, s := range []string{"zq9tagerased", "zq9srcerased", "zq9taganon", "zq9srcanon", "forget.me"} {
		if got := filesHolding(t, filepath.Dir(data), s); len(got) > 0 {
			t.Errorf("%s is still in the backups: %v", s, got)
		}
	}
	if len(filesHolding(t, data, "zq9tagkeep")) == 0 {
		t.Error("the data backup lost the tag of a contact kept")
	}
	if pending, err := db.PendingBackupScrubs(); err != nil || len(pending) > 0 {
		t.Errorf("pending backup scrubs: %v %v", pending, err)
	}
	fresh := restored(t, storetest.Config(t), v, false, nil, data, keys)
	fctx := actingIn(t, fresh, "shop")
	if got, err := fresh.FindContactByID(fctx, keep.ID); err != nil || !slices.Equal(got.Tags, []string{"zq9tagkeep"}) || got.Source.Detail != "zq9srckeep" {
		t.Errorf("the contact kept, restored: %+v %v", got, err)
	}
	for _, id := range []int64{erased.ID, c.ID} {
		if _, err := fresh.FindContactByID(fctx, id); code(err) != custos.ENOTFOUND {
			t.Errorf("erased contact %d, restored: %v", id, err)
		}
	}
	if got, err := fresh.FindContactByID(fctx, anon.ID); err != nil || got.Status != custos.StatusAnonymized || len(got.Tags) > 0 || got.Source.Detail != "" {
		t.Errorf("anonymized contact, restored: %+v %v", got, err)
	}
}

// TestForgetSurvivesBackupsOutOfReach registers backups, then removes some
// and makes others impossible to change: the erasure still purges the
// live store, the store still opens, the backups out of reach are recorded
// and scrubbed once they are back, and restoring one that was never
// scrubbed still replays the erasure.
func TestForgetSurvivesBackupsOutOfReach(t *testing.T) {
	ctx := context.Background()
	v := storetest.Vault(t)
	live := storetest.Config(t)
	db := storetest.OpenConfig(t, live, v)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := markedContact(t, db, wctx, "gone")
	keep := markedContact(t, db, wctx, "keep")
	backups := t.TempDir()
	dirs := map[string]string{}
	for _, name := range []string{"data-removed", "keys-removed", "data-blocked", "keys-blocked", "keys-corrupt", "data-emptied"} {
		dirs[name] = filepath.Join(backups, name)
		kind := store.BackupData
		if strings.HasPrefix(name, "keys") {
			kind = store.BackupKeys
		}
		if _, err := db.Backup(ctx, dirs[name], kind); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"data-removed", "keys-removed"} {
		if err := os.RemoveAll(dirs[name]); err != nil {
			t.Fatal(err)
		}
	}
	// No longer a backup: its manifest is gone.
	if err := os.Remove(filepath.Join(dirs["data-emptied"], store.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	// A directory where the lock file would be: the backup cannot be
	// changed, and stays whole for a restore.
	for _, name := range []string{"data-blocked", "keys-blocked"} {
		for _, lock := range []string{"data.lock", "keys.lock"} {
			os.Remove(filepath.Join(dirs[name], lock))
			if err := os.Mkdir(filepath.Join(dirs[name], lock), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Unreadable keys: the SQLite file overwritten, the COPY file of the
	// keys made a directory.
	if db.Dialect() == "postgres" {
		f := filepath.Join(dirs["keys-corrupt"], "contact_keys.copy")
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(f, 0o700); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(filepath.Join(dirs["keys-corrupt"], store.KeysFile), bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		t.Fatal(err)
	}

	ts, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase})
	if err != nil {
		t.Fatalf("forget with backups out of reach: %v", err)
	}
	if ts.Removed["contacts"] != 1 || ts.Removed["data_key"] != 1 {
		t.Errorf("certificate: %+v", ts.Removed)
	}
	if _, err := db.FindContactByID(wctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Errorf("the contact after the erasure: %v", err)
	}
	if cs, _, err := db.FindContacts(wctx, custos.ContactFilter{Tag: ptr("zq9taggone")}); err != nil || len(cs) > 0 {
		t.Errorf("the tag after the erasure: %v %v", cs, err)
	}
	wantPending := []string{dirs["data-blocked"], dirs["keys-blocked"], dirs["keys-corrupt"]}
	slices.Sort(wantPending)
	pending, err := db.PendingBackupScrubs()
	if slices.Sort(pending); err != nil || !slices.Equal(pending, wantPending) {
		t.Errorf("pending backup scrubs: %v %v, want %v", pending, err, wantPending)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The store opens, and says what is still owed.
	db = storetest.OpenConfig(t, live, v)
	if pending, err := db.PendingBackupScrubs(); err != nil || len(pending) != 3 {
		t.Errorf("pending after a restart: %v %v", pending, err)
	}

	// Restoring the blocked backups, which still hold the person, replays
	// the erasure.
	fresh := restored(t, storetest.Config(t), v, false, []string{filepath.Join(live.DataDir, store.JournalFile)}, dirs["data-blocked"], dirs["keys-blocked"])
	if fresh.ReplayedKeys != 1 {
		t.Errorf("replayed %d keys, want 1", fresh.ReplayedKeys)
	}
	fctx := actingIn(t, fresh, "shop")
	if _, err := fresh.FindContactByID(fctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Errorf("the contact from the unscrubbed backups: %v", err)
	}
	if got, err := fresh.FindContactByID(fctx, keep.ID); err != nil || got.Fields["first_name"] != "Zq9keep" {
		t.Errorf("the contact kept: %+v %v", got, err)
	}
	if len(filesHolding(t, dirs["data-blocked"], "zq9taggone")) == 0 {
		t.Fatal("the blocked backup was changed")
	}

	// Once the backups are within reach again, the next erasure finishes
	// their scrub.
	for _, name := range []string{"data-blocked", "keys-blocked"} {
		for _, lock := range []string{"data.lock", "keys.lock"} {
			if err := os.Remove(filepath.Join(dirs[name], lock)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Removed: the corrupt one, and the one without a manifest, which is
	// no backup any more and is left alone.
	for _, name := range []string{"keys-corrupt", "data-emptied"} {
		if err := os.RemoveAll(dirs[name]); err != nil {
			t.Fatal(err)
		}
	}
	other := markedContact(t, db, wctx, "other")
	if _, err := db.ForgetContact(wctx, other.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if pending, err := db.PendingBackupScrubs(); err != nil || len(pending) > 0 {
		t.Errorf("pending once the backups are back: %v %v", pending, err)
	}
	for _, s := range []string{"zq9taggone", "zq9srcgone", "zq9tagother"} {
		if got := filesHolding(t, backups, s); len(got) > 0 {
			t.Errorf("%s is still in the backups: %v", s, got)
		}
	}
	if len(filesHolding(t, dirs["data-blocked"], "zq9tagkeep")) == 0 {
		t.Error("the scrub removed a contact kept")
	}
}

// TestForgetAgainFinishesThePurge leaves a tombstone whose purge never
// ran, as a failure right after it would, and forgets the contact again
// without a restart: the second call finishes the purge and answers its
// certificate.
func TestForgetAgainFinishesThePurge(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := markedContact(t, db, ctx, "again")
	a, _ := custos.ActorFrom(ctx)
	if err := db.ExecRaw(context.Background(), "INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at) VALUES ("+
		itoa(a.WorkspaceID)+", "+itoa(c.ID)+", 'erase', 'DSR-1', 1)"); err != nil {
		t.Fatal(err)
	}
	ts, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize})
	if err != nil {
		t.Fatal(err)
	}
	if ts.Mode != custos.ForgetErase || ts.RequestID != "DSR-1" || ts.Removed["contacts"] != 1 || ts.Removed["data_key"] != 1 || ts.Removed["tags"] != 1 {
		t.Errorf("certificate of the finished purge: %+v", ts)
	}
	if _, err := db.FindContactByID(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Errorf("the contact after the second forget: %v", err)
	}
	if b, err := db.RawBytes(context.Background(), "SELECT tags, source_detail FROM contacts UNION ALL SELECT tag, '' FROM contact_tags"); err != nil || bytes.Contains(b, []byte("zq9")) {
		t.Errorf("clear values after the second forget: %q %v", b, err)
	}
	// A third call answers the same certificate.
	again, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase})
	if err != nil || !mapsEqual(again.Removed, ts.Removed) {
		t.Errorf("third forget: %+v %v, want %+v", again, err, ts.Removed)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestForgetCrashAtEveryStep stops an erasure at each of its steps, as a
// kill -9 there would (every step before committed, none after run): the
// contact is then either whole or without its key; the next start
// finishes the purge, in the store and in the backups, and forgetting
// it again answers the certificate.
func TestForgetCrashAtEveryStep(t *testing.T) {
	crash := errors.New("crash")
	for _, step := range []string{"tombstone", "journal", "key", "backups", "rows"} {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			v := storetest.Vault(t)
			live := storetest.Config(t)
			db, err := store.Open(ctx, live, v)
			if err != nil {
				t.Fatal(err)
			}
			wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
			c, keep := markedContact(t, db, wctx, "crash"), markedContact(t, db, wctx, "keep")
			backups := t.TempDir()
			if _, err := db.Backup(ctx, filepath.Join(backups, "data"), store.BackupData); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Backup(ctx, filepath.Join(backups, "keys"), store.BackupKeys); err != nil {
				t.Fatal(err)
			}
			db.CrashAt(step, crash)
			if _, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "DSR-7"}); !errors.Is(err, crash) {
				t.Fatalf("forget crashed at %s: %v", step, err)
			}
			got, err := db.FindContactByID(wctx, c.ID)
			intact := err == nil && got.Fields["first_name"] == "Zq9crash"
			if !intact && code(err) != custos.EGONE && code(err) != custos.ENOTFOUND {
				t.Errorf("after a crash at %s the contact is neither whole nor without its key: %+v %v", step, got, err)
			}
			db.Close()

			db = storetest.OpenConfig(t, live, v)
			if _, err := db.FindContactByID(wctx, c.ID); code(err) != custos.ENOTFOUND {
				t.Errorf("after the restart: %v", err)
			}
			if got, err := db.FindContactByID(wctx, keep.ID); err != nil || got.Fields["first_name"] != "Zq9keep" {
				t.Errorf("the contact kept: %+v %v", got, err)
			}
			for _, dir := range []string{live.DataDir, backups} {
				for _, s := range []string{"zq9tagcrash", "zq9srccrash"} {
					if files := filesHolding(t, dir, s); len(files) > 0 {
						t.Errorf("%s is still in %v", s, files)
					}
				}
			}
			if b, err := db.RawBytes(ctx, "SELECT tags, source_detail FROM contacts UNION ALL SELECT tag, '' FROM contact_tags"); err != nil || !bytes.Contains(b, []byte("zq9tagkeep")) || bytes.Contains(b, []byte("crash")) {
				t.Errorf("clear values after the restart: %q %v", b, err)
			}
			ts, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase})
			if err != nil || ts.RequestID != "DSR-7" || ts.Removed["contacts"] != 1 || ts.Removed["data_key"] != 1 || ts.Removed["tags"] != 1 {
				t.Errorf("certificate after the restart: %+v %v", ts, err)
			}
		})
	}
}

// TestDataBackupScrubLeavesNoBytes forgets contacts one after another
// from a backup of a tree of several pages, where SQLite moves rows between
// pages: no byte of a forgotten contact's tag may stay in the file.
func TestDataBackupScrubLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	var cs []*custos.Contact
	for i := range 60 {
		cs = append(cs, markedContact(t, db, wctx, fmt.Sprintf("n%03d", i)))
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := db.Backup(ctx, dir, store.BackupData); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := db.ForgetContact(wctx, cs[i].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			t.Fatal(err)
		}
		for j := 0; j <= i; j++ {
			if f := filesHolding(t, dir, fmt.Sprintf("zq9tagn%03d", j)); len(f) > 0 {
				t.Errorf("after forgetting %d: %d still there", i, j)
			}
		}
	}
}

// TestScrubReadsColumnsFromTheManifest: a PostgreSQL data backup records
// the columns of its COPY files. When a later migration rebuilds a table
// with its columns in another order, forgetting a contact still finds
// its lines in the backup's copy of that table.
func TestScrubReadsColumnsFromTheManifest(t *testing.T) {
	cfg := storetest.Config(t)
	if cfg.DatabaseURL == "" {
		t.Skip("the COPY files of a PostgreSQL backup")
	}
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	gone, _ := markedContact(t, db, wctx, "gone"), markedContact(t, db, wctx, "kept")
	data, _ := backUp(t, db)
	// The tag index rebuilt with the contact first, as a migration may.
	if err := db.ExecRaw(wctx, `ALTER TABLE contact_tags RENAME TO contact_tags_old;
		CREATE TABLE contact_tags (contact_id BIGINT NOT NULL, workspace_id BIGINT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (workspace_id, tag, contact_id));
		INSERT INTO contact_tags SELECT contact_id, workspace_id, tag FROM contact_tags_old;
		DROP TABLE contact_tags_old`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(wctx, gone.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if files := filesHolding(t, data, "zq9taggone"); len(files) > 0 {
		t.Errorf("the forgotten contact's tag is still in %v", files)
	}
	if len(filesHolding(t, data, "zq9tagkept")) == 0 {
		t.Error("the kept contact's tag is gone from the backup")
	}
}

// TestScrubRemovesWhatACrashLeft: a scrub killed part way leaves
// temporary copies beside the backup, each holding the contact: on SQLite
// its scratch copies, on both stores a file being replaced (replaceFile's
// "<name>.<random>.tmp"; a kill -9 during an erasure left one on
// PostgreSQL in session 8). The next erasure removes them with the rest.
func TestScrubRemovesWhatACrashLeft(t *testing.T) {
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	wctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := markedContact(t, db, wctx, "crashed")
	markedContact(t, db, wctx, "kept")
	data, _ := backUp(t, db)
	held := filepath.Join(data, "contact_tags.copy")
	leftovers := []string{held + ".3802607560.tmp"}
	if cfg.DatabaseURL == "" {
		held = filepath.Join(data, store.DataFile)
		leftovers = []string{held + ".scrub", held + ".scrub-journal", held + ".clean", held + ".clean-journal", held + ".12345.tmp"}
	}
	b, err := os.ReadFile(held)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range leftovers {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ForgetContact(wctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if got := filesHolding(t, data, "zq9tagcrashed"); len(got) > 0 {
		t.Errorf("the forgotten contact is still in %v", got)
	}
	for _, name := range leftovers {
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", filepath.Base(name), err)
		}
	}
	if got := filesHolding(t, data, "zq9tagkept"); !slices.Contains(got, held) {
		t.Errorf("the contact kept is in %v, not in %s", got, filepath.Base(held))
	}
}
