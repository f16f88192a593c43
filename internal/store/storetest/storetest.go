// Package storetest opens real stores for tests: SQLite in a temporary
// directory, or PostgreSQL in a fresh schema when CUSTOS_TEST_POSTGRES holds
// a DSN.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/vault"
)

// Config returns the configuration of a fresh store for tb: a temporary
// data directory, and on PostgreSQL a schema of its own that is dropped
// when the test ends.
func Config(tb testing.TB) store.Config {
	tb.Helper()
	cfg := store.Config{DataDir: tb.TempDir()}
	if dsn := os.Getenv("CUSTOS_TEST_POSTGRES"); dsn != "" {
		b := make([]byte, 6)
		rand.Read(b)
		cfg.DatabaseURL, cfg.Schema = dsn, "t_"+hex.EncodeToString(b)
		tb.Cleanup(func() { dropSchemas(tb, cfg) })
	}
	return cfg
}

// Vault returns a vault under a random master key.
func Vault(tb testing.TB) *vault.Vault {
	tb.Helper()
	key := make([]byte, vault.KeySize)
	rand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Open returns a fresh, migrated store, closed when the test ends.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenConfig(tb, Config(tb), Vault(tb))
}

// OpenConfig opens the store of cfg, closed when the test ends.
func OpenConfig(tb testing.TB, cfg store.Config, v *vault.Vault) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), cfg, v)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Workspace creates a workspace and returns a context acting in it with
// the given role.
func Workspace(tb testing.TB, db *store.DB, name string, role custos.Role) context.Context {
	tb.Helper()
	ctx := context.Background()
	w := &custos.Workspace{Name: name}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		tb.Fatalf("create workspace: %v", err)
	}
	return custos.WithActor(ctx, custos.Actor{WorkspaceID: w.ID, Kind: "test", Role: role})
}

func dropSchemas(tb testing.TB, cfg store.Config) {
	d, err := sql.Open("pgx", cfg.DatabaseURL)
	if err != nil {
		tb.Logf("drop schemas: %v", err)
		return
	}
	defer d.Close()
	for _, s := range []string{cfg.Schema, cfg.Schema + "_keys"} {
		if _, err := d.Exec(`DROP SCHEMA IF EXISTS ` + s + ` CASCADE`); err != nil {
			tb.Logf("drop schema %s: %v", s, err)
		}
	}
}
