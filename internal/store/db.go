// Package store keeps Custos's data in SQLite (modernc.org/sqlite, the
// default) or PostgreSQL (pgx), through database/sql. One file per
// aggregate; SQL is written with ? placeholders and rebound for PostgreSQL;
// migrations are embedded and numbered per dialect. Driver errors become
// domain error codes here, by code.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/password"
	"github.com/custos/custos/internal/vault"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// File names in the data directory.
const (
	DataFile = "custos.db"
	KeysFile = "keys.db"
)

// Config says where the data lives.
type Config struct {
	// DataDir holds the SQLite files, the erasure journal (on PostgreSQL
	// too), the master key and the outbox. Required.
	DataDir string
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://; empty means SQLite in DataDir.
	DatabaseURL string
	// Log receives the store's own reports (no personal data); nil
	// discards them.
	Log *slog.Logger
	// Outbox holds stored copies of sent mail, named by reference
	// ("contact-12", "dsr-3"); forgetting a contact removes its copies and
	// those of its data-subject requests. Nil when mail is not stored.
	Outbox interface {
		Purge(ref string) (int, error)
	}
	// Schema is the PostgreSQL schema of the data; the key store is the
	// schema of the same name with "_keys" appended. Default "custos".
	Schema string
	// AuthRecheck is how long the store trusts the auth generation it
	// read from the database (authcache.go) for changes another process
	// made, such as `custos apikey revoke` beside the server: one read
	// per interval then serves every request, and such a change counts
	// for every request that begins AuthRecheck after its commit. Zero:
	// every request reads it. This process's own changes count at once
	// either way. The server runs with DefaultAuthRecheck.
	AuthRecheck time.Duration
}

// DefaultAuthRecheck is the AuthRecheck the server runs with.
const DefaultAuthRecheck = 10 * time.Millisecond

func (cfg Config) postgres() bool {
	return strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://")
}

// DB is the store. It implements custos.Service.
type DB struct {
	pg  bool
	dir string // the data directory
	log *slog.Logger
	// outbox holds stored copies of sent mail (Config.Outbox).
	outbox interface {
		Purge(ref string) (int, error)
	}
	write *sql.DB    // the one writer connection on SQLite; the pool on PostgreSQL
	read  *stmtCache // readers on SQLite; the same pool on PostgreSQL
	keys  *sql.DB    // the key store's writer
	// writeStmts are statements prepared on SQLite's writer at Open,
	// by query (writeStmt).
	writeStmts map[string]*sql.Stmt
	// bulkStmts are the INSERTs of bulkShapes prepared on SQLite's data
	// and key store writers at Open, by bulkKey.
	bulkStmts map[string]*sql.Stmt
	// keysRead reads the key store: readers on SQLite, the pool on PostgreSQL.
	keysRead *stmtCache
	vault    *vault.Vault
	// auth caches verified API keys and security settings (authcache.go).
	auth    authCache
	search  *searchIndex
	growth  growth
	journal journal
	// Replayed and ReplayedKeys count, at Open, the tombstones written back
	// from the erasure journal and the keys of forgotten contacts shredded:
	// non-zero after an older database or key store was restored.
	Replayed, ReplayedKeys int64
	bg                     sync.WaitGroup // background work, waited for by Close
	// checkpointers are SQLite connections of their own that copy the
	// write-ahead logs into the files (checkpointWAL).
	checkpointers []*sql.DB
	// walLong holds, by writer, whether its write-ahead log has grown
	// past walRestartFrames, for the writer to restart it (restartWAL).
	walLong map[*sql.DB]*atomic.Bool
	// walMu keeps the checkpointer, a writer's restart of its log
	// (restartWAL) and an emptying of a log (truncateWAL) from running at
	// once: SQLite would give the second up.
	walMu sync.Mutex
	// readAudits are reads of personal data waiting for their audit
	// entries, which one writer commits in batches (AuditRead).
	readAudits chan readAudit
	startReads sync.Once
	// closing is closed, once, by Close, to stop the background writers
	// (read audits, sign-ups).
	closing   chan struct{}
	closeOnce sync.Once
	// crashAt, set by tests, is called at each step of an erasure and
	// stops it there when it returns an error (crashPoint).
	crashAt func(step string) error
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// passwords hashes staff passwords, a bounded number at once; common
	// is the list of passwords refused as too common.
	passwords *password.Hasher
	common    password.Common
	// MailQueued receives (without blocking) when mail is queued, so that
	// the mail worker need not wait for its next poll.
	MailQueued chan struct{}
	// SignupTTL is how long a pending sign-up and its confirmation link
	// live (0: custos.SignupTokenTTL); SignupLimits are the per-address
	// limits of confirmation mails (zero values: 3 per 24 hours).
	SignupTTL    time.Duration
	SignupLimits custos.SignupLimits
	// The sign-up writer (signup.go): its queue, started on first use, and
	// closing, closed by Close to stop it.
	signupOnce sync.Once
	signupQ    []chan *signupWrite
	signupDone chan struct{} // closed when the writers have stopped
	// forms holds public forms in memory for a moment (signup.go).
	forms struct {
		mu sync.Mutex
		m  map[int64]cachedForm
	}
}

