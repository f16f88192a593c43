package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/totp"
)

// recoveryCodes is how many recovery codes a user gets.
const recoveryCodes = 10

// BeginTOTP makes a new TOTP secret for the actor and keeps it, sealed, until
// ConfirmTOTP puts it in force.
func (db *DB) BeginTOTP(ctx context.Context) (*custos.TOTPEnrolment, error) {
	a, u, err := db.selfUser(ctx, db.read)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return nil, custos.Errorf(custos.ECONFLICT, "Two-factor sign-in is on already; turn it off first.")
	}
	secret := totp.NewSecret()
	sealed := db.vault.StaffKey(a.WorkspaceID, a.ID).Seal("totp_pending", secret)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_pending = ? WHERE workspace_id = ? AND id = ?`), sealed, a.WorkspaceID, a.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: begin totp: %w", err)
	}
	return &custos.TOTPEnrolment{URI: totp.URI("Custos", u.Email, secret), Secret: totp.Encode(secret)}, nil
}

// ConfirmTOTP puts the secret begun in force when code matches it, and
// returns new recovery codes. The actor's other sessions end.
func (db *DB) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	a, u, err := db.selfUser(ctx, db.read)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT totp_pending FROM users WHERE workspace_id = ? AND id = ?`), a.WorkspaceID, a.ID).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("store: confirm totp: %w", err)
	}
	if sealed == nil || u.TOTPEnabled {
		return nil, custos.Errorf(custos.ECONFLICT, "No two-factor enrolment is under way; begin one first.")
	}
	k := db.vault.StaffKey(a.WorkspaceID, a.ID)
	secret, err := k.Open("totp_pending", sealed)
	if err != nil {
		return nil, fmt.Errorf("store: confirm totp: %w", err)
	}
	step, ok := totp.Match(secret, strings.TrimSpace(code), db.Now())
	if !ok {
		return nil, custos.Invalid("code", "does not match the secret; check the authenticator's clock")
	}
	codes := make([]string, recoveryCodes)
	for i := range codes {
		codes[i] = newRecoveryCode()
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_sealed = ?, totp_pending = NULL, totp_last_step = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			k.Seal("totp", secret), step, micros(db.Now()), a.WorkspaceID, a.ID); err != nil {
			return err
		}
		if err := db.storeRecoveryCodes(ctx, tx, a.WorkspaceID, a.ID, codes); err != nil {
			return err
		}
		if err := db.endSessions(ctx, tx, a.WorkspaceID, a.ID, a.SessionID); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditTOTPEnable, 0, userDetail(a.ID, "other_sessions_ended"))
	})
	if err != nil {
		return nil, fmt.Errorf("store: confirm totp: %w", err)
	}
	return codes, nil
}

// newRecoveryCode returns 100 random bits as four groups of five base32
// letters and digits.
func newRecoveryCode() string {
	b := make([]byte, 13)
	rand.Read(b)
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:20]
	return s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:]
}

// recoveryHash returns the keyed hash a recovery code is stored as.
func (db *DB) recoveryHash(ws, user int64, code string) []byte {
	code = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	return db.vault.StaffMAC(ws, "recovery:"+strconv.FormatInt(user, 10), code)
}

func (db *DB) storeRecoveryCodes(ctx context.Context, tx *sql.Tx, ws, user int64, codes []string) error {
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM recovery_codes WHERE workspace_id = ? AND user_id = ?`), ws, user); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO recovery_codes (workspace_id, user_id, code_hash) VALUES (?, ?, ?)`), ws, user, db.recoveryHash(ws, user, c)); err != nil {
			return err
		}
	}
	return nil
}

