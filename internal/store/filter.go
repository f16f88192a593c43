package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// where is a WHERE clause under construction over contacts aliased c.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

// contactWhere translates a filter, all but its search and cursor, into
// SQL conditions.
func (db *DB) contactWhere(ctx context.Context, ws int64, f *custos.ContactFilter) (*where, error) {
	w := &where{}
	w.add(`c.workspace_id = ?`, ws)
	if f.Status != nil {
		w.add(`c.status = ?`, string(*f.Status))
	}
	if f.ListID != nil {
		w.add(`EXISTS (SELECT 1 FROM list_members m WHERE m.workspace_id = c.workspace_id AND m.list_id = ? AND m.contact_id = c.id)`, *f.ListID)
	}
	if f.Tag != nil {
		w.add(`EXISTS (SELECT 1 FROM contact_tags t WHERE t.workspace_id = c.workspace_id AND t.tag = ? AND t.contact_id = c.id)`, *f.Tag)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			w.add(`1 = 0`)
		} else {
			args := make([]any, len(f.IDs))
			for i, id := range f.IDs {
				args[i] = id
			}
			w.add(`c.id IN (`+placeholders(len(f.IDs))+`)`, args...)
		}
	}
	if f.Email != nil {
		w.add(`c.email_bidx = ?`, db.vault.BlindIndex(ws, custos.FieldEmail, *f.Email))
	}
	for _, p := range []struct {
		cond string
		t    *time.Time
	}{
		{`c.created_at >= ?`, f.CreatedAfter}, {`c.created_at < ?`, f.CreatedBefore},
		{`c.updated_at >= ?`, f.UpdatedAfter}, {`c.updated_at < ?`, f.UpdatedBefore},
	} {
		if p.t != nil {
			w.add(p.cond, micros(*p.t))
		}
	}
	if f.Missing != nil {
		if err := db.missingCondition(ctx, w, ws, *f.Missing); err != nil {
			return nil, err
		}
	}
	if len(f.Fields) > 0 {
		defs, err := db.fieldMap(ctx, db.read, ws)
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(f.Fields)) {
			if err := db.fieldCondition(w, ws, defs[name], name, f.Fields[name]); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// fieldCondition adds the equality condition of one field filter: on the
// value in clear for fields classified "none", on the blind index for the
// others. For a multi-choice field the value is one choice the contact
// must hold.
func (db *DB) fieldCondition(w *where, ws int64, d *custos.FieldDef, name, raw string) error {
	param := "field." + name
	if d == nil || name == custos.FieldEmail {
		return custos.Invalid(param, "no such field")
	} else if d.Classification == custos.ClassSpecial {
		return custos.Invalid(param, "special-category fields cannot be filtered on: they keep no blind index")
	}
	var v any = raw
	switch d.Type {
	case custos.FieldNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return custos.Invalid(param, "must be a number")
		}
		v = n
	case custos.FieldBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return custos.Invalid(param, "must be true or false")
		}
		v = b
	case custos.FieldMultiChoice:
		single := *d
		single.Type = custos.FieldChoice
		n, err := single.Normalize(param, raw)
		if err != nil {
			return err
		}
		if d.Classification.Encrypted() {
			w.add(db.jsonContains("c.bidx"), db.jsonPath(name), encodeJSON(hex.EncodeToString(db.vault.BlindIndex(ws, name, encodeJSON(n)))))
		} else {
			w.add(db.jsonContains("c.clear"), db.jsonPath(name), encodeJSON(n))
		}
		return nil
	}
	n, err := d.Normalize(param, v)
	if err != nil {
		return err
	}
	if name == custos.FieldPhone {
		w.add(`c.phone_bidx = ?`, db.vault.BlindIndex(ws, custos.FieldPhone, n.(string)))
		return nil
	}
	if d.Classification.Encrypted() {
		w.add(db.jsonValue("c.bidx")+` = ?`, db.jsonPath(name), encodeJSON(hex.EncodeToString(db.vault.BlindIndex(ws, name, encodeJSON(n)))))
	} else {
		w.add(db.jsonValue("c.clear")+` = ?`, db.jsonPath(name), encodeJSON(n))
	}
	return nil
}

// missingCondition adds the condition that the contact holds no value for
// the field: a value in clear is absent from clear, an encrypted one has no
// blind index (the phone its column). Special-category fields are refused,
// as for equality: what a contact holds of them is not told.
func (db *DB) missingCondition(ctx context.Context, w *where, ws int64, name string) error {
	defs, err := db.fieldMap(ctx, db.read, ws)
	if err != nil {
		return err
	}
	d := defs[name]
	switch {
	case d == nil:
		return custos.Invalid("missing", "no such field")
	case name == custos.FieldEmail:
		return custos.Invalid("missing", "every contact has an e-mail address")
	case d.Classification == custos.ClassSpecial:
		return custos.Invalid("missing", "special-category fields cannot be filtered on")
	case name == custos.FieldPhone:
		w.add(`c.phone_bidx IS NULL`)
	case d.Classification.Encrypted():
		w.add(`NOT `+db.jsonHas("c.bidx"), db.jsonPath(name))
	default:
		w.add(`NOT `+db.jsonHas("c.clear"), db.jsonPath(name))
	}
	return nil
}

