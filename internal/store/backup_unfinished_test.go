package store

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestUnfinishedBackupIsRemoved: a data backup whose process ended before
// it wrote its manifest (its files written, the marker left unlocked) is
// removed by the next erasure, which could not scrub it; one still being
// made (its marker locked) is left alone.
func TestUnfinishedBackupIsRemoved(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	var cs []*custos.Contact
	for _, e := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		c := &custos.Contact{Email: e, Tags: []string{"zq9unfinished"}}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	// Each directory holds a whole backup made by Backup, then loses its
	// manifest and gets the marker back: the state of a backup killed
	// just before its manifest, with all it copied.
	unfinished := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "data")
		if _, err := db.Backup(ctx, dir, BackupData); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, unfinishedFile), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	files := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	t.Run("being made", func(t *testing.T) {
		dir := unfinished(t)
		f, err := os.Open(filepath.Join(dir, unfinishedFile))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ForgetContact(ctx, cs[0].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			t.Fatal(err)
		}
		if got := files(dir); !slices.Contains(got, DataFile) || !slices.Contains(got, unfinishedFile) {
			t.Errorf("a backup being made lost files: %v", got)
		}
	})
	t.Run("ended", func(t *testing.T) {
		dir := unfinished(t)
		if _, err := db.ForgetContact(ctx, cs[1].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			t.Fatal(err)
		}
		// Nor does a later erasure write its journal there again.
		if _, err := db.ForgetContact(ctx, cs[2].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			t.Fatal(err)
		}
		for _, name := range files(dir) {
			if filepath.Ext(name) != ".lock" {
				t.Errorf("%s is left of a backup that ended unfinished", name)
			}
		}
		if pending, err := db.PendingBackupScrubs(); err != nil || len(pending) > 0 {
			t.Errorf("pending backup scrubs: %v %v", pending, err)
		}
	})
}
