package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// sealedName is what a contact's personal values are sealed under: one
// ciphertext per contact holds the e-mail address and every encrypted
// field, bound to workspace and contact, so no part of it can be moved to
// another row or field.
const sealedName = "contact"

// personal is the plaintext of a contact's sealed column.
type personal struct {
	Email  string         `json:"email,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// contactRow is a contacts row as stored: personal values sealed.
type contactRow struct {
	id                      int64
	status                  string
	sourceKind, sourceDtl   string
	monitoring              bool
	tags, clear             string
	sealed                  []byte
	created, updated, lastA int64
	infoDue                 sql.NullInt64
}

const contactColumns = `id, status, source_kind, source_detail, monitoring, tags, sealed, clear, created_at, updated_at, last_activity_at, info_due_at`

func scanContactRow(row interface{ Scan(...any) error }) (*contactRow, error) {
	r := &contactRow{}
	err := row.Scan(&r.id, &r.status, &r.sourceKind, &r.sourceDtl, &r.monitoring, &r.tags, &r.sealed, &r.clear, &r.created, &r.updated, &r.lastA, &r.infoDue)
	return r, err
}

// openPersonal decrypts a sealed column. An empty one holds nothing.
func openPersonal(k *vault.ContactKey, sealed []byte) (personal, error) {
	var p personal
	if len(sealed) == 0 {
		return p, nil
	} else if k == nil {
		return p, custos.Errorf(custos.EGONE, "the contact's data key is gone")
	}
	plain, err := k.Open(sealedName, sealed)
	if err != nil {
		return p, err
	}
	err = json.Unmarshal(plain, &p)
	return p, err
}

// open decrypts the row with the contact's key into a Contact.
func (r *contactRow) open(k *vault.ContactKey) (*custos.Contact, error) {
	c, err := r.openClear()
	if err != nil {
		return nil, err
	}
	p, err := openPersonal(k, r.sealed)
	if err != nil {
		return nil, fmt.Errorf("contact %d: %w", r.id, err)
	}
	c.Email = p.Email
	maps.Copy(c.Fields, p.Fields)
	return c, nil
}

// openClear returns the row as a Contact without its sealed values: no
// e-mail, and only the fields kept in clear.
func (r *contactRow) openClear() (*custos.Contact, error) {
	c := &custos.Contact{
		ID: r.id, Status: custos.ContactStatus(r.status), Monitoring: r.monitoring,
		Source:    custos.Source{Kind: custos.SourceKind(r.sourceKind), Detail: r.sourceDtl},
		CreatedAt: fromMicros(r.created), UpdatedAt: fromMicros(r.updated), Fields: map[string]any{},
		InformationDue: nullMicros(r.infoDue),
	}
	if err := json.Unmarshal([]byte(r.tags), &c.Tags); err != nil {
		return nil, fmt.Errorf("contact %d tags: %w", r.id, err)
	}
	if err := json.Unmarshal([]byte(r.clear), &c.Fields); err != nil {
		return nil, fmt.Errorf("contact %d clear fields: %w", r.id, err)
	}
	return c, nil
}

// sealedContact is a contact's values ready to store.
type sealedContact struct {
	emailBidx, phoneBidx []byte
	sealed               []byte
	clear, bidx          string
}

// seal encrypts the contact's personal values under k, puts the others in
// clear, and computes the blind indexes. The three JSON objects (the
// sealed personal values, the clear fields, the blind indexes) are written
// as encodeJSON would write the maps and the personal struct, field by
// field in key order, without building them.
func (db *DB) seal(ws int64, k *vault.ContactKey, c *custos.Contact, defs map[string]*custos.FieldDef) sealedContact {
	var out sealedContact
	if c.Email != "" {
		out.emailBidx = db.vault.BlindIndex(ws, custos.FieldEmail, c.Email)
	}
	var buf [16]string
	names := buf[:0]
	for name := range c.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	var fields, clear, bidx jsonObject
	for _, name := range names {
		v := c.Fields[name]
		// A field deleted meanwhile has no definition: seal its value.
		d := defs[name]
		if d != nil && !d.Classification.Encrypted() {
			clear.add(name, v)
			continue
		}
		fields.add(name, v)
		switch list, ok := v.([]string); {
		case d != nil && d.Classification == custos.ClassSpecial:
			// No blind index: with the master key, a guess at an Art. 9
			// value could be checked against it even after erasure. Only
			// that a value exists is kept, for DeleteField.
			bidx.add(name, true)
		case name == custos.FieldPhone:
			// The phone has an indexed column of its own.
			out.phoneBidx = db.vault.BlindIndex(ws, custos.FieldPhone, v.(string))
		case ok:
			hs := make([]string, len(list))
			for i, s := range list {
				hs[i] = hex.EncodeToString(db.vault.BlindIndex(ws, name, encodeJSON(s)))
			}
			bidx.add(name, hs)
		default:
			bidx.addString(name, hex.EncodeToString(db.vault.BlindIndex(ws, name, encodeJSON(v))))
		}
	}
	if c.Email != "" || fields.b != nil {
		// personal{Email, Fields}, each left out when empty.
		p := make([]byte, 0, 32+len(c.Email)+len(fields.b))
		p = append(p, '{')
		if c.Email != "" {
			p = append(p, `"email":`...)
			p = appendJSONStringValue(p, c.Email)
		}
		if fields.b != nil {
			if c.Email != "" {
				p = append(p, ',')
			}
			p = append(p, `"fields":`...)
			p = append(p, fields.bytes()...)
		}
		out.sealed = k.Seal(sealedName, append(p, '}'))
	}
	out.clear, out.bidx = string(clear.bytes()), string(bidx.bytes())
	return out
}

// normalizeFields checks every value against its definition and returns
// them in canonical form; a nil value (clear the field) is kept as nil.
// It also returns the keys of special-category fields given a value.
func normalizeFields(defs map[string]*custos.FieldDef, in map[string]any) (map[string]any, []string, error) {
	out := make(map[string]any, len(in))
	var special []string
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		d, ok := defs[name]
		if !ok || name == custos.FieldEmail {
			return nil, nil, custos.Invalid("fields."+name, "no such field; define it under /api/v1/fields first")
		}
		if v == nil {
			out[name] = nil
			continue
		}
		n, err := d.Normalize("fields."+name, v)
		if err != nil {
			return nil, nil, err
		}
		out[name] = n
		if d.Classification == custos.ClassSpecial {
			special = append(special, name)
		}
	}
	return out, special, nil
}

// CreateContact validates and stores one contact.
func (db *DB) CreateContact(ctx context.Context, c *custos.Contact) error {
	return db.CreateContacts(ctx, []*custos.Contact{c}, nil)
}

// chunkSize is how many contacts the bulk path writes per transaction. The
// blind-index keys are random, so each commit rewrites most leaf pages of
// their indexes: the more contacts share a commit, the fewer times a page
// is written (at 1M contacts on SQLite: 13k/s with 10k per commit, 18k/s
// with 50k).
const chunkSize = 50000

// CreateContacts stores contacts, each with the given consents, a chunk per
// transaction. It validates everything before writing anything and stops at
// the first error; chunks committed before it stay.
func (db *DB) CreateContacts(ctx context.Context, cs []*custos.Contact, consents []custos.ConsentRequest) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ws := a.WorkspaceID
	now := db.Now()
	defs, err := db.fieldMap(ctx, db.read, ws)
	if err != nil {
		return err
	}
	purposes, err := db.consentPurposes(ctx, ws, consents, now)
	if err != nil {
		return err
	}
	granted := map[int64]bool{} // purposes this request grants consent for
	for _, r := range consents {
		if r.Action == custos.ActionGrant {
			granted[r.PurposeID] = true
		}
	}
	seen := make(map[string]int, len(cs))
	for i, c := range cs {
		if err := c.Validate(); err != nil {
			return atIndex(err, i, len(cs))
		}
		var special []string
		if c.Fields, special, err = normalizeFields(defs, c.Fields); err != nil {
			return atIndex(err, i, len(cs))
		}
		maps.DeleteFunc(c.Fields, func(_ string, v any) bool { return v == nil })
		for _, name := range special {
			if !slices.ContainsFunc(defs[name].PurposeIDs, func(p int64) bool { return granted[p] }) {
				return atIndex(specialRefused(name), i, len(cs))
			}
		}
		if j, dup := seen[c.Email]; dup {
			return custos.Invalid("email", "contacts %d and %d have the same e-mail address", j, i)
		}
		seen[c.Email] = i
		c.CreatedAt, c.UpdatedAt, c.Monitoring = now, now, true
	}
	if len(cs) > chunkSize {
		// Before the first chunk commits; each chunk's transaction checks
		// its own addresses again, which is all a single chunk needs.
		emails := make([]string, len(cs))
		for i, c := range cs {
			emails[i] = c.Email
		}
		if err := db.checkSuppressed(ctx, db.read.d, ws, "email", emails); err != nil {
			return err
		}
	}
	// Ids first, in a transaction of their own, so that contacts can be
	// encrypted while the database writes the ones before.
	var ids []int64
	if err := db.tx(ctx, func(tx *sql.Tx) (err error) {
		ids, err = db.allocIDs(ctx, tx, "contacts", len(cs))
		return err
	}); err != nil {
		return err
	}
	pieces, stop := db.sealPieces(ws, cs, ids, defs, true)
	defer stop()
	reqs := func(int) []custos.ConsentRequest { return consents }
	for start := 0; start < len(cs); start += chunkSize {
		end := min(start+chunkSize, len(cs))
		if err := db.writeChunk(ctx, a, cs[start:end], pieces, reqs, purposes); err != nil {
			return err
		}
	}
	tables := []string{"contacts", "contact_tags", "contact_keys"}
	if len(consents) > 0 {
		tables = append(tables, "consent_events", "consent_state")
	}
	db.grew(len(cs), tables...)
	return nil
}

// chunk is contacts sealed and ready to write: cs[i] is contact ids[i],
// and off is the index of cs[0] among the contacts of the request. tags[i]
// is cs[i]'s tags in JSON; supp[i], when the chunk was sealed for a writer
// that checks suppression, the suppression hash of its address.
type chunk struct {
	off     int
	cs      []*custos.Contact
	ids     []int64
	sealed  []sealedContact
	tags    []string
	supp    [][]byte
	wrapped []wrappedKey
	keys    []*vault.ContactKey
}

// sealChunk makes each contact's data key and seals its values, spread
// over the cores: this is the costly part of creating contacts. With
// supp, it also hashes the addresses for the writer's suppression check.
func (db *DB) sealChunk(ws int64, cs []*custos.Contact, ids []int64, defs map[string]*custos.FieldDef, supp bool) *chunk {
	ch := &chunk{cs: cs, ids: ids, sealed: make([]sealedContact, len(cs)), tags: make([]string, len(cs)),
		wrapped: make([]wrappedKey, len(cs)), keys: make([]*vault.ContactKey, len(cs))}
	if supp {
		ch.supp = make([][]byte, len(cs))
	}
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), (len(cs)+63)/64)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(cs); i += workers {
				cs[i].ID = ids[i]
				k, wrapped := db.vault.NewContactKey(ws, ids[i])
				ch.keys[i], ch.wrapped[i] = k, wrappedKey{contact: ids[i], wrapped: wrapped}
				ch.sealed[i] = db.seal(ws, k, cs[i], defs)
				ch.tags[i] = encodeJSON(cs[i].Tags)
				if supp {
					ch.supp[i] = db.vault.SuppressionHash(ws, cs[i].Email)
				}
			}
		})
	}
	wg.Wait()
	return ch
}

// pieceSize is how many contacts are sealed at a time: the writer inserts
// one piece while the next ones are sealed, on the other cores.
const pieceSize = 2000

// sealPieces seals cs, contacts ids, in pieces of pieceSize, in order, on
// a goroutine of its own, a few pieces ahead of the reader of the channel.
// stop ends it and waits for it; the caller must call it.
func (db *DB) sealPieces(ws int64, cs []*custos.Contact, ids []int64, defs map[string]*custos.FieldDef, supp bool) (<-chan *chunk, func()) {
	out := make(chan *chunk, 2)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(out)
		for start := 0; start < len(cs); start += pieceSize {
			end := min(start+pieceSize, len(cs))
			ch := db.sealChunk(ws, cs[start:end], ids[start:end], defs, supp)
			ch.off = start
			select {
			case out <- ch:
			case <-done:
				return
			}
		}
	})
	var once sync.Once
	return out, func() { once.Do(func() { close(done); wg.Wait() }) }
}

// keyWriter writes data keys into the key store in a transaction of its
// own, on its own goroutine, beside the writer of the data they encrypt.
type keyWriter struct {
	in     chan []wrappedKey
	done   chan error
	failed bool
}

func (db *DB) startKeys(ctx context.Context, ws int64) *keyWriter {
	kw := &keyWriter{in: make(chan []wrappedKey, 4), done: make(chan error, 1)}
	go func() {
		shared := []any{ws, micros(db.Now())}
		err := db.bulkTx(ctx, db.keys, func(_ *sql.Tx, put rowWriter) error {
			for keys := range kw.in {
				rows := make([][]any, len(keys))
				cells := make([]any, 2*len(keys))
				for i, k := range keys {
					rows[i] = cells[2*i : 2*i+2]
					rows[i][0], rows[i][1] = k.contact, k.wrapped
				}
				if err := put(ctx, "contact_keys", contactKeyCols, shared, rows); err != nil {
					return err
				}
			}
			if kw.failed {
				return errKeysAbandoned
			}
			return nil
		})
		for range kw.in {
		}
		kw.done <- err
	}()
	return kw
}

var errKeysAbandoned = errors.New("store: keys abandoned")

// add queues keys for the transaction.
func (kw *keyWriter) add(keys []wrappedKey) { kw.in <- keys }

// finish commits the keys when ok, else rolls them back, and waits.
func (kw *keyWriter) finish(ok bool) error {
	kw.failed = !ok
	close(kw.in)
	err := <-kw.done
	if errors.Is(err, errKeysAbandoned) {
		return nil
	}
	return err
}

func specialRefused(name string) error {
	return &custos.Error{Code: custos.ECONSENT, Field: "fields." + name,
		Message: "a special-category value needs the contact's explicit consent for a purpose this field serves"}
}

// atIndex names the contact at fault when a bulk request fails.
func atIndex(err error, i, n int) error {
	if e := custos.AsError(err); e != nil && n > 1 {
		c := *e
		c.Message = fmt.Sprintf("contact %d: %s", i, e.Message)
		return &c
	}
	return err
}

// writeChunk writes the contacts cs, sealed in pieces read from pieces,
// with their consents (reqs of the contact's index in the request) in one
// transaction, after committing their keys to the key store.
func (db *DB) writeChunk(ctx context.Context, a custos.Actor, cs []*custos.Contact, pieces <-chan *chunk, reqs func(int) []custos.ConsentRequest,
	purposes map[int64]*custos.Purpose) error {
	ws := a.WorkspaceID
	err := db.bulkTx(ctx, db.write, func(tx *sql.Tx, put rowWriter) error {
		return db.insertPieces(ctx, tx, put, a, cs, pieces, reqs, purposes, nil, false)
	})
	if isConflict(err) {
		// The unique index refused an address: name the contact that has it.
		bidx := make([][]byte, len(cs))
		for i, c := range cs {
			bidx[i] = db.vault.BlindIndex(ws, custos.FieldEmail, c.Email)
		}
		if err := db.checkEmailsFree(ctx, db.read.d, ws, bidx); err != nil {
			return err
		}
		return custos.Errorf(custos.ECONFLICT, "a contact with this e-mail address was created at the same time")
	}
	return err
}

// insertChunk writes a sealed chunk with its consents in tx, after
// committing its keys to the key store. A sign-up's confirmation calls it
// inside its own transaction.
func (db *DB) insertChunk(ctx context.Context, tx *sql.Tx, put rowWriter, a custos.Actor, ch *chunk, consents []custos.ConsentRequest, purposes map[int64]*custos.Purpose) error {
	pieces := make(chan *chunk, 1)
	pieces <- ch
	close(pieces)
	return db.insertPieces(ctx, tx, put, a, ch.cs, pieces, func(int) []custos.ConsentRequest { return consents }, purposes, nil, false)
}

// insertPieces writes the contacts cs in tx as their sealed pieces arrive,
// until len(cs) have, with the consents reqs gives for each (by index in
// the request; contacts with the same requests share the slice) and
// information_due at due (nil: none), after checking their addresses are
// not suppressed (unless the caller has, in tx; else the pieces carry
// their suppression hashes), writing their keys beside them into the key
// store, committed before it returns.
func (db *DB) insertPieces(ctx context.Context, tx *sql.Tx, put rowWriter, a custos.Actor, cs []*custos.Contact, pieces <-chan *chunk,
	reqs func(int) []custos.ConsentRequest, purposes map[int64]*custos.Purpose, due any, suppressionChecked bool) error {
	ws := a.WorkspaceID
	if len(cs) == 0 {
		return nil
	}
	rev, err := db.bumpRev(ctx, tx, ws)
	if err != nil {
		return err
	}
	// The values every row shares, bound once a statement.
	now := micros(cs[0].CreatedAt)
	shared := []any{ws, true, rev, now, now, now, due}
	tagShared := []any{ws}
	keys := db.startKeys(ctx, ws)
	write := func(ch *chunk) error {
		// Again inside the transaction (unless the caller has): someone
		// may have been forgotten with suppression since the request
		// began.
		if !suppressionChecked {
			if len(ch.supp) != len(ch.cs) {
				return errors.New("store: contacts sealed without their suppression hashes")
			}
			if err := db.checkSuppressedHashes(ctx, tx, ws, "email", ch.supp, len(cs) > 1); err != nil {
				return err
			}
		}
		own := len(contactCols) - contactShared
		rows := make([][]any, len(ch.cs))
		cells := make([]any, len(ch.cs)*own)
		var tagRows [][]any
		// Status and source are mostly those of the contact before.
		var status, kind, detail any
		for i, c := range ch.cs {
			if i == 0 || c.Status != ch.cs[i-1].Status {
				status = string(c.Status)
			}
			if i == 0 || c.Source != ch.cs[i-1].Source {
				kind, detail = string(c.Source.Kind), c.Source.Detail
			}
			s := &ch.sealed[i]
			id := any(ch.ids[i])
			row := cells[i*own : (i+1)*own]
			copy(row, []any{id, s.emailBidx, s.phoneBidx, status, kind, detail, ch.tags[i], s.sealed, s.clear, s.bidx})
			rows[i] = row
			for _, t := range c.Tags {
				tagRows = append(tagRows, []any{t, id})
			}
		}
		if err := put(ctx, "contacts", contactCols, shared, rows); err != nil {
			return err
		}
		if err := put(ctx, "contact_tags", tagCols, tagShared, tagRows); err != nil {
			return err
		}
		// One ledger call per distinct list of requests (the same slice).
		groups := map[*custos.ConsentRequest][]int{}
		var order []*custos.ConsentRequest
		for i := range ch.cs {
			rs := reqs(ch.off + i)
			if len(rs) == 0 {
				continue
			}
			k := &rs[0]
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
		for _, k := range order {
			idx := groups[k]
			gids := make([]int64, len(idx))
			gkeys := make([]*vault.ContactKey, len(idx))
			for j, i := range idx {
				gids[j], gkeys[j] = ch.ids[i], ch.keys[i]
			}
			if _, err := db.appendEvents(ctx, tx, put, true, a, gids, gkeys, reqs(ch.off+idx[0]), purposes); err != nil {
				return err
			}
		}
		keys.add(ch.wrapped)
		return nil
	}
	n := 0
	for n < len(cs) { // pieces do not straddle a chunk: chunkSize is a multiple of pieceSize
		ch, ok := <-pieces
		if !ok {
			keys.finish(false)
			return errors.New("store: contacts missing from the bulk writer")
		}
		if err := write(ch); err != nil {
			keys.finish(false)
			return err
		}
		n += len(ch.cs)
	}
	return keys.finish(true)
}

// checkEmailsFree fails with ECONFLICT naming the existing contact when an
// address is taken in the workspace.
func (db *DB) checkEmailsFree(ctx context.Context, q querier, ws int64, bidx [][]byte) error {
	const batch = 500
	n := len(bidx)
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		args := []any{ws}
		for _, b := range bidx[start:end] {
			args = append(args, b)
		}
		var existing int64
		err := q.QueryRowContext(ctx, db.q(`SELECT id FROM contacts WHERE workspace_id = ? AND email_bidx IN (`+placeholders(end-start)+`) LIMIT 1`), args...).Scan(&existing)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		msg := "a contact with this e-mail address exists already"
		if n > 1 {
			msg = "a contact in the request has an e-mail address that exists already"
		}
		return &custos.Error{Code: custos.ECONFLICT, Field: "email", Existing: existing, Message: fmt.Sprintf("%s: contact %d", msg, existing)}
	}
	return nil
}

// FindContactByID returns the contact.
func (db *DB) FindContactByID(ctx context.Context, id int64) (*custos.Contact, error) {
	ws, r, err := db.actorContactRow(ctx, id)
	if err != nil {
		return nil, err
	}
	return db.openRow(ctx, ws, r)
}

// FindContactClear returns the contact without its sealed values (no
// e-mail, only the fields classified none), or ENOTFOUND: what a caller
// who may not read personal data is shown, read without the contact's key
// and without opening anything.
func (db *DB) FindContactClear(ctx context.Context, id int64) (*custos.Contact, error) {
	_, r, err := db.actorContactRow(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.openClear()
}

// actorContactRow returns the row of contact id in the actor's workspace,
// and the workspace.
func (db *DB) actorContactRow(ctx context.Context, id int64) (int64, *contactRow, error) {
	a, err := actor(ctx)
	if err != nil {
		return 0, nil, err
	}
	r, err := db.findContactRow(ctx, db.read, a.WorkspaceID, id)
	return a.WorkspaceID, r, err
}

func (db *DB) openRow(ctx context.Context, ws int64, r *contactRow) (*custos.Contact, error) {
	keys, err := db.contactKeys(ctx, ws, []int64{r.id})
	if err != nil {
		return nil, err
	}
	return r.open(keys[r.id])
}

func (db *DB) findContactRow(ctx context.Context, q querier, ws, id int64) (*contactRow, error) {
	r, err := scanContactRow(q.QueryRowContext(ctx, db.q(`SELECT `+contactColumns+` FROM contacts WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("contact")
	} else if err != nil {
		return nil, fmt.Errorf("store: find contact: %w", err)
	}
	return r, nil
}

