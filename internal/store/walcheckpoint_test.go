package store_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// What the writers commit reaches the SQLite files while the store is
// open, though the writers never checkpoint themselves: the checkpointer
// copies the write-ahead logs in the background.
func TestWALCheckpointedInBackground(t *testing.T) {
	cfg := storetest.Config(t)
	if cfg.DatabaseURL != "" {
		t.Skip("SQLite's write-ahead log; PostgreSQL checkpoints itself")
	}
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	size := func(file string) int64 {
		fi, err := os.Stat(filepath.Join(cfg.DataDir, file))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := map[string]int64{store.DataFile: size(store.DataFile), store.KeysFile: size(store.KeysFile)}
	// Fewer pages than SQLite's automatic checkpoint waits for (1,000),
	// more than the files held.
	fill(t, db, ctx, "wal", 500, mustPurpose(t, db, ctx, custos.BasisConsent).ID)
	for file, was := range before {
		deadline := time.Now().Add(10 * time.Second)
		for size(file) <= was {
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %d bytes with its log unwritten", file, was)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestWALRestartsUnderSustainedWrites: with write transactions back to
// back, a passive checkpoint never lets the log start again from its
// beginning; once the log has grown past its limit, the writer restarts
// it, so that it stays short.
func TestWALRestartsUnderSustainedWrites(t *testing.T) {
	cfg := storetest.Config(t)
	if cfg.DatabaseURL != "" {
		t.Skip("SQLite's write-ahead log; PostgreSQL checkpoints itself")
	}
	t.Cleanup(store.SetWALRestartFrames(300))
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	// Four writers for two seconds: the one writer connection never idles.
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				if err := db.CreateContact(ctx, &custos.Contact{Email: fmt.Sprintf("w%d-%d@example.com", w, i)}); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	wg.Wait()
	d, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, store.DataFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var busy, frames, done int
	if err := d.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d contacts written; %d frames in the log", written.Load(), frames)
	if frames > 3000 {
		t.Fatalf("the log holds %d frames after %d contacts: it was not restarted", frames, written.Load())
	}
}
