package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/custos/custos/internal/durable"
	"github.com/custos/custos/internal/vault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// BackupKind says which store a backup holds. The data and the key store
// are backed up apart, to be kept apart: together they are the plaintext.
type BackupKind string

// The kinds of backup.
const (
	BackupData BackupKind = "data"
	BackupKeys BackupKind = "keys"
)

// ManifestFile describes a backup. It is written last: a directory without
// it holds no complete backup.
const ManifestFile = "custos-backup.json"

// Manifest describes a backup.
type Manifest struct {
	Format    int        `json:"format"`
	Kind      BackupKind `json:"kind"`
	Dialect   string     `json:"dialect"`
	CreatedAt time.Time  `json:"created_at"`
	// Migration is the last migration the backed-up store had run.
	Migration int `json:"migration"`
	// Tables are the COPY files of a PostgreSQL backup, in load order;
	// Sequences the values of its sequences.
	Tables    []string         `json:"tables,omitempty"`
	Sequences map[string]int64 `json:"sequences,omitempty"`
	// Columns are, by table, the columns of its COPY file, in order
	// (backups made since session 7; an older one has the columns its
	// tables had then).
	Columns map[string][]string `json:"columns,omitempty"`
}

// Backup writes a consistent copy of the data store, with the erasure
// journal, or of the key store into dir, which must be new or empty. On
// SQLite the copy is a database file (VACUUM INTO); on PostgreSQL one COPY
// file per table, read in one snapshot. The backup is registered first, so
// that every erasure from then on reaches it: appended to its journal, or
// its key shredded.
func (db *DB) Backup(ctx context.Context, dir string, kind BackupKind) (*Manifest, error) {
	if kind != BackupData && kind != BackupKeys {
		return nil, fmt.Errorf("store: backup kind must be data or keys")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: backup directory: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	// Until the manifest is written the backup holds its marker's lock;
	// one that ends before (killed, or failed) leaves the marker unlocked,
	// and the next scrub removes what it wrote (removeUnfinished).
	marker, err := markUnfinished(dir)
	if err != nil {
		return nil, err
	}
	defer marker.Close()
	if err := db.registerBackup(dir, kind); err != nil {
		return nil, err
	}
	m := &Manifest{Format: 1, Kind: kind, Dialect: db.Dialect(), CreatedAt: db.Now()}
	d, file := db.write, DataFile
	if kind == BackupKeys {
		d, file = db.keys, KeysFile
	}
	if err := d.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&m.Migration); err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	if db.pg {
		err = db.dumpPostgres(ctx, d, dir, m)
	} else {
		err = vacuumInto(ctx, filepath.Join(db.dir, file), filepath.Join(dir, file))
	}
	if err != nil {
		return nil, err
	}
	if kind == BackupData {
		// Merged, not copied: erasures since the backup was registered
		// may have been appended to its journal already.
		if err := mergeJournal(filepath.Join(dir, JournalFile), db.journal.path, db.vault); err != nil {
			return nil, err
		}
	}
	body, _ := json.MarshalIndent(m, "", "  ")
	body = append(body, '\n')
	// A contact forgotten while the copy was made may be in it, and the
	// erasure skipped this backup, which had no manifest yet: remove every
	// forgotten contact or key now, holding the lock that erasures take,
	// and only then make the backup complete.
	err = withLock(filepath.Join(dir, string(kind)), func() error {
		if kind == BackupData {
			t, err := db.tombstoneEntries(ctx, 0, 0)
			if err != nil {
				return err
			}
			if err := db.scrubDataBackup(ctx, dir, m, t); err != nil {
				return err
			}
		} else {
			k, err := db.forgotten(ctx)
			if err != nil {
				return err
			}
			if err := scrubKeyBackup(ctx, dir, m, k); err != nil {
				return err
			}
		}
		if err := writeFile(filepath.Join(dir, ManifestFile), body); err != nil {
			return err
		}
		return os.Remove(filepath.Join(dir, unfinishedFile))
	})
	if err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	return m, nil
}

