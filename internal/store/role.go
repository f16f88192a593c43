package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// Audited actions of roles and API keys.
const (
	auditRoleCreate   = "role.create"
	auditRoleUpdate   = "role.update"
	auditRoleDelete   = "role.delete"
	auditAPIKeyCreate = "apikey.create"
	auditAPIKeyRevoke = "apikey.revoke"
)

// decodePermissions reads a role's stored permissions. Empty text (no such
// role, in a LEFT JOIN) is no permission at all.
func decodePermissions(s string) ([]custos.Permission, error) {
	perms := []custos.Permission{}
	if s == "" {
		return perms, nil
	}
	if err := json.Unmarshal([]byte(s), &perms); err != nil {
		return nil, fmt.Errorf("store: role permissions: %w", err)
	}
	return perms, nil
}

// rolePermissions returns the permissions of a built-in role or of one of
// the workspace's own, or EINVALID on field for an unknown role. Inside a
// transaction on PostgreSQL the role's row is locked against its deletion
// until the caller commits.
func (db *DB) rolePermissions(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ws int64, r custos.Role, field string) ([]custos.Permission, error) {
	if r.Builtin() {
		return r.Permissions(), nil
	}
	if err := custos.CheckRoleName(field, r); err != nil {
		return nil, err
	}
	lock := ""
	if _, inTx := q.(*sql.Tx); inTx && db.pg {
		lock = " FOR SHARE"
	}
	var perms string
	err := q.QueryRowContext(ctx, db.q(`SELECT permissions FROM roles WHERE workspace_id = ? AND name = ?`+lock), ws, string(r)).Scan(&perms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.Invalid(field, "unknown role %q: a built-in role or one made with POST /api/v1/roles", r)
	} else if err != nil {
		return nil, fmt.Errorf("store: find role: %w", err)
	}
	return decodePermissions(perms)
}

// grantable refuses to hand out a role with permissions the actor lacks:
// no one makes a key, a user or a role more powerful than themselves.
func (db *DB) grantable(ctx context.Context, tx *sql.Tx, a custos.Actor, r custos.Role, field string) error {
	perms, err := db.rolePermissions(ctx, tx, a.WorkspaceID, r, field)
	if err != nil {
		return err
	}
	return checkGrant(a, perms, field)
}

// mayManage refuses, with EFORBIDDEN, to let the actor change, disable,
// delete or end the sessions of a user, revoke a key, or change a role,
// whose role r has
// a permission the actor lacks: no one acts on an account more powerful
// than their own, as no one hands one out (grantable).
func (db *DB) mayManage(ctx context.Context, tx *sql.Tx, a custos.Actor, r custos.Role, what string) error {
	perms, err := db.rolePermissions(ctx, tx, a.WorkspaceID, r, "role")
	if err != nil {
		return err
	}
	if p, lacks := a.Lacks(perms); lacks {
		if what == "role" {
			return custos.Errorf(custos.EFORBIDDEN, "The role %s has the %s permission, which your own role (%s) lacks: only someone who holds all its permissions may change it.", r, p, a.Role)
		}
		return custos.Errorf(custos.EFORBIDDEN, "This %s's role (%s) has the %s permission, which your own role (%s) lacks: only someone who holds all its permissions may act on it.",
			what, r, p, a.Role)
	}
	return nil
}

func checkGrant(a custos.Actor, perms []custos.Permission, field string) error {
	if p, lacks := a.Lacks(perms); lacks {
		return &custos.Error{Code: custos.EFORBIDDEN, Field: field,
			Message: fmt.Sprintf("You cannot hand out the %s permission, which your own role (%s) lacks.", p, a.Role)}
	}
	return nil
}

func roleDetail(name custos.Role, perms []custos.Permission) string {
	ps := make([]string, len(perms))
	for i, p := range perms {
		ps[i] = string(p)
	}
	return "role=" + string(name) + " permissions=" + strings.Join(ps, ",")
}

