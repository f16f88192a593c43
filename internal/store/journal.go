package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/custos/custos/internal/durable"
	"github.com/custos/custos/internal/vault"
)

// JournalFile is the erasure journal: every tombstone, one line of JSON
// each, with a MAC under a key derived from the master key. It lives in the
// data directory and in every data backup Custos made, outside the
// databases, so that restoring an older database (or key store) cannot
// bring an erased person back: at every start the journal's tombstones are
// replayed before anything is served.
const JournalFile = "erasures.journal"

// journalEntry is one tombstone in the journal; it holds no personal data.
type journalEntry struct {
	Workspace   int64  `json:"workspace_id"`
	Contact     int64  `json:"contact_id"`
	Mode        string `json:"mode"`
	RequestID   string `json:"request_id"`
	ErasedAt    int64  `json:"erased_at"`             // Unix microseconds
	Suppression []byte `json:"suppression,omitempty"` // the address HMAC, when kept
	// Requests are the data-subject requests whose personal data went
	// with the contact's.
	Requests []int64 `json:"requests,omitempty"`
	MAC      []byte  `json:"mac,omitempty"`
}

type contactRef struct{ ws, id int64 }

func (e *journalEntry) ref() contactRef { return contactRef{e.Workspace, e.Contact} }

// line returns the entry as a journal line, MAC included.
func (e journalEntry) line(v *vault.Vault) []byte {
	e.MAC = nil
	body, _ := json.Marshal(e)
	e.MAC = v.JournalMAC(body)
	line, _ := json.Marshal(e)
	return append(line, '\n')
}

