package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/durable"
)

// PendingFile lists, in the data directory, the registered backups that an
// erasure could not reach (a backup out of reach, unreadable, locked): one
// line of JSON each. Each is scrubbed of every forgotten contact at the
// next start and the next erasure, and leaves the list once that works.
// Until then, restoring it still replays the erasures from the journal.
const PendingFile = "backups.pending"

// keptContactTables are the tables with a contact_id column whose rows
// stay when a contact is forgotten: its tombstone, the audit log (ids
// only) and the data-subject requests (kept as evidence; their personal
// data is sealed under their own keys, shredded with the contact's).
var keptContactTables = []string{"tombstones", "audit_log", "dsr_requests"}

// scrubBackups removes the contact from every registered backup still in
// place: its keys, and those of its requests, from key backups; its rows
// from data backups. It never fails the erasure: a backup it cannot
// change is logged (by path, no personal data) and recorded in the
// pending list, to be scrubbed again later. Backups already pending are
// tried first.
func (db *DB) scrubBackups(ctx context.Context, ws, id int64, requests []int64) {
	pending := db.retryPendingScrubs(ctx)
	k := forgottenKeys{contacts: map[contactRef]bool{{ws, id}: true}, requests: map[contactRef]int64{}}
	for _, r := range requests {
		k.requests[contactRef{ws, r}] = math.MaxInt64
	}
	var tomb []journalEntry
	var failed []backupSite
	for _, kind := range []BackupKind{BackupKeys, BackupData} {
		sites, err := db.backupSites(kind)
		if err != nil {
			db.log.ErrorContext(ctx, "the erasure could not read the list of backups", "contact", id, "err", err)
			continue
		}
		for _, dir := range sites {
			site := backupSite{Path: dir, Kind: kind}
			if slices.Contains(pending, site) {
				continue // out of reach a moment ago; scrubbed whole later
			}
			if kind == BackupData && tomb == nil {
				if tomb, err = db.tombstoneEntries(ctx, ws, id); err != nil {
					db.log.ErrorContext(ctx, "the erasure could not read its tombstone", "contact", id, "err", err)
					failed = append(failed, site)
					continue
				}
			}
			if err := db.scrubSite(ctx, site, k, tomb); err != nil {
				db.log.WarnContext(ctx, "the erasure did not reach a backup; it is retried at the next start and erasure, and restoring the backup replays it",
					"contact", id, "backup", dir, "kind", string(kind), "err", err)
				failed = append(failed, site)
			}
		}
	}
	if len(failed) > 0 {
		if err := db.updatePending(failed, nil); err != nil {
			db.log.ErrorContext(ctx, "the backups the erasure did not reach could not be recorded", "contact", id, "err", err)
		}
	}
}

// retryPendingScrubs scrubs each backup of the pending list of every
// forgotten contact, drops from the list those it scrubbed, or that are
// gone, and returns those still pending.
func (db *DB) retryPendingScrubs(ctx context.Context) []backupSite {
	pending, err := db.pendingSites()
	if err != nil {
		db.log.ErrorContext(ctx, "the list of backups to scrub could not be read", "err", err)
		return nil
	}
	if len(pending) == 0 {
		return nil
	}
	k, err := db.forgotten(ctx)
	if err != nil {
		db.log.ErrorContext(ctx, "backups to scrub", "err", err)
		return pending
	}
	tomb, err := db.tombstoneEntries(ctx, 0, 0)
	if err != nil {
		db.log.ErrorContext(ctx, "backups to scrub", "err", err)
		return pending
	}
	var done, still []backupSite
	for _, site := range pending {
		if err := db.scrubSite(ctx, site, k, tomb); err != nil {
			db.log.WarnContext(ctx, "erasures have not reached a backup yet; restoring it replays them", "backup", site.Path, "kind", string(site.Kind), "err", err)
			still = append(still, site)
		} else {
			done = append(done, site)
		}
	}
	if len(done) > 0 {
		if err := db.updatePending(nil, done); err != nil {
			db.log.ErrorContext(ctx, "the list of backups to scrub could not be updated", "err", err)
		}
	}
	return still
}

// PendingBackupScrubs returns the directories of the registered backups
// that erasures have not reached yet.
func (db *DB) PendingBackupScrubs() ([]string, error) {
	sites, err := db.pendingSites()
	var dirs []string
	for _, s := range sites {
		if !slices.Contains(dirs, s.Path) {
			dirs = append(dirs, s.Path)
		}
	}
	return dirs, err
}