// lockContact reads the contact's row inside a write transaction and, on
// PostgreSQL, locks it until the transaction ends, so that a forget and a
// change of the same contact never interleave (SQLite's one writer
// serialises them anyway). A forgotten contact, or one being forgotten
// (its tombstone written), is ECONFLICT: it may not change any more.
func (db *DB) lockContact(ctx context.Context, tx *sql.Tx, ws, id int64) (*contactRow, error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE"
	}
	r, err := scanContactRow(tx.QueryRowContext(ctx, db.q(`SELECT `+contactColumns+` FROM contacts c WHERE workspace_id = ? AND id = ?`+lock), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("contact")
	} else if err != nil {
		return nil, fmt.Errorf("store: lock contact: %w", err)
	}
	if _, err := db.findTombstone(ctx, tx, ws, id); err == nil {
		return nil, custos.Errorf(custos.ECONFLICT, "the contact has been forgotten (%s) and cannot change", r.status)
	} else if custos.ErrorCode(err) != custos.ENOTFOUND {
		return nil, err
	}
	return r, nil
}

// UpdateContact applies u and records every changed field in the history.
func (db *DB) UpdateContact(ctx context.Context, id int64, u custos.ContactUpdate) (*custos.Contact, error) {
	return db.updateContactWith(ctx, id, u, nil)
}

