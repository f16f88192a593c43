package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// activityName is what an activity's text is sealed under: bound to its
// row, so that it cannot be moved to another activity of the contact.
func activityName(id int64) string { return "activity." + strconv.FormatInt(id, 10) }

// writableContact locks the contact for a change that adds to or edits
// what is held about it, and returns its key: ERESTRICTED, naming field,
// while its processing is restricted (Art. 18: the data stays as it is),
// ECONFLICT when it is anonymized or forgotten.
func (db *DB) writableContact(ctx context.Context, tx *sql.Tx, ws, id int64, field string) (*vault.ContactKey, error) {
	r, err := db.lockContact(ctx, tx, ws, id)
	if err != nil {
		return nil, err
	}
	switch custos.ContactStatus(r.status) {
	case custos.StatusAnonymized:
		return nil, custos.Errorf(custos.ECONFLICT, "an anonymized contact cannot be changed")
	case custos.StatusRestricted:
		return nil, custos.Restricted(field, "what is held about the contact stays as it is until the restriction is lifted")
	}
	return db.contactKey(ctx, ws, id)
}

// CreateActivity validates and stores an activity of the contact.
func (db *DB) CreateActivity(ctx context.Context, contactID int64, act *custos.Activity) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := act.Validate(); err != nil {
		return err
	}
	ws := a.WorkspaceID
	return db.tx(ctx, func(tx *sql.Tx) error {
		k, err := db.writableContact(ctx, tx, ws, contactID, "type")
		if err != nil {
			return err
		}
		ids, err := db.allocIDs(ctx, tx, "activities", 1)
		if err != nil {
			return err
		}
		now := db.Now()
		act.ID, act.ContactID = ids[0], contactID
		act.CreatedAt, act.UpdatedAt, act.CreatedBy, act.UpdatedBy = now, now, a.String(), a.String()
		act.DoneAt = nil
		if act.Done {
			act.DoneAt = &now
		}
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO contact_activities (workspace_id, id, contact_id, type, sealed, due_at, done_at, value, currency, stage,
			created_at, created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ws, act.ID, contactID, act.Type, sealActivity(k, act), optMicros(act.DueAt), optMicros(act.DoneAt), act.Value, act.Currency, act.Stage,
			micros(now), act.CreatedBy, micros(now), act.UpdatedBy)
		if err != nil {
			return fmt.Errorf("store: create activity: %w", err)
		}
		return nil
	})
}

func sealActivity(k *vault.ContactKey, act *custos.Activity) []byte {
	// Title NUL body: neither may hold a NUL (custos.CheckText), and an
	// export of 10,000 activities spends less on this than on JSON.
	return k.Seal(activityName(act.ID), []byte(act.Title+"\x00"+act.Body))
}

// optMicros is t in microseconds, or NULL.
func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

const activityColumns = `id, contact_id, type, sealed, due_at, done_at, value, currency, stage, created_at, created_by, updated_at, updated_by`

// scanActivity reads a row of activityColumns and opens its text.
func scanActivity(row interface{ Scan(...any) error }, k *vault.ContactKey) (*custos.Activity, error) {
	act := &custos.Activity{}
	var sealed []byte
	var due, done sql.NullInt64
	var created, updated int64
	if err := row.Scan(&act.ID, &act.ContactID, &act.Type, &sealed, &due, &done, &act.Value, &act.Currency, &act.Stage,
		&created, &act.CreatedBy, &updated, &act.UpdatedBy); err != nil {
		return nil, err
	}
	act.DueAt, act.DoneAt, act.Done = nullMicros(due), nullMicros(done), done.Valid
	act.CreatedAt, act.UpdatedAt = fromMicros(created), fromMicros(updated)
	if k == nil {
		return nil, custos.Errorf(custos.EGONE, "the contact's data key is gone")
	}
	plain, err := k.Open(activityName(act.ID), sealed)
	if err != nil {
		return nil, fmt.Errorf("store: activity %d: %w", act.ID, err)
	}
	title, body, ok := strings.Cut(string(plain), "\x00")
	if !ok {
		return nil, fmt.Errorf("store: activity %d: sealed text without separator", act.ID)
	}
	act.Title, act.Body = title, body
	return act, nil
}

// ContactActivities returns a page of the contact's activities, newest first.
func (db *DB) ContactActivities(ctx context.Context, contactID, before int64, limit int) ([]*custos.Activity, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	ws := a.WorkspaceID
	if limit <= 0 {
		limit = custos.DefaultLimit
	}
	limit = min(limit, custos.MaxLimit)
	if before <= 0 {
		before = 1<<63 - 1
	}
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return nil, 0, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+activityColumns+` FROM contact_activities
		WHERE workspace_id = ? AND contact_id = ? AND id < ? ORDER BY id DESC LIMIT ?`), ws, contactID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: activities: %w", err)
	}
	defer rows.Close()
	out := []*custos.Activity{}
	var k *vault.ContactKey
	for rows.Next() {
		if k == nil {
			if k, err = db.contactKey(ctx, ws, contactID); err != nil {
				return nil, 0, err
			}
		}
		act, err := scanActivity(rows, k)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, act)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out, next := trimPage(out, limit, func(a *custos.Activity) int64 { return a.ID })
	return out, next, nil
}

