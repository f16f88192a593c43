package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// trackingText is the sealed part of a tracking event.
type trackingText struct {
	MessageRef string            `json:"ref,omitempty"`
	Properties map[string]string `json:"props,omitempty"`
}

func trackingName(id int64) string { return "tracking." + strconv.FormatInt(id, 10) }

// RecordEvent stores a tracking event, or counts it as dropped.
func (db *DB) RecordEvent(ctx context.Context, e *custos.TrackingEvent) (bool, error) {
	a, err := actor(ctx)
	if err != nil {
		return false, err
	}
	if err := e.Validate(db.Now()); err != nil {
		return false, err
	}
	ws := a.WorkspaceID
	stored := false
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.findContactRow(ctx, tx, ws, e.ContactID)
		if err != nil {
			return err
		}
		now := db.Now()
		allowed, err := db.trackingAllowed(ctx, tx, ws, r)
		if err != nil {
			return err
		}
		if !allowed {
			_, err := tx.ExecContext(ctx, db.q(`INSERT INTO tracking_dropped (workspace_id, dropped, last_dropped_at) VALUES (?, 1, ?)
				ON CONFLICT (workspace_id) DO UPDATE SET dropped = tracking_dropped.dropped + 1, last_dropped_at = excluded.last_dropped_at`), ws, micros(now))
			return err
		}
		k, err := db.contactKey(ctx, ws, e.ContactID)
		if err != nil {
			return err
		}
		ids, err := db.allocIDs(ctx, tx, "tracking_events", 1)
		if err != nil {
			return err
		}
		e.ID, e.Actor, e.CreatedAt = ids[0], a.String(), now
		sealed := k.Seal(trackingName(e.ID), []byte(encodeJSON(trackingText{MessageRef: e.MessageRef, Properties: e.Properties})))
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO tracking_events (workspace_id, id, contact_id, type, at, sealed, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			ws, e.ID, e.ContactID, e.Type, micros(e.At), sealed, e.Actor, micros(now)); err != nil {
			return fmt.Errorf("store: record event: %w", err)
		}
		stored = true
		return nil
	})
	return stored, err
}

// trackingAllowed reports whether the contact may be tracked now: its
// monitoring is on and a purpose of the tracking channel permits
// processing it (custos.Decide, as Permission decides).
func (db *DB) trackingAllowed(ctx context.Context, q querier, ws int64, r *contactRow) (bool, error) {
	if !r.monitoring {
		return false, nil
	}
	purposes, err := db.trackingPurposes(ctx, q, ws)
	if err != nil {
		return false, err
	}
	now := db.Now()
	for _, p := range purposes {
		s, err := scanState(q.QueryRowContext(ctx, db.q(`SELECT purpose_id, purpose_version, action, event_id, since FROM consent_state
			WHERE workspace_id = ? AND contact_id = ? AND purpose_id = ?`), ws, r.id, p.ID))
		if errors.Is(err, sql.ErrNoRows) {
			s = nil
		} else if err != nil {
			return false, err
		}
		if custos.Decide(custos.ContactStatus(r.status), p, s, fromMicros(r.lastA), now).Allowed {
			return true, nil
		}
	}
	return false, nil
}

// PixelToken returns the signed token of a tracking pixel.
func (db *DB) PixelToken(ctx context.Context, contactID int64, ref string) (string, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", err
	}
	if !custos.MessageRefRE.MatchString(ref) {
		return "", custos.Invalid("message_ref", "must be at most 64 letters, digits, '-' or '_'")
	}
	payload := []byte(strconv.FormatInt(a.WorkspaceID, 10) + "." + strconv.FormatInt(contactID, 10) + "." + ref)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(db.vault.TrackingMAC(payload)), nil
}

