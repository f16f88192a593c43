package store

import "context"

// ExecRaw runs a statement on the data store, bypassing the domain, so
// tests can check what the database itself refuses.
func (db *DB) ExecRaw(ctx context.Context, stmt string) error {
	_, err := db.write.ExecContext(ctx, stmt)
	return err
}

// ShredKey deletes a contact's data key, as an erasure does first.
func (db *DB) ShredKey(ctx context.Context, ws, id int64) error {
	_, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM contact_keys WHERE workspace_id = ? AND contact_id = ?`), ws, id)
	return err
}
