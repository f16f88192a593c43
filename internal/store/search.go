package store

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// searchIndex answers fragment searches over names, companies and e-mail
// addresses without plaintext at rest: it lives in memory only, built by
// decrypting the contacts, and follows the workspace's contact revision, so
// writes by this process or any other show up at the next search. The
// database checks the rest of the filter for every candidate; a contact
// renamed between the catch-up and that check can still match its old text
// in that one search.
type searchIndex struct {
	db    *DB
	batch int // contacts read from the database at a time
	mu    sync.Mutex
	wss   map[int64]*wsIndex
}

// wsIndex is one workspace's index: the folded text searched for each
// contact, and how far it has read the contacts in (revision, id) order.
type wsIndex struct {
	mu     sync.RWMutex
	rev    int64
	lastID int64
	text   textIndex
	// erasedSince: tombstones erased before it were dropped already
	// (DropForgotten); Unix microseconds.
	erasedSince int64
}

func newSearchIndex(db *DB) *searchIndex {
	return &searchIndex{db: db, batch: 10000, wss: map[int64]*wsIndex{}}
}

func (s *searchIndex) workspace(ws int64) *wsIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wss[ws]
	if w == nil {
		w = &wsIndex{}
		s.wss[ws] = w
	}
	return w
}

// WarmSearch builds the search index of the workspace, so that the first
// search does not pay for it.
func (db *DB) WarmSearch(ctx context.Context, ws int64) error {
	_, err := db.search.current(ctx, ws)
	return err
}

// current brings the workspace's index up to the database's revision and
// returns it.
func (s *searchIndex) current(ctx context.Context, ws int64) (*wsIndex, error) {
	w := s.workspace(ws)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		// Keyset over (rev, id): one revision can cover a whole bulk chunk.
		// A row-value comparison, which both databases answer with a range
		// of the (workspace_id, rev, id) index; "rev > ? OR rev = ? AND
		// id > ?" made SQLite walk the whole workspace's index on every
		// search, 1.8 s at 1M contacts.
		rows, err := s.db.read.QueryContext(ctx, s.db.q(`SELECT id, rev, sealed FROM contacts
			WHERE workspace_id = ? AND (rev, id) > (?, ?) ORDER BY rev, id LIMIT ?`), ws, w.rev, w.lastID, s.batch)
		if err != nil {
			return nil, fmt.Errorf("store: search index: %w", err)
		}
		type item struct {
			id, rev int64
			sealed  []byte
			hay     string
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.id, &it.rev, &it.sealed); err != nil {
				rows.Close()
				return nil, err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return w, nil
		}
		ids := make([]int64, len(items))
		for i, it := range items {
			ids[i] = it.id
		}
		keys, err := s.db.contactKeys(ctx, ws, ids)
		if err != nil {
			return nil, err
		}
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for k := range workers {
			wg.Go(func() {
				for i := k; i < len(items); i += workers {
					items[i].hay = searchText(keys[items[i].id], items[i].sealed)
				}
			})
		}
		wg.Wait()
		for _, it := range items {
			w.text.put(it.id, it.hay)
		}
		w.rev, w.lastID = items[len(items)-1].rev, items[len(items)-1].id
	}
}

// searchText decrypts the searched values of a contact and returns them
// folded, one per line. A contact whose key is gone has none.
func searchText(k *vault.ContactKey, sealed []byte) string {
	p, err := openPersonal(k, sealed)
	if err != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(fold(p.Email))
	for _, name := range custos.SearchFields() {
		if v, ok := p.Fields[name].(string); ok {
			b.WriteByte('\n')
			b.WriteString(fold(v))
		}
	}
	return b.String()
}

// folder lower-cases and strips the diacritics of Polish, Czech and
// Slovak letters, so that "lukasz" finds "Łukasz".
var folder = strings.NewReplacer(
	"ą", "a", "ć", "c", "ę", "e", "ł", "l", "ń", "n", "ó", "o", "ś", "s", "ź", "z", "ż", "z",
	"á", "a", "č", "c", "ď", "d", "é", "e", "ě", "e", "í", "i", "ň", "n", "ř", "r", "š", "s",
	"ť", "t", "ú", "u", "ů", "u", "ý", "y", "ž", "z", "ä", "a", "ô", "o", "ĺ", "l", "ľ", "l", "ŕ", "r",
	"ö", "o", "ü", "u", "ß", "ss",
)

func fold(s string) string { return folder.Replace(strings.ToLower(s)) }

// searchRows returns up to limit+1 rows matching the search and the rest
// of the filter, newest first, below the cursor: candidates come from the
// index in id order and are checked by the database a batch at a time.
func (db *DB) searchRows(ctx context.Context, ws int64, w *where, f custos.ContactFilter) ([]*contactRow, error) {
	idx, err := db.search.current(ctx, ws)
	if err != nil {
		return nil, err
	}
	q := []byte(fold(f.Search))
	want := f.Limit + 1
	var out []*contactRow
	next := f.After
	for len(out) < want {
		idx.mu.RLock()
		cand, below := idx.text.matchesBelow(next, q, max(4*want, 256))
		idx.mu.RUnlock()
		// The database checks the rest of the filter, a batch at a time.
		for len(cand) > 0 && len(out) < want {
			n := min(len(cand), 500)
			ww := &where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
			args := make([]any, n)
			for i, id := range cand[:n] {
				args[i] = id
			}
			ww.add(`c.id IN (`+placeholders(n)+`)`, args...)
			rows, err := db.contactRows(ctx, ww, want-len(out), false)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
			cand = cand[n:]
		}
		if below == 0 {
			break
		}
		next = below
	}
	return out, nil
}
