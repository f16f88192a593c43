package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// The names the reasons of a restriction are sealed under.
const (
	sealedReason     = "restriction.reason"
	sealedLiftReason = "restriction.lift_reason"
)

// RestrictContact restricts the contact's processing (Art. 18).
func (db *DB) RestrictContact(ctx context.Context, id int64, reason string) (*custos.Restriction, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if reason, err = custos.NormalizeReason(reason); err != nil {
		return nil, err
	}
	var res *custos.Restriction
	err = db.tx(ctx, func(tx *sql.Tx) (err error) {
		res, err = db.restrict(ctx, tx, a, id, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// restrict restricts the contact inside tx; the reason is normalised.
func (db *DB) restrict(ctx context.Context, tx *sql.Tx, a custos.Actor, id int64, reason string) (*custos.Restriction, error) {
	ws := a.WorkspaceID
	r, err := db.lockContact(ctx, tx, ws, id)
	if err != nil {
		return nil, err
	}
	switch custos.ContactStatus(r.status) {
	case custos.StatusRestricted:
		return nil, custos.Errorf(custos.ECONFLICT, "the contact's processing is restricted already; lift the restriction before restricting it again")
	case custos.StatusAnonymized:
		return nil, custos.Errorf(custos.ECONFLICT, "an anonymized contact holds no personal data to restrict")
	}
	k, err := db.contactKey(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	res := &custos.Restriction{ContactID: id, RestrictedAt: now, RestrictedBy: a.String(), Reason: reason}
	if err := tx.QueryRowContext(ctx, db.q(`INSERT INTO contact_restrictions (workspace_id, contact_id, prior_status, restricted_at, restricted_by, reason)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		ws, id, r.status, micros(now), res.RestrictedBy, k.Seal(sealedReason, []byte(reason))).Scan(&res.ID); err != nil {
		return nil, fmt.Errorf("store: restrict contact: %w", err)
	}
	return res, db.setStatus(ctx, tx, a, id, k, now, custos.ContactStatus(r.status), custos.StatusRestricted)
}

// LiftRestriction ends the contact's restriction and gives it back the
// status it had before.
func (db *DB) LiftRestriction(ctx context.Context, id int64, reason string) (*custos.Restriction, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if reason, err = custos.NormalizeReason(reason); err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var res *custos.Restriction
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.lockContact(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if r.status != string(custos.StatusRestricted) {
			return custos.Errorf(custos.ECONFLICT, "the contact's processing is not restricted (its status is %s); there is nothing to lift", r.status)
		}
		k, err := db.contactKey(ctx, ws, id)
		if err != nil {
			return err
		}
		var prior string
		row := tx.QueryRowContext(ctx, db.q(`SELECT `+restrictionColumns+`, prior_status FROM contact_restrictions
			WHERE workspace_id = ? AND contact_id = ? AND lifted_at IS NULL`), ws, id)
		if res, err = scanRestriction(row, k, &prior); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: restricted contact %d has no open restriction", id)
		} else if err != nil {
			return err
		}
		now := db.Now()
		res.LiftedAt, res.LiftedBy, res.LiftReason = &now, a.String(), reason
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE contact_restrictions SET lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE workspace_id = ? AND id = ?`),
			micros(now), res.LiftedBy, k.Seal(sealedLiftReason, []byte(reason)), ws, res.ID); err != nil {
			return fmt.Errorf("store: lift restriction: %w", err)
		}
		return db.setStatus(ctx, tx, a, id, k, now, custos.StatusRestricted, custos.ContactStatus(prior))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// setStatus changes the contact's status and records the change in its
// history, as UpdateContact records a change of its values.
func (db *DB) setStatus(ctx context.Context, tx *sql.Tx, a custos.Actor, id int64, k *vault.ContactKey, now time.Time, old, new custos.ContactStatus) error {
	ws := a.WorkspaceID
	rev, err := db.bumpRev(ctx, tx, ws)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET status = ?, rev = ?, updated_at = ?, last_activity_at = ? WHERE workspace_id = ? AND id = ?`),
		string(new), rev, micros(now), micros(now), ws, id); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	return db.recordChanges(ctx, tx, a, id, k, now, []custos.Change{{Field: "status", Old: old, New: new}})
}

const restrictionColumns = `id, contact_id, restricted_at, restricted_by, reason, lifted_at, lifted_by, lift_reason`

// scanRestriction reads a row of restrictionColumns, and then extra
// columns into extra, opening the reasons with the contact's key.
func scanRestriction(row interface{ Scan(...any) error }, k *vault.ContactKey, extra ...any) (*custos.Restriction, error) {
	res := &custos.Restriction{}
	var restricted int64
	var lifted sql.NullInt64
	var liftedBy sql.NullString
	var reason, liftReason []byte
	if err := row.Scan(append([]any{&res.ID, &res.ContactID, &restricted, &res.RestrictedBy, &reason, &lifted, &liftedBy, &liftReason}, extra...)...); err != nil {
		return nil, err
	}
	res.RestrictedAt, res.LiftedAt, res.LiftedBy = fromMicros(restricted), nullMicros(lifted), liftedBy.String
	for _, r := range []struct {
		name   string
		sealed []byte
		dst    *string
	}{{sealedReason, reason, &res.Reason}, {sealedLiftReason, liftReason, &res.LiftReason}} {
		if len(r.sealed) == 0 {
			continue
		}
		p, err := k.Open(r.name, r.sealed)
		if err != nil {
			return nil, fmt.Errorf("store: restriction %d: %w", res.ID, err)
		}
		*r.dst = string(p)
	}
	return res, nil
}

// ContactRestrictions returns the contact's restrictions, newest first.
func (db *DB) ContactRestrictions(ctx context.Context, id int64) ([]*custos.Restriction, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+restrictionColumns+` FROM contact_restrictions WHERE workspace_id = ? AND contact_id = ? ORDER BY id DESC`), ws, id)
	if err != nil {
		return nil, fmt.Errorf("store: restrictions: %w", err)
	}
	defer rows.Close()
	out := []*custos.Restriction{}
	var k *vault.ContactKey
	for rows.Next() {
		// The key only for a contact that has restrictions: a forgotten
		// one has neither.
		if k == nil {
			if k, err = db.contactKey(ctx, ws, id); err != nil {
				return nil, err
			}
		}
		res, err := scanRestriction(rows, k)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, rows.Err()
}
