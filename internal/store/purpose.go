package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custos/custos/internal/custos"
)

const purposeColumns = `p.id, v.version, v.name, v.description, v.legal_basis, v.retention_days, v.retention_from, v.channel, v.unsubscribable, v.marketing, p.created_at, v.created_at, v.created_by`

func scanPurpose(row interface{ Scan(...any) error }) (*custos.Purpose, error) {
	p := &custos.Purpose{}
	var basis, from string
	var created, versionAt int64
	if err := row.Scan(&p.ID, &p.Version, &p.Name, &p.Description, &basis, &p.RetentionDays, &from, &p.Channel, &p.Unsubscribable, &p.Marketing, &created, &versionAt, &p.VersionBy); err != nil {
		return nil, err
	}
	p.LegalBasis, p.RetentionFrom = custos.LegalBasis(basis), custos.RetentionFrom(from)
	p.CreatedAt, p.VersionAt = fromMicros(created), fromMicros(versionAt)
	return p, nil
}

func (db *DB) insertPurposeVersion(ctx context.Context, tx *sql.Tx, ws int64, p *custos.Purpose) error {
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO purpose_versions (workspace_id, purpose_id, version, name, description, legal_basis, retention_days, retention_from, channel, unsubscribable, marketing, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ws, p.ID, p.Version, p.Name, p.Description, string(p.LegalBasis), p.RetentionDays, string(p.RetentionFrom), p.Channel, p.Unsubscribable, p.Marketing, micros(p.VersionAt), p.VersionBy)
	return err
}

// CreatePurpose stores version 1 of a purpose.
func (db *DB) CreatePurpose(ctx context.Context, p *custos.Purpose) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		p.Version, p.CreatedAt, p.VersionBy = 1, db.Now(), a.String()
		p.VersionAt = p.CreatedAt
		if err := tx.QueryRowContext(ctx, db.q(`INSERT INTO purposes (workspace_id, current_version, created_at) VALUES (?, 1, ?) RETURNING id`),
			a.WorkspaceID, micros(p.CreatedAt)).Scan(&p.ID); err != nil {
			return fmt.Errorf("create purpose: %w", err)
		}
		return db.insertPurposeVersion(ctx, tx, a.WorkspaceID, p)
	})
}

// FindPurpose returns the current version of the purpose.
func (db *DB) FindPurpose(ctx context.Context, id int64) (*custos.Purpose, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findPurpose(ctx, db.read, a.WorkspaceID, id)
}

