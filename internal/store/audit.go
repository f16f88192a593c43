package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// genesis is the previous hash of a workspace's first audit entry.
var genesis = make([]byte, sha256.Size)

// auditRow is an audit entry as stored.
type auditRow struct {
	ws, seq, at   int64
	actor, action string
	contact       sql.NullInt64
	detail        string
	route, ip     string // of the API request, when there was one
	// diff is the contact's field changes, sealed under its key (nil for
	// an entry that changes no contact's values).
	diff       []byte
	prev, hash []byte
}

// sum returns the entry's hash: SHA-256 over the previous hash and every
// field, each length-prefixed, so that no two entries encode alike.
func (r *auditRow) sum() []byte {
	// The bytes hashed, in one buffer: a hash function written to field
	// by field costs an allocation per string.
	b := make([]byte, 0, len(r.prev)+12*8+len(r.actor)+len(r.action)+len(r.detail)+len(r.route)+len(r.ip)+len(r.diff))
	b = append(b, r.prev...)
	num := func(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }
	str := func(b []byte, s string) []byte { return append(num(b, int64(len(s))), s...) }
	b = num(b, r.ws)
	b = num(b, r.seq)
	b = num(b, r.at)
	b = str(b, r.actor)
	b = str(b, r.action)
	if r.contact.Valid {
		b = num(b, 1)
		b = num(b, r.contact.Int64)
	} else {
		b = num(b, 0)
	}
	b = str(b, r.detail)
	// Entries made before requests were recorded, and those made outside
	// one, end here, so their hashes are as they were.
	if r.route != "" || r.ip != "" || r.diff != nil {
		b = str(b, r.route)
		b = str(b, r.ip)
	}
	// Likewise for entries without a sealed diff. The hash covers the
	// ciphertext, which outlives the contact's key: a forgotten contact's
	// entries still verify.
	if r.diff != nil {
		b = num(b, int64(len(r.diff)))
		b = append(b, r.diff...)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// audit appends an entry for the actor to its workspace's chain, inside
// tx: if it cannot be written, the change it records is not made either.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, a custos.Actor, action string, contact int64, detail string) error {
	return db.auditDiff(ctx, tx, a, action, contact, detail, nil)
}

// sealedDiff is the field changes an entry records, with the key of the
// contact they changed.
type sealedDiff struct {
	k       *vault.ContactKey
	changes []custos.AuditChange
}

// auditDiffName binds an entry's sealed diff to its position, so that it
// opens only there.
func auditDiffName(seq int64) string { return "audit/" + strconv.FormatInt(seq, 10) }

// auditDiff is audit that also records d, when not nil, sealed under the
// contact's key.
func (db *DB) auditDiff(ctx context.Context, tx *sql.Tx, a custos.Actor, action string, contact int64, detail string, d *sealedDiff) error {
	r := db.auditEntry(ctx, a, action, contact, detail)
	seq, prev, err := db.auditHead(ctx, tx, r.ws)
	if err != nil {
		return err
	}
	r.seq, r.prev = seq+1, prev
	if d != nil {
		r.diff = d.k.Seal(auditDiffName(r.seq), []byte(encodeJSON(d.changes)))
	}
	r.hash = r.sum()
	if _, err := db.writeStmt(ctx, tx, db.q(sqlInsertAudit)).ExecContext(ctx, r.values()...); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return db.setAuditHead(ctx, tx, &r)
}

// auditEntry returns a new entry of the actor's workspace, with the API
// request of the context (which it marks audited), before it takes its
// place in the chain.
func (db *DB) auditEntry(ctx context.Context, a custos.Actor, action string, contact int64, detail string) auditRow {
	r := auditRow{ws: a.WorkspaceID, at: micros(db.Now()), actor: a.String(), action: action, detail: detail}
	if req := custos.RequestFrom(ctx); req != nil {
		r.route, r.ip = req.Method+" "+req.Route, req.IP
		req.MarkAudited()
	}
	if contact > 0 {
		r.contact = sql.NullInt64{Int64: contact, Valid: true}
	}
	return r
}

// auditHead returns the position and hash of the workspace's last entry,
// inside tx, locking the chain's head on PostgreSQL: one writer per chain
// at a time.
func (db *DB) auditHead(ctx context.Context, tx *sql.Tx, ws int64) (seq int64, hash []byte, err error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE"
	}
	head := db.q(sqlAuditHead + lock)
	err = db.writeStmt(ctx, tx, head).QueryRowContext(ctx, ws).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// The workspace's first entry: its chain starts now. (Whoever
		// inserts the head first, the other then reads and locks it.)
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO audit_heads (workspace_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (workspace_id) DO NOTHING`), ws, genesis); err != nil {
			return 0, nil, fmt.Errorf("store: audit: %w", err)
		}
		err = tx.QueryRowContext(ctx, head, ws).Scan(&seq, &hash)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: audit: %w", err)
	}
	return seq, hash, nil
}

// setAuditHead moves the chain's head to r, inside tx.
func (db *DB) setAuditHead(ctx context.Context, tx *sql.Tx, r *auditRow) error {
	if _, err := db.writeStmt(ctx, tx, db.q(sqlSetAuditHead)).ExecContext(ctx, r.seq, r.hash, r.ws); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// The statements of the audit chain, prepared on SQLite's writer (see
// writeStmt).
const (
	sqlAuditHead    = `SELECT seq, hash FROM audit_heads WHERE workspace_id = ?`
	sqlSetAuditHead = `UPDATE audit_heads SET seq = ?, hash = ? WHERE workspace_id = ?`
	sqlInsertAudit  = `INSERT INTO audit_log (` + auditInsertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// maxAuditRows is how many entries of a batch of reads one statement
// inserts on SQLite, through statements prepared for each count up to it.
const maxAuditRows = 8

// sqlInsertAuditRows holds, at n, the INSERT of n entries.
var sqlInsertAuditRows = func() (qs [maxAuditRows + 1]string) {
	one := `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qs[1] = sqlInsertAudit
	for n := 2; n <= maxAuditRows; n++ {
		qs[n] = `INSERT INTO audit_log (` + auditInsertColumns + `) VALUES ` + strings.Repeat(one+`, `, n-1) + one
	}
	return qs
}()

// auditInsertColumns are the columns of audit_log, in the order of
// auditRow.values.
const auditInsertColumns = `workspace_id, seq, at, actor, action, contact_id, detail, route, ip, diff, prev_hash, hash`

func (r *auditRow) values() []any {
	return []any{r.ws, r.seq, r.at, r.actor, r.action, r.contact, r.detail, r.route, r.ip, r.diff, r.prev, r.hash}
}

// auditRequest records, inside tx and just before it commits, the API
// request of the context if it changes state and no entry of the
// transaction's request has been written yet: so every change made
// through the API is audited in the transaction that makes it, and fails
// with it.
func (db *DB) auditRequest(ctx context.Context, tx *sql.Tx) error {
	req := custos.RequestFrom(ctx)
	if req == nil || !req.Changes() || req.Audited() {
		return nil
	}
	a, ok := custos.ActorFrom(ctx)
	if !ok {
		return nil
	}
	return db.audit(ctx, tx, a, custos.AuditWrite, req.ContactID, "")
}

// auditChanges records the changes made to a contact's values, inside tx,
// in an entry whose diff is sealed under the contact's key k: the entry
// of the context's API request when it has none yet, otherwise one of its
// own (such as each contact an import updates).
func (db *DB) auditChanges(ctx context.Context, tx *sql.Tx, a custos.Actor, contact int64, k *vault.ContactKey, changes []custos.Change) error {
	d := &sealedDiff{k: k, changes: make([]custos.AuditChange, len(changes))}
	for i, ch := range changes {
		d.changes[i] = custos.AuditChange{Field: ch.Field, Old: ch.Old, New: ch.New}
	}
	action := custos.AuditContactChange
	if req := custos.RequestFrom(ctx); req != nil && req.Changes() && !req.Audited() {
		action = custos.AuditWrite
	}
	return db.auditDiff(ctx, tx, a, action, contact, "", d)
}

// readAudit is a read of personal data waiting for its audit entry.
type readAudit struct {
	ctx     context.Context // the request's, for its values only
	a       custos.Actor
	contact int64
	done    chan error
}

// maxReadBatch bounds the entries one transaction commits.
const maxReadBatch = 256

// AuditRead records the API request of the context as a read of personal
// data, and returns once the entry is committed: visible and chained,
// though not yet synced to disk (lazyTx). Reads that arrive while a
// commit is under way are committed together in the next transaction, so
// that concurrent readers share its cost.
func (db *DB) AuditRead(ctx context.Context) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ra := readAudit{ctx: context.WithoutCancel(ctx), a: a, done: make(chan error, 1)}
	if req := custos.RequestFrom(ctx); req != nil {
		ra.contact = req.ContactID
	}
	db.startReads.Do(func() { db.bg.Go(db.writeReadAudits) })
	select {
	case db.readAudits <- ra:
	case <-db.closing:
		return custos.Errorf(custos.EUNAVAILABLE, "the store is closing")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-ra.done
}

// writeReadAudits commits waiting read entries, in batches, until the
// store closes.
func (db *DB) writeReadAudits() {
	for {
		var batch []readAudit
		select {
		case ra := <-db.readAudits:
			batch = append(batch, ra)
		case <-db.closing:
			return
		}
		// Let the readers that are running submit their entries too
		// before the batch commits: a few yields of the processor, while
		// more keep coming. Alone, a read waits for none.
		for round := 0; round < 4 && len(batch) < maxReadBatch; round++ {
			n := len(batch)
			runtime.Gosched()
		more:
			for len(batch) < maxReadBatch {
				select {
				case ra := <-db.readAudits:
					batch = append(batch, ra)
				default:
					break more
				}
			}
			if len(batch) == n {
				break
			}
		}
		err := db.lazyTx(context.Background(), func(tx *sql.Tx) error { return db.auditReads(tx, batch) })
		for _, ra := range batch {
			ra.done <- err
		}
	}
}

// auditReads appends the entries of a batch of reads to their
// workspaces' chains, inside tx: per workspace, one look at the chain's
// head, the entries in as few statements as the dialect allows, and one
// move of the head.
func (db *DB) auditReads(tx *sql.Tx, batch []readAudit) error {
	ctx := context.Background()
	rows := make([]auditRow, len(batch))
	for i, ra := range batch {
		rows[i] = db.auditEntry(ra.ctx, ra.a, custos.AuditRead, ra.contact, "")
	}
	done := make([]bool, len(rows))
	for i := range rows {
		if done[i] {
			continue
		}
		ws := rows[i].ws
		seq, prev, err := db.auditHead(ctx, tx, ws)
		if err != nil {
			return err
		}
		var values [][]any
		var last *auditRow
		for j := i; j < len(rows); j++ {
			if done[j] || rows[j].ws != ws {
				continue
			}
			r := &rows[j]
			seq++
			r.seq, r.prev = seq, prev
			r.hash = r.sum()
			prev, last, done[j] = r.hash, r, true
			values = append(values, r.values())
		}
		// Statements of up to maxAuditRows entries, prepared once on
		// SQLite (by pgx on PostgreSQL, where the last one also moves the
		// chain's head: a round trip less).
		for len(values) > 0 {
			n := min(len(values), maxAuditRows)
			args := make([]any, 0, n*len(auditColumnList)+3)
			for _, v := range values[:n] {
				args = append(args, v...)
			}
			query := sqlInsertAuditRows[n]
			moved := db.pg && n == len(values)
			if moved {
				query = `WITH entries AS (` + query + `) ` + sqlSetAuditHead
				args = append(args, last.seq, last.hash, last.ws)
			}
			if _, err := db.writeStmt(ctx, tx, db.q(query)).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: audit: %w", err)
			}
			values = values[n:]
			if moved {
				break
			}
		}
		if !db.pg {
			if err := db.setAuditHead(ctx, tx, last); err != nil {
				return err
			}
		}
	}
	return nil
}

var auditColumnList = strings.Split(strings.ReplaceAll(auditInsertColumns, " ", ""), ",")

// lazyTx runs fn in a write transaction on the data store that commits
// without waiting for the disk: on SQLite with synchronous=NORMAL (in WAL
// mode the commit is written to the log, not synced; the next synchronous
// commit or checkpoint syncs it), on PostgreSQL with synchronous_commit
// off (the WAL writer flushes it within a few hundred milliseconds). What
// it commits is visible at once, and in order: a power loss (or, on
// PostgreSQL, a crash of the server) can lose the last such transactions,
// never one before a synchronous commit that followed it. Only the audit
// entries of reads are written so; the writer connection is back to full
// durability before anything else uses it.
func (db *DB) lazyTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return mapError(err)
	}
	defer conn.Close()
	if !db.pg {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=NORMAL`); err != nil {
			return mapError(err)
		}
		defer func() {
			if _, err := conn.ExecContext(context.Background(), `PRAGMA synchronous=FULL`); err != nil {
				// Never hand back a connection that would commit changes
				// without syncing them: the pool drops it.
				db.log.Error("store: restoring synchronous=FULL", "err", err)
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapError(err)
	}
	defer tx.Rollback() // after a panic; a no-op once committed
	if db.pg {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return mapError(err)
		}
	}
	if err := fn(tx); err != nil {
		return mapError(err)
	}
	return mapError(tx.Commit())
}

// auditTx records an entry in a transaction of its own: for reads, such
// as an export, which fail when their entry cannot be written.
func (db *DB) auditTx(ctx context.Context, a custos.Actor, action string, contact int64, detail string) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return db.audit(ctx, tx, a, action, contact, detail) })
}

const auditColumns = `seq, at, actor, action, contact_id, detail, route, ip, diff, prev_hash, hash`

func scanAudit(rows *sql.Rows, ws int64) (*auditRow, error) {
	r := &auditRow{ws: ws}
	err := rows.Scan(&r.seq, &r.at, &r.actor, &r.action, &r.contact, &r.detail, &r.route, &r.ip, &r.diff, &r.prev, &r.hash)
	return r, err
}

// FindAudit returns the workspace's audit entries matching f, newest first.
func (db *DB) FindAudit(ctx context.Context, f custos.AuditFilter) ([]*custos.AuditEntry, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	where, args := []string{"workspace_id = ?"}, []any{a.WorkspaceID}
	add := func(cond string, v any) {
		where, args = append(where, cond), append(args, v)
	}
	if f.ContactID != nil {
		add("contact_id = ?", *f.ContactID)
	}
	if f.Action != nil {
		add("action = ?", *f.Action)
	}
	if f.Actor != nil {
		add("actor = ?", *f.Actor)
	}
	if f.After != nil {
		add("at >= ?", micros(*f.After))
	}
	if f.Before != nil {
		add("at < ?", micros(*f.Before))
	}
	if f.Cursor > 0 {
		add("seq < ?", f.Cursor)
	}
	args = append(args, f.Limit+1)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT ?`), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find audit: %w", err)
	}
	defer rows.Close()
	entries := []*custos.AuditEntry{}
	var sealed []*auditRow // the rows of entries with a diff, in order
	for rows.Next() {
		r, err := scanAudit(rows, a.WorkspaceID)
		if err != nil {
			return nil, 0, err
		}
		if r.diff != nil && r.contact.Valid {
			sealed = append(sealed, r)
		}
		e := &custos.AuditEntry{Seq: r.seq, At: fromMicros(r.at), Actor: r.actor, Action: r.action, Detail: r.detail, Route: r.route, IP: r.ip,
			PrevHash: hex.EncodeToString(r.prev), Hash: hex.EncodeToString(r.hash)}
		if r.contact.Valid {
			e.ContactID = &r.contact.Int64
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	entries, next := trimPage(entries, f.Limit, func(e *custos.AuditEntry) int64 { return e.Seq })
	if err := db.openDiffs(ctx, a, entries, sealed); err != nil {
		return nil, 0, err
	}
	return entries, next, nil
}

// openDiffs fills in the diffs of the entries whose rows are sealed: open
// for an actor who may read personal data, only marked as sealed for one
// who may not, and erased once the contact's key is gone.
func (db *DB) openDiffs(ctx context.Context, a custos.Actor, entries []*custos.AuditEntry, sealed []*auditRow) error {
	bySeq := make(map[int64]*custos.AuditEntry, len(entries))
	for _, e := range entries {
		bySeq[e.Seq] = e
	}
	var keys map[int64]*vault.ContactKey
	if a.Can(custos.PermPersonalDataRead) && len(sealed) > 0 {
		ids := map[int64]bool{}
		for _, r := range sealed {
			ids[r.contact.Int64] = true
		}
		var err error
		if keys, err = db.contactKeys(ctx, a.WorkspaceID, slices.Sorted(maps.Keys(ids))); err != nil {
			return err
		}
	}
	for _, r := range sealed {
		e := bySeq[r.seq]
		if e == nil {
			continue // the extra row read to find the next page
		}
		switch k, ok := keys[r.contact.Int64]; {
		case !a.Can(custos.PermPersonalDataRead):
			e.Diff = &custos.AuditDiff{State: custos.DiffSealed}
		case !ok:
			e.Diff = &custos.AuditDiff{State: custos.DiffErased}
		default:
			plain, err := k.Open(auditDiffName(r.seq), r.diff)
			if err != nil {
				return fmt.Errorf("store: audit entry %d: %w", r.seq, err)
			}
			e.Diff = &custos.AuditDiff{State: custos.DiffOpen}
			if err := json.Unmarshal(plain, &e.Diff.Changes); err != nil {
				return fmt.Errorf("store: audit entry %d: %w", r.seq, err)
			}
		}
	}
	return nil
}

// VerifyAudit recomputes the workspace's audit chain from its first entry
// and compares its end with the chain's head.
func (db *DB) VerifyAudit(ctx context.Context) (*custos.AuditReport, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	rep := &custos.AuditReport{OK: true}
	fail := func(seq int64, format string, args ...any) (*custos.AuditReport, error) {
		rep.OK, rep.Seq, rep.Problem = false, seq, fmt.Sprintf(format, args...)
		return rep, nil
	}
	// Positions start at 1; an entry before that is outside the chain's
	// reach and could hold anything.
	var outside int64
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM audit_log WHERE workspace_id = ? AND seq <= 0`), ws).Scan(&outside); err != nil {
		return nil, fmt.Errorf("store: verify audit: %w", err)
	}
	if outside > 0 {
		return fail(0, "%d entries have a position before the first: they were added behind the chain's back", outside)
	}
	// The checkpoints kept outside the database: the chain must pass
	// through each of them.
	all, err := readCheckpoints(filepath.Join(db.dir, CheckpointFile), db.vault)
	if err != nil {
		return fail(0, "%v", err)
	}
	checkpoints := map[int64][]byte{}
	var lastCheckpoint int64
	for _, c := range all[ws] {
		checkpoints[c.Seq] = c.Hash
		lastCheckpoint = max(lastCheckpoint, c.Seq)
	}
	prev, last := genesis, int64(0)
	// Read in pages, so that a long chain is not one long read.
	for {
		// A range of positions, not a LIMIT: PostgreSQL, before its
		// statistics catch up with a fast-growing log, would otherwise scan
		// the whole table for every page.
		rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+auditColumns+` FROM audit_log WHERE workspace_id = ? AND seq > ? AND seq <= ? ORDER BY seq`), ws, last, last+10000)
		if err != nil {
			return nil, fmt.Errorf("store: verify audit: %w", err)
		}
		n := 0
		for rows.Next() {
			r, err := scanAudit(rows, ws)
			if err != nil {
				rows.Close()
				return nil, err
			}
			n++
			switch {
			case r.seq != last+1:
				rows.Close()
				return fail(last+1, "entry %d is missing", last+1)
			case !bytes.Equal(r.prev, prev):
				rows.Close()
				return fail(r.seq, "entry %d does not follow entry %d: entries were reordered, removed or rewritten", r.seq, last)
			case !bytes.Equal(r.sum(), r.hash):
				rows.Close()
				return fail(r.seq, "entry %d was changed", r.seq)
			case checkpoints[r.seq] != nil && !bytes.Equal(checkpoints[r.seq], r.hash):
				rows.Close()
				return fail(r.seq, "entry %d is not the one checkpointed: the chain was rewritten", r.seq)
			}
			prev, last = r.hash, r.seq
			rep.Entries++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	var headSeq int64
	var headHash []byte
	err = db.read.QueryRowContext(ctx, db.q(`SELECT seq, hash FROM audit_heads WHERE workspace_id = ?`), ws).Scan(&headSeq, &headHash)
	if errors.Is(err, sql.ErrNoRows) {
		headSeq, headHash = 0, genesis
	} else if err != nil {
		return nil, fmt.Errorf("store: verify audit: %w", err)
	}
	if headSeq != last || !bytes.Equal(headHash, prev) {
		return fail(last+1, "the log ends at entry %d but its head is entry %d: entries were cut off or the head rewritten", last, headSeq)
	}
	if lastCheckpoint > last {
		return fail(last+1, "the log ends at entry %d but entry %d was checkpointed: entries were cut off", last, lastCheckpoint)
	}
	rep.Checkpoints = len(checkpoints)
	return rep, nil
}