// unfinishedFile marks a backup directory whose backup is being made, or
// ended before it was complete.
const unfinishedFile = "backup-unfinished"

// markUnfinished puts the marker in dir, locked: created under another
// name and locked first, so that no scrub ever sees it unlocked while the
// backup runs.
func markUnfinished(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, unfinishedFile+".*")
	if err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, unfinishedFile)); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	return f, nil
}

// removeUnfinished removes what a backup that ended before its manifest
// (killed, or failed) wrote into dir: no restore accepts it, and it may
// hold contacts forgotten since, which no scrub of a complete backup
// would reach. A backup still being made holds its marker's lock and is
// left alone (it scrubs itself before it completes), as is a directory
// without the marker. It reports whether it removed anything. The caller
// holds the backup's lock for its kind; a backup of the other kind may be
// completing in dir meanwhile.
func removeUnfinished(dir string) (bool, error) {
	path := filepath.Join(dir, unfinishedFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	// The lock holds a file, not its name: a backup that completed since
	// the open removed its marker (and released it), or one killed just
	// after its manifest left the marker beside it. Either is complete.
	opened, err := f.Stat()
	if err != nil {
		return false, err
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(opened, now) {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != unfinishedFile && !strings.HasSuffix(e.Name(), ".lock") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return true, durable.SyncDir(dir)
}

// backupInPlace reports whether dir holds a backup, complete (its
// manifest) or being made (its marker), or cannot be looked into (its
// journal is tried, and its failure logged).
func backupInPlace(dir string) bool {
	for _, name := range []string{ManifestFile, unfinishedFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// SitesFile lists, in the data directory, the backups this installation
// made: one line of JSON each. It is kept out of the database so that
// restoring an older database does not forget the backups made since.
const SitesFile = "backups.list"

type backupSite struct {
	Path string     `json:"path"`
	Kind BackupKind `json:"kind"`
}

// registerBackup adds dir to the list of backups.
func (db *DB) registerBackup(dir string, kind BackupKind) error {
	line, _ := json.Marshal(backupSite{Path: dir, Kind: kind})
	path := filepath.Join(db.dir, SitesFile)
	return withLock(path, func() error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("store: register backup: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("store: register backup: %w", err)
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("store: register backup: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("store: register backup: %w", err)
		}
		if fi.Size() == 0 {
			// A new list: its name must survive a power cut too.
			return durable.SyncDir(db.dir)
		}
		return nil
	})
}

// backupSites returns the directories of the registered backups of kind.
func (db *DB) backupSites(kind BackupKind) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(db.dir, SitesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: backup sites: %w", err)
	}
	var dirs []string
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var s backupSite
		if json.Unmarshal(line, &s) == nil && s.Kind == kind && !slices.Contains(dirs, s.Path) {
			dirs = append(dirs, s.Path)
		}
	}
	return dirs, nil
}

// forgottenKeys names keys to remove from a key backup: those of contacts,
// and those of requests made up to the time their personal data was
// erased (a key made since seals what was written afterwards).
type forgottenKeys struct {
	contacts map[contactRef]bool
	requests map[contactRef]int64 // → erased_at, Unix microseconds
}

// forgotten returns every key that erasures have shredded: the keys of
// tombstoned contacts and of erased requests.
func (db *DB) forgotten(ctx context.Context) (forgottenKeys, error) {
	k := forgottenKeys{contacts: map[contactRef]bool{}, requests: map[contactRef]int64{}}
	rows, err := db.read.QueryContext(ctx, `SELECT workspace_id, contact_id, 0 FROM tombstones UNION ALL
		SELECT workspace_id, id, erased_at FROM dsr_requests WHERE erased_at IS NOT NULL`)
	if err != nil {
		return k, fmt.Errorf("store: forgotten keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r contactRef
		var erased int64
		if err := rows.Scan(&r.ws, &r.id, &erased); err != nil {
			return k, err
		}
		if erased == 0 {
			k.contacts[r] = true
		} else {
			k.requests[r] = erased
		}
	}
	return k, rows.Err()
}

// scrubKeyBackup removes the keys k names from the key backup in dir: on
// SQLite deleted in place with nothing of the old pages kept on disk, on
// PostgreSQL by rewriting the COPY files without their lines. The caller
// holds the backup's lock.
func scrubKeyBackup(ctx context.Context, dir string, m *Manifest, k forgottenKeys) error {
	if m.Dialect == "postgres" {
		if err := dropCopyLines(filepath.Join(dir, "contact_keys.copy"), func(ref contactRef, _ int64) bool { return k.contacts[ref] }); err != nil {
			return err
		}
		if !slices.Contains(m.Tables, "request_keys") {
			return nil
		}
		return dropCopyLines(filepath.Join(dir, "request_keys.copy"), func(ref contactRef, created int64) bool {
			erased, ok := k.requests[ref]
			return ok && created <= erased
		})
	}
	d, err := openSQLiteDB("file:" + filepath.Join(dir, KeysFile) + "?_pragma=busy_timeout(10000)&_pragma=secure_delete(1)&_pragma=journal_mode(MEMORY)")
	if err != nil {
		return err
	}
	defer d.Close()
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for r := range k.contacts {
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_keys WHERE workspace_id = ? AND contact_id = ?`, r.ws, r.id); err != nil {
			return err
		}
	}
	var tables int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'request_keys'`).Scan(&tables); err != nil {
		return err
	}
	for r, erased := range k.requests {
		if tables == 0 {
			break // a backup older than the request register
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM request_keys WHERE workspace_id = ? AND request_id = ? AND created_at <= ?`, r.ws, r.id, erased); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// dropCopyLines rewrites a COPY file of a key table (workspace_id, id,
// wrapped, created_at) without the lines drop names.
func dropCopyLines(path string, drop func(ref contactRef, created int64) bool) error {
	return rewriteCopy(path, func(f [][]byte) ([][]byte, bool) {
		if len(f) != 4 {
			return f, false
		}
		ws, err1 := strconv.ParseInt(string(f[0]), 10, 64)
		id, err2 := strconv.ParseInt(string(f[1]), 10, 64)
		created, err3 := strconv.ParseInt(string(f[3]), 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && drop(contactRef{ws, id}, created) {
			return nil, true
		}
		return f, false
	})
}

// rewriteCopy rewrites a COPY file (PostgreSQL's text format) line by
// line: edit gets the fields of each row and returns them, changed or
// not, or nil to drop the row, and whether it changed anything. The file
// is replaced atomically, and left alone when nothing changed. In the
// text format a tab or a newline inside a value is written escaped (\t,
// \n), so the raw bytes split rows and fields exactly; the fields are
// passed, and must be returned, in their escaped form.
func rewriteCopy(path string, edit func(f [][]byte) ([][]byte, bool)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	changed := false
	for line := range bytes.Lines(b) {
		body, ok := bytes.CutSuffix(line, []byte{'\n'})
		if !ok || bytes.Equal(body, []byte(`\.`)) {
			out.Write(line)
			continue
		}
		f, c := edit(bytes.Split(body, []byte{'\t'}))
		if !c {
			out.Write(line)
			continue
		}
		changed = true
		if f != nil {
			out.Write(bytes.Join(f, []byte{'\t'}))
			out.WriteByte('\n')
		}
	}
	if !changed {
		return nil
	}
	return writeFile(path, out.Bytes())
}

// ReadManifest reads the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format != 1 || (m.Kind != BackupData && m.Kind != BackupKeys) {
		return nil, fmt.Errorf("store: %s is not a Custos backup manifest", filepath.Join(dir, ManifestFile))
	}
	return &m, nil
}

// Restore puts the backup in dir in place of the data store or the key
// store that cfg names, which must be empty unless replace is set (the
// server must then be stopped). It merges the backup's erasure journal, and
// the extra journals named, into the data directory's journal; the next
// Open replays every erasure in it, so that a person forgotten after the
// backup was made stays forgotten.
func Restore(ctx context.Context, cfg Config, v *vault.Vault, dir string, replace bool, journals ...string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: %s holds no complete backup (no %s)", dir, ManifestFile)
	} else if err != nil {
		return nil, err
	}
	db := newDB(v)
	if err := db.connect(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	defer db.Close()
	if m.Dialect != db.Dialect() {
		return nil, fmt.Errorf("store: this is a %s backup; the target store is %s", m.Dialect, db.Dialect())
	}
	if m.Kind == BackupData {
		// Read before anything changes: a journal that fails its MACs
		// stops the restore.
		for _, j := range append([]string{filepath.Join(dir, JournalFile)}, journals...) {
			if err := mergeJournal(filepath.Join(cfg.DataDir, JournalFile), j, v); err != nil {
				return nil, err
			}
		}
	}
	if db.pg {
		err = db.restorePostgres(ctx, cfg, dir, m, replace)
	} else {
		err = db.restoreSQLite(cfg.DataDir, dir, m, replace)
	}
	if err == nil && m.Kind == BackupData {
		// The restored chain ends before the checkpoints written since the
		// backup; the server checkpoints it afresh.
		path := filepath.Join(cfg.DataDir, CheckpointFile)
		err = withLock(path, func() error {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	return m, err
}

// mergeJournal appends to the journal at dst the entries of the journal at
// src that it lacks.
func mergeJournal(dst, src string, v *vault.Vault) error {
	add, err := readJournal(src, v)
	if err != nil || len(add) == 0 {
		return err
	}
	return withLock(dst, func() error {
		have, err := readJournal(dst, v)
		if err != nil {
			return err
		}
		known := map[contactRef]bool{}
		for _, e := range have {
			known[e.ref()] = true
		}
		var lines []byte
		for _, e := range add {
			if !known[e.ref()] {
				known[e.ref()] = true
				lines = append(lines, e.line(v)...)
			}
		}
		if len(lines) == 0 {
			return nil
		}
		return appendLines(dst, lines)
	})
}

func (db *DB) restoreSQLite(dataDir, dir string, m *Manifest, replace bool) error {
	file := DataFile
	if m.Kind == BackupKeys {
		file = KeysFile
	}
	target := filepath.Join(dataDir, file)
	// The connections connect opened would hold the file: close them.
	if err := db.Close(); err != nil {
		return err
	}
	db.write, db.keys, db.read, db.keysRead = nil, nil, nil, nil
	if err := checkEmptySQLite(target, replace); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm", ""} {
		if err := os.Remove(target + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: restore: %w", err)
		}
	}
	return copyFile(filepath.Join(dir, file), target)
}

// checkEmptySQLite refuses to overwrite a database that holds a schema,
// unless replace is set. connect created the file, empty, when it was new.
func checkEmptySQLite(path string, replace bool) error {
	d, err := openSQLiteDB("file:" + path + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	if n > 0 && !replace {
		return fmt.Errorf("store: %s holds a database already; restore with replace (the server stopped) to overwrite it", path)
	}
	return nil
}

func (db *DB) restorePostgres(ctx context.Context, cfg Config, dir string, m *Manifest, replace bool) error {
	d, schema := db.write, cfg.Schema
	if schema == "" {
		schema = "custos"
	}
	if m.Kind == BackupKeys {
		d, schema = db.keys, schema+"_keys"
	}
	var n int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&n); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	if n > 0 {
		if !replace {
			return fmt.Errorf("store: schema %s holds a database already; restore with replace (the server stopped) to overwrite it", schema)
		}
		if _, err := d.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE; CREATE SCHEMA `+schema); err != nil {
			return fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := db.migrateOne(ctx, d, db.migrations(m.Kind), m.Migration); err != nil {
		return err
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		for _, t := range m.Tables {
			f, err := os.Open(filepath.Join(dir, t+".copy"))
			if err != nil {
				return fmt.Errorf("store: restore: %w", err)
			}
			cols := ""
			if m.Columns != nil {
				cols = ` (` + columnList(m.Columns[t]) + `)`
			}
			_, err = c.PgConn().CopyFrom(ctx, f, `COPY `+pgx.Identifier{t}.Sanitize()+cols+` FROM STDIN`)
			f.Close()
			if err != nil {
				return fmt.Errorf("store: restore %s: %w", t, err)
			}
		}
		for name, value := range m.Sequences {
			if _, err := tx.Exec(ctx, `SELECT setval(format('%I.%I', current_schema(), $1::text), $2)`, name, value); err != nil {
				return fmt.Errorf("store: restore sequence %s: %w", name, err)
			}
		}
		return tx.Commit(ctx)
	})
}

// dumpPostgres writes one COPY file per table of d's schema, and the
// sequences, all read in one snapshot.
func (db *DB) dumpPostgres(ctx context.Context, d *sql.DB, dir string, m *Manifest) error {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// Creation order, which is an order in which foreign keys load.
		// auth_generation is not data: the restore's rows set it anew.
		rows, _ := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname NOT IN ('schema_migrations', 'auth_generation') ORDER BY c.oid`)
		if m.Tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		rows, _ = tx.Query(ctx, sqlColumns)
		m.Columns = map[string][]string{}
		var t, col string
		if _, err := pgx.ForEachRow(rows, []any{&t, &col}, func() error {
			m.Columns[t] = append(m.Columns[t], col)
			return nil
		}); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		for _, t := range m.Tables {
			if err := createFile(filepath.Join(dir, t+".copy"), func(w io.Writer) error {
				_, err := c.PgConn().CopyTo(ctx, w, `COPY `+pgx.Identifier{t}.Sanitize()+` (`+columnList(m.Columns[t])+`) TO STDOUT`)
				return err
			}); err != nil {
				return fmt.Errorf("store: backup %s: %w", t, err)
			}
		}
		rows, _ = tx.Query(ctx, `SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL`)
		m.Sequences = map[string]int64{}
		for rows.Next() {
			var name string
			var value int64
			if err := rows.Scan(&name, &value); err != nil {
				rows.Close()
				return err
			}
			m.Sequences[name] = value
		}
		rows.Close()
		return rows.Err()
	})
}

// sqlColumns lists the columns of the tables of PostgreSQL's current
// schema, each table's in their order.
const sqlColumns = `SELECT table_name::text, column_name::text FROM information_schema.columns
	WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`

// columnList is cols as a column list of a statement.
func columnList(cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(quoted, ", ")
}

// vacuumInto writes a consistent copy of the SQLite database at src to dst.
func vacuumInto(ctx context.Context, src, dst string) error {
	d, err := openSQLiteDB("file:" + src + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("store: backup %s: %w", filepath.Base(src), err)
	}
	return os.Chmod(dst, 0o600)
}

// emptyDir makes sure dir exists (mode 0700) and holds nothing.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: backup directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: backup directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("store: backup directory %s is not empty", dir)
	}
	return nil
}

// createFile creates path (mode 0600, failing if it exists), fills it
// with fill and syncs it.
func createFile(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return fillFile(f, fill)
}

// fillFile writes what fill writes into f, buffered, syncs and closes it.
func fillFile(f *os.File, fill func(io.Writer) error) error {
	w := bufio.NewWriterSize(f, 1<<20)
	err := fill(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFile replaces path with b atomically: a temporary file, synced,
// renamed over it.
func writeFile(path string, b []byte) error {
	return replaceFile(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// replaceFile replaces path atomically with what fill writes: a new
// temporary file (mode 0600) beside it, synced, renamed over it, and the
// directory synced.
func replaceFile(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a failure; gone once renamed
	if err := fillFile(f, fill); err != nil {
		return err
	}
	return durable.Rename(tmp, path)
}

// copyFile copies src to dst (mode 0600) atomically.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return replaceFile(dst, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
}
