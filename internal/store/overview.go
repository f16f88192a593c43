package store

import (
	"context"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// Overview counts the actor's workspace: contacts by status, the current
// consent state per purpose, and pending sign-ups. Counts only: nothing
// in it is personal.
func (db *DB) Overview(ctx context.Context) (*custos.Overview, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	o := &custos.Overview{
		Contacts: map[custos.ContactStatus]int64{custos.StatusPending: 0, custos.StatusActive: 0,
			custos.StatusRestricted: 0, custos.StatusAnonymized: 0},
		Consents: map[int64]map[custos.ConsentAction]int64{},
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT status, COUNT(*) FROM contacts WHERE workspace_id = ? GROUP BY status`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: overview: %w", err)
	}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: overview: %w", err)
		}
		o.Contacts[custos.ContactStatus(status)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: overview: %w", err)
	}
	rows, err = db.read.QueryContext(ctx, db.q(`SELECT purpose_id, action, COUNT(*) FROM consent_state WHERE workspace_id = ? GROUP BY purpose_id, action`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: overview: %w", err)
	}
	for rows.Next() {
		var purpose, n int64
		var action string
		if err := rows.Scan(&purpose, &action, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: overview: %w", err)
		}
		if o.Consents[purpose] == nil {
			o.Consents[purpose] = map[custos.ConsentAction]int64{}
		}
		o.Consents[purpose][custos.ConsentAction(action)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: overview: %w", err)
	}
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM signups WHERE workspace_id = ? AND expires_at > ?`),
		a.WorkspaceID, micros(db.Now())).Scan(&o.PendingSignups); err != nil {
		return nil, fmt.Errorf("store: overview: %w", err)
	}
	return o, nil
}