// updateContactWith is UpdateContact that also runs also, when not nil,
// in its transaction once the contact is locked and its changes allowed.
func (db *DB) updateContactWith(ctx context.Context, id int64, u custos.ContactUpdate, also func(tx *sql.Tx) error) (*custos.Contact, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var c *custos.Contact
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.lockContact(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if r.status == string(custos.StatusAnonymized) {
			return custos.Errorf(custos.ECONFLICT, "an anonymized contact cannot be changed")
		}
		if r.status == string(custos.StatusRestricted) {
			if field := updatedField(u); field != "" {
				// Art. 18: the data is kept as it is until the restriction is lifted.
				return custos.Restricted(field, "its e-mail, tags and fields stay as they are until the restriction is lifted")
			}
		}
		k, err := db.contactKey(ctx, ws, id)
		if err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if c, err = r.open(k); err != nil {
			return err
		}
		defs, err := db.fieldMap(ctx, tx, ws)
		if err != nil {
			return err
		}
		fields, special, err := normalizeFields(defs, u.Fields)
		if err != nil {
			return err
		}
		for _, name := range special {
			ok, err := db.hasExplicitConsent(ctx, tx, ws, id, defs[name].PurposeIDs)
			if err != nil {
				return err
			} else if !ok {
				return specialRefused(name)
			}
		}
		var changes []custos.Change
		change := func(field string, old, new any) {
			changes = append(changes, custos.Change{Field: field, Old: old, New: new})
		}
		if u.Email != nil && *u.Email != c.Email {
			if err := db.checkSuppressed(ctx, tx, ws, "email", []string{*u.Email}); err != nil {
				return err
			}
			change("email", c.Email, *u.Email)
			c.Email = *u.Email
		}
		oldTags := c.Tags
		if u.Tags != nil && !slices.Equal(*u.Tags, c.Tags) {
			change("tags", c.Tags, *u.Tags)
			c.Tags = *u.Tags
		}
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			old, had := c.Fields[name]
			v := fields[name]
			if v == nil {
				if had {
					change("fields."+name, old, nil)
					delete(c.Fields, name)
				}
			} else if !had || encodeJSON(old) != encodeJSON(v) {
				change("fields."+name, old, v)
				c.Fields[name] = v
			}
		}
		if len(changes) == 0 {
			return nil
		}
		s := db.seal(ws, k, c, defs)
		if u.Email != nil {
			var other int64
			err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM contacts WHERE workspace_id = ? AND email_bidx = ? AND id <> ?`), ws, s.emailBidx, id).Scan(&other)
			if err == nil {
				return &custos.Error{Code: custos.ECONFLICT, Field: "email", Existing: other,
					Message: fmt.Sprintf("a contact with this e-mail address exists already: contact %d", other)}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		rev, err := db.bumpRev(ctx, tx, ws)
		if err != nil {
			return err
		}
		now := db.Now()
		c.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET email_bidx = ?, phone_bidx = ?, status = ?, tags = ?, sealed = ?, clear = ?, bidx = ?,
			rev = ?, updated_at = ?, last_activity_at = ? WHERE workspace_id = ? AND id = ?`),
			s.emailBidx, s.phoneBidx, string(c.Status), encodeJSON(c.Tags), s.sealed, s.clear, s.bidx, rev, micros(now), micros(now), ws, id); err != nil {
			if isConflict(mapError(err)) {
				return custos.Errorf(custos.ECONFLICT, "a contact with this e-mail address was created at the same time")
			}
			return err
		}
		if u.Tags != nil {
			if err := db.deleteTags(ctx, tx, ws, id, oldTags); err != nil {
				return err
			}
			tagRows := make([][]any, len(c.Tags))
			for i, t := range c.Tags {
				tagRows[i] = []any{ws, t, id}
			}
			if err := db.insertRows(ctx, tx, "contact_tags", tagCols, tagRows); err != nil {
				return err
			}
		}
		return db.recordChanges(ctx, tx, a, id, k, now, changes)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// updatedField names the first thing u changes, as a request body names
