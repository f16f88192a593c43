package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

const importColumns = `id, name, sha256, options, status, error, unknown, last_line, rows_done, rows_created, rows_updated, rows_rejected, rows_skipped,
	started_by, started_at, finished_at`

func scanImport(row interface{ Scan(...any) error }) (*custos.Import, error) {
	imp := &custos.Import{}
	var options, unknown, status string
	var started int64
	var finished sql.NullInt64
	if err := row.Scan(&imp.ID, &imp.Name, &imp.SHA256, &options, &status, &imp.Error, &unknown, &imp.LastLine, &imp.Done, &imp.Created,
		&imp.Updated, &imp.Rejected, &imp.Skipped, &imp.StartedBy, &started, &finished); err != nil {
		return nil, err
	}
	imp.Status, imp.StartedAt, imp.FinishedAt = custos.ImportStatus(status), fromMicros(started), nullMicros(finished)
	if err := json.Unmarshal([]byte(options), &imp.Options); err != nil {
		return nil, fmt.Errorf("import %d options: %w", imp.ID, err)
	}
	if err := json.Unmarshal([]byte(unknown), &imp.Unknown); err != nil {
		return nil, fmt.Errorf("import %d unknown columns: %w", imp.ID, err)
	}
	return imp, nil
}

// StartImport records a new import or returns the one of the same file.
func (db *DB) StartImport(ctx context.Context, imp *custos.Import) (*custos.Import, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := imp.Validate(); err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	o := imp.Options
	p, err := db.findPurpose(ctx, db.read, ws, o.PurposeID)
	if custos.ErrorCode(err) == custos.ENOTFOUND {
		return nil, custos.Invalid("purpose_id", "purpose %d does not exist", o.PurposeID)
	} else if err != nil {
		return nil, err
	}
	if p.LegalBasis != o.Basis {
		return nil, custos.Invalid("legal_basis", "purpose %d rests on %s, not %s", p.ID, p.LegalBasis, o.Basis)
	}
	if o.ListID != 0 {
		if _, err := db.findList(ctx, db.read, ws, o.ListID); custos.ErrorCode(err) == custos.ENOTFOUND {
			return nil, custos.Invalid("list_id", "list %d does not exist", o.ListID)
		} else if err != nil {
			return nil, err
		}
	}
	var out *custos.Import
	err = db.tx(ctx, func(tx *sql.Tx) error {
		prev, err := scanImport(tx.QueryRowContext(ctx, db.q(`SELECT `+importColumns+` FROM imports WHERE workspace_id = ? AND sha256 = ?`), ws, imp.SHA256))
		if err == nil {
			if encodeJSON(prev.Options) != encodeJSON(o) {
				return &custos.Error{Code: custos.ECONFLICT, Field: "sha256", Existing: prev.ID,
					Message: fmt.Sprintf("this file was imported as import %d with other options", prev.ID)}
			}
			if prev.Status == custos.ImportFailed {
				// Running it again retries it from its checkpoint.
				if _, err := tx.ExecContext(ctx, db.q(`UPDATE imports SET status = ?, error = '', finished_at = NULL WHERE workspace_id = ? AND id = ?`),
					string(custos.ImportRunning), ws, prev.ID); err != nil {
					return err
				}
				prev.Status, prev.Error, prev.FinishedAt = custos.ImportRunning, "", nil
			}
			out = prev
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := db.Now()
		n := *imp
		n.Status, n.StartedBy, n.StartedAt, n.Unknown = custos.ImportRunning, a.String(), now, []string{}
		if err := tx.QueryRowContext(ctx, db.q(`INSERT INTO imports (workspace_id, name, sha256, options, status, error, unknown, last_line,
			rows_done, rows_created, rows_updated, rows_rejected, rows_skipped, started_by, started_at) VALUES (?, ?, ?, ?, ?, '', '[]', 0, 0, 0, 0, 0, 0, ?, ?) RETURNING id`),
			ws, n.Name, n.SHA256, encodeJSON(o), string(n.Status), n.StartedBy, micros(now)).Scan(&n.ID); err != nil {
			return fmt.Errorf("store: start import: %w", err)
		}
		out = &n
		return nil
	})
	return out, mapError(err)
}

func (db *DB) findImport(ctx context.Context, q querier, ws, id int64) (*custos.Import, error) {
	imp, err := scanImport(q.QueryRowContext(ctx, db.q(`SELECT `+importColumns+` FROM imports WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("import")
	} else if err != nil {
		return nil, fmt.Errorf("store: find import: %w", err)
	}
	return imp, nil
}

// FindImport returns the import.
func (db *DB) FindImport(ctx context.Context, id int64) (*custos.Import, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findImport(ctx, db.read, a.WorkspaceID, id)
}

// FindImports returns the workspace's imports, newest first.
func (db *DB) FindImports(ctx context.Context, before int64, limit int) ([]*custos.Import, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	limit = pageLimit(limit)
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+importColumns+` FROM imports WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?`), a.WorkspaceID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: imports: %w", err)
	}
	defer rows.Close()
	out := []*custos.Import{}
	for rows.Next() {
		imp, err := scanImport(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, imp)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out, next := trimPage(out, limit, func(i *custos.Import) int64 { return i.ID })
	return out, next, nil
}

func pageLimit(limit int) int {
	if limit <= 0 {
		return custos.DefaultLimit
	}
	return min(limit, custos.MaxLimit)
}

// ImportRejections returns the rejected rows in line order.
func (db *DB) ImportRejections(ctx context.Context, id, after int64, limit int) ([]*custos.ImportRejection, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if _, err := db.findImport(ctx, db.read, a.WorkspaceID, id); err != nil {
		return nil, 0, err
	}
	limit = pageLimit(limit)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, line, col, reason FROM import_rejections WHERE workspace_id = ? AND import_id = ? AND id > ? ORDER BY id LIMIT ?`),
		a.WorkspaceID, id, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: import rejections: %w", err)
	}
	defer rows.Close()
	out := []*custos.ImportRejection{}
	for rows.Next() {
		r := &custos.ImportRejection{}
		if err := rows.Scan(&r.ID, &r.Line, &r.Column, &r.Reason); err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	next := int64(0)
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].ID
	}
	return out, next, nil
}

// FinishImport marks the import done or failed.
func (db *DB) FinishImport(ctx context.Context, id int64, failure string) (*custos.Import, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	status := custos.ImportDone
	if failure != "" {
		status = custos.ImportFailed
	}
	if len(failure) > 1000 {
		failure = failure[:1000]
	}
	var out *custos.Import
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE imports SET status = ?, error = ?, finished_at = ? WHERE workspace_id = ? AND id = ? AND status = ?`),
			string(status), failure, micros(db.Now()), a.WorkspaceID, id, string(custos.ImportRunning)); err != nil {
			return err
		}
		out, err = db.findImport(ctx, tx, a.WorkspaceID, id)
		return err
	})
	return out, err
}

// importPlan is what one chunk does: rows rejected, contacts updated or
// skipped.
type importPlan struct {
	rejected []custos.ImportRejection
	updated  int64
	skipped  int64
}

// ImportChunk stores a chunk of rows with its rejections and checkpoint in
// one transaction.
func (db *DB) ImportChunk(ctx context.Context, id int64, rows []custos.ImportRow, rejected []custos.ImportRejection, lastLine int64, unknown []string) (*custos.Import, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	imp, err := db.findImport(ctx, db.read, ws, id)
	if err != nil {
		return nil, err
	}
	o := imp.Options
	purpose, err := db.findPurpose(ctx, db.read, ws, o.PurposeID)
	if err != nil {
		return nil, err
	}
	defs, err := db.fieldMap(ctx, db.read, ws)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	// What the import records in the ledger is recorded by the import.
	ia := custos.Actor{WorkspaceID: ws, Kind: "import", ID: id, Role: a.Role}
	plan := importPlan{rejected: slices.Clone(rejected)}
	reject := func(line int64, col, reason string) {
		plan.rejected = append(plan.rejected, custos.ImportRejection{Line: line, Column: col, Reason: reason})
	}
	rejectErr := func(line int64, err error) {
		field := ""
		if e := custos.AsError(err); e != nil {
			field = e.Field
		}
		reject(line, field, custos.ErrorMessage(err))
	}
	// The contacts of the chunk, validated, one per address.
	type item struct {
		row  *custos.ImportRow
		bidx string
		reqs []custos.ConsentRequest
	}
	var items []item
	seen := map[string]int64{}
	reqs := map[string][]custos.ConsentRequest{}
	for i := range rows {
		r := &rows[i]
		c := r.Contact
		c.Source = custos.Source{Kind: custos.SourceImport, Detail: strconv.FormatInt(id, 10)}
		c.Status = custos.StatusActive
		if err := c.Validate(); err != nil {
			rejectErr(r.Line, err)
			continue
		}
		fields, special, err := normalizeFields(defs, c.Fields)
		if err != nil {
			rejectErr(r.Line, err)
			continue
		}
		c.Fields = fields
		maps.DeleteFunc(c.Fields, func(_ string, v any) bool { return v == nil })
		req, why := importRequest(o, purpose, r, now)
		if why != "" {
			reject(r.Line, "", why)
			continue
		}
		// A special-category value needs explicit consent: a grant this
		// row makes for a purpose the field serves.
		if name := specialWithout(defs, special, req, r); name != "" {
			reject(r.Line, "fields."+name, "a special-category value needs the person's explicit consent for a purpose this field serves")
			continue
		}
		b := string(db.vault.BlindIndex(ws, custos.FieldEmail, c.Email))
		if prev, dup := seen[b]; dup {
			reject(r.Line, "email", fmt.Sprintf("the same e-mail address as line %d", prev))
			continue
		}
		seen[b] = r.Line
		// Rows with the same request share one slice: the ledger is
		// written once per distinct request (a whole file without proof
		// columns is one).
		k := encodeJSON(req)
		if reqs[k] == nil {
			reqs[k] = []custos.ConsentRequest{req}
		}
		items = append(items, item{row: r, bidx: b, reqs: reqs[k]})
	}
	purposes := map[int64]*custos.Purpose{purpose.ID: purpose}
	var listAdd []int64
	err = db.bulkTx(ctx, db.write, func(tx *sql.Tx, put rowWriter) error {
		cur, err := db.findImport(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if cur.Status != custos.ImportRunning {
			return custos.Errorf(custos.ECONFLICT, "import %d is %s", id, cur.Status)
		}
		if lastLine <= cur.LastLine {
			imp = cur
			return errChunkDone
		}
		// Erased with suppression: rejected, never created again.
		emails := make([]string, len(items))
		for i, it := range items {
			emails[i] = it.row.Contact.Email
		}
		suppressed, err := db.suppressedSet(ctx, tx, ws, emails)
		if err != nil {
			return err
		}
		existing, err := db.contactsByEmail(ctx, tx, ws, len(items), func(i int) []byte { return []byte(items[i].bidx) })
		if err != nil {
			return err
		}
		var newItems []item
		var upd []item
		for _, it := range items {
			switch {
			case suppressed[it.row.Contact.Email]:
				reject(it.row.Line, "email", "the address belongs to a person erased at their request, who asked not to be added again")
			case existing[it.bidx] != nil:
				upd = append(upd, it)
			default:
				newItems = append(newItems, it)
			}
		}
		// New contacts: the bulk path, in this transaction, sealed a piece
		// ahead of the writes.
		if len(newItems) > 0 {
			ids, err := db.allocIDs(ctx, tx, "contacts", len(newItems))
			if err != nil {
				return err
			}
			cs := make([]*custos.Contact, len(newItems))
			for i, it := range newItems {
				cs[i] = it.row.Contact
				cs[i].CreatedAt, cs[i].UpdatedAt, cs[i].Monitoring = now, now, true
			}
			var due any
			if o.NotFromSubject {
				due = micros(now.AddDate(0, 1, 0))
			}
			pieces, stop := db.sealPieces(ws, cs, ids, defs, false)
			err = db.insertPieces(ctx, tx, put, ia, cs, pieces, func(i int) []custos.ConsentRequest { return newItems[i].reqs }, purposes, due, true)
			stop()
			if err != nil {
				return err
			}
			listAdd = append(listAdd, ids...)
		}
		// Existing contacts: restricted ones are skipped; the rest get the
		// profile policy and, unless they withdrew, the purpose.
		var diffs []importDiff
		var back []*custos.ImportRow
		var backIDs []int64
		for _, it := range upd {
			row := existing[it.bidx]
			if row.status == string(custos.StatusRestricted) {
				plan.skipped++
				continue
			} else if row.status == string(custos.StatusAnonymized) {
				reject(it.row.Line, "email", "the contact is anonymized")
				continue
			}
			permits, err := db.importExisting(ctx, tx, ia, row, it.row, it.reqs, o, defs, purposes, now, &diffs)
			if err != nil {
				return err
			}
			if permits {
				back = append(back, it.row)
				backIDs = append(backIDs, row.id)
			}
			plan.updated++
		}
		// Back on the list, unless they left it and the row brings no
		// newer proof than that (listmonk #2008).
		if o.ListID != 0 {
			leftAt, err := db.listLeaves(ctx, tx, ws, o.ListID, backIDs)
			if err != nil {
				return err
			}
			var rejoined []int64
			for i, cid := range backIDs {
				if at, left := leftAt[cid]; left {
					if r := back[i]; r.ConsentAt == nil || r.ConsentText == "" || !r.ConsentAt.After(at) {
						continue
					}
					rejoined = append(rejoined, cid)
				}
				listAdd = append(listAdd, cid)
			}
			if err := db.rejoin(ctx, tx, ws, o.ListID, rejoined); err != nil {
				return err
			}
		}
		if o.ListID != 0 && len(listAdd) > 0 {
			mrows := make([][]any, len(listAdd))
			for i, cid := range listAdd {
				mrows[i] = []any{cid}
			}
			if _, err := db.insertShared(ctx, tx, "list_members", memberCols, []any{ws, o.ListID, micros(now)}, mrows, memberIgnore); err != nil {
				return err
			}
		}
		rj := make([][]any, len(plan.rejected))
		for i, r := range plan.rejected {
			rj[i] = []any{ws, id, r.Line, r.Column, r.Reason}
		}
		if err := db.insertRows(ctx, tx, "import_rejections", []string{"workspace_id", "import_id", "line", "col", "reason"}, rj); err != nil {
			return err
		}
		// Each contact's changes in the audit log, last, so that the
		// chain's head is held only briefly.
		for _, d := range diffs {
			if err := db.auditChanges(ctx, tx, ia, d.id, d.k, d.changes); err != nil {
				return err
			}
		}
		// The checkpoint, in the same transaction as the rows it covers.
		created := int64(len(newItems))
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE imports SET last_line = ?, unknown = ?, rows_done = rows_done + ?, rows_created = rows_created + ?,
			rows_updated = rows_updated + ?, rows_rejected = rows_rejected + ?, rows_skipped = rows_skipped + ? WHERE workspace_id = ? AND id = ?`),
			lastLine, encodeJSON(nonNil(unknown)), int64(len(rows)+len(rejected)), created, plan.updated, int64(len(plan.rejected)), plan.skipped, ws, id); err != nil {
			return err
		}
		imp, err = db.findImport(ctx, tx, ws, id)
		return err
	})
	if errors.Is(err, errChunkDone) {
		return imp, nil
	} else if err != nil {
		return nil, err
	}
	db.grew(len(listAdd), "contacts", "contact_keys", "consent_events", "consent_state", "list_members")
	return imp, nil
}

