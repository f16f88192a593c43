package store

import "context"

// ExecRaw runs a statement on the data store, bypassing the domain, so
// tests can check what the database itself refuses.
func (db *DB) ExecRaw(ctx context.Context, stmt string) error {
	_, err := db.write.ExecContext(ctx, stmt)
	return err
}
