package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// resetPrefix starts every password reset token.
const resetPrefix = "csr_"

// How many reset links an address, and a client address, may ask for in
// the throttle's window before asking does nothing.
const (
	resetFree = 3
	resetLock = 5
	resetIP   = 20
)

// RequestPasswordReset makes a reset token for the active user of the
// address, and queues the message mail makes of it (when not nil) in the
// same transaction, or answers ENOTFOUND, which the caller must not show:
// the answer to the person asking is the same either way. So is the work
// done, found or not: the throttle's rows and a message key are committed
// in both cases (the key of an unknown address seals nothing and is
// shredded when it expires), so that the time taken tells nothing either.
func (db *DB) RequestPasswordReset(ctx context.Context, workspace, email string, ip netip.Addr, mail func(*custos.PasswordReset) *custos.Message) (*custos.PasswordReset, error) {
	notFound := custos.NotFound("user")
	now := db.Now()
	if workspace == "" {
		workspace = custos.DefaultWorkspace
	}
	w, err := db.FindWorkspaceByName(ctx, workspace)
	if custos.ErrorCode(err) == custos.ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	email, err = custos.NormalizeEmail("email", email)
	if err != nil {
		return nil, notFound
	}
	acct, ipKey := db.vault.StaffMAC(w.ID, "reset", email), db.vault.StaffMAC(w.ID, "reset-ip", ipString(ip))
	for _, s := range [][]byte{acct, ipKey} {
		if l, err := db.throttleLocked(ctx, w.ID, s, now); err != nil {
			return nil, err
		} else if l {
			return nil, notFound
		}
	}
	u, err := db.scanUser(db.read.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND email_index = ?`), w.ID, db.emailIndex(w.ID, email)))
	found := err == nil && u.Status == custos.UserActive
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: password reset: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	pr := &custos.PasswordReset{Token: resetPrefix + base64.RawURLEncoding.EncodeToString(secret), ExpiresAt: now.Add(custos.PasswordResetLifetime)}
	ref := "user-0"
	if found {
		pr.UserID, pr.Email = u.ID, u.Email
		ref = "user-" + strconv.FormatInt(u.ID, 10)
	}
	var m *custos.Message
	if mail != nil {
		m = mail(pr)
	}
	var k *mailKey
	if m != nil {
		if k, err = db.newMailKey(ctx, w.ID, ref, pr.ExpiresAt); err != nil {
			return nil, err
		}
	}
	// Every request counts, found or not, so that the throttle behaves the
	// same for every address.
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.throttleFail(ctx, tx, w.ID, acct, now, resetFree, resetLock); err != nil {
			return err
		}
		if err := db.throttleFail(ctx, tx, w.ID, ipKey, now, resetIP, resetIP); err != nil {
			return err
		}
		if !found {
			return nil
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO password_resets (workspace_id, user_id, token_hash, password_version, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
			w.ID, u.ID, hashToken(pr.Token), u.PasswordVersion, micros(now), micros(pr.ExpiresAt)); err != nil {
			return err
		}
		if k == nil {
			return nil
		}
		return db.queueStaffMail(ctx, tx, k, m)
	})
	if err != nil {
		return nil, fmt.Errorf("store: password reset: %w", err)
	}
	if !found {
		return nil, notFound
	}
	if k != nil {
		db.wakeMail()
	}
	return pr, nil
}

// resetRow is a reset token as stored.
type resetRow struct {
	id, ws, user, version, expires int64
	used                           sql.NullInt64
}

// findReset returns the live reset of the token: ENOTFOUND when unknown,
// used, or made for a password since changed; EGONE when expired.
func (db *DB) findReset(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, token string) (*resetRow, *userRow, error) {
	notFound := custos.Errorf(custos.ENOTFOUND, "The link is not valid or was used already.")
	if !strings.HasPrefix(token, resetPrefix) || len(token) > 100 {
		return nil, nil, notFound
	}
	r := &resetRow{}
	err := q.QueryRowContext(ctx, db.q(`SELECT id, workspace_id, user_id, password_version, expires_at, used_at FROM password_resets WHERE token_hash = ?`),
		hashToken(token)).Scan(&r.id, &r.ws, &r.user, &r.version, &r.expires, &r.used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: find reset: %w", err)
	}
	u, err := db.findUser(ctx, q, r.ws, r.user)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case r.used.Valid || u.PasswordVersion != r.version || u.Status != custos.UserActive:
		return nil, nil, notFound
	case micros(db.Now()) >= r.expires:
		return nil, nil, custos.Errorf(custos.EGONE, "The link has expired; ask for a new one.")
	}
	return r, u, nil
}

// CheckPasswordReset reports whether the token can still reset a password.
func (db *DB) CheckPasswordReset(ctx context.Context, token string) error {
	_, _, err := db.findReset(ctx, db.read, token)
	return err
}

// ResetPassword sets the password of the token's user, uses the token up
// with every other of the user's, and ends all the user's sessions.
func (db *DB) ResetPassword(ctx context.Context, token, pw string, ip netip.Addr, ua string) error {
	if _, _, err := db.findReset(ctx, db.read, token); err != nil {
		return err
	}
	if err := db.common.Check("password", pw); err != nil {
		return err
	}
	hash, err := db.passwords.Hash(ctx, pw)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		// Again inside the transaction: two posts of one link, one wins.
		r, u, err := db.findReset(ctx, tx, token)
		if err != nil {
			return err
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE password_resets SET used_at = ? WHERE workspace_id = ? AND user_id = ? AND used_at IS NULL`), micros(now), r.ws, r.user); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET password_hash = ?, password_version = password_version + 1, password_changed_at = ?, must_change = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			hash, micros(now), false, micros(now), r.ws, r.user); err != nil {
			return err
		}
		if err := db.endSessions(ctx, tx, r.ws, r.user, 0); err != nil {
			return err
		}
		if err := db.recordLogin(ctx, tx, r.ws, r.user, now, ip, clipUA(ua), custos.LoginPasswordReset, ""); err != nil {
			return err
		}
		return db.audit(ctx, tx, userActor(u, 0), custos.AuditPasswordReset, 0, userDetail(u.ID, "reset="+strconv.FormatInt(r.id, 10), "sessions_ended"))
	})
}

// InviteUser makes a set-password link for a user who has no password
// yet; the user's earlier links stop working.
func (db *DB) InviteUser(ctx context.Context, id int64) (*custos.PasswordReset, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var pr *custos.PasswordReset
	err = db.tx(ctx, func(tx *sql.Tx) error {
		u, err := db.findUser(ctx, tx, a.WorkspaceID, id)
		if err != nil {
			return err
		}
		if u.HasPassword || u.Status != custos.UserActive {
			return custos.Errorf(custos.ECONFLICT, "Only an active user without a password can be invited.")
		}
		now := db.Now()
		secret := make([]byte, 32)
		rand.Read(secret)
		pr = &custos.PasswordReset{UserID: u.ID, Email: u.Email, Token: resetPrefix + base64.RawURLEncoding.EncodeToString(secret),
			ExpiresAt: now.Add(custos.InviteLifetime)}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE password_resets SET used_at = ? WHERE workspace_id = ? AND user_id = ? AND used_at IS NULL`), micros(now), a.WorkspaceID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO password_resets (workspace_id, user_id, token_hash, password_version, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
			a.WorkspaceID, id, hashToken(pr.Token), u.PasswordVersion, micros(now), micros(pr.ExpiresAt)); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditUserInvite, 0, userDetail(id))
	})
	if err != nil {
		return nil, err
	}
	return pr, nil
}