// openPixelToken verifies a pixel token and returns what it names.
func openPixelToken(v *vault.Vault, token string) (ws, contact int64, ref string, ok bool) {
	p64, m64, found := strings.Cut(token, ".")
	if !found || len(token) > 300 {
		return 0, 0, "", false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, v.TrackingMAC(payload)) {
		return 0, 0, "", false
	}
	parts := strings.SplitN(string(payload), ".", 3)
	if len(parts) != 3 {
		return 0, 0, "", false
	}
	ws, err1 = strconv.ParseInt(parts[0], 10, 64)
	contact, err2 = strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, "", false
	}
	return ws, contact, parts[2], true
}

// RecordPixel records an e-mail open from a pixel token.
func (db *DB) RecordPixel(ctx context.Context, token string) error {
	ws, contact, ref, ok := openPixelToken(db.vault, token)
	if !ok {
		return custos.Errorf(custos.EINVALID, "the token is not valid")
	}
	ctx = custos.WithActor(ctx, custos.Actor{WorkspaceID: ws, Kind: custos.ActorSystem})
	_, err := db.RecordEvent(ctx, &custos.TrackingEvent{ContactID: contact, Type: custos.EventEmailOpen, MessageRef: ref})
	return err
}

// TrackingStats counts the workspace's dropped tracking events.
func (db *DB) TrackingStats(ctx context.Context) (*custos.TrackingStats, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	st := &custos.TrackingStats{}
	var last int64
	err = db.read.QueryRowContext(ctx, db.q(`SELECT dropped, last_dropped_at FROM tracking_dropped WHERE workspace_id = ?`), a.WorkspaceID).Scan(&st.Dropped, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: tracking stats: %w", err)
	}
	t := fromMicros(last)
	st.LastDroppedAt = &t
	return st, nil
}

const trackingColumns = `id, contact_id, type, at, sealed, actor, created_at`

func scanTracking(row interface{ Scan(...any) error }, k *vault.ContactKey) (*custos.TrackingEvent, error) {
	e := &custos.TrackingEvent{}
	var at, created int64
	var sealed []byte
	if err := row.Scan(&e.ID, &e.ContactID, &e.Type, &at, &sealed, &e.Actor, &created); err != nil {
		return nil, err
	}
	e.At, e.CreatedAt = fromMicros(at), fromMicros(created)
	p, err := k.Open(trackingName(e.ID), sealed)
	if err != nil {
		return nil, fmt.Errorf("store: tracking event %d: %w", e.ID, err)
	}
	var t trackingText
	if err := json.Unmarshal(p, &t); err != nil {
		return nil, err
	}
	e.MessageRef, e.Properties = t.MessageRef, t.Properties
	if e.Properties == nil {
		e.Properties = map[string]string{}
	}
	return e, nil
}

func (db *DB) timelineTracking(ctx context.Context, ws, contactID int64, k *vault.ContactKey, after *custos.TimelineCursor, n int, add func(*custos.TimelineEntry)) error {
	return db.timelineRows(ctx, ws, contactID, after, n, custos.TimelineTracking, trackingColumns, `tracking_events`, `at`, `id`,
		func(row interface{ Scan(...any) error }) error {
			e, err := scanTracking(row, k)
			if err != nil {
				return err
			}
			add(&custos.TimelineEntry{Kind: custos.TimelineTracking, ID: e.ID, At: e.At, Actor: e.Actor, Event: e})
			return nil
		})
}

// exportTracking adds every tracking event of the contact to the export.
func (db *DB) exportTracking(ctx context.Context, x *custos.Export, ws, id int64) error {
	x.Tracking = []*custos.TrackingEvent{}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+trackingColumns+` FROM tracking_events WHERE workspace_id = ? AND contact_id = ? ORDER BY at DESC, id DESC`), ws, id)
	if err != nil {
		return fmt.Errorf("store: export tracking: %w", err)
	}
	defer rows.Close()
	var k *vault.ContactKey
	for rows.Next() {
		if k == nil {
			if k, err = db.contactKey(ctx, ws, id); err != nil {
				return err
			}
		}
		e, err := scanTracking(rows, k)
		if err != nil {
			return err
		}
		x.Tracking = append(x.Tracking, e)
	}
	return rows.Err()
}