var _ custos.Service = (*DB)(nil)

// Open opens (creating and migrating when new) the data store and the key
// store, with v holding the keys.
func Open(ctx context.Context, cfg Config, v *vault.Vault) (*DB, error) {
	db := newDB(v)
	db.dir, db.outbox, db.auth.recheck = cfg.DataDir, cfg.Outbox, cfg.AuthRecheck
	if cfg.Log != nil {
		db.log = cfg.Log
	}
	var err error
	if err := db.connect(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareWrites(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.pg {
		if err := db.analyzeAll(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	// Before anything is served: the erasures a restored older database
	// or key store does not know, then every erasure left unfinished.
	if db.Replayed, db.ReplayedKeys, err = db.replayErasures(ctx, cfg.DataDir); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.finishErasures(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Backups an erasure could not reach; they never stop the start.
	db.retryPendingScrubs(ctx)
	return db, nil
}

// connect opens the connections cfg names, without migrating.
func (db *DB) connect(ctx context.Context, cfg Config) error {
	if cfg.DataDir == "" {
		return errors.New("store: no data directory")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("store: create data directory: %w", err)
	}
	if cfg.postgres() {
		return db.openPostgres(ctx, cfg)
	} else if cfg.DatabaseURL != "" {
		return fmt.Errorf("store: database URL must start with postgres:// (or be empty for SQLite)")
	}
	return db.openSQLite(cfg.DataDir)
}

func newDB(v *vault.Vault) *DB {
	db := &DB{vault: v, log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		readAudits: make(chan readAudit), MailQueued: make(chan struct{}, 1), closing: make(chan struct{})}
	db.passwords, db.common = password.NewHasher(password.Default, hashMemoryBudget), password.LoadCommon()
	db.search = newSearchIndex(db)
	return db
}

// growth counts, per table, rows written by bulk paths since the
// planner's statistics of the table were last brought up to date.
type growth struct {
	mu      sync.Mutex
	base    map[string]int64 // rows at the last analysis
	rows    map[string]int64 // rows written since
	running map[string]bool  // analyses under way
}

// analyze brings PostgreSQL's statistics of a table up to date. Prepared
// statements run on generic plans made from them, so a table analysed
// while small would be scanned whole once large; and autovacuum, which
// would analyse it, may be off.
// It returns the rows the table holds.
func (db *DB) analyze(ctx context.Context, table string) (int64, error) {
	d := db.write
	if table == "contact_keys" {
		d = db.keys
	}
	if _, err := d.ExecContext(ctx, `ANALYZE `+table); err != nil {
		return 0, fmt.Errorf("store: analyze %s: %w", table, err)
	}
	var tuples float64
	if err := d.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table).Scan(&tuples); err != nil {
		return 0, fmt.Errorf("store: analyze %s: %w", table, err)
	}
	return max(0, int64(tuples)), nil
}

// analyzeAll analyses the tables bulk paths fill, at start.
func (db *DB) analyzeAll(ctx context.Context) error {
	db.growth.mu.Lock()
	defer db.growth.mu.Unlock()
	db.growth.base, db.growth.rows, db.growth.running = map[string]int64{}, map[string]int64{}, map[string]bool{}
	for _, t := range []string{"contacts", "contact_tags", "consent_events", "consent_state", "list_members", "contact_keys"} {
		base, err := db.analyze(ctx, t)
		if err != nil {
			return err
		}
		db.growth.base[t] = base
	}
	return nil
}

// grew notes n rows written by a bulk path into each table and, on
// PostgreSQL, analyses a table once it has grown by half since the last
// time. The analysis runs in the background: the rows are committed, and
// neither the caller's wait nor its context should hang on statistics.
func (db *DB) grew(n int, tables ...string) {
	if !db.pg {
		return
	}
	db.growth.mu.Lock()
	defer db.growth.mu.Unlock()
	for _, t := range tables {
		db.growth.rows[t] += int64(n)
		if db.growth.rows[t] < 1000 || db.growth.rows[t] < db.growth.base[t]/2 || db.growth.running[t] {
			continue
		}
		db.growth.running[t] = true
		db.bg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			base, err := db.analyze(ctx, t)
			db.growth.mu.Lock()
			defer db.growth.mu.Unlock()
			db.growth.running[t] = false
			if err == nil {
				db.growth.base[t], db.growth.rows[t] = base, 0
			}
		})
	}
}

func sqliteDSN(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		// Deleted content is overwritten. The key store's fully: a
		// shredded key must leave no byte behind. The data's on the pages
		// written anyway (FAST), where full zeroing cost a fifth of the bulk
		// path's speed; what a purge leaves there is ciphertext whose key
		// is gone.
		if filepath.Base(path) == KeysFile {
			q.Add("_pragma", "secure_delete(1)")
		} else {
			q.Add("_pragma", "secure_delete(FAST)")
		}
		// Blind indexes are random, so index inserts land on random pages:
		// a page cache keeps many of them in memory between commits (the
		// e-mail and phone indexes take 7 pages per 1,000 contacts each).
		// The pages come from the page pool (pagepool.go). 128 MiB made a
		// 1M-row import no faster in two runs side by side (README); 32
		// MiB made it 5-8% slower.
		// The key store's rows go in by contact id, at the end of its one
		// B-tree: SQLite's default 2 MiB do.
		if filepath.Base(path) == KeysFile {
			q.Add("_pragma", "cache_size(-2048)")
		} else {
			q.Add("_pragma", "cache_size(-65536)")
		}
		// A multi-row INSERT keeps a statement journal (a copy of each
		// page it changes, to undo the statement alone): in memory, not
		// in a temporary file, where writing it cost a tenth of the bulk
		// path and left copies of pages on disk.
		q.Add("_pragma", "temp_store(MEMORY)")
		// The checkpointer copies the log into the file (checkpointWAL).
		// A log restarted after it grew long is cut back to 64 MiB.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

func (db *DB) openSQLite(dir string) error {
	var err error
	open := func(file string, writer bool, conns int) *sql.DB {
		if err != nil {
			return nil
		}
		var d *sql.DB
		d, err = openSQLiteDB(sqliteDSN(filepath.Join(dir, file), writer))
		if d != nil {
			d.SetMaxOpenConns(conns)
			d.SetMaxIdleConns(conns)
			d.SetConnMaxLifetime(0)
		}
		return d
	}
	// One writer: SQLite serialises writers anyway, and a single
	// connection turns lock contention into a queue instead of errors.
	db.write = open(DataFile, true, 1)
	db.keys = open(KeysFile, true, 1)
	db.read = newStmtCache(open(DataFile, false, 4))
	db.keysRead = newStmtCache(open(KeysFile, false, 4))
	db.auth.probeDB = open(DataFile, false, 1)
	db.checkpointers = []*sql.DB{open(DataFile, false, 1), open(KeysFile, false, 1)}
	if err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	if pagePool.err != nil {
		db.log.Warn("store: no page pool: SQLite allocates each cached page on its own", "err", pagePool.err)
	}
	// Create the files (and switch them to WAL) before the readers, which
	// are query-only, touch them.
	for _, d := range []*sql.DB{db.write, db.keys} {
		if err := d.Ping(); err != nil {
			return fmt.Errorf("store: open sqlite: %w", err)
		}
	}
	for _, f := range []string{DataFile, KeysFile} {
		_ = os.Chmod(filepath.Join(dir, f), 0o600)
	}
	db.walLong = map[*sql.DB]*atomic.Bool{db.write: new(atomic.Bool), db.keys: new(atomic.Bool)}
	for i, w := range []*sql.DB{db.write, db.keys} {
		db.bg.Go(func() { db.checkpointWAL(db.checkpointers[i], db.walLong[w]) })
	}
	return nil
}

func (db *DB) openPostgres(ctx context.Context, cfg Config) error {
	schema := cfg.Schema
	if schema == "" {
		schema = "custos"
	}
	if !schemaRE(schema) {
		return fmt.Errorf("store: bad schema name %q", schema)
	}
	open := func(schema string) (*sql.DB, error) {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("store: bad database URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		d, err := sql.Open("pgx", u.String())
		if err != nil {
			return nil, err
		}
		d.SetMaxOpenConns(16)
		d.SetMaxIdleConns(16)
		if _, err := d.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			d.Close()
			return nil, fmt.Errorf("store: create schema %s: %w", schema, err)
		}
		return d, nil
	}
	var err error
	if db.write, err = open(schema); err != nil {
		return err
	}
	db.read = newStmtCache(db.write)
	if db.keys, err = open(schema + "_keys"); err != nil {
		return err
	}
	db.keysRead = newStmtCache(db.keys)
	db.pg = true
	return nil
}

func schemaRE(s string) bool {
	if s == "" || len(s) > 50 {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// preparedWrites are the statements that every audit entry runs: on
// SQLite, parsing them would cost more than running them.
var preparedWrites = func() []string {
	qs := []string{sqlAuditHead, sqlSetAuditHead, sqlContactsByEmail}
	return append(qs, sqlInsertAuditRows[1:]...)
}()

// prepareWrites prepares preparedWrites on SQLite's writer. It runs at
// Open, before any transaction: the writer is one connection, which a
// statement prepared inside a transaction would wait for. (pgx prepares
// and caches statements by itself.)
func (db *DB) prepareWrites(ctx context.Context) error {
	if db.pg {
		return nil
	}
	db.writeStmts = map[string]*sql.Stmt{}
	for _, q := range preparedWrites {
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		db.writeStmts[q] = st
	}
	return db.prepareBulk(ctx)
}

// writeStmt returns query as a statement of tx, prepared when it is one
// of preparedWrites, else parsed when run.
func (db *DB) writeStmt(ctx context.Context, tx *sql.Tx, query string) txStmt {
	if st := db.writeStmts[query]; st != nil {
		return tx.StmtContext(ctx, st)
	}
	return unprepared{tx, query}
}

// txStmt is a statement of a transaction.
type txStmt interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// unprepared runs its query in tx, parsed each time.
type unprepared struct {
	tx    *sql.Tx
	query string
}

func (u unprepared) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return u.tx.ExecContext(ctx, u.query, args...)
}

func (u unprepared) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(ctx, u.query, args...)
}

func (u unprepared) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return u.tx.QueryRowContext(ctx, u.query, args...)
}

// Close closes the databases.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closing) })
	db.bg.Wait()
	var errs []error
	for _, st := range db.writeStmts {
		errs = append(errs, st.Close())
	}
	for _, st := range db.bulkStmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, db.auth.closeProbe())
	for _, c := range []*stmtCache{db.read, db.keysRead} {
		if c != nil {
			errs = append(errs, c.close(!db.pg))
		}
	}
	for _, d := range append([]*sql.DB{db.write, db.keys}, db.checkpointers...) {
		if d != nil {
			errs = append(errs, d.Close())
		}
	}
	return errors.Join(errs...)
}