// DisableTOTP turns the actor's second factor off after checking their
// password, and removes the recovery codes.
func (db *DB) DisableTOTP(ctx context.Context, pw string) error {
	a, u, err := db.selfUser(ctx, db.read)
	if err != nil {
		return err
	}
	if err := db.checkOwnPassword(ctx, u, pw); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_sealed = NULL, totp_pending = NULL, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			micros(db.Now()), a.WorkspaceID, a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM recovery_codes WHERE workspace_id = ? AND user_id = ?`), a.WorkspaceID, a.ID); err != nil {
			return err
		}
		if err := db.endSessions(ctx, tx, a.WorkspaceID, a.ID, a.SessionID); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditTOTPDisable, 0, userDetail(a.ID, "other_sessions_ended"))
	})
}

// LoginSecondFactor completes a pending sign-in with a TOTP code or a
// recovery code. The pending session is replaced by a new one with a new
// token. A TOTP code is never accepted twice: its step must come after the
// last accepted; a reuse is recorded in the login history.
func (db *DB) LoginSecondFactor(ctx context.Context, pendingToken, code string, ip netip.Addr, ua string) (*custos.LoginResult, error) {
	ua = clipUA(ua)
	s, err := db.findSessionByToken(ctx, pendingToken)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	if !s.pending || micros(now) >= s.expires {
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "The sign-in has expired; sign in again.")
	}
	u, err := db.findUser(ctx, db.read, s.ws, s.user)
	if err != nil {
		return nil, err
	}
	if !u.TOTPEnabled && !u.Email2FA || u.Status != custos.UserActive {
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "The sign-in has expired; sign in again.")
	}
	subject := db.vault.StaffMAC(u.WorkspaceID, "second-factor", strconv.FormatInt(u.ID, 10))
	if l, err := db.throttleLocked(ctx, u.WorkspaceID, subject, now); err != nil {
		return nil, err
	} else if l {
		return nil, locked()
	}
	code = strings.TrimSpace(code)
	method, result := "", custos.LoginBadCode
	var step int64
	if u.TOTPEnabled {
		var sealed []byte
		if err := db.read.QueryRowContext(ctx, db.q(`SELECT totp_sealed FROM users WHERE workspace_id = ? AND id = ?`), u.WorkspaceID, u.ID).Scan(&sealed); err != nil {
			return nil, fmt.Errorf("store: second factor: %w", err)
		}
		secret, err := db.vault.StaffKey(u.WorkspaceID, u.ID).Open("totp", sealed)
		if err != nil {
			return nil, fmt.Errorf("store: second factor: %w", err)
		}
		if st, ok := totp.Match(secret, code, now); ok {
			if st > u.lastStep {
				method, step = "totp", st
			} else {
				result = custos.LoginCodeReused
			}
		}
	}
	res := &custos.LoginResult{User: &u.User}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if method == "" && result == custos.LoginBadCode && len(code) > totp.Digits {
			r, err := tx.ExecContext(ctx, db.q(`UPDATE recovery_codes SET used_at = ? WHERE workspace_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL`),
				micros(now), u.WorkspaceID, u.ID, db.recoveryHash(u.WorkspaceID, u.ID, code))
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 1 {
				method = "recovery"
			}
		}
		if method == "" && u.Email2FA {
			ok, err := db.useEmailCode(ctx, tx, u, s.id, code, now)
			if err != nil {
				return err
			}
			if ok {
				method = "email"
			}
		}
		if method == "" {
			return nil
		}
		if method == "totp" {
			// Only a later step: two sign-ins racing with one code cannot
			// both win.
			r, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_last_step = ? WHERE workspace_id = ? AND id = ? AND totp_last_step < ?`), step, u.WorkspaceID, u.ID, step)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 0 {
				method, result = "", custos.LoginCodeReused
				return nil
			}
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE id = ?`), s.id); err != nil {
			return err
		}
		if err := db.throttleClear(ctx, tx, u.WorkspaceID, subject); err != nil {
			return err
		}
		if err := db.recordLogin(ctx, tx, u.WorkspaceID, u.ID, now, ip, ua, custos.LoginSuccess, method); err != nil {
			return err
		}
		res.Token, res.Session, err = db.createSession(ctx, tx, u, now, ip, ua, false, method)
		if err != nil {
			return err
		}
		return db.audit(custos.WithRequest(ctx, &custos.Request{Method: "POST", Route: "/login/2fa"}), tx, userActor(u, res.Session.ID), custos.AuditLogin, 0,
			userDetail(u.ID, "session="+strconv.FormatInt(res.Session.ID, 10), "two_factor="+method))
	})
	if err != nil {
		return nil, err
	}
	if method != "" {
		return res, nil
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.recordLogin(ctx, tx, u.WorkspaceID, u.ID, now, ip, ua, result, ""); err != nil {
			return err
		}
		return db.throttleFail(ctx, tx, u.WorkspaceID, subject, now, accountFree, accountLock)
	})
	if err != nil {
		return nil, err
	}
	if result == custos.LoginCodeReused {
		db.log.WarnContext(ctx, "a two-factor code was used twice", "workspace", u.WorkspaceID, "user", u.ID)
	}
	return nil, custos.Invalid("code", "is wrong, expired or used already")
}

// createEmailCode makes the six-digit code mailed for a pending session.
func (db *DB) createEmailCode(ctx context.Context, tx *sql.Tx, u *userRow, session int64, now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO email_codes (workspace_id, session_id, user_id, code_hash, expires_at, tries) VALUES (?, ?, ?, ?, ?, 0)`),
		u.WorkspaceID, session, u.ID, db.emailCodeHash(u.WorkspaceID, session, code), micros(now.Add(custos.EmailCodeLifetime)))
	if err != nil {
		return "", fmt.Errorf("store: email code: %w", err)
	}
	return code, nil
}

func (db *DB) emailCodeHash(ws, session int64, code string) []byte {
	return db.vault.StaffMAC(ws, "email-code:"+strconv.FormatInt(session, 10), code)
}

// useEmailCode checks a code mailed for the pending session: live, fewer
// than five tries, equal. A match uses it up; a miss counts a try.
func (db *DB) useEmailCode(ctx context.Context, tx *sql.Tx, u *userRow, session int64, code string, now time.Time) (bool, error) {
	var hash []byte
	var expires, tries int64
	err := tx.QueryRowContext(ctx, db.q(`SELECT code_hash, expires_at, tries FROM email_codes WHERE workspace_id = ? AND session_id = ?`), u.WorkspaceID, session).
		Scan(&hash, &expires, &tries)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: email code: %w", err)
	}
	if micros(now) >= expires || tries >= custos.EmailCodeTries {
		return false, nil
	}
	if hmac.Equal(hash, db.emailCodeHash(u.WorkspaceID, session, code)) {
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM email_codes WHERE workspace_id = ? AND session_id = ?`), u.WorkspaceID, session)
		return err == nil, err
	}
	_, err = tx.ExecContext(ctx, db.q(`UPDATE email_codes SET tries = tries + 1 WHERE workspace_id = ? AND session_id = ?`), u.WorkspaceID, session)
	return false, err
}

// SetEmail2FA turns mailed sign-in codes on or off for the actor.
func (db *DB) SetEmail2FA(ctx context.Context, pw string, on bool) error {
	a, u, err := db.selfUser(ctx, db.read)
	if err != nil {
		return err
	}
	if err := db.checkOwnPassword(ctx, u, pw); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET email_2fa = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`), on, micros(db.Now()), a.WorkspaceID, a.ID); err != nil {
			return err
		}
		if err := db.endSessions(ctx, tx, a.WorkspaceID, a.ID, a.SessionID); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditEmail2FA, 0, userDetail(a.ID, "on="+strconv.FormatBool(on), "other_sessions_ended"))
	})
}
