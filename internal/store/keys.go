package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// wrappedKey is a row of the key store.
type wrappedKey struct {
	contact int64
	wrapped []byte
}

// contactKeys returns the unwrapped data keys of the contacts. A contact
// whose key is gone (shredded) is missing from the map.
func (db *DB) contactKeys(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.ContactKey, error) {
	return readKeys(ctx, db, "contact_keys", "contact_id", ws, ids, func(id int64, wrapped []byte) (*vault.ContactKey, error) {
		return db.vault.UnwrapContactKey(ws, id, wrapped)
	})
}

// readKeys reads the wrapped keys of ids in workspace ws from a table of
// the key store, keyed by column, and unwraps each. An id whose key is
// gone is missing from the map.
func readKeys[K any](ctx context.Context, db *DB, table, column string, ws int64, ids []int64, unwrap func(id int64, wrapped []byte) (K, error)) (map[int64]K, error) {
	out := make(map[int64]K, len(ids))
	const batch = 500
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := make([]any, 0, n+1)
		args = append(args, ws)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		// Only the one-key and full-batch forms are worth a prepared statement.
		var q querier = db.keysRead.d
		if n == 1 || n == batch {
			q = db.keysRead
		}
		rows, err := q.QueryContext(ctx, db.q(`SELECT `+column+`, wrapped FROM `+table+` WHERE workspace_id = ? AND `+column+` IN (`+placeholders(n)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		for rows.Next() {
			var id int64
			var wrapped []byte
			if err := rows.Scan(&id, &wrapped); err != nil {
				rows.Close()
				return nil, err
			}
			k, err := unwrap(id, wrapped)
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

// rowWriter writes many new rows into a table inside a transaction.
type rowWriter func(ctx context.Context, table string, cols []string, rows [][]any) error

// inserter returns the rowWriter of multi-row INSERTs in tx.
func (db *DB) inserter(tx *sql.Tx) rowWriter {
	return func(ctx context.Context, table string, cols []string, rows [][]any) error {
		return db.insertRows(ctx, tx, table, cols, rows)
	}
}

// bulkTx runs fn in a write transaction on d with a rowWriter for many
// rows: COPY on PostgreSQL, where parsing and planning thousands of bound
// parameters costs more than the rows themselves, multi-row INSERTs on
// SQLite.
func (db *DB) bulkTx(ctx context.Context, d *sql.DB, fn func(tx *sql.Tx, put rowWriter) error) error {
	if !db.pg {
		return db.txOn(ctx, d, func(tx *sql.Tx) error { return fn(tx, db.inserter(tx)) })
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return mapError(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapError(err)
	}
	defer tx.Rollback() // after a panic; a no-op once committed
	put := func(ctx context.Context, table string, cols []string, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		return conn.Raw(func(dc any) error {
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy into %s: %w", table, err)
			}
			return nil
		})
	}
	if err := fn(tx, put); err != nil {
		return mapError(err)
	}
	return db.commit(ctx, d, tx)
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
	// As many rows per statement as the parameters allow: on SQLite each
	// statement keeps a journal of the pages it changes (to undo it alone),
	// one copy per page per statement, and the blind-index pages a
	// statement changes are random.
	per := max(1, maxParams/len(cols))
	build := func(n int) string {
		one := `(` + placeholders(len(cols)) + `)`
		b := make([]byte, 0, 64+n*(len(one)+2)+len(suffix))
		b = append(b, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `...)
		for i := range n {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, one...)
		}
		return db.q(string(append(b, suffix...)))
	}
	// Full batches share one prepared statement, parsed once.
	var full *sql.Stmt
	if len(rows) >= per {
		var err error
		if full, err = tx.PrepareContext(ctx, build(per)); err != nil {
			return 0, fmt.Errorf("insert into %s: %w", table, err)
		}
		defer full.Close()
	}
	args := make([]any, 0, min(per, len(rows))*len(cols))
	for len(rows) > 0 {
		n := min(per, len(rows))
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		var res sql.Result
		var err error
		if n == per {
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, build(n), args...)
		}
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