// errChunkDone rolls back a chunk that a previous run committed already.
var errChunkDone = errors.New("store: chunk committed before")

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// importRequest is the ledger request an import makes for a row: a grant
// for a consent purpose (the row's proof, or the import's declared wording)
// or the assigned basis. A consent purpose without any wording rejects the
// row, with the reason.
func importRequest(o custos.ImportOptions, p *custos.Purpose, r *custos.ImportRow, now time.Time) (custos.ConsentRequest, string) {
	req := custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionAssignBasis, Method: custos.MethodImport}
	if p.LegalBasis == custos.BasisConsent {
		req.Action = custos.ActionGrant
		req.Notice = o.Notice
		if r.ConsentText != "" {
			req.Notice = r.ConsentText
		}
		if req.Notice == "" {
			return req, "the purpose rests on consent: the row needs consent_at and consent_text columns, or the import the wording (notice)"
		}
	}
	if r.ConsentAt != nil {
		at := r.ConsentAt.UTC().Truncate(time.Microsecond)
		if at.After(now.Add(custos.ClockSkew)) {
			return req, "consent_at: must not be in the future"
		}
		req.EffectiveFrom = &at
	}
	if err := req.Validate(now); err != nil {
		return req, custos.ErrorMessage(err)
	}
	return req, ""
}

