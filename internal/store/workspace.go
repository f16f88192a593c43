package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// CreateWorkspace creates w with the built-in fields.
func (db *DB) CreateWorkspace(ctx context.Context, w *custos.Workspace) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		w.CreatedAt = db.Now()
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO workspaces (name, created_at) VALUES (?, ?) RETURNING id`),
			w.Name, micros(w.CreatedAt)).Scan(&w.ID)
		if isConflict(mapError(err)) {
			return &custos.Error{Code: custos.ECONFLICT, Field: "name", Message: fmt.Sprintf("workspace %q exists already", w.Name)}
		} else if err != nil {
			return fmt.Errorf("create workspace: %w", err)
		}
		for _, f := range custos.BuiltInFields() {
			f.CreatedAt, f.UpdatedAt = w.CreatedAt, w.CreatedAt
			if err := db.insertField(ctx, tx, w.ID, &f); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindWorkspaceByName returns the named workspace, or ENOTFOUND.
func (db *DB) FindWorkspaceByName(ctx context.Context, name string) (*custos.Workspace, error) {
	w := &custos.Workspace{Name: name}
	var created int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT id, created_at FROM workspaces WHERE name = ?`), name).Scan(&w.ID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("workspace")
	} else if err != nil {
		return nil, fmt.Errorf("store: find workspace: %w", err)
	}
	w.CreatedAt = fromMicros(created)
	return w, nil
}

// tokenPrefix starts every API key, so that leaked keys are easy to spot.
const tokenPrefix = "cus_"

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateAPIKey stores a new key in the actor's workspace and returns its
// secret: 256 random bits. Only the SHA-256 of it is stored; a key of that
// strength needs no slow hash.
func (db *DB) CreateAPIKey(ctx context.Context, k *custos.APIKey) (string, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", err
	}
	if err := k.Validate(); err != nil {
		return "", err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	k.WorkspaceID, k.Prefix, k.CreatedAt = a.WorkspaceID, token[:len(tokenPrefix)+6], db.Now()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO api_keys (workspace_id, name, role, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			k.WorkspaceID, k.Name, string(k.Role), k.Prefix, hashToken(token), micros(k.CreatedAt)).Scan(&k.ID)
	})
	if err != nil {
		return "", fmt.Errorf("store: create api key: %w", err)
	}
	return token, nil
}

// Authenticate returns the live key of the token, or EUNAUTHORIZED.
func (db *DB) Authenticate(ctx context.Context, token string) (*custos.APIKey, error) {
	unauthorized := custos.Errorf(custos.EUNAUTHORIZED, "invalid or revoked API key")
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 100 {
		return nil, unauthorized
	}
	k := &custos.APIKey{}
	var created int64
	var used, revoked sql.NullInt64
	var role string
	err := db.read.QueryRowContext(ctx, db.q(`SELECT id, workspace_id, name, role, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE token_hash = ?`),
		hashToken(token)).Scan(&k.ID, &k.WorkspaceID, &k.Name, &role, &k.Prefix, &created, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, unauthorized
	} else if err != nil {
		return nil, fmt.Errorf("store: authenticate: %w", err)
	}
	if revoked.Valid {
		return nil, unauthorized
	}
	k.Role, k.CreatedAt, k.LastUsedAt = custos.Role(role), fromMicros(created), nullMicros(used)
	return k, nil
}
