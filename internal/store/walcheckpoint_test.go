package store_test

import (
	"os"
	"path/filepath"
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