// FindRoles returns the built-in roles, then the workspace's own by name.
func (db *DB) FindRoles(ctx context.Context) ([]*custos.RoleDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	out := custos.BuiltinRoles()
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT name, permissions, created_at, updated_at FROM roles WHERE workspace_id = ? ORDER BY name`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func scanRole(s scanner) (*custos.RoleDef, error) {
	d := &custos.RoleDef{}
	var name, perms string
	var created, updated int64
	if err := s.Scan(&name, &perms, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	d.Name, d.CreatedAt, d.UpdatedAt = custos.Role(name), fromMicros(created), fromMicros(updated)
	d.Permissions, err = decodePermissions(perms)
	return d, err
}

// FindRole returns a built-in role or one of the workspace's own.
func (db *DB) FindRole(ctx context.Context, name custos.Role) (*custos.RoleDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if name.Builtin() {
		return &custos.RoleDef{Name: name, Permissions: name.Permissions(), Builtin: true}, nil
	}
	return db.findRole(ctx, db.read, a.WorkspaceID, name)
}

func (db *DB) findRole(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ws int64, name custos.Role) (*custos.RoleDef, error) {
	d, err := scanRole(q.QueryRowContext(ctx, db.q(`SELECT name, permissions, created_at, updated_at FROM roles WHERE workspace_id = ? AND name = ?`), ws, string(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("role")
	} else if err != nil {
		return nil, fmt.Errorf("store: find role: %w", err)
	}
	return d, nil
}

// CreateRole stores a new role of the workspace, made of permissions the
// actor holds itself.
func (db *DB) CreateRole(ctx context.Context, d *custos.RoleDef) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if err := checkGrant(a, d.Permissions, "permissions"); err != nil {
		return err
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
		now := db.Now()
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO roles (workspace_id, name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
			a.WorkspaceID, string(d.Name), encodeJSON(d.Permissions), micros(now), micros(now))
		if isConflict(mapError(err)) {
			return &custos.Error{Code: custos.ECONFLICT, Field: "name", Message: fmt.Sprintf("a role named %q exists already", d.Name)}
		} else if err != nil {
			return fmt.Errorf("store: create role: %w", err)
		}
		d.CreatedAt, d.UpdatedAt, d.Builtin = now, now, false
		return db.audit(ctx, tx, a, auditRoleCreate, 0, roleDetail(d.Name, d.Permissions))
	})
}

// UpdateRole replaces the permissions of one of the workspace's roles.
// Users and keys carrying it have the new ones from their next request:
// authentication reads them.
func (db *DB) UpdateRole(ctx context.Context, name custos.Role, perms []custos.Permission) (*custos.RoleDef, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if name.Builtin() {
		return nil, custos.Errorf(custos.EINVALID, "The built-in role %s cannot be changed; make a role of your own.", name)
	}
	upd := &custos.RoleDef{Name: name, Permissions: perms}
	if err := upd.ValidatePermissions(); err != nil {
		return nil, err
	}
	if err := checkGrant(a, upd.Permissions, "permissions"); err != nil {
		return nil, err
	}
	var out *custos.RoleDef
	err = db.authTx(ctx, func(tx *sql.Tx) error {
		d, err := db.findRole(ctx, tx, a.WorkspaceID, name)
		if err != nil {
			return err
		}
		if err := db.mayManage(ctx, tx, a, name, "role"); err != nil {
			return err
		}
		d.Permissions, d.UpdatedAt = upd.Permissions, db.Now()
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE roles SET permissions = ?, updated_at = ? WHERE workspace_id = ? AND name = ?`),
			encodeJSON(d.Permissions), micros(d.UpdatedAt), a.WorkspaceID, string(name)); err != nil {
			return fmt.Errorf("store: update role: %w", err)
		}
		out = d
		return db.audit(ctx, tx, a, auditRoleUpdate, 0, roleDetail(d.Name, d.Permissions))
	})
	return out, err
}

// DeleteRole removes one of the workspace's roles that no user (not
// deleted) and no live API key carries.
func (db *DB) DeleteRole(ctx context.Context, name custos.Role) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if name.Builtin() {
		return custos.Errorf(custos.EINVALID, "The built-in role %s cannot be deleted.", name)
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
		// Delete first, then count: on PostgreSQL the delete waits for any
		// transaction that is giving the role to someone (rolePermissions
		// locks the row), and the count then sees what it committed.
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM roles WHERE workspace_id = ? AND name = ?`), a.WorkspaceID, string(name))
		if err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return custos.NotFound("role")
		}
		var users, keys int64
		if err := tx.QueryRowContext(ctx, db.q(`SELECT
			(SELECT COUNT(*) FROM users WHERE workspace_id = ? AND role = ? AND status <> ?),
			(SELECT COUNT(*) FROM api_keys WHERE workspace_id = ? AND role = ? AND revoked_at IS NULL)`),
			a.WorkspaceID, string(name), string(custos.UserDeleted), a.WorkspaceID, string(name)).Scan(&users, &keys); err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		if users > 0 || keys > 0 {
			return &custos.Error{Code: custos.ECONFLICT, Field: "name", Message: fmt.Sprintf(
				"The role %s is in use by %d users and %d API keys; give them another role, or revoke the keys, first.", name, users, keys)}
		}
		return db.audit(ctx, tx, a, auditRoleDelete, 0, "role="+string(name))
	})
}