// FindActivity returns one activity of the contact.
func (db *DB) FindActivity(ctx context.Context, contactID, id int64) (*custos.Activity, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return nil, err
	}
	return db.findActivity(ctx, db.read, ws, contactID, id, nil)
}

// findActivity reads one activity with q, opening it with k (nil: the
// contact's key is read).
func (db *DB) findActivity(ctx context.Context, q querier, ws, contactID, id int64, k *vault.ContactKey) (*custos.Activity, error) {
	if k == nil {
		var err error
		if k, err = db.contactKey(ctx, ws, contactID); custos.ErrorCode(err) == custos.EGONE {
			return nil, custos.NotFound("activity") // forgotten: its activities went with the key
		} else if err != nil {
			return nil, err
		}
	}
	row := q.QueryRowContext(ctx, db.q(`SELECT `+activityColumns+` FROM contact_activities WHERE workspace_id = ? AND contact_id = ? AND id = ?`), ws, contactID, id)
	act, err := scanActivity(row, k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("activity")
	}
	return act, err
}

// UpdateActivity applies u to the activity.
func (db *DB) UpdateActivity(ctx context.Context, contactID, id int64, u custos.ActivityUpdate) (*custos.Activity, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var act *custos.Activity
	err = db.tx(ctx, func(tx *sql.Tx) error {
		k, err := db.writableContact(ctx, tx, ws, contactID, firstActivityField(u))
		if err != nil {
			return err
		}
		if act, err = db.findActivity(ctx, tx, ws, contactID, id, k); err != nil {
			return err
		}
		now := db.Now()
		u.Apply(act, now)
		if err := act.Validate(); err != nil {
			return err
		}
		act.UpdatedAt, act.UpdatedBy = now, a.String()
		_, err = tx.ExecContext(ctx, db.q(`UPDATE contact_activities SET sealed = ?, due_at = ?, done_at = ?, value = ?, currency = ?, stage = ?, updated_at = ?, updated_by = ?
			WHERE workspace_id = ? AND contact_id = ? AND id = ?`),
			sealActivity(k, act), optMicros(act.DueAt), optMicros(act.DoneAt), act.Value, act.Currency, act.Stage, micros(now), act.UpdatedBy, ws, contactID, id)
		if err != nil {
			return fmt.Errorf("store: update activity: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return act, nil
}

// firstActivityField names the first member u sets, for an ERESTRICTED
// error.
func firstActivityField(u custos.ActivityUpdate) string {
	for _, f := range []struct {
		name string
		set  bool
	}{{"title", u.Title != nil}, {"body", u.Body != nil}, {"due_at", u.DueAt != nil}, {"done", u.Done != nil},
		{"value", u.Value != nil}, {"currency", u.Currency != nil}, {"stage", u.Stage != nil}} {
		if f.set {
			return f.name
		}
	}
	return ""
}

// DeleteActivity removes the activity. While the contact is restricted it
// stays: it may be what the person needs kept (Art. 18(1)(c)).
func (db *DB) DeleteActivity(ctx context.Context, contactID, id int64) error {
	return db.deleteOfContact(ctx, "contact_activities", "activity", contactID, id)
}

// deleteOfContact deletes the row id of the contact from table, in which
// it is the named thing; not while the contact is restricted.
func (db *DB) deleteOfContact(ctx context.Context, table, thing string, contactID, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ws := a.WorkspaceID
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.writableContact(ctx, tx, ws, contactID, ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM `+table+` WHERE workspace_id = ? AND contact_id = ? AND id = ?`), ws, contactID, id)
		if err != nil {
			return fmt.Errorf("store: delete %s: %w", thing, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return custos.NotFound(thing)
		}
		return nil
	})
}

// exportActivities adds every activity of the contact to the export,
// newest first, in one query.
func (db *DB) exportActivities(ctx context.Context, x *custos.Export, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ws := a.WorkspaceID
	x.Activities = []*custos.Activity{}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+activityColumns+` FROM contact_activities WHERE workspace_id = ? AND contact_id = ? ORDER BY id DESC`), ws, id)
	if err != nil {
		return fmt.Errorf("store: export activities: %w", err)
	}
	defer rows.Close()
	var k *vault.ContactKey
	for rows.Next() {
		if k == nil {
			if k, err = db.contactKey(ctx, ws, id); err != nil {
				return err
			}
		}
		act, err := scanActivity(rows, k)
		if err != nil {
			return err
		}
		x.Activities = append(x.Activities, act)
	}
	return rows.Err()
}
