package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

const processorColumns = `id, name, kind, service, country, safeguard, purpose_ids, created_at, updated_at`

func scanProcessor(row interface{ Scan(...any) error }) (*custos.Processor, error) {
	p := &custos.Processor{}
	var kind, purposes string
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &kind, &p.Service, &p.Country, &p.Safeguard, &purposes, &created, &updated); err != nil {
		return nil, err
	}
	p.Kind, p.CreatedAt, p.UpdatedAt = custos.ProcessorKind(kind), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(purposes), &p.PurposeIDs); err != nil {
		return nil, fmt.Errorf("store: processor %d: %w", p.ID, err)
	}
	return p, nil
}

// CreateProcessor stores a processor or recipient.
func (db *DB) CreateProcessor(ctx context.Context, p *custos.Processor) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	p.CreatedAt = db.Now()
	p.UpdatedAt = p.CreatedAt
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.checkPurposes(ctx, tx, a.WorkspaceID, "purpose_ids", p.PurposeIDs); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO processors (workspace_id, name, kind, service, country, safeguard, purpose_ids, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			a.WorkspaceID, p.Name, string(p.Kind), p.Service, p.Country, p.Safeguard, encodeJSON(p.PurposeIDs), micros(p.CreatedAt), micros(p.UpdatedAt)).Scan(&p.ID)
	})
}

// FindProcessor returns the processor, or ENOTFOUND.
func (db *DB) FindProcessor(ctx context.Context, id int64) (*custos.Processor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findProcessor(ctx, db.read, a.WorkspaceID, id)
}

func (db *DB) findProcessor(ctx context.Context, q querier, ws, id int64) (*custos.Processor, error) {
	p, err := scanProcessor(q.QueryRowContext(ctx, db.q(`SELECT `+processorColumns+` FROM processors WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("processor")
	} else if err != nil {
		return nil, fmt.Errorf("store: find processor: %w", err)
	}
	return p, nil
}

// FindProcessors returns the workspace's register, oldest first.
func (db *DB) FindProcessors(ctx context.Context) ([]*custos.Processor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+processorColumns+` FROM processors WHERE workspace_id = ? ORDER BY id`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find processors: %w", err)
	}
	defer rows.Close()
	out := []*custos.Processor{}
	for rows.Next() {
		p, err := scanProcessor(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateProcessor changes a processor.
func (db *DB) UpdateProcessor(ctx context.Context, id int64, u custos.ProcessorUpdate) (*custos.Processor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var p *custos.Processor
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if p, err = db.findProcessor(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		if err := u.Apply(p); err != nil {
			return err
		}
		if err := db.checkPurposes(ctx, tx, a.WorkspaceID, "purpose_ids", p.PurposeIDs); err != nil {
			return err
		}
		p.UpdatedAt = db.Now()
		_, err := tx.ExecContext(ctx, db.q(`UPDATE processors SET name = ?, kind = ?, service = ?, country = ?, safeguard = ?, purpose_ids = ?, updated_at = ?
			WHERE workspace_id = ? AND id = ?`),
			p.Name, string(p.Kind), p.Service, p.Country, p.Safeguard, encodeJSON(p.PurposeIDs), micros(p.UpdatedAt), a.WorkspaceID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteProcessor removes a processor from the register.
func (db *DB) DeleteProcessor(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findProcessor(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM processors WHERE workspace_id = ? AND id = ?`), a.WorkspaceID, id)
		return err
	})
}