// specialWithout returns the first special-category field that the row
// does not carry explicit consent for, or "": a grant for a purpose the
// field serves, proven by the row itself (the import's declared wording is
// not the explicit consent Art. 9(2)(a) asks for).
func specialWithout(defs map[string]*custos.FieldDef, special []string, req custos.ConsentRequest, r *custos.ImportRow) string {
	for _, name := range special {
		if req.Action != custos.ActionGrant || r.ConsentText == "" || !slices.Contains(defs[name].PurposeIDs, req.PurposeID) {
			return name
		}
	}
	return ""
}

// suppressedSet returns which of the addresses belong to people erased
// with suppression.
func (db *DB) suppressedSet(ctx context.Context, q querier, ws int64, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	byHash := map[string]string{}
	for start := 0; start < len(emails); start += 500 {
		end := min(start+500, len(emails))
		args := []any{ws}
		for _, e := range emails[start:end] {
			h := db.vault.SuppressionHash(ws, e)
			byHash[string(h)] = e
			args = append(args, h)
		}
		rows, err := q.QueryContext(ctx, db.q(`SELECT suppression FROM tombstones WHERE workspace_id = ? AND suppression IN (`+placeholders(end-start)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: suppression: %w", err)
		}
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, err
			}
			out[byHash[string(h)]] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// emailLookupRows is how many addresses one query of contactsByEmail
// looks up on SQLite, where a query per address cost the import's writer
// 8 µs a row, most of it the way through database/sql and back.
const emailLookupRows = 100

// The addresses are the outer loop (CROSS JOIN keeps SQLite's planner to
// that order): a seek into the e-mail index each. Given as an IN list,
// SQLite would step through the index between them.
var sqlContactsByEmail = `SELECT email_bidx, ` + contactColumns + ` FROM (VALUES (?)` +
	strings.Repeat(", (?)", emailLookupRows-1) + `) AS k CROSS JOIN contacts c WHERE c.workspace_id = ? AND c.email_bidx = k.column1`

// contactsByEmail returns the contacts whose e-mail blind index is one of
// the n that bidx gives, keyed by the index. PostgreSQL takes them all in
// one array; SQLite emailLookupRows at a time.
func (db *DB) contactsByEmail(ctx context.Context, tx *sql.Tx, ws int64, n int, bidx func(i int) []byte) (map[string]*contactRow, error) {
	out := map[string]*contactRow{}
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return fmt.Errorf("store: contacts by e-mail: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			r := &contactRow{}
			if err := rows.Scan(&b, &r.id, &r.status, &r.sourceKind, &r.sourceDtl, &r.monitoring, &r.tags, &r.sealed, &r.clear, &r.created, &r.updated, &r.lastA, &r.infoDue); err != nil {
				return err
			}
			out[string(b)] = r
		}
		return rows.Err()
	}
	if db.pg {
		keys := make([][]byte, n)
		for i := range n {
			keys[i] = bidx(i)
		}
		err := scan(tx.QueryContext(ctx, `SELECT email_bidx, `+contactColumns+` FROM contacts WHERE workspace_id = $1 AND email_bidx = ANY($2)`, ws, keys))
		return out, err
	}
	stmt := db.writeStmt(ctx, tx, sqlContactsByEmail)
	args := make([]any, emailLookupRows+1)
	args[emailLookupRows] = ws
	for start := 0; start < n; start += emailLookupRows {
		for j := range emailLookupRows {
			args[j] = bidx(min(start+j, n-1)) // the last group repeats its last address
		}
		if err := scan(stmt.QueryContext(ctx, args...)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// importDiff is the changes an import made to a contact's values, to be
// audited once the chunk's rows are written.
type importDiff struct {
	id      int64
	k       *vault.ContactKey
	changes []custos.Change
}

// importExisting applies a row to a contact that exists: the profile
// policy to its fields, with each change in its history as the import
// (and in diffs, for the audit log), and
// the purpose's event unless the contact withdrew it (or had the basis
// removed) and the row carries no newer proof. It reports whether the
// contact may be processed for the purpose afterwards (and so join the
// list).
func (db *DB) importExisting(ctx context.Context, tx *sql.Tx, ia custos.Actor, row *contactRow, r *custos.ImportRow, reqs []custos.ConsentRequest,
	o custos.ImportOptions, defs map[string]*custos.FieldDef, purposes map[int64]*custos.Purpose, now time.Time, diffs *[]importDiff) (bool, error) {
	ws := ia.WorkspaceID
	if _, err := db.findTombstone(ctx, tx, ws, row.id); err == nil {
		return false, nil // being forgotten: leave it alone
	} else if custos.ErrorCode(err) != custos.ENOTFOUND {
		return false, err
	}
	k, err := db.contactKey(ctx, ws, row.id)
	if err != nil {
		return false, err
	}
	c, err := row.open(k)
	if err != nil {
		return false, err
	}
	var changes []custos.Change
	if o.Profile != custos.ProfileSkipExisting {
		for _, name := range slices.Sorted(maps.Keys(r.Contact.Fields)) {
			v := r.Contact.Fields[name]
			old, had := c.Fields[name]
			if had && (o.Profile == custos.ProfileFillEmpty || encodeJSON(old) == encodeJSON(v)) {
				continue
			}
			changes = append(changes, custos.Change{Field: "fields." + name, Old: old, New: v})
			c.Fields[name] = v
		}
	}
	if len(changes) > 0 {
		s := db.seal(ws, k, c, defs)
		rev, err := db.bumpRev(ctx, tx, ws)
		if err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET phone_bidx = ?, sealed = ?, clear = ?, bidx = ?, rev = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			s.phoneBidx, s.sealed, s.clear, s.bidx, rev, micros(now), ws, row.id); err != nil {
			return false, err
		}
		if err := db.recordHistory(ctx, tx, ws, row.id, k, ia.String(), now, changes); err != nil {
			return false, err
		}
		*diffs = append(*diffs, importDiff{id: row.id, k: k, changes: changes})
	}
	// The purpose: never re-consent or re-assign after a withdrawal without
	// newer proof from the row itself (listmonk #2008).
	req := reqs[0]
	st, err := scanState(tx.QueryRowContext(ctx, db.q(`SELECT purpose_id, purpose_version, action, event_id, since FROM consent_state
		WHERE workspace_id = ? AND contact_id = ? AND purpose_id = ?`), ws, row.id, req.PurposeID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		st = nil
	case err != nil:
		return false, err
	}
	if st != nil && st.Action.Permits() {
		return true, nil // in force already: no second event
	}
	if st != nil && (r.ConsentAt == nil || r.ConsentText == "" || !r.ConsentAt.After(st.Since)) {
		return false, nil
	}
	// Nor assign a basis for direct marketing to someone who objected to
	// it (Art. 21(3)); their own consent, with its proof, still counts.
	if assignsMarketingBasis(reqs, purposes) {
		objected, err := db.objected(ctx, tx, ws, []int64{row.id})
		if err != nil {
			return false, err
		}
		if objected[row.id] {
			return false, nil
		}
	}
	if _, err := db.appendEvents(ctx, tx, db.inserter(tx), false, ia, []int64{row.id}, []*vault.ContactKey{k}, reqs, purposes); err != nil {
		return false, err
	}
	return true, nil
}

// ImportRef names an import in its workspace.
type ImportRef struct {
	WorkspaceID, ID int64
}

// RunningImports returns the imports of every workspace that are running:
// those a stopped server left unfinished, to resume. It needs no actor.
func (db *DB) RunningImports(ctx context.Context) ([]ImportRef, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT workspace_id, id FROM imports WHERE status = ? ORDER BY id`), string(custos.ImportRunning))
	if err != nil {
		return nil, fmt.Errorf("store: running imports: %w", err)
	}
	defer rows.Close()
	var out []ImportRef
	for rows.Next() {
		var r ImportRef
		if err := rows.Scan(&r.WorkspaceID, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutImportKey keeps the key of an import's staged file in the key store,
// replacing one kept before.
func (db *DB) PutImportKey(ctx context.Context, id int64, k *vault.FileKey) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	wrapped := db.vault.WrapFileKey(k, "import", a.WorkspaceID, id)
	return db.txOn(ctx, db.keys, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM import_keys WHERE workspace_id = ? AND import_id = ?`), a.WorkspaceID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO import_keys (workspace_id, import_id, wrapped, created_at) VALUES (?, ?, ?, ?)`),
			a.WorkspaceID, id, wrapped, micros(db.Now()))
		return err
	})
}

// ImportKey returns the key of an import's staged file, or ENOTFOUND.
func (db *DB) ImportKey(ctx context.Context, id int64) (*vault.FileKey, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var wrapped []byte
	err = db.keysRead.QueryRowContext(ctx, db.q(`SELECT wrapped FROM import_keys WHERE workspace_id = ? AND import_id = ?`), a.WorkspaceID, id).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("import key")
	} else if err != nil {
		return nil, fmt.Errorf("store: import key: %w", err)
	}
	return db.vault.UnwrapFileKey("import", a.WorkspaceID, id, wrapped)
}

// DropImportKey shreds the key of an import's staged file.
func (db *DB) DropImportKey(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.txOn(ctx, db.keys, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM import_keys WHERE workspace_id = ? AND import_id = ?`), a.WorkspaceID, id)
		return err
	})
}
