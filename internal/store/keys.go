package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// wrappedKey is a row of the key store.
type wrappedKey struct {
	contact int64
	wrapped []byte
}

// putKeys stores wrapped data keys in the key store and commits them. The
// caller commits the rows those keys encrypt only afterwards, so a crash in
// between leaves a key without data, never data without its key.
func (db *DB) putKeys(ctx context.Context, ws int64, keys []wrappedKey) error {
	now := micros(db.Now())
	return db.txOn(ctx, db.keys, func(tx *sql.Tx) error {
		rows := make([][]any, len(keys))
		for i, k := range keys {
			rows[i] = []any{ws, k.contact, k.wrapped, now}
		}
		return db.insertRows(ctx, tx, "contact_keys", []string{"workspace_id", "contact_id", "wrapped", "created_at"}, rows)
	})
}

// contactKeys returns the unwrapped data keys of the contacts. A contact
// whose key is gone (shredded) is missing from the map.
func (db *DB) contactKeys(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.ContactKey, error) {
	out := make(map[int64]*vault.ContactKey, len(ids))
	const batch = 500
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := make([]any, 0, n+1)
		args = append(args, ws)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		rows, err := db.keysRead.QueryContext(ctx, db.q(`SELECT contact_id, wrapped FROM contact_keys WHERE workspace_id = ? AND contact_id IN (`+placeholders(n)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: read keys: %w", err)
		}
		for rows.Next() {
			var id int64
			var wrapped []byte
			if err := rows.Scan(&id, &wrapped); err != nil {
				rows.Close()
				return nil, err
			}
			k, err := db.vault.UnwrapContactKey(ws, id, wrapped)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// contactKey returns one contact's data key, or EGONE when it was shredded.
func (db *DB) contactKey(ctx context.Context, ws, id int64) (*vault.ContactKey, error) {
	keys, err := db.contactKeys(ctx, ws, []int64{id})
	if err != nil {
		return nil, err
	}
	k, ok := keys[id]
	if !ok {
		return nil, custos.Errorf(custos.EGONE, "the contact's data key is gone")
	}
	return k, nil
}

// maxParams keeps multi-row statements under both dialects' limits on
// bound parameters.
const maxParams = 30000

// insertRows inserts rows into table with multi-row INSERT statements.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	_, err := db.insertRowsSuffix(ctx, tx, table, cols, rows, "")
	return err
}

// insertRowsSuffix is insertRows with a clause (such as ON CONFLICT …)
// after the values. It returns how many rows were written.
func (db *DB) insertRowsSuffix(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any, suffix string) (int64, error) {
	var written int64
	if len(rows) == 0 {
		return 0, nil
	}
	per := max(1, min(500, maxParams/len(cols)))
	head := `INSERT INTO ` + table + ` (` + joinCols(cols) + `) VALUES `
	one := `(` + placeholders(len(cols)) + `)`
	var stmt string
	var stmtRows int
	args := make([]any, 0, per*len(cols))
	for len(rows) > 0 {
		n := min(per, len(rows))
		if n != stmtRows {
			b := make([]byte, 0, len(head)+n*(len(one)+2)+len(suffix))
			b = append(b, head...)
			for i := range n {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, one...)
			}
			b = append(b, suffix...)
			stmt, stmtRows = db.q(string(b)), n
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return written, fmt.Errorf("insert into %s: %w", table, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			written += n
		}
		rows = rows[n:]
	}
	return written, nil
}

func joinCols(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}
