package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestExportCoversEveryContactTable derives from the schema every table
// that holds rows about a contact (a contact_id column, or the contacts
// table itself) and fails when the export neither covers it nor says why
// it holds nothing about the person.
func TestExportCoversEveryContactTable(t *testing.T) {
	db := openTestDB(t)
	known := map[string]bool{}
	for _, name := range strings.Fields(exportedTables + " " + unexportedTables) {
		known[name] = true
	}
	ctx := context.Background()
	found := 0
	for _, d := range []querier{db.read, db.keysRead} {
		rows, err := d.QueryContext(ctx, `SELECT DISTINCT m.name FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND (c.name = 'contact_id' OR m.name = 'contacts')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			found++
			if !known[name] {
				t.Errorf("table %s holds rows about a contact, but the export does not cover it: add it to ExportContact and exportedTables, or to unexportedTables with the reason", name)
			}
		}
		rows.Close()
	}
	if found < 8 {
		t.Fatalf("found only %d contact tables; the schema query is wrong", found)
	}
}

// TestShreddedKeyLeavesNoBytes forgets a contact and then looks for its
// wrapped data key in every file of the data directory: deleted content
// must be overwritten, and the WAL emptied, not merely unlinked.
func TestShreddedKeyLeavesNoBytes(t *testing.T) {
	dir := t.TempDir()
	db := openTestDBAt(t, dir)
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "shred@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	a, _ := custos.ActorFrom(ctx)
	var wrapped []byte
	if err := db.keysRead.QueryRowContext(ctx, `SELECT wrapped FROM contact_keys WHERE workspace_id = ? AND contact_id = ?`, a.WorkspaceID, c.ID).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, wrapped) {
			t.Errorf("%s still holds the shredded key", filepath.Base(f))
		}
	}
}
