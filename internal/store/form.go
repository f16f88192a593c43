package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

// formBody is what a form version stores: the definition without its
// identity and times.
type formBody struct {
	Name                  string               `json:"name"`
	Language              string               `json:"language"`
	Fields                []custos.FormField   `json:"fields"`
	Purposes              []custos.FormPurpose `json:"purposes"`
	InformationClause     string               `json:"information_clause"`
	InformationClauseHash string               `json:"information_clause_hash"`
	PrivacyPolicyURL      string               `json:"privacy_policy_url"`
	ListIDs               []int64              `json:"list_ids"`
	RedirectURL           string               `json:"redirect_url"`
}

func bodyOf(f *custos.Form) formBody {
	return formBody{Name: f.Name, Language: f.Language, Fields: f.Fields, Purposes: f.Purposes,
		InformationClause: f.InformationClause, InformationClauseHash: f.InformationClauseHash,
		PrivacyPolicyURL: f.PrivacyPolicyURL, ListIDs: f.ListIDs, RedirectURL: f.RedirectURL}
}

func (b formBody) form(f *custos.Form) {
	f.Name, f.Language, f.Fields, f.Purposes = b.Name, b.Language, b.Fields, b.Purposes
	f.InformationClause, f.InformationClauseHash = b.InformationClause, b.InformationClauseHash
	f.PrivacyPolicyURL, f.ListIDs, f.RedirectURL = b.PrivacyPolicyURL, b.ListIDs, b.RedirectURL
	if f.ListIDs == nil {
		f.ListIDs = []int64{}
	}
}