// it, or returns "" for an update that names nothing.
func updatedField(u custos.ContactUpdate) string {
	switch {
	case u.Email != nil:
		return "email"
	case u.Tags != nil:
		return "tags"
	case len(u.Fields) > 0:
		return "fields." + slices.Min(slices.Collect(maps.Keys(u.Fields)))
	}
	return ""
}

// deleteTags removes a contact's rows from the tag index.
func (db *DB) deleteTags(ctx context.Context, tx *sql.Tx, ws, id int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	args := []any{ws, id}
	for _, t := range tags {
		args = append(args, t)
	}
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM contact_tags WHERE workspace_id = ? AND contact_id = ? AND tag IN (`+placeholders(len(tags))+`)`), args...)
	return err
}

// recordChanges appends the changes the actor made to the contact's
// history, each sealed under the contact's key, and audits them with
// their diff (auditChanges).
func (db *DB) recordChanges(ctx context.Context, tx *sql.Tx, a custos.Actor, id int64, k *vault.ContactKey, at time.Time, changes []custos.Change) error {
	if err := db.recordHistory(ctx, tx, a.WorkspaceID, id, k, a.String(), at, changes); err != nil {
		return err
	}
	return db.auditChanges(ctx, tx, a, id, k, changes)
}

// recordHistory appends the changes to the contact's history, each sealed
// under the contact's key.
func (db *DB) recordHistory(ctx context.Context, tx *sql.Tx, ws, id int64, k *vault.ContactKey, actor string, at time.Time, changes []custos.Change) error {
	rows := make([][]any, len(changes))
	for i, ch := range changes {
		rows[i] = []any{ws, id, actor, micros(at), k.Seal("history", []byte(encodeJSON(ch)))}
	}
	return db.insertRows(ctx, tx, "contact_changes", []string{"workspace_id", "contact_id", "actor", "at", "sealed"}, rows)
}

// ContactHistory returns the contact's field changes, newest first.
func (db *DB) ContactHistory(ctx context.Context, id, before int64, limit int) ([]*custos.Change, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = custos.DefaultLimit
	}
	limit = min(limit, custos.MaxLimit)
	if before <= 0 {
		before = 1<<63 - 1
	}
	if _, err := db.findContactRow(ctx, db.read, a.WorkspaceID, id); err != nil {
		return nil, 0, err
	}
	k, err := db.contactKey(ctx, a.WorkspaceID, id)
	if err != nil {
		return nil, 0, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, actor, at, sealed FROM contact_changes WHERE workspace_id = ? AND contact_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),
		a.WorkspaceID, id, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()
	out := []*custos.Change{}
	for rows.Next() {
		var ch custos.Change
		var changeID, at int64
		var actor string
		var sealed []byte
		if err := rows.Scan(&changeID, &actor, &at, &sealed); err != nil {
			return nil, 0, err
		}
		p, err := k.Open("history", sealed)
		if err != nil {
			return nil, 0, fmt.Errorf("store: history %d: %w", changeID, err)
		}
		if err := json.Unmarshal(p, &ch); err != nil {
			return nil, 0, err
		}
		ch.ID, ch.Actor, ch.At = changeID, actor, fromMicros(at)
		out = append(out, &ch)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out, next := trimPage(out, limit, func(c *custos.Change) int64 { return c.ID })
	return out, next, nil
}