// scrubSite removes from one backup the keys k names (a key backup) or the
// contacts of the tombstones (a data backup). A directory that is gone is
// left alone, as is one that holds no complete backup of its kind: there
// is nothing to scrub, or Backup scrubs it itself before it completes it,
// or it ended before and what it wrote goes (removeUnfinished).
func (db *DB) scrubSite(ctx context.Context, site backupSite, k forgottenKeys, tomb []journalEntry) error {
	if _, err := os.Stat(site.Path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// One change of a backup at a time, across processes too.
	return withLock(filepath.Join(site.Path, string(site.Kind)), func() error {
		m, err := ReadManifest(site.Path)
		if errors.Is(err, fs.ErrNotExist) {
			removed, err := removeUnfinished(site.Path)
			if removed {
				db.log.WarnContext(ctx, "removed the files of a backup that ended before it was complete", "backup", site.Path)
			}
			return err
		} else if err != nil {
			return err
		}
		if m.Kind != site.Kind {
			return nil // another kind of backup made there since
		}
		if err := removeTemporary(site.Path); err != nil {
			return err
		}
		if m.Kind == BackupKeys {
			return scrubKeyBackup(ctx, site.Path, m, k)
		}
		return db.scrubDataBackup(ctx, site.Path, m, tomb)
	})
}

// removeTemporary removes the temporary files (*.tmp) a change of the
// backup in dir killed part way left there: a file being rewritten
// without a forgotten contact's rows (replaceFile) holds the rest of them.
// The caller holds the backup's lock.
func removeTemporary(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// pendingSites reads the pending list.
func (db *DB) pendingSites() ([]backupSite, error) {
	var sites []backupSite
	err := readLines(filepath.Join(db.dir, PendingFile), func(_ int, line []byte) error {
		var s backupSite
		if json.Unmarshal(line, &s) == nil && s.Path != "" && !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
		return nil
	})
	return sites, err
}

// updatePending adds sites to the pending list and removes others from it,
// holding its lock, and replaces the file atomically.
func (db *DB) updatePending(add, remove []backupSite) error {
	path := filepath.Join(db.dir, PendingFile)
	return withLock(path, func() error {
		sites, err := db.pendingSites()
		if err != nil {
			return err
		}
		var out []byte
		for _, s := range append(sites, add...) {
			if slices.Contains(remove, s) {
				continue
			}
			line, _ := json.Marshal(s)
			if !bytes.Contains(out, append(line, '\n')) {
				out = append(append(out, line...), '\n')
			}
		}
		if len(out) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		return writeFile(path, out)
	})
}

// tombstoneEntries returns the tombstone of one contact, or with id 0
// every tombstone, as journal entries.
func (db *DB) tombstoneEntries(ctx context.Context, ws, id int64) ([]journalEntry, error) {
	query, args := `SELECT workspace_id, contact_id, mode, request_id, erased_at, suppression FROM tombstones`, []any{}
	if id != 0 {
		query, args = query+` WHERE workspace_id = ? AND contact_id = ?`, []any{ws, id}
	}
	rows, err := db.read.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: tombstones: %w", err)
	}
	defer rows.Close()
	entries := []journalEntry{}
	for rows.Next() {
		var e journalEntry
		if err := rows.Scan(&e.Workspace, &e.Contact, &e.Mode, &e.RequestID, &e.ErasedAt, &e.Suppression); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

// scrubDataBackup removes from the data backup in dir the rows of the
// contacts the tombstones name, as the purge does in the live store: all
// their rows to erase; to anonymize, all but a contacts row stripped of
// personal values. The caller holds the backup's lock.
func (db *DB) scrubDataBackup(ctx context.Context, dir string, m *Manifest, tomb []journalEntry) error {
	if len(tomb) == 0 {
		return nil
	}
	if m.Dialect == "postgres" {
		return db.scrubPostgresData(ctx, dir, m, tomb)
	}
	return scrubSQLiteData(ctx, filepath.Join(dir, DataFile), tomb)
}

// scrubSQLiteData removes the contacts from a SQLite data backup. Deleted
// in place, even with secure_delete, a row can leave its bytes behind
// (SQLite moves cells between pages when it rebalances the tree, and the
// old place is not always cleared), and a kill -9 in the middle of an
// in-place change could leave the backup half written. So the backup is
// copied byte for byte (a closed file: only a scrub, under the backup's
// lock, changes it), the copy scrubbed, copied again with VACUUM INTO (a
// fresh file holds only live rows), synced, and renamed over the backup,
// and the directory synced; the scratch files left by a crash are removed
// first. Nothing is done when the backup holds none of the contacts.
func scrubSQLiteData(ctx context.Context, path string, tomb []journalEntry) error {
	scratch, clean := path+".scrub", path+".clean"
	for _, f := range []string{scratch, scratch + "-journal", clean, clean + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	d, err := openSQLiteDB("file:" + path + "?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	var held []journalEntry
	for _, t := range tomb {
		var n int
		// A contact the backup still holds: its purge had not run when
		// the backup was made.
		err := d.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM contacts WHERE workspace_id = ? AND id = ? AND (? = 'erase' OR status <> ? OR sealed IS NOT NULL))
			+ (SELECT COUNT(*) FROM contact_tags WHERE workspace_id = ? AND contact_id = ?)`,
			t.Workspace, t.Contact, t.Mode, string(custos.StatusAnonymized), t.Workspace, t.Contact).Scan(&n)
		if err != nil {
			d.Close()
			return err
		}
		if n > 0 {
			held = append(held, t)
		}
	}
	d.Close()
	if len(held) == 0 {
		return nil
	}
	defer os.Remove(scratch)
	defer os.Remove(clean) // after a failure; renamed otherwise
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	err = createFile(scratch, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
	in.Close()
	if err != nil {
		return err
	}
	if err := deleteSQLiteContacts(ctx, scratch, held); err != nil {
		return err
	}
	if err := vacuumInto(ctx, scratch, clean); err != nil {
		return err
	}
	f, err := os.Open(clean)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	return durable.Rename(clean, path)
}

// deleteSQLiteContacts deletes the contacts' rows from the SQLite data
// file at path, in one transaction, and writes their tombstones into it.
// The tables are those of the file's own schema with a contact_id.
func deleteSQLiteContacts(ctx context.Context, path string, tomb []journalEntry) error {
	d, err := openSQLiteDB("file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(MEMORY)")
	if err != nil {
		return err
	}
	defer d.Close()
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT m.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'contact_id' ORDER BY m.name`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		if !slices.Contains(keptContactTables, name) {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tomb {
		// First the tombstone: the ledger's rows may go only once it exists.
		if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at, suppression) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, contact_id) DO NOTHING`, t.Workspace, t.Contact, t.Mode, t.RequestID, t.ErasedAt, t.Suppression); err != nil {
			return fmt.Errorf("tombstone: %w", err)
		}
		for _, table := range tables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM "`+table+`" WHERE workspace_id = ? AND contact_id = ?`, t.Workspace, t.Contact); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		if t.Mode == string(custos.ForgetErase) {
			_, err = tx.ExecContext(ctx, `DELETE FROM contacts WHERE workspace_id = ? AND id = ?`, t.Workspace, t.Contact)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE contacts SET status = ?, email_bidx = NULL, phone_bidx = NULL, sealed = NULL, bidx = '{}', tags = '[]',
				source_detail = '' WHERE workspace_id = ? AND id = ?`, string(custos.StatusAnonymized), t.Workspace, t.Contact)
		}
		if err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
	}
	return tx.Commit()
}

// scrubPostgresData rewrites the COPY files of a PostgreSQL data backup:
// the contacts' rows dropped from every table with a contact_id, their
// contacts rows dropped (erase) or stripped of personal values
// (anonymize). The columns of each file are the manifest's; a backup made
// before it recorded them has its tables' columns of then, which the live
// schema has in their order, followed by any added since (migrations up to
// session 7 only added columns). The tombstones are added to the backup's
// tombstones, as they are in its journal.
func (db *DB) scrubPostgresData(ctx context.Context, dir string, m *Manifest, tomb []journalEntry) error {
	modes := make(map[contactRef]string, len(tomb))
	for _, t := range tomb {
		modes[t.ref()] = t.Mode
	}
	columns := m.Columns
	if columns == nil {
		rows, err := db.read.QueryContext(ctx, sqlColumns)
		if err != nil {
			return fmt.Errorf("columns: %w", err)
		}
		columns = map[string][]string{}
		for rows.Next() {
			var t, c string
			if err := rows.Scan(&t, &c); err != nil {
				rows.Close()
				return err
			}
			columns[t] = append(columns[t], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	ref := func(f [][]byte, wsAt, idAt int) (contactRef, bool) {
		if wsAt < 0 || idAt < 0 || wsAt >= len(f) || idAt >= len(f) {
			return contactRef{}, false
		}
		ws, err1 := strconv.ParseInt(string(f[wsAt]), 10, 64)
		id, err2 := strconv.ParseInt(string(f[idAt]), 10, 64)
		return contactRef{ws, id}, err1 == nil && err2 == nil
	}
	for _, table := range m.Tables {
		cols := columns[table]
		wsAt := slices.Index(cols, "workspace_id")
		path := filepath.Join(dir, table+".copy")
		var err error
		switch {
		case table == "tombstones":
			err = addTombstoneLines(path, cols, tomb)
		case table == "contacts":
			idAt := slices.Index(cols, "id")
			// The values an anonymized contact keeps, in COPY's text form.
			strip := map[int][]byte{slices.Index(cols, "status"): []byte(custos.StatusAnonymized), slices.Index(cols, "email_bidx"): []byte(`\N`),
				slices.Index(cols, "phone_bidx"): []byte(`\N`), slices.Index(cols, "sealed"): []byte(`\N`), slices.Index(cols, "bidx"): []byte("{}"),
				slices.Index(cols, "tags"): []byte("[]"), slices.Index(cols, "source_detail"): {}}
			if _, ok := strip[-1]; ok {
				return fmt.Errorf("contacts: the live schema lacks a column")
			}
			err = rewriteCopy(path, func(f [][]byte) ([][]byte, bool) {
				r, ok := ref(f, wsAt, idAt)
				mode, forgotten := modes[r]
				if !ok || !forgotten {
					return f, false
				}
				if mode == string(custos.ForgetErase) {
					return nil, true
				}
				changed := false
				for i, v := range strip {
					if i < len(f) && !bytes.Equal(f[i], v) {
						f[i], changed = v, true
					}
				}
				return f, changed
			})
		case slices.Contains(cols, "contact_id") && !slices.Contains(keptContactTables, table):
			idAt := slices.Index(cols, "contact_id")
			err = rewriteCopy(path, func(f [][]byte) ([][]byte, bool) {
				r, ok := ref(f, wsAt, idAt)
				if _, forgotten := modes[r]; ok && forgotten {
					return nil, true
				}
				return f, false
			})
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// addTombstoneLines appends to the COPY file of the tombstones table the
// tombstones it lacks, in COPY's text format.
func addTombstoneLines(path string, cols []string, tomb []journalEntry) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	wsAt, idAt := slices.Index(cols, "workspace_id"), slices.Index(cols, "contact_id")
	have := map[contactRef]bool{}
	for line := range bytes.Lines(b) {
		f := bytes.Split(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\t'})
		if wsAt >= 0 && idAt >= 0 && wsAt < len(f) && idAt < len(f) {
			ws, err1 := strconv.ParseInt(string(f[wsAt]), 10, 64)
			id, err2 := strconv.ParseInt(string(f[idAt]), 10, 64)
			if err1 == nil && err2 == nil {
				have[contactRef{ws, id}] = true
			}
		}
	}
	out := b
	for _, t := range tomb {
		if have[t.ref()] {
			continue
		}
		have[t.ref()] = true
		suppression := `\N`
		if t.Suppression != nil {
			suppression = `\\x` + hex.EncodeToString(t.Suppression) // bytea's hex form, its backslash escaped
		}
		values := map[string]string{"workspace_id": strconv.FormatInt(t.Workspace, 10), "contact_id": strconv.FormatInt(t.Contact, 10),
			"mode": copyText(t.Mode), "request_id": copyText(t.RequestID), "erased_at": strconv.FormatInt(t.ErasedAt, 10),
			"suppression": suppression, "removed": "{}"}
		f := make([]string, len(cols))
		for i, c := range cols {
			v, ok := values[c]
			if !ok {
				return fmt.Errorf("tombstones: no value for column %s", c)
			}
			f[i] = v
		}
		out = append(append(out, strings.Join(f, "\t")...), '\n')
	}
	if len(out) == len(b) {
		return nil
	}
	return writeFile(path, out)
}

// copyText escapes a text value for COPY's text format.
func copyText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}
