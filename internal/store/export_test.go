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

// RawBytes runs a query on the data store, bypassing the domain, and
// returns every value of every row it answers, concatenated: what is at
// rest, for tests that look for plaintext in it.
func (db *DB) RawBytes(ctx context.Context, query string) ([]byte, error) {
	rows, err := db.read.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []byte
	for rows.Next() {
		vals := make([][]byte, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for _, v := range vals {
			out = append(out, v...)
		}
	}
	return out, rows.Err()
}
