package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

const fieldColumns = `key, label, type, classification, choices, purpose_ids, built_in, created_at, updated_at`

func scanField(row interface{ Scan(...any) error }) (*custos.FieldDef, error) {
	f := &custos.FieldDef{}
	var typ, class, choices, purposes string
	var created, updated int64
	if err := row.Scan(&f.Key, &f.Label, &typ, &class, &choices, &purposes, &f.BuiltIn, &created, &updated); err != nil {
		return nil, err
	}
	f.Type, f.Classification = custos.FieldType(typ), custos.Classification(class)
	f.CreatedAt, f.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(choices), &f.Choices); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(purposes), &f.PurposeIDs); err != nil {
		return nil, err
	}
	return f, nil
}

func (db *DB) insertField(ctx context.Context, tx *sql.Tx, ws int64, f *custos.FieldDef) error {
	choices := f.Choices
	if choices == nil {
		choices = []string{}
	}
	if f.PurposeIDs == nil {
		f.PurposeIDs = []int64{}
	}
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO fields (workspace_id, `+fieldColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ws, f.Key, f.Label, string(f.Type), string(f.Classification), encodeJSON(choices), encodeJSON(f.PurposeIDs),
		f.BuiltIn, micros(f.CreatedAt), micros(f.UpdatedAt))
	if isConflict(mapError(err)) {
		return &custos.Error{Code: custos.ECONFLICT, Field: "key", Message: fmt.Sprintf("a field with key %q exists already", f.Key)}
	}
	return err
}

// checkPurposes fails with EINVALID naming field when an id is not a
// purpose of the workspace.
func (db *DB) checkPurposes(ctx context.Context, q querier, ws int64, field string, ids []int64) error {
	for _, id := range ids {
		var n int
		if err := q.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM purposes WHERE workspace_id = ? AND id = ?`), ws, id).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return custos.Invalid(field, "purpose %d does not exist", id)
		}
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateField creates a custom field.
func (db *DB) CreateField(ctx context.Context, f *custos.FieldDef) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	f.BuiltIn = false
	return db.authTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM fields WHERE workspace_id = ?`), a.WorkspaceID).Scan(&n); err != nil {
			return err
		} else if n >= custos.MaxFields {
			return custos.Errorf(custos.ECONFLICT, "a workspace holds at most %d fields", custos.MaxFields)
		}
		if err := db.checkPurposes(ctx, tx, a.WorkspaceID, "purpose_ids", f.PurposeIDs); err != nil {
			return err
		}
		f.CreatedAt = db.Now()
		f.UpdatedAt = f.CreatedAt
		return db.insertField(ctx, tx, a.WorkspaceID, f)
	})
}

// FindField returns the field with the key, or ENOTFOUND.
func (db *DB) FindField(ctx context.Context, key string) (*custos.FieldDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findField(ctx, db.read, a.WorkspaceID, key)
}

func (db *DB) findField(ctx context.Context, q querier, ws int64, key string) (*custos.FieldDef, error) {
	f, err := scanField(q.QueryRowContext(ctx, db.q(`SELECT `+fieldColumns+` FROM fields WHERE workspace_id = ? AND key = ?`), ws, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("field")
	} else if err != nil {
		return nil, fmt.Errorf("store: find field: %w", err)
	}
	return f, nil
}

// FindFields returns every field definition, built-ins first: from memory
// while no field has changed since they were read (authcache.go), as a
// read of a contact's masked values needs them each time.
func (db *DB) FindFields(ctx context.Context) ([]*custos.FieldDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.cachedFields(ctx, a.WorkspaceID)
}

func (db *DB) fields(ctx context.Context, q querier, ws int64) ([]*custos.FieldDef, error) {
	rows, err := q.QueryContext(ctx, db.q(`SELECT `+fieldColumns+` FROM fields WHERE workspace_id = ? ORDER BY built_in DESC, created_at, key`), ws)
	if err != nil {
		return nil, fmt.Errorf("store: find fields: %w", err)
	}
	defer rows.Close()
	var out []*custos.FieldDef
	for rows.Next() {
		f, err := scanField(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find fields: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// fieldMap returns the workspace's field definitions by key.
func (db *DB) fieldMap(ctx context.Context, q querier, ws int64) (map[string]*custos.FieldDef, error) {
	fs, err := db.fields(ctx, q, ws)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*custos.FieldDef, len(fs))
	for _, f := range fs {
		m[f.Key] = f
	}
	return m, nil
}

// UpdateField changes a field's label, choices or purposes.
func (db *DB) UpdateField(ctx context.Context, key string, u custos.FieldUpdate) (*custos.FieldDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var f *custos.FieldDef
	err = db.authTx(ctx, func(tx *sql.Tx) error {
		if f, err = db.findField(ctx, tx, a.WorkspaceID, key); err != nil {
			return err
		}
		if err := u.Apply(f); err != nil {
			return err
		}
		if err := db.checkPurposes(ctx, tx, a.WorkspaceID, "purpose_ids", f.PurposeIDs); err != nil {
			return err
		}
		f.UpdatedAt = db.Now()
		_, err := tx.ExecContext(ctx, db.q(`UPDATE fields SET label = ?, choices = ?, purpose_ids = ?, updated_at = ? WHERE workspace_id = ? AND key = ?`),
			f.Label, encodeJSON(f.Choices), encodeJSON(f.PurposeIDs), micros(f.UpdatedAt), a.WorkspaceID, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// DeleteField removes a custom field no contact holds a value of. Every
// encrypted value has a blind index, so the bidx column tells.
func (db *DB) DeleteField(ctx context.Context, key string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
		f, err := db.findField(ctx, tx, a.WorkspaceID, key)
		if err != nil {
			return err
		}
		if f.BuiltIn {
			return custos.Errorf(custos.ECONFLICT, "built-in fields cannot be deleted")
		}
		// Anonymized contacts keep their values of fields classified none
		// for statistics; they go with the field.
		var n int
		if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM contacts WHERE workspace_id = ? AND status <> ? AND (`+db.jsonHas("clear")+` OR `+db.jsonHas("bidx")+`)`),
			a.WorkspaceID, string(custos.StatusAnonymized), db.jsonPath(key), db.jsonPath(key)).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return custos.Errorf(custos.ECONFLICT, "%d contacts hold a value of this field; clear them first", n)
		}
		strip := `json_remove(clear, ?)`
		if db.pg {
			strip = `clear - ?::text`
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET clear = `+strip+` WHERE workspace_id = ? AND status = ? AND `+db.jsonHas("clear")),
			db.jsonPath(key), a.WorkspaceID, string(custos.StatusAnonymized), db.jsonPath(key)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`DELETE FROM fields WHERE workspace_id = ? AND key = ?`), a.WorkspaceID, key)
		return err
	})
}

// jsonPath returns the parameter that addresses a top-level key of a JSON
// column in the dialect's operators.
func (db *DB) jsonPath(key string) string {
	if db.pg {
		return key
	}
	return `$."` + key + `"`
}

// jsonHas returns a condition true when the JSON column holds the key
// given as the next parameter (see jsonPath).
func (db *DB) jsonHas(col string) string {
	return `(` + col + ` -> ?) IS NOT NULL`
}

// jsonValue returns an expression giving the JSON text of the key, given
// as the next parameter, in column col.
func (db *DB) jsonValue(col string) string {
	if db.pg {
		return `(` + col + ` -> ?)::text`
	}
	return `(` + col + ` -> ?)`
}

// jsonContains returns a condition true when the JSON array under the key
// (next parameter) of col contains the JSON value (the parameter after).
func (db *DB) jsonContains(col string) string {
	if db.pg {
		return `(` + col + ` -> ?) @> jsonb_build_array(?::jsonb)`
	}
	return `EXISTS (SELECT 1 FROM json_each(` + col + `, ?) je WHERE json_quote(je.value) = ?)`
}
