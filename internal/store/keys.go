package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
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

// rowWriter writes many new rows into a table inside a transaction. The
// first len(shared) of cols take the values shared in every row; each row
// holds the values of the others.
type rowWriter func(ctx context.Context, table string, cols []string, shared []any, rows [][]any) error

// inserter returns the rowWriter of multi-row INSERTs in tx.
func (db *DB) inserter(tx *sql.Tx) rowWriter {
	return func(ctx context.Context, table string, cols []string, shared []any, rows [][]any) error {
		_, err := db.insertShared(ctx, tx, table, cols, shared, rows, "")
		return err
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
	put := func(ctx context.Context, table string, cols []string, shared []any, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		// Each row is sent whole, the shared values and its own, through
		// one buffer: COPY encodes a row before it asks for the next.
		row := make([]any, len(cols))
		copy(row, shared)
		next := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if next == len(rows) {
				return nil, nil
			}
			copy(row[len(shared):], rows[next])
			next++
			return row, nil
		})
		return conn.Raw(func(dc any) error {
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, src)
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

// bulkRows is how many rows a prepared bulk INSERT (bulkShapes) writes on
// SQLite. Parsing a statement costs about as much as running it, so the
// shapes the bulk paths write are prepared once, at Open, and reused; a
// statement of 100 rows spreads its own cost over many rows, while one of
// thousands, prepared, gains nothing more.
const bulkRows = 100

// The columns of the tables the bulk paths write many rows into, those
// whose values a request shares first (their numbers in the ...Shared
// constants), and the clauses after their values.
var (
	contactCols = []string{"workspace_id", "monitoring", "rev", "created_at", "updated_at", "last_activity_at", "info_due_at",
		"id", "email_bidx", "phone_bidx", "status", "source_kind", "source_detail", "tags", "sealed", "clear", "bidx"}
	tagCols   = []string{"workspace_id", "tag", "contact_id"}
	eventCols = []string{"workspace_id", "purpose_id", "purpose_version", "action", "method", "notice_hash", "effective_from", "actor", "created_at",
		"id", "contact_id", "meta"}
	stateCols      = []string{"workspace_id", "purpose_id", "purpose_version", "action", "since", "contact_id", "event_id"}
	memberCols     = []string{"workspace_id", "list_id", "created_at", "contact_id"}
	contactKeyCols = []string{"workspace_id", "created_at", "contact_id", "wrapped"}
)

const (
	contactShared, tagShared, eventShared, stateShared, memberShared, contactKeyShared = 7, 1, 9, 5, 3, 2

	// The same rule as custos.ConsentState.Supersedes: the event that took
	// effect last decides, ties by ledger order.
	stateUpsert = ` ON CONFLICT (workspace_id, contact_id, purpose_id) DO UPDATE SET purpose_version = excluded.purpose_version, action = excluded.action,
		event_id = excluded.event_id, since = excluded.since
		WHERE excluded.since > consent_state.since OR (excluded.since = consent_state.since AND excluded.event_id > consent_state.event_id)`
	memberIgnore = ` ON CONFLICT (workspace_id, list_id, contact_id) DO NOTHING`
)

// bulkShape is a multi-row INSERT the bulk paths run often: into table's
// cols, the first shared of them bound once for all rows, followed by
// suffix, in the key store when keys is set.
type bulkShape struct {
	keys   bool
	table  string
	cols   []string
	shared int
	suffix string
}

var bulkShapes = []bulkShape{
	{table: "contacts", cols: contactCols, shared: contactShared},
	{table: "contact_tags", cols: tagCols, shared: tagShared},
	{table: "consent_events", cols: eventCols, shared: eventShared},
	{table: "consent_state", cols: stateCols, shared: stateShared},
	{table: "consent_state", cols: stateCols, shared: stateShared, suffix: stateUpsert},
	{table: "list_members", cols: memberCols, shared: memberShared, suffix: memberIgnore},
	{keys: true, table: "contact_keys", cols: contactKeyCols, shared: contactKeyShared},
}

// bulkKey names the shape of an INSERT, whatever its number of rows.
func bulkKey(table string, cols []string, shared int, suffix string) string {
	return table + " (" + strings.Join(cols, ", ") + ")" + strconv.Itoa(shared) + suffix
}

// insertSQL returns the INSERT of n rows into table's cols, then suffix.
// The first shared columns take parameters ?1 to ?shared in every row
// (SQLite only: it numbers each plain ? after the largest number yet).
func (db *DB) insertSQL(table string, cols []string, shared, n int, suffix string) string {
	var one []byte
	one = append(one, '(')
	for i := range cols {
		if i > 0 {
			one = append(one, ", "...)
		}
		one = append(one, '?')
		if i < shared {
			one = strconv.AppendInt(one, int64(i+1), 10)
		}
	}
	one = append(one, ')')
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

// prepareBulk prepares bulkShapes on SQLite's writers (see prepareWrites).
func (db *DB) prepareBulk(ctx context.Context) error {
	db.bulkStmts = map[string]*sql.Stmt{}
	for _, s := range bulkShapes {
		d := db.write
		if s.keys {
			d = db.keys
		}
		st, err := d.PrepareContext(ctx, db.insertSQL(s.table, s.cols, s.shared, bulkRows, s.suffix))
		if err != nil {
			return fmt.Errorf("store: prepare insert into %s: %w", s.table, err)
		}
		db.bulkStmts[bulkKey(s.table, s.cols, s.shared, s.suffix)] = st
	}
	return nil
}

// insertRows inserts rows into table with multi-row INSERT statements.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	_, err := db.insertShared(ctx, tx, table, cols, nil, rows, "")
	return err
}

// insertShared inserts rows into table with multi-row INSERT statements,
// with suffix (such as ON CONFLICT …) after the values, rows that share
// the values of the first len(shared) of cols (see rowWriter). It returns
// how many rows were written.
func (db *DB) insertShared(ctx context.Context, tx *sql.Tx, table string, cols []string, shared []any, rows [][]any, suffix string) (int64, error) {
	var written int64
	if len(rows) == 0 {
		return 0, nil
	}
	if db.pg && len(shared) > 0 {
		// PostgreSQL numbers its parameters itself: each row gets them all.
		whole := make([][]any, len(rows))
		cells := make([]any, len(rows)*len(cols))
		for i, r := range rows {
			whole[i] = cells[i*len(cols) : (i+1)*len(cols)]
			copy(whole[i], shared)
			copy(whole[i][len(shared):], r)
		}
		rows, shared = whole, nil
	}
	own := len(cols) - len(shared)
	// A shape of bulkShapes goes bulkRows rows a statement, prepared at
	// Open. Any other, as many rows a statement as the parameters allow,
	// prepared here for the full ones.
	full := db.bulkStmts[bulkKey(table, cols, len(shared), suffix)]
	per := bulkRows
	if full != nil {
		full = tx.StmtContext(ctx, full)
	} else {
		per = max(1, (maxParams-len(shared))/own)
		if len(rows) >= per {
			var err error
			if full, err = tx.PrepareContext(ctx, db.insertSQL(table, cols, len(shared), per, suffix)); err != nil {
				return 0, fmt.Errorf("insert into %s: %w", table, err)
			}
		}
	}
	if full != nil {
		defer full.Close()
	}
	// Sized for the rows there are: a few rows' call (a batch of read
	// audit entries) would otherwise allocate room for 30,000 arguments.
	args := make([]any, 0, len(shared)+min(per, len(rows))*own)
	args = append(args, shared...)
	for len(rows) > 0 {
		n := min(per, len(rows))
		args = args[:len(shared)]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		var res sql.Result
		var err error
		if n == per {
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, db.insertSQL(table, cols, len(shared), n, suffix), args...)
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