func (db *DB) findPurpose(ctx context.Context, q querier, ws, id int64) (*custos.Purpose, error) {
	p, err := scanPurpose(q.QueryRowContext(ctx, db.q(`SELECT `+purposeColumns+` FROM purposes p
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id AND v.version = p.current_version
		WHERE p.workspace_id = ? AND p.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("purpose")
	} else if err != nil {
		return nil, fmt.Errorf("store: find purpose: %w", err)
	}
	return p, nil
}

// purposeAt returns the version of the purpose in force at the given time
// (Unix microseconds): the newest created by then, else the first.
func (db *DB) purposeAt(ctx context.Context, q querier, ws, id, at int64) (*custos.Purpose, error) {
	p, err := scanPurpose(q.QueryRowContext(ctx, db.q(`SELECT `+purposeColumns+` FROM purposes p
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id
		WHERE p.workspace_id = ? AND p.id = ?
		ORDER BY CASE WHEN v.created_at <= ? THEN 0 ELSE 1 END, CASE WHEN v.created_at <= ? THEN -v.version ELSE v.version END
		LIMIT 1`), ws, id, at, at))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("purpose")
	} else if err != nil {
		return nil, fmt.Errorf("store: find purpose: %w", err)
	}
	return p, nil
}

func (db *DB) queryPurposes(ctx context.Context, query string, args ...any) ([]*custos.Purpose, error) {
	rows, err := db.read.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: find purposes: %w", err)
	}
	defer rows.Close()
	out := []*custos.Purpose{}
	for rows.Next() {
		p, err := scanPurpose(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find purposes: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindPurposes returns the current version of every purpose.
func (db *DB) FindPurposes(ctx context.Context) ([]*custos.Purpose, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.queryPurposes(ctx, `SELECT `+purposeColumns+` FROM purposes p
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id AND v.version = p.current_version
		WHERE p.workspace_id = ? ORDER BY p.id`, a.WorkspaceID)
}

// PurposeVersions returns every version of the purpose, oldest first.
func (db *DB) PurposeVersions(ctx context.Context, id int64) ([]*custos.Purpose, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := db.queryPurposes(ctx, `SELECT `+purposeColumns+` FROM purposes p
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id
		WHERE p.workspace_id = ? AND p.id = ? ORDER BY v.version`, a.WorkspaceID, id)
	if err == nil && len(ps) == 0 {
		return nil, custos.NotFound("purpose")
	}
	return ps, err
}

// UpdatePurpose stores a new version of the purpose; the old ones stay.
func (db *DB) UpdatePurpose(ctx context.Context, id int64, u custos.PurposeUpdate) (*custos.Purpose, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var p *custos.Purpose
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if p, err = db.findPurpose(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		if err := u.Apply(p); err != nil {
			return err
		}
		p.Version++
		p.VersionAt, p.VersionBy = db.Now(), a.String()
		if err := db.insertPurposeVersion(ctx, tx, a.WorkspaceID, p); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`UPDATE purposes SET current_version = ? WHERE workspace_id = ? AND id = ?`), p.Version, a.WorkspaceID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CreateNotice stores the wording unless it is stored already.
func (db *DB) CreateNotice(ctx context.Context, n *custos.Notice) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := n.Validate(); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		return db.ensureNotice(ctx, tx, a.WorkspaceID, n)
	})
}

// ensureNotice stores n unless its hash is stored already, and fills n
// from the stored row either way.
func (db *DB) ensureNotice(ctx context.Context, tx *sql.Tx, ws int64, n *custos.Notice) error {
	n.CreatedAt = db.Now()
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO notices (workspace_id, hash, kind, language, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, hash) DO NOTHING`),
		ws, n.Hash, string(n.Kind), n.Language, n.Body, micros(n.CreatedAt)); err != nil {
		return fmt.Errorf("store notice: %w", err)
	}
	stored, err := db.findNotice(ctx, tx, ws, n.Hash)
	if err != nil {
		return err
	}
	*n = *stored
	return nil
}

func (db *DB) findNotice(ctx context.Context, q querier, ws int64, hash string) (*custos.Notice, error) {
	n := &custos.Notice{}
	var kind string
	var created int64
	err := q.QueryRowContext(ctx, db.q(`SELECT hash, kind, language, body, created_at FROM notices WHERE workspace_id = ? AND hash = ?`), ws, hash).
		Scan(&n.Hash, &kind, &n.Language, &n.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("notice")
	} else if err != nil {
		return nil, fmt.Errorf("store: find notice: %w", err)
	}
	n.Kind, n.CreatedAt = custos.NoticeKind(kind), fromMicros(created)
	return n, nil
}

// FindNotice returns the notice with the hash.
func (db *DB) FindNotice(ctx context.Context, hash string) (*custos.Notice, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findNotice(ctx, db.read, a.WorkspaceID, hash)
}

// FindNotices returns every notice, newest first, without bodies.
func (db *DB) FindNotices(ctx context.Context) ([]*custos.Notice, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT hash, kind, language, created_at FROM notices WHERE workspace_id = ? ORDER BY created_at DESC, hash`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find notices: %w", err)
	}
	defer rows.Close()
	out := []*custos.Notice{}
	for rows.Next() {
		n := &custos.Notice{}
		var kind string
		var created int64
		if err := rows.Scan(&n.Hash, &kind, &n.Language, &created); err != nil {
			return nil, err
		}
		n.Kind, n.CreatedAt = custos.NoticeKind(kind), fromMicros(created)
		out = append(out, n)
	}
	return out, rows.Err()
}
