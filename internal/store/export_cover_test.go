package store

import (
	"context"
	"strings"
	"testing"
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