// stmtCache reads through prepared statements, each distinct query
// prepared once: on SQLite, parsing a query costs more than the point
// lookup it does.
type stmtCache struct {
	d     *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// maxStmts bounds the cache; queries beyond it run unprepared.
const maxStmts = 2000

func newStmtCache(d *sql.DB) *stmtCache {
	return &stmtCache{d: d, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st := c.stmts[query]
	n := len(c.stmts)
	c.mu.RUnlock()
	if st != nil || n >= maxStmts {
		return st
	}
	st, err := c.d.PrepareContext(ctx, query)
	if err != nil {
		return nil // the query runs unprepared and reports its error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil { // closed meanwhile
		st.Close()
		return nil
	}
	if prev := c.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	c.stmts[query] = st
	return st
}

// QueryRowContext runs a query that returns one row.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.d.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.d.QueryContext(ctx, query, args...)
}

// ExecContext runs a statement, unprepared.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.d.ExecContext(ctx, query, args...)
}

// close closes the statements and, with pool, the pool under them.
func (c *stmtCache) close(pool bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
	if pool {
		return c.d.Close()
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string {
	if db.pg {
		return "postgres"
	}
	return "sqlite"
}

// migrate applies the embedded migrations that have not run yet, each in
// its own transaction, to the data store and the key store.
func (db *DB) migrate(ctx context.Context) error {
	if err := db.migrateOne(ctx, db.write, db.migrations(BackupData), 0); err != nil {
		return err
	}
	return db.migrateOne(ctx, db.keys, db.migrations(BackupKeys), 0)
}

// migrations returns the directory of the migrations of the data store or
// of the key store, in this store's dialect.
func (db *DB) migrations(kind BackupKind) string {
	dir := "migrations/"
	if kind == BackupKeys {
		dir += "keys-"
	}
	if db.pg {
		return dir + "postgres"
	}
	return dir + "sqlite"
}

// migrateOne applies the migrations in dir to d, up to and including
// version upTo (0: all of them).
func (db *DB) migrateOne(ctx context.Context, d *sql.DB, dir string, upTo int) error {
	if _, err := d.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s has no number", base)
		}
		if upTo > 0 && version > upTo {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = db.txOn(ctx, d, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, db.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, micros(db.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

// q rebinds ? placeholders to $1, $2, … for PostgreSQL. Queries never hold
// a literal question mark.
func (db *DB) q(query string) string {
	if !db.pg {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		} else {
			b.WriteByte(query[i])
		}
	}
	return b.String()
}

// tx runs fn in a write transaction on the data store.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.txOn(ctx, db.write, fn)
}

func (db *DB) txOn(ctx context.Context, d *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return mapError(err)
	}
	defer tx.Rollback() // after a panic; a no-op once committed
	if err := fn(tx); err != nil {
		return mapError(err)
	}
	return db.commit(ctx, d, tx)
}

// commit commits a write transaction on d; on the data store, with the
// audit entry of the API request that made it (auditRequest).
func (db *DB) commit(ctx context.Context, d *sql.DB, tx *sql.Tx) error {
	if d == db.write {
		if err := db.auditRequest(ctx, tx); err != nil {
			return mapError(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return mapError(err)
	}
	db.restartWAL(d)
	return nil
}

// actor returns the actor of the context, or EUNAUTHORIZED: every store
// method acts for someone, inside their workspace.
func actor(ctx context.Context) (custos.Actor, error) {
	a, ok := custos.ActorFrom(ctx)
	if !ok {
		return a, custos.Errorf(custos.EUNAUTHORIZED, "no actor in context")
	}
	return a, nil
}

// errConflict marks a unique violation until the caller names what clashed.
var errConflict = &custos.Error{Code: custos.ECONFLICT, Message: "the object exists already"}

// mapError turns driver errors into domain errors by their codes.
func mapError(err error) error {
	if err == nil || custos.AsError(err) != nil {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", errConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return custos.Errorf(custos.EINVALID, "a referenced object does not exist")
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			return custos.Errorf(custos.ECONFLICT, "the record is immutable")
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %v", errConflict, err)
		case "23503":
			return custos.Errorf(custos.EINVALID, "a referenced object does not exist")
		case "P0001":
			return custos.Errorf(custos.ECONFLICT, "the record is immutable")
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return custos.Errorf(custos.EUNAVAILABLE, "the request was cancelled or timed out")
	}
	return err
}

// isConflict reports whether err is a unique violation.
func isConflict(err error) bool { return errors.Is(err, errConflict) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

// encodeJSON marshals v without HTML escaping, the form in which JSON
// values are stored and compared.
func encodeJSON(v any) string {
	var buf [128]byte
	if b, ok := appendJSON(buf[:0], v); ok {
		return string(b)
	}
	return encodeJSONReflect(v)
}

// encodeJSONReflect is encodeJSON through encoding/json.
func encodeJSONReflect(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // only for unencodable types
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// trimPage cuts a page read with one row more than limit back to limit,
// and returns with it the key of its last row, the cursor of the next
// page (0: there is none).
func trimPage[T any](rows []T, limit int, key func(T) int64) ([]T, int64) {
	if len(rows) <= limit {
		return rows, 0
	}
	return rows[:limit], key(rows[limit-1])
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// allocIDs reserves n ids of the named sequence inside tx. Contact and
// ledger ids are known before their rows are written because the contact id
// is bound into every ciphertext of the contact.
func (db *DB) allocIDs(ctx context.Context, tx *sql.Tx, name string, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if db.pg {
		rows, err := tx.QueryContext(ctx, `SELECT nextval('`+name+`_id_seq') FROM generate_series(1, $1)`, n)
		if err != nil {
			return nil, fmt.Errorf("alloc ids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `UPDATE id_seq SET next = next + ? WHERE name = ? RETURNING next`, n, name).Scan(&next); err != nil {
		return nil, fmt.Errorf("alloc ids: %w", err)
	}
	for id := next - int64(n); id < next; id++ {
		ids = append(ids, id)
	}
	return ids, nil
}

// bumpRev advances the workspace's contact revision, which the search
// index follows, and returns it. The row lock also orders concurrent
// contact writers on PostgreSQL, so revisions commit in order.
func (db *DB) bumpRev(ctx context.Context, tx *sql.Tx, ws int64) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, db.q(`UPDATE workspaces SET rev = rev + 1 WHERE id = ? RETURNING rev`), ws).Scan(&rev)
	return rev, err
}