// checkForm validates f against the workspace in tx: its fields exist and
// hold text, dates or choices and no special-category data; its purposes
// rest on consent; its lists exist. It stores the wordings as notice
// versions.
func (db *DB) checkForm(ctx context.Context, tx *sql.Tx, ws int64, f *custos.Form) error {
	if err := f.Validate(); err != nil {
		return err
	}
	defs, err := db.fieldMap(ctx, tx, ws)
	if err != nil {
		return err
	}
	for _, ff := range f.Fields {
		d := defs[ff.Field]
		switch {
		case d == nil:
			return custos.Invalid("fields.field", "no contact field %q", ff.Field)
		case d.Classification == custos.ClassSpecial:
			return custos.Invalid("fields.field", "%q holds special-category data, which a public form does not collect", ff.Field)
		case d.Type != custos.FieldText && d.Type != custos.FieldDate && d.Type != custos.FieldChoice:
			return custos.Invalid("fields.field", "%q is of type %s; a form shows text, date and choice fields", ff.Field, d.Type)
		}
	}
	for _, p := range f.Purposes {
		pur, err := db.findPurpose(ctx, tx, ws, p.PurposeID)
		if custos.ErrorCode(err) == custos.ENOTFOUND {
			return custos.Invalid("purposes.purpose_id", "purpose %d does not exist", p.PurposeID)
		} else if err != nil {
			return err
		}
		if pur.LegalBasis != custos.BasisConsent {
			return custos.Invalid("purposes.purpose_id", "purpose %d rests on %s, not consent: a form asks consent only", p.PurposeID, pur.LegalBasis)
		}
		if err := db.ensureNotice(ctx, tx, ws, &custos.Notice{Body: p.Notice, Hash: p.NoticeHash, Kind: custos.NoticeCheckbox, Language: f.Language}); err != nil {
			return err
		}
	}
	if err := db.ensureNotice(ctx, tx, ws, &custos.Notice{Body: f.InformationClause, Hash: f.InformationClauseHash,
		Kind: custos.NoticeInformationClause, Language: f.Language}); err != nil {
		return err
	}
	for _, id := range f.ListIDs {
		if _, err := db.findList(ctx, tx, ws, id); custos.ErrorCode(err) == custos.ENOTFOUND {
			return custos.Invalid("list_ids", "list %d does not exist", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// insertFormVersion stores f as version f.Version.
func (db *DB) insertFormVersion(ctx context.Context, tx *sql.Tx, ws int64, f *custos.Form) error {
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO form_versions (workspace_id, form_id, version, body, created_at) VALUES (?, ?, ?, ?, ?)`),
		ws, f.ID, f.Version, encodeJSON(bodyOf(f)), micros(f.UpdatedAt))
	return err
}

// CreateForm validates f and stores version 1.
func (db *DB) CreateForm(ctx context.Context, f *custos.Form) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ws := a.WorkspaceID
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.checkForm(ctx, tx, ws, f); err != nil {
			return err
		}
		now := db.Now()
		f.Version, f.CreatedAt, f.UpdatedAt, f.ArchivedAt = 1, now, now, nil
		if f.ListIDs == nil {
			f.ListIDs = []int64{}
		}
		if err := tx.QueryRowContext(ctx, db.q(`INSERT INTO forms (workspace_id, current_version, created_at, updated_at) VALUES (?, 1, ?, ?) RETURNING id`),
			ws, micros(now), micros(now)).Scan(&f.ID); err != nil {
			return err
		}
		return db.insertFormVersion(ctx, tx, ws, f)
	})
}

const formColumns = `f.id, v.version, v.body, f.archived_at, f.created_at, v.created_at`

func scanForm(row interface{ Scan(...any) error }) (*custos.Form, error) {
	f := &custos.Form{}
	var body string
	var archived sql.NullInt64
	var created, updated int64
	if err := row.Scan(&f.ID, &f.Version, &body, &archived, &created, &updated); err != nil {
		return nil, err
	}
	var b formBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return nil, fmt.Errorf("store: form %d: %w", f.ID, err)
	}
	b.form(f)
	f.ArchivedAt, f.CreatedAt, f.UpdatedAt = nullMicros(archived), fromMicros(created), fromMicros(updated)
	return f, nil
}

// findForm returns the current version of a form of workspace ws.
func (db *DB) findForm(ctx context.Context, q querier, ws, id int64) (*custos.Form, error) {
	f, err := scanForm(q.QueryRowContext(ctx, db.q(`SELECT `+formColumns+` FROM forms f
		JOIN form_versions v ON v.workspace_id = f.workspace_id AND v.form_id = f.id AND v.version = f.current_version
		WHERE f.workspace_id = ? AND f.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("form")
	} else if err != nil {
		return nil, fmt.Errorf("store: find form: %w", err)
	}
	return f, nil
}

// formVersion returns one version of a form.
func (db *DB) formVersion(ctx context.Context, q querier, ws, id int64, version int) (*custos.Form, error) {
	f, err := scanForm(q.QueryRowContext(ctx, db.q(`SELECT `+formColumns+` FROM forms f
		JOIN form_versions v ON v.workspace_id = f.workspace_id AND v.form_id = f.id
		WHERE f.workspace_id = ? AND f.id = ? AND v.version = ?`), ws, id, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("form version")
	} else if err != nil {
		return nil, fmt.Errorf("store: find form version: %w", err)
	}
	return f, nil
}

// FindForm returns the current version of a form.
func (db *DB) FindForm(ctx context.Context, id int64) (*custos.Form, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findForm(ctx, db.read, a.WorkspaceID, id)
}

func (db *DB) queryForms(ctx context.Context, query string, args ...any) ([]*custos.Form, error) {
	rows, err := db.read.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: find forms: %w", err)
	}
	defer rows.Close()
	out := []*custos.Form{}
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FindForms returns the current version of every form of the workspace.
func (db *DB) FindForms(ctx context.Context) ([]*custos.Form, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.queryForms(ctx, `SELECT `+formColumns+` FROM forms f
		JOIN form_versions v ON v.workspace_id = f.workspace_id AND v.form_id = f.id AND v.version = f.current_version
		WHERE f.workspace_id = ? ORDER BY f.id`, a.WorkspaceID)
}

// FormVersions returns every version of a form, oldest first.
func (db *DB) FormVersions(ctx context.Context, id int64) ([]*custos.Form, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.findForm(ctx, db.read, a.WorkspaceID, id); err != nil {
		return nil, err
	}
	return db.queryForms(ctx, `SELECT `+formColumns+` FROM forms f
		JOIN form_versions v ON v.workspace_id = f.workspace_id AND v.form_id = f.id
		WHERE f.workspace_id = ? AND f.id = ? ORDER BY v.version`, a.WorkspaceID, id)
}

// UpdateForm stores a new version of the form.
func (db *DB) UpdateForm(ctx context.Context, id int64, u custos.FormUpdate) (*custos.Form, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var f *custos.Form
	err = db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := db.findForm(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if cur.ArchivedAt != nil {
			return custos.Errorf(custos.ECONFLICT, "the form is archived")
		}
		next := u.Apply(*cur)
		f = &next
		if err := db.checkForm(ctx, tx, ws, f); err != nil {
			return err
		}
		f.Version, f.UpdatedAt = cur.Version+1, db.Now()
		// Only a writer that read the current version moves it on.
		res, err := tx.ExecContext(ctx, db.q(`UPDATE forms SET current_version = ?, updated_at = ? WHERE workspace_id = ? AND id = ? AND current_version = ?`),
			f.Version, micros(f.UpdatedAt), ws, id, cur.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return custos.Errorf(custos.ECONFLICT, "the form changed meanwhile; try again")
		}
		return db.insertFormVersion(ctx, tx, ws, f)
	})
	if err != nil {
		return nil, err
	}
	db.cacheForm(0, cachedForm{})
	return f, nil
}

// ArchiveForm takes the form off line; archiving twice is no error.
func (db *DB) ArchiveForm(ctx context.Context, id int64) (*custos.Form, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var f *custos.Form
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE forms SET archived_at = COALESCE(archived_at, ?) WHERE workspace_id = ? AND id = ?`),
			micros(db.Now()), ws, id); err != nil {
			return err
		}
		f, err = db.findForm(ctx, tx, ws, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.cacheForm(0, cachedForm{})
	return f, nil
}
