package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/custos/custos/internal/custos"
)

// ExecRaw runs a statement on the data store, bypassing the domain, so
// tests can check what the database itself refuses.
func (db *DB) ExecRaw(ctx context.Context, stmt string) error {
	_, err := db.write.ExecContext(ctx, stmt)
	return err
}

// FillAudit appends n entries, a valid chain, to the workspace's audit
// log, in bulk: the start of a benchmark.
func (db *DB) FillAudit(ctx context.Context, ws int64, n int) error {
	var prev []byte
	var seq int64
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT seq, hash FROM audit_heads WHERE workspace_id = ?`), ws).Scan(&seq, &prev); errors.Is(err, sql.ErrNoRows) {
		prev = genesis
		if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO audit_heads (workspace_id, seq, hash) VALUES (?, 0, ?)`), ws, genesis); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	const batch = 50000
	for done := 0; done < n; done += batch {
		rows := make([][]any, 0, batch)
		for range min(batch, n-done) {
			seq++
			r := auditRow{ws: ws, seq: seq, at: micros(db.Now()), actor: "apikey:1", action: custos.AuditContactExport,
				contact: sql.NullInt64{Int64: seq%1000 + 1, Valid: true}, detail: "format=zip", prev: prev}
			r.hash = r.sum()
			prev = r.hash
			rows = append(rows, []any{r.ws, r.seq, r.at, r.actor, r.action, r.contact, r.detail, r.prev, r.hash})
		}
		if err := db.bulkTx(ctx, db.write, func(tx *sql.Tx, put rowWriter) error {
			if err := put(ctx, "audit_log", []string{"workspace_id", "seq", "at", "actor", "action", "contact_id", "detail", "prev_hash", "hash"}, nil, rows); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, db.q(`UPDATE audit_heads SET seq = ?, hash = ? WHERE workspace_id = ?`), seq, prev, ws)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// DataDir is the store's data directory.
func (db *DB) DataDir() string { return db.dir }

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

// CrashAt makes every erasure stop with err at step (tombstone, journal,
// key, backups, rows), as a crash there would; an empty step removes it.
func (db *DB) CrashAt(step string, err error) {
	if step == "" {
		db.crashAt = nil
		return
	}
	db.crashAt = func(s string) error {
		if s == step {
			return err
		}
		return nil
	}
}

// PagePool reports the page pool: whether setting it up failed, and how
// many of its slots hold a page now.
func PagePool() (error, int64) { return pagePool.err, pagePoolInUse() }

// SetWALRestartFrames sets how long a write-ahead log may grow before its
// writer restarts it, until the returned function puts it back.
func SetWALRestartFrames(n int64) func() {
	old := walRestartFrames.Swap(n)
	return func() { walRestartFrames.Store(old) }
}