// readJournal returns the entries of the journal at path (none when it does
// not exist). A last line without its newline is an append cut short (a
// crash, a full disk) and is left out; the next append cuts it off. Any
// other line that does not parse, or whose MAC does not match, fails the
// read: the journal was altered, or written under another master key.
func readJournal(path string, v *vault.Vault) ([]journalEntry, error) {
	var entries []journalEntry
	err := readLines(path, func(n int, line []byte) error {
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil || e.Workspace <= 0 || e.Contact <= 0 {
			return fmt.Errorf("store: erasure journal %s, line %d: not an entry", path, n)
		}
		mac := e.MAC
		if !hmac.Equal(bytes.TrimSuffix(e.line(v), []byte{'\n'}), line) || mac == nil {
			return fmt.Errorf("store: erasure journal %s, line %d: the MAC does not match (altered, or written under another master key)", path, n)
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// readLines calls fn with each whole line of the file at path, numbered
// from 1; a file that does not exist has none. A last line without its
// newline is an append cut short (a crash, a full disk) and is left out;
// the next append cuts it off.
func readLines(path string, fn func(n int, line []byte) error) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1] // without a torn last line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// appendJournal appends lines to the journal at path, holding its lock.
func appendJournal(path string, lines []byte) error {
	return withLock(path, func() error { return appendLines(path, lines) })
}

// appendLines appends lines to the file at path and syncs it; a torn last
// line left by an earlier append is cut off first. The caller holds the
// file's lock.
func appendLines(path string, lines []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
	}
	if end > 0 {
		// Find the end of the last whole line.
		keep := end
		buf := make([]byte, 4096)
		for keep > 0 {
			off := max(0, keep-int64(len(buf)))
			n, err := f.ReadAt(buf[:keep-off], off)
			if err != nil && err != io.EOF {
				return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
			}
			if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
				keep = off + int64(i) + 1
				break
			}
			keep = off
		}
		if keep < end {
			if err := f.Truncate(keep); err != nil {
				return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
			}
		}
		end = keep
	}
	if _, err := f.WriteAt(lines, end); err != nil {
		return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
	}
	if end == 0 {
		// A new file: its name must survive a power cut too.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			return fmt.Errorf("store: append to %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// journal is the erasure journal of an open store.
type journal struct {
	mu    sync.Mutex
	path  string
	known map[contactRef]bool // contacts the local journal holds
}

// record writes the entries not yet journaled: to the journal of every
// data backup this store made that is still in place, then to its own.
// A crash in between leaves the local journal without them, so the next
// start writes them everywhere again; repeated entries are harmless.
func (db *DB) record(ctx context.Context, entries ...journalEntry) error {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	var lines []byte
	var fresh []contactRef
	for _, e := range entries {
		if !db.journal.known[e.ref()] {
			lines = append(lines, e.line(db.vault)...)
			fresh = append(fresh, e.ref())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	sites, err := db.backupSites(BackupData)
	if err != nil {
		return err
	}
	for _, dir := range sites {
		if !backupInPlace(dir) {
			continue // removed, or what an unfinished one wrote was
		}
		// A backup out of reach (a full or read-only disk) does not stop
		// the erasure; restoring it with the live journal still replays it.
		if err := appendJournal(filepath.Join(dir, JournalFile), lines); err != nil {
			db.log.ErrorContext(ctx, "the erasure did not reach a data backup's journal", "backup", dir, "err", err)
		}
	}
	if err := appendJournal(db.journal.path, lines); err != nil {
		return err
	}
	for _, r := range fresh {
		db.journal.known[r] = true
	}
	return nil
}

// replayErasures brings the database, the key store and the journal into
// agreement before anything is served: tombstones the journal lacks are
// journaled; tombstones the database lacks (a restored older database) are
// written back, and finishErasures then purges their contacts; keys of
// every tombstoned contact are shredded (a restored older key store); and
// id sequences are moved past every id the journal and the key store name,
// so that no new contact is given the id of a forgotten one.
// It returns how many tombstones it wrote back and how many keys it shredded.
func (db *DB) replayErasures(ctx context.Context, dataDir string) (restored, shredded int64, err error) {
	db.journal.path = filepath.Join(dataDir, JournalFile)
	entries, err := readJournal(db.journal.path, db.vault)
	if err != nil {
		return 0, 0, err
	}
	db.journal.known = make(map[contactRef]bool, len(entries))
	for _, e := range entries {
		db.journal.known[e.ref()] = true
	}
	inDB := map[contactRef]bool{}
	var missing []journalEntry
	rows, err := db.read.QueryContext(ctx, `SELECT workspace_id, contact_id, mode, request_id, erased_at, suppression FROM tombstones`)
	if err != nil {
		return 0, 0, fmt.Errorf("store: read tombstones: %w", err)
	}
	for rows.Next() {
		var e journalEntry
		if err := rows.Scan(&e.Workspace, &e.Contact, &e.Mode, &e.RequestID, &e.ErasedAt, &e.Suppression); err != nil {
			rows.Close()
			return 0, 0, err
		}
		inDB[e.ref()] = true
		if !db.journal.known[e.ref()] {
			missing = append(missing, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	if err := db.record(ctx, missing...); err != nil {
		return 0, 0, err
	}

	var maxWS, maxContact, maxRequest int64
	byWS := map[int64][]int64{}
	requests := map[int64][]int64{}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			maxWS, maxContact = max(maxWS, e.Workspace), max(maxContact, e.Contact)
			byWS[e.Workspace] = append(byWS[e.Workspace], e.Contact)
			requests[e.Workspace] = append(requests[e.Workspace], e.Requests...)
			for _, r := range e.Requests {
				maxRequest = max(maxRequest, r)
			}
			if inDB[e.ref()] {
				continue
			}
			inDB[e.ref()] = true
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at, suppression) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (workspace_id, contact_id) DO NOTHING`), e.Workspace, e.Contact, e.Mode, e.RequestID, e.ErasedAt, e.Suppression); err != nil {
				return fmt.Errorf("store: replay tombstone: %w", err)
			}
			restored++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	for ws, ids := range byWS {
		for start := 0; start < len(ids); start += 500 {
			batch := ids[start:min(start+500, len(ids))]
			args := []any{ws}
			for _, id := range batch {
				args = append(args, id)
			}
			res, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM contact_keys WHERE workspace_id = ? AND contact_id IN (`+placeholders(len(batch))+`)`), args...)
			if err != nil {
				return 0, 0, fmt.Errorf("store: replay key shredding: %w", err)
			}
			n, _ := res.RowsAffected()
			shredded += n
		}
	}
	// Requests the journal says went with their subject, which a restored
	// older database still holds whole.
	for ws, ids := range requests {
		if err := db.replayRequests(ctx, ws, ids); err != nil {
			return 0, 0, err
		}
	}
	// Keys of requests whose personal data went with their subject's, made
	// before that (a key made since seals what was written afterwards).
	n, err := db.replayRequestKeys(ctx)
	if err != nil {
		return 0, 0, err
	}
	shredded += n
	if shredded > 0 && !db.pg {
		if err := db.truncateWAL(ctx, db.keys); err != nil {
			return 0, 0, fmt.Errorf("store: after replay: %w", err)
		}
	}
	var maxKey, maxRequestKey sql.NullInt64
	if err := db.keysRead.QueryRowContext(ctx, `SELECT (SELECT MAX(contact_id) FROM contact_keys), (SELECT MAX(request_id) FROM request_keys)`).Scan(&maxKey, &maxRequestKey); err != nil {
		return 0, 0, fmt.Errorf("store: replay: %w", err)
	}
	return restored, shredded, db.advanceSequences(ctx, maxWS, max(maxContact, maxKey.Int64), max(maxRequest, maxRequestKey.Int64))
}

// advanceSequences makes sure the next workspace id is above ws, the next
// contact id above contact and the next request id above request.
func (db *DB) advanceSequences(ctx context.Context, ws, contact, request int64) error {
	var stmts []string
	var args [][]any
	if db.pg {
		const setval = `SELECT setval(format('%I.%I', schemaname, sequencename), $2) FROM pg_sequences
			WHERE schemaname = current_schema() AND sequencename = $1 AND COALESCE(last_value, 0) < $2`
		stmts = []string{setval, setval, setval}
		args = [][]any{{"workspaces_id_seq", ws}, {"contacts_id_seq", contact}, {"dsr_requests_id_seq", request}}
	} else {
		stmts = []string{
			`UPDATE id_seq SET next = MAX(next, ?) WHERE name = 'contacts'`,
			`UPDATE id_seq SET next = MAX(next, ?) WHERE name = 'dsr_requests'`,
			`INSERT INTO sqlite_sequence (name, seq) SELECT 'workspaces', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'workspaces')`,
			`UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'workspaces'`,
		}
		args = [][]any{{contact + 1}, {request + 1}, {ws}, {ws}}
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for i, s := range stmts {
			if _, err := tx.ExecContext(ctx, s, args[i]...); err != nil {
				return fmt.Errorf("store: advance id sequences: %w", err)
			}
		}
		return nil
	})
}

// replayRequestKeys shreds the keys of data-subject requests that a
// restored older key store brings back: keys made before the request's
// personal data was erased with its subject.
func (db *DB) replayRequestKeys(ctx context.Context) (int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT workspace_id, id, erased_at FROM dsr_requests WHERE erased_at IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("store: replay request keys: %w", err)
	}
	var erased [][3]int64
	for rows.Next() {
		var r [3]int64
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			rows.Close()
			return 0, err
		}
		erased = append(erased, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var n int64
	for _, r := range erased {
		res, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM request_keys WHERE workspace_id = ? AND request_id = ? AND created_at <= ?`), r[0], r[1], r[2])
		if err != nil {
			return 0, fmt.Errorf("store: replay request keys: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// replayRequests erases the personal data of the requests that a restored
// older database holds whole although the journal says they went with
// their subject: keys first, then the sealed columns.
func (db *DB) replayRequests(ctx context.Context, ws int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{ws}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id FROM dsr_requests WHERE workspace_id = ? AND erased_at IS NULL AND id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return fmt.Errorf("store: replay requests: %w", err)
	}
	var whole []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		whole = append(whole, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(whole) == 0 {
		return err
	}
	if err := db.shredRequestKeys(ctx, ws, whole); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.eraseRequests(ctx, tx, ws, whole)
		return err
	})
}
