package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// CreateSavedFilter stores f as the actor's saved filter.
func (db *DB) CreateSavedFilter(ctx context.Context, f *custos.SavedFilter) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	f.CreatedAt = db.Now()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO saved_filters (workspace_id, owner, name, query, columns, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			a.WorkspaceID, a.String(), f.Name, f.Query, encodeJSON(f.Columns), micros(f.CreatedAt)).Scan(&f.ID)
	})
	if isConflict(mapError(err)) {
		return &custos.Error{Code: custos.ECONFLICT, Field: "name", Message: "you have a saved filter of this name already"}
	}
	return err
}

// FindSavedFilters returns the actor's saved filters, by name.
func (db *DB) FindSavedFilters(ctx context.Context) ([]*custos.SavedFilter, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, name, query, columns, created_at FROM saved_filters
		WHERE workspace_id = ? AND owner = ? ORDER BY name, id`), a.WorkspaceID, a.String())
	if err != nil {
		return nil, fmt.Errorf("store: find saved filters: %w", err)
	}
	defer rows.Close()
	out := []*custos.SavedFilter{}
	for rows.Next() {
		f := &custos.SavedFilter{}
		var cols string
		var created int64
		if err := rows.Scan(&f.ID, &f.Name, &f.Query, &cols, &created); err != nil {
			return nil, fmt.Errorf("store: find saved filters: %w", err)
		}
		if err := json.Unmarshal([]byte(cols), &f.Columns); err != nil {
			return nil, fmt.Errorf("store: saved filter %d: %w", f.ID, err)
		}
		f.CreatedAt = fromMicros(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteSavedFilter removes one of the actor's saved filters; another's,
// like one that does not exist, is ENOTFOUND.
func (db *DB) DeleteSavedFilter(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM saved_filters WHERE workspace_id = ? AND owner = ? AND id = ?`), a.WorkspaceID, a.String(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return custos.NotFound("saved filter")
		}
		return nil
	})
}