// FindContacts returns a page of contacts matching f, newest first (or
// oldest first), and the cursor of the next page.
func (db *DB) FindContacts(ctx context.Context, f custos.ContactFilter) ([]*custos.Contact, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	ws := a.WorkspaceID
	w, err := db.contactWhere(ctx, ws, &f)
	if err != nil {
		return nil, 0, err
	}
	var rows []*contactRow
	if f.Search == "" {
		switch {
		case f.After > 0 && f.Oldest:
			w.add(`c.id > ?`, f.After)
		case f.After > 0:
			w.add(`c.id < ?`, f.After)
		}
		if rows, err = db.contactRows(ctx, w, f.Limit+1, f.Oldest); err != nil {
			return nil, 0, err
		}
	} else if rows, err = db.searchRows(ctx, ws, w, f); err != nil {
		return nil, 0, err
	}
	rows, next := trimPage(rows, f.Limit, func(r *contactRow) int64 { return r.id })
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	keys, err := db.contactKeys(ctx, ws, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*custos.Contact, 0, len(rows))
	for _, r := range rows {
		c, err := r.open(keys[r.id])
		if custos.ErrorCode(err) == custos.EGONE {
			// Its key is shredded and its rows are on their way out: an
			// erasure under way must not fail everyone's page.
			continue
		} else if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, next, nil
}

// contactRows runs the filter and returns at most limit rows, newest
// first, or oldest first.
func (db *DB) contactRows(ctx context.Context, w *where, limit int, oldest bool) ([]*contactRow, error) {
	order := "DESC"
	if oldest {
		order = "ASC"
	}
	rows, err := db.read.d.QueryContext(ctx, db.q(`SELECT `+prefixCols("c.", contactColumns)+` FROM contacts c WHERE `+w.sql()+` ORDER BY c.id `+order+` LIMIT ?`),
		append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: find contacts: %w", err)
	}
	defer rows.Close()
	var out []*contactRow
	for rows.Next() {
		r, err := scanContactRow(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find contacts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, ", ")
}

// contactIDs returns the ids of every contact the filter matches, but for
// anonymized ones, ascending. Bulk changes read them before their write
// transaction, so that they never hold two connections at once, and check
// them again inside it (liveIDs).
func (db *DB) contactIDs(ctx context.Context, ws int64, f custos.ContactFilter) ([]int64, error) {
	f.Limit = custos.MaxLimit
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var ids []int64
	tooMany := func() error {
		if len(ids) > custos.MaxBulkContacts {
			return custos.Errorf(custos.ETOOMANY, "the filter matches more than %d contacts", custos.MaxBulkContacts)
		}
		return nil
	}
	w, err := db.contactWhere(ctx, ws, &f)
	if err != nil {
		return nil, err
	}
	w.add(`c.status <> ?`, string(custos.StatusAnonymized))
	if f.Search != "" {
		// Walk the search results page by page; only ids are needed, so
		// nothing is decrypted.
		f.After = 0
		for {
			rows, err := db.searchRows(ctx, ws, w, f)
			if err != nil {
				return nil, err
			}
			page := rows[:min(len(rows), f.Limit)]
			for _, r := range page {
				ids = append(ids, r.id)
			}
			if err := tooMany(); err != nil || len(rows) <= f.Limit {
				slices.Sort(ids)
				return ids, err
			}
			f.After = page[len(page)-1].id
		}
	}
	var after int64
	const batch = 5000
	for {
		ww := &where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
		ww.add(`c.id > ?`, after)
		rows, err := db.read.d.QueryContext(ctx, db.q(`SELECT c.id FROM contacts c WHERE `+ww.sql()+` ORDER BY c.id LIMIT ?`), append(ww.args, batch)...)
		if err != nil {
			return nil, fmt.Errorf("store: select contacts: %w", err)
		}
		n := len(ids)
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if err := tooMany(); err != nil || len(ids)-n < batch {
			return ids, err
		}
		after = ids[len(ids)-1]
	}
}

// liveIDs returns those of the ids, in order, that are contacts of the
// workspace, neither anonymized nor being forgotten, as tx sees them. With
// skipRestricted it leaves out the contacts whose processing is restricted
// too, and returns them apart.
func (db *DB) liveIDs(ctx context.Context, tx *sql.Tx, ws int64, ids []int64, skipRestricted bool) (live, skipped []int64, err error) {
	args := make([]any, 0, len(ids)+2)
	args = append(args, ws, string(custos.StatusAnonymized))
	for _, id := range ids {
		args = append(args, id)
	}
	lock := ""
	if db.pg {
		lock = " FOR SHARE" // a forget waits for this transaction, or this one skips its rows
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT id, status FROM contacts c WHERE workspace_id = ? AND status <> ? AND id IN (`+placeholders(len(ids))+`)
		AND NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.workspace_id = c.workspace_id AND t.contact_id = c.id) ORDER BY id`+lock), args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	live = make([]int64, 0, len(ids))
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, nil, err
		}
		if skipRestricted && status == string(custos.StatusRestricted) {
			skipped = append(skipped, id)
			continue
		}
		live = append(live, id)
	}
	return live, skipped, rows.Err()
}
