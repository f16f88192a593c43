package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// ContactTimeline merges what happened to the contact, newest first: each
// source is read by a keyset query over (time, id) from the cursor on, at
// most a page of each, and the pages are merged by (time, kind, id).
func (db *DB) ContactTimeline(ctx context.Context, contactID int64, after *custos.TimelineCursor, limit int) ([]*custos.TimelineEntry, *custos.TimelineCursor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	ws := a.WorkspaceID
	if limit <= 0 {
		limit = custos.DefaultLimit
	}
	limit = min(limit, custos.MaxLimit)
	r, err := db.findContactRow(ctx, db.read, ws, contactID)
	if err != nil {
		return nil, nil, err
	}
	var out []*custos.TimelineEntry
	add := func(e *custos.TimelineEntry) {
		if after.Before(e) {
			out = append(out, e)
		}
	}
	add(&custos.TimelineEntry{Kind: custos.TimelineCreated, ID: contactID, At: fromMicros(r.created),
		Source: &custos.Source{Kind: custos.SourceKind(r.sourceKind), Detail: r.sourceDtl}})
	k, err := db.contactKey(ctx, ws, contactID)
	if custos.ErrorCode(err) == custos.EGONE {
		// Anonymized: every row but the contact's own went with the key.
		k = nil
	} else if err != nil {
		return nil, nil, err
	}
	if k != nil {
		sources := []func(context.Context, int64, int64, *vault.ContactKey, *custos.TimelineCursor, int, func(*custos.TimelineEntry)) error{
			db.timelineChanges, db.timelineConsents, db.timelineActivities, db.timelineAttachments, db.timelineRestrictions, db.timelineTracking,
		}
		for _, src := range sources {
			if err := src(ctx, ws, contactID, k, after, limit+1, add); err != nil {
				return nil, nil, err
			}
		}
	}
	slices.SortFunc(out, func(x, y *custos.TimelineEntry) int {
		if c := y.At.Compare(x.At); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Kind, x.Kind); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	})
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &custos.TimelineCursor{At: last.At, Kind: last.Kind, ID: last.ID}, nil
}

// keyset returns the condition selecting the rows of a source of the
// given kind that come after the cursor, with time column tcol and id
// column icol, and its arguments.
func keyset(c *custos.TimelineCursor, kind, tcol, icol string) (string, []any) {
	if c == nil {
		return `1 = 1`, nil
	}
	t := micros(c.At)
	switch {
	case kind < c.Kind: // at the cursor's time, this kind comes after it
		return tcol + ` <= ?`, []any{t}
	case kind > c.Kind:
		return tcol + ` < ?`, []any{t}
	}
	return `(` + tcol + `, ` + icol + `) < (?, ?)`, []any{t, c.ID}
}

// timelineRows runs a source's keyset query, newest first, at most n rows.
func (db *DB) timelineRows(ctx context.Context, ws, contactID int64, after *custos.TimelineCursor, n int, kind, cols, table, tcol, idcol string, scan func(row interface{ Scan(...any) error }) error) error {
	cond, args := keyset(after, kind, tcol, idcol)
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+cols+` FROM `+table+` WHERE workspace_id = ? AND contact_id = ? AND `+cond+
		` ORDER BY `+tcol+` DESC, `+idcol+` DESC LIMIT ?`), append(append([]any{ws, contactID}, args...), n)...)
	if err != nil {
		return fmt.Errorf("store: timeline %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (db *DB) timelineChanges(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, n int, add func(*custos.TimelineEntry)) error {
	return db.timelineRows(ctx, ws, contactID, after, n, custos.TimelineChange, `id, actor, at, sealed`, `contact_changes`, `at`, `id`,
		func(row interface{ Scan(...any) error }) error {
			ch := &custos.Change{}
			var id, at int64
			var actor string
			var sealed []byte
			if err := row.Scan(&id, &actor, &at, &sealed); err != nil {
				return err
			}
			p, err := k.Open("history", sealed)
			if err != nil {
				return fmt.Errorf("store: history %d: %w", id, err)
			}
			if err := json.Unmarshal(p, ch); err != nil {
				return err
			}
			ch.ID, ch.Actor, ch.At = id, actor, fromMicros(at)
			add(&custos.TimelineEntry{Kind: custos.TimelineChange, ID: ch.ID, At: ch.At, Actor: ch.Actor, Change: ch})
			return nil
		})
}

func (db *DB) timelineConsents(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, n int, add func(*custos.TimelineEntry)) error {
	return db.timelineRows(ctx, ws, contactID, after, n, custos.TimelineConsent, eventColumns, `consent_events`, `created_at`, `id`,
		func(row interface{ Scan(...any) error }) error {
			e, err := scanEvent(row, k)
			if err != nil {
				return err
			}
			add(&custos.TimelineEntry{Kind: custos.TimelineConsent, ID: e.ID, At: e.CreatedAt, Actor: e.Actor, Consent: e})
			return nil
		})
}

func (db *DB) timelineActivities(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, n int, add func(*custos.TimelineEntry)) error {
	return db.timelineRows(ctx, ws, contactID, after, n, custos.TimelineActivity, activityColumns, `contact_activities`, `created_at`, `id`,
		func(row interface{ Scan(...any) error }) error {
			act, err := scanActivity(row, k)
			if err != nil {
				return err
			}
			add(&custos.TimelineEntry{Kind: custos.TimelineActivity, ID: act.ID, At: act.CreatedAt, Actor: act.CreatedBy, Activity: act})
			return nil
		})
}

func (db *DB) timelineAttachments(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, n int, add func(*custos.TimelineEntry)) error {
	return db.timelineRows(ctx, ws, contactID, after, n, custos.TimelineAttachment, attachmentColumns, `contact_attachments`, `created_at`, `id`,
		func(row interface{ Scan(...any) error }) error {
			att, err := scanAttachment(row, k)
			if err != nil {
				return err
			}
			add(&custos.TimelineEntry{Kind: custos.TimelineAttachment, ID: att.ID, At: att.CreatedAt, Actor: att.CreatedBy, Attachment: att})
			return nil
		})
}

// timelineRestrictions adds the restrictions and their liftings; a
// contact has few, so all are read and the cursor applied here.
func (db *DB) timelineRestrictions(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, _ int, add func(*custos.TimelineEntry)) error {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+restrictionColumns+` FROM contact_restrictions WHERE workspace_id = ? AND contact_id = ?`), ws, contactID)
	if err != nil {
		return fmt.Errorf("store: timeline restrictions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		res, err := scanRestriction(rows, k)
		if err != nil {
			return err
		}
		add(&custos.TimelineEntry{Kind: custos.TimelineRestriction, ID: res.ID, At: res.RestrictedAt, Actor: res.RestrictedBy, Restriction: res})
		if res.LiftedAt != nil {
			add(&custos.TimelineEntry{Kind: custos.TimelineRestrictionLifted, ID: res.ID, At: *res.LiftedAt, Actor: res.LiftedBy, Restriction: res})
		}
	}
	return rows.Err()
}
