package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// trackingPurposes returns the purposes whose current version is of the
// tracking channel.
func (db *DB) trackingPurposes(ctx context.Context, q querier, ws int64) ([]*custos.Purpose, error) {
	rows, err := q.QueryContext(ctx, db.q(`SELECT `+purposeColumns+` FROM purposes p
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id AND v.version = p.current_version
		WHERE p.workspace_id = ? AND v.channel = ? ORDER BY p.id`), ws, custos.ChannelTracking)
	if err != nil {
		return nil, fmt.Errorf("store: tracking purposes: %w", err)
	}
	defer rows.Close()
	var out []*custos.Purpose
	for rows.Next() {
		p, err := scanPurpose(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetMonitoring switches the contact's monitoring off or on.
func (db *DB) SetMonitoring(ctx context.Context, contactID int64, enabled bool) (*custos.MonitoringState, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	st := &custos.MonitoringState{ContactID: contactID, Events: []*custos.ConsentEvent{}}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.lockContact(ctx, tx, ws, contactID)
		if err != nil {
			return err
		}
		var offAt sql.NullInt64
		if err := tx.QueryRowContext(ctx, db.q(`SELECT monitoring_off_at FROM contacts WHERE workspace_id = ? AND id = ?`), ws, contactID).Scan(&offAt); err != nil {
			return fmt.Errorf("store: monitoring: %w", err)
		}
		st.Enabled, st.OffSince = r.monitoring, nullMicros(offAt)
		if r.monitoring == enabled {
			return nil // as asked already
		}
		switch custos.ContactStatus(r.status) {
		case custos.StatusAnonymized:
			return custos.Errorf(custos.ECONFLICT, "an anonymized contact cannot be changed")
		case custos.StatusRestricted:
			if enabled {
				return custos.Restricted("enabled", "monitoring stays off until the restriction is lifted")
			}
		}
		purposes, err := db.trackingPurposes(ctx, tx, ws)
		if err != nil {
			return err
		}
		if enabled && offAt.Valid {
			// The SALESmanago rule: only the person can turn it back on, by a
			// new consent for tracking given after it was switched off:
			// recorded after it, and not back-dated before it either.
			var n int
			if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM consent_events e
				JOIN consent_state s ON s.workspace_id = e.workspace_id AND s.contact_id = e.contact_id AND s.purpose_id = e.purpose_id
				JOIN purposes p ON p.workspace_id = e.workspace_id AND p.id = e.purpose_id
				JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id AND v.version = p.current_version
				WHERE e.workspace_id = ? AND e.contact_id = ? AND e.action = ? AND e.created_at > ? AND e.effective_from > ? AND s.action = ? AND v.channel = ?`),
				ws, contactID, string(custos.ActionGrant), offAt.Int64, offAt.Int64, string(custos.ActionGrant), custos.ChannelTracking).Scan(&n); err != nil {
				return fmt.Errorf("store: monitoring consent: %w", err)
			}
			if n == 0 {
				return &custos.Error{Code: custos.ECONSENT, Field: "enabled", Message: fmt.Sprintf(
					"monitoring was switched off at %s; switching it on again needs a new consent of the contact for a purpose of the %q channel, given after that and not withdrawn",
					fromMicros(offAt.Int64).Format("2006-01-02T15:04:05Z"), custos.ChannelTracking)}
			}
		}
		now := db.Now()
		action := custos.ActionMonitoringOn
		if !enabled {
			action, offAt = custos.ActionMonitoringOff, sql.NullInt64{Int64: micros(now), Valid: true}
		}
		rev, err := db.bumpRev(ctx, tx, ws)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET monitoring = ?, monitoring_off_at = ?, rev = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			enabled, offAt, rev, micros(now), ws, contactID); err != nil {
			return fmt.Errorf("store: set monitoring: %w", err)
		}
		k, err := db.contactKey(ctx, ws, contactID)
		if err != nil {
			return err
		}
		if err := db.recordChanges(ctx, tx, a, contactID, k, now, []custos.Change{{Field: "monitoring", Old: r.monitoring, New: enabled}}); err != nil {
			return err
		}
		if len(purposes) > 0 {
			ids, err := db.allocIDs(ctx, tx, "consent_events", len(purposes))
			if err != nil {
				return err
			}
			rows := make([][]any, len(purposes))
			for i, p := range purposes {
				e := &custos.ConsentEvent{ID: ids[i], ContactID: contactID, PurposeID: p.ID, PurposeVersion: p.Version, Action: action,
					Method: custos.MethodAPI, EffectiveFrom: now, Actor: a.String(), CreatedAt: now}
				rows[i] = []any{ws, e.ID, contactID, p.ID, p.Version, string(action), string(e.Method), nil, micros(now), nil, e.Actor, micros(now)}
				st.Events = append(st.Events, e)
			}
			// Not the consent state: these events decide no consent.
			if err := db.insertRows(ctx, tx, "consent_events", []string{"workspace_id", "id", "contact_id", "purpose_id", "purpose_version",
				"action", "method", "notice_hash", "effective_from", "meta", "actor", "created_at"}, rows); err != nil {
				return err
			}
		}
		st.Enabled, st.OffSince = enabled, nullMicros(offAt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
