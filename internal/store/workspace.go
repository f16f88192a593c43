package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// CreateWorkspace creates w with the built-in fields.
func (db *DB) CreateWorkspace(ctx context.Context, w *custos.Workspace) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
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
// strength needs no slow hash. The key's role may grant nothing the actor
// lacks.
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
	err = db.authTx(ctx, func(tx *sql.Tx) error {
		if err := db.grantable(ctx, tx, a, k.Role, "role"); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO api_keys (workspace_id, name, role, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			k.WorkspaceID, k.Name, string(k.Role), k.Prefix, hashToken(token), micros(k.CreatedAt)).Scan(&k.ID)
		if err != nil {
			return fmt.Errorf("store: create api key: %w", err)
		}
		return db.audit(ctx, tx, a, auditAPIKeyCreate, 0, "apikey="+strconv.FormatInt(k.ID, 10)+" role="+string(k.Role))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// keyTouchEvery is how stale a key's last use may be before a request
// records it again: one write a minute per busy key, not one per request.
const keyTouchEvery = time.Minute

// Authenticate returns the live key of the token, or EUNAUTHORIZED. A key
// verified before is taken from the cache (authcache.go) while no key,
// role or security setting has changed since; otherwise the same query
// reads the key and the permissions of a workspace's own role, so that a
// revocation or a change of the role counts from the next request.
func (db *DB) Authenticate(ctx context.Context, token string) (*custos.APIKey, error) {
	// Made when refused: a known key costs no error.
	unauthorized := func() error { return custos.Errorf(custos.EUNAUTHORIZED, "invalid or revoked API key") }
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 100 {
		return nil, unauthorized()
	}
	gen, err := db.authGen(ctx)
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256([]byte(token))
	k, ok := db.auth.key(gen, hash)
	if !ok {
		var created int64
		var used, revoked sql.NullInt64
		var role, perms string
		err := db.read.QueryRowContext(ctx, db.q(`SELECT k.id, k.workspace_id, k.name, k.role, k.prefix, k.created_at, k.last_used_at, k.revoked_at, COALESCE(r.permissions, '')
		FROM api_keys k LEFT JOIN roles r ON r.workspace_id = k.workspace_id AND r.name = k.role WHERE k.token_hash = ?`),
			hash[:]).Scan(&k.ID, &k.WorkspaceID, &k.Name, &role, &k.Prefix, &created, &used, &revoked, &perms)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, unauthorized()
		} else if err != nil {
			return nil, fmt.Errorf("store: authenticate: %w", err)
		}
		if revoked.Valid {
			return nil, unauthorized()
		}
		k.Role, k.CreatedAt, k.LastUsedAt = custos.Role(role), fromMicros(created), nullMicros(used)
		if !k.Role.Builtin() {
			if k.Permissions, err = decodePermissions(perms); err != nil {
				return nil, err
			}
		}
		db.auth.putKey(gen, hash, k)
	}
	if now := db.Now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= keyTouchEvery {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, db.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`), micros(now), k.ID)
			return err
		}); err != nil {
			return nil, err
		}
		k.LastUsedAt = &now
		db.auth.touched(hash, k)
	}
	return &k, nil
}

// FindAPIKeys returns the workspace's live keys, by id.
func (db *DB) FindAPIKeys(ctx context.Context) ([]*custos.APIKey, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, name, role, prefix, created_at, last_used_at FROM api_keys WHERE workspace_id = ? AND revoked_at IS NULL ORDER BY id`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find api keys: %w", err)
	}
	defer rows.Close()
	out := []*custos.APIKey{}
	for rows.Next() {
		k := &custos.APIKey{WorkspaceID: a.WorkspaceID}
		var role string
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &role, &k.Prefix, &created, &used); err != nil {
			return nil, err
		}
		k.Role, k.CreatedAt, k.LastUsedAt = custos.Role(role), fromMicros(created), nullMicros(used)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a live key of the workspace; the next request with
// it is refused.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, db.q(`SELECT role FROM api_keys WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`), a.WorkspaceID, id).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return custos.NotFound("API key")
		} else if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		if err := db.mayManage(ctx, tx, a, custos.Role(role), "API key"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, db.q(`UPDATE api_keys SET revoked_at = ? WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`), micros(db.Now()), a.WorkspaceID, id)
		if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return custos.NotFound("API key")
		}
		return db.audit(ctx, tx, a, auditAPIKeyRevoke, 0, "apikey="+strconv.FormatInt(id, 10))
	})
}
