package store_test

import (
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// TestPagePool: the pages SQLite caches come from the page pool, in slots
// of their own size, not from the driver's allocator.
func TestPagePool(t *testing.T) {
	db := storetest.Open(t)
	if db.Dialect() != "sqlite" {
		t.Skip("SQLite's page cache")
	}
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	mustContact(t, db, ctx, "anna@example.com", map[string]any{"first_name": "Anna"})
	err, inUse := store.PagePool()
	if err != nil {
		t.Fatal(err)
	}
	if inUse == 0 {
		t.Fatal("no cached page is in the page pool")
	}
}
