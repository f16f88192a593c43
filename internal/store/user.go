package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

// hashMemoryBudget bounds the memory argon2 may hold at once across all
// sign-ins and password changes: six hashes at 19 MiB.
const hashMemoryBudget = 6 * 19 << 20

// sessionPrefix starts every session token.
const sessionPrefix = "css_"

// The sign-in throttle (ASVS 2.2.1): within a window of an hour, the first
// failures are free, each further one locks the subject for twice as long
// as the one before, and at the last the subject stays locked until the
// window ends. An account therefore gets at most accountLock tries an hour.
const (
	throttleWindow = time.Hour
	accountFree    = 5
	accountLock    = 10
	ipFree         = 20
	ipLock         = 100
	maxDelay       = 15 * time.Minute
)

const userColumns = `id, workspace_id, email_sealed, role, status, password_hash, password_version, must_change, totp_sealed IS NOT NULL, totp_last_step, email_2fa, allowed_ips, language, created_at, updated_at`

// userRow is a user as stored, with what the domain type leaves out.
type userRow struct {
	custos.User
	hash     string
	lastStep int64
}

type scanner interface{ Scan(dest ...any) error }

func (db *DB) scanUser(s scanner) (*userRow, error) {
	u := &userRow{}
	var sealed []byte
	var role, status, ips string
	var created, updated int64
	err := s.Scan(&u.ID, &u.WorkspaceID, &sealed, &role, &status, &u.hash, &u.PasswordVersion, &u.MustChangePassword,
		&u.TOTPEnabled, &u.lastStep, &u.Email2FA, &ips, &u.Language, &created, &updated)
	if err != nil {
		return nil, err
	}
	email, err := db.vault.StaffKey(u.WorkspaceID, u.ID).Open("email", sealed)
	if err != nil {
		return nil, fmt.Errorf("store: open user %d: %w", u.ID, err)
	}
	u.Email, u.Role, u.Status, u.HasPassword = string(email), custos.Role(role), custos.UserStatus(status), u.hash != ""
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(ips), &u.AllowedIPs); err != nil {
		return nil, fmt.Errorf("store: user %d networks: %w", u.ID, err)
	}
	return u, nil
}

// emailIndex is the blind index of a staff address in a workspace.
func (db *DB) emailIndex(ws int64, email string) []byte {
	return db.vault.BlindIndex(ws, "staff_email", email)
}

// CreateUser creates u in the actor's workspace, with the password when
// one is given.
func (db *DB) CreateUser(ctx context.Context, u *custos.User, pw string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	u.WorkspaceID = a.WorkspaceID
	if err := u.Validate(); err != nil {
		return err
	}
	var hash string
	if pw != "" {
		if err := db.common.Check("password", pw); err != nil {
			return err
		}
		if hash, err = db.passwords.Hash(ctx, pw); err != nil {
			return err
		}
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.grantable(ctx, tx, a, u.Role, "role"); err != nil {
			return err
		}
		now := db.Now()
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO users (workspace_id, email_index, email_sealed, role, status, password_hash, password_version, password_changed_at, must_change, allowed_ips, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) RETURNING id`),
			u.WorkspaceID, db.emailIndex(u.WorkspaceID, u.Email), []byte{}, string(u.Role), string(u.Status), hash, micros(now), u.MustChangePassword,
			encodeJSON(u.AllowedIPs), micros(now), micros(now)).Scan(&u.ID)
		if isConflict(mapError(err)) {
			return &custos.Error{Code: custos.ECONFLICT, Field: "email", Message: "a user with this address exists already"}
		} else if err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		// The address is sealed under a key bound to the id, known only now.
		sealed := db.vault.StaffKey(u.WorkspaceID, u.ID).Seal("email", []byte(u.Email))
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET email_sealed = ? WHERE id = ?`), sealed, u.ID); err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		u.CreatedAt, u.UpdatedAt, u.PasswordVersion, u.HasPassword = now, now, 1, hash != ""
		return db.audit(ctx, tx, a, custos.AuditUserCreate, 0, userDetail(u.ID, "role="+string(u.Role)))
	})
	return err
}

// userDetail is the detail of an audit entry about a user: ids and
// non-personal facts only.
func userDetail(id int64, facts ...string) string {
	return strings.Join(append([]string{"user=" + strconv.FormatInt(id, 10)}, facts...), " ")
}

// FindUsers returns a page of the workspace's users, by id.
func (db *DB) FindUsers(ctx context.Context, f custos.UserFilter) ([]*custos.User, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND id > ? AND status <> ? ORDER BY id LIMIT ?`),
		a.WorkspaceID, f.After, string(custos.UserDeleted), f.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find users: %w", err)
	}
	defer rows.Close()
	users := []*custos.User{}
	for rows.Next() {
		u, err := db.scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		users = append(users, &u.User)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	users, next := trimPage(users, f.Limit, func(u *custos.User) int64 { return u.ID })
	return users, next, nil
}

// findUser returns the user of the workspace, or ENOTFOUND.
func (db *DB) findUser(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ws, id int64) (*userRow, error) {
	u, err := db.scanUser(q.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND id = ? AND status <> ?`), ws, id, string(custos.UserDeleted)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("user")
	} else if err != nil {
		return nil, fmt.Errorf("store: find user: %w", err)
	}
	return u, nil
}

// FindUserByID returns the user, or ENOTFOUND.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*custos.User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	u, err := db.findUser(ctx, db.read, a.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	return &u.User, nil
}

// UpdateUser changes the user. A new role or a disabling ends every
// session of the user; neither may take the workspace's last active
// administrator away (keepLastAdmin).
func (db *DB) UpdateUser(ctx context.Context, id int64, upd custos.UserUpdate) (*custos.User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	var out *custos.User
	err = db.tx(ctx, func(tx *sql.Tx) error {
		u, err := db.findUser(ctx, tx, a.WorkspaceID, id)
		if err != nil {
			return err
		}
		if err := db.mayManage(ctx, tx, a, u.Role, "user"); err != nil {
			return err
		}
		before := u.User
		var facts []string
		endSessions := false
		if upd.Role != nil && *upd.Role != u.Role {
			if err := db.grantable(ctx, tx, a, *upd.Role, "role"); err != nil {
				return err
			}
			u.Role, endSessions = *upd.Role, true
			facts = append(facts, "role="+string(u.Role))
		}
		if upd.Disabled != nil {
			status := custos.UserActive
			if *upd.Disabled {
				status = custos.UserDisabled
			}
			if status != u.Status {
				u.Status, endSessions = status, endSessions || status == custos.UserDisabled
				facts = append(facts, "status="+string(status))
			}
		}
		if upd.MustChangePassword != nil && *upd.MustChangePassword != u.MustChangePassword {
			u.MustChangePassword = *upd.MustChangePassword
			facts = append(facts, "must_change_password="+strconv.FormatBool(u.MustChangePassword))
		}
		if upd.AllowedIPs != nil {
			u.AllowedIPs = *upd.AllowedIPs
			facts = append(facts, "allowed_ips")
		}
		if len(facts) == 0 {
			out = &u.User
			return nil
		}
		// An active administrator who stops being one, by a new role or by
		// being disabled, must leave another behind.
		if before.Role == custos.RoleAdmin && before.Status == custos.UserActive && (u.Role != custos.RoleAdmin || u.Status != custos.UserActive) {
			field := "role"
			if u.Role == custos.RoleAdmin {
				field = "disabled"
			}
			if err := db.keepLastAdmin(ctx, tx, a.WorkspaceID, id, field); err != nil {
				return err
			}
		}
		u.UpdatedAt = db.Now()
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET role = ?, status = ?, must_change = ?, allowed_ips = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			string(u.Role), string(u.Status), u.MustChangePassword, encodeJSON(u.AllowedIPs), micros(u.UpdatedAt), a.WorkspaceID, id); err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if endSessions {
			if err := db.endSessions(ctx, tx, a.WorkspaceID, id, 0); err != nil {
				return err
			}
			facts = append(facts, "sessions_ended")
		}
		out = &u.User
		return db.audit(ctx, tx, a, custos.AuditUserUpdate, 0, userDetail(id, facts...))
	})
	return out, err
}

// keepLastAdmin refuses, with ECONFLICT naming field, to take away the
// administration of user id when no other active administrator is left:
// a workspace never loses its last one, by deletion, demotion or
// disabling.
func (db *DB) keepLastAdmin(ctx context.Context, tx *sql.Tx, ws, id int64, field string) error {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE" // two removals of the last two admins, one after the other
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT id FROM users WHERE workspace_id = ? AND role = ? AND status = ?`+lock),
		ws, string(custos.RoleAdmin), string(custos.UserActive))
	if err != nil {
		return fmt.Errorf("store: last admin: %w", err)
	}
	others := 0
	for rows.Next() {
		var other int64
		if err := rows.Scan(&other); err != nil {
			rows.Close()
			return err
		}
		if other != id {
			others++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if others == 0 {
		return &custos.Error{Code: custos.ECONFLICT, Field: field,
			Message: "This is the workspace's last active administrator; make another user admin first."}
	}
	return nil
}

// DeleteUser removes a staff account's personal data and ends its
// sessions: the address (sealed value and blind index), the password
// hash, the TOTP secret, recovery codes, reset links, sign-in codes, and
// the client address and user agent of every login record. The row stays,
// status deleted, with its id and role, so that the audit log, which
// names users by id only, still verifies. Refused for one's own account
// and for the last administrator.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if a.Kind == custos.ActorUser && a.ID == id {
		return custos.Errorf(custos.ECONFLICT, "You cannot delete your own account; ask another administrator.")
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		u, err := db.findUser(ctx, tx, a.WorkspaceID, id)
		if err != nil {
			return err
		}
		if err := db.mayManage(ctx, tx, a, u.Role, "user"); err != nil {
			return err
		}
		if u.Role == custos.RoleAdmin {
			if err := db.keepLastAdmin(ctx, tx, a.WorkspaceID, id, ""); err != nil {
				return err
			}
		}
		// A random blind index: unique as the column wants, and matching
		// no address ever typed.
		index := make([]byte, 32)
		rand.Read(index)
		now := micros(db.Now())
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE users SET email_index = ?, email_sealed = ?, status = ?, password_hash = '', password_version = password_version + 1,
				must_change = ?, totp_sealed = NULL, totp_pending = NULL, email_2fa = ?, allowed_ips = '[]', updated_at = ? WHERE workspace_id = ? AND id = ?`,
				[]any{index, []byte{}, string(custos.UserDeleted), false, false, now, a.WorkspaceID, id}},
			{`DELETE FROM sessions WHERE workspace_id = ? AND user_id = ?`, []any{a.WorkspaceID, id}},
			{`DELETE FROM email_codes WHERE workspace_id = ? AND user_id = ?`, []any{a.WorkspaceID, id}},
			{`DELETE FROM recovery_codes WHERE workspace_id = ? AND user_id = ?`, []any{a.WorkspaceID, id}},
			{`DELETE FROM password_resets WHERE workspace_id = ? AND user_id = ?`, []any{a.WorkspaceID, id}},
			{`UPDATE login_history SET ip_sealed = ?, ua_sealed = ? WHERE workspace_id = ? AND user_id = ?`, []any{[]byte{}, []byte{}, a.WorkspaceID, id}},
		} {
			if _, err := tx.ExecContext(ctx, db.q(q.sql), q.args...); err != nil {
				return fmt.Errorf("store: delete user: %w", err)
			}
		}
		return db.audit(ctx, tx, a, custos.AuditUserDelete, 0, userDetail(id, "personal_data_removed", "sessions_ended"))
	})
	if err == nil {
		// The mail still queued to them (a reset link, a code) can no
		// longer be opened: the worker drops it.
		err = db.shredUserMail(ctx, a.WorkspaceID, id)
	}
	return err
}

// endSessions deletes the user's sessions but keep (0: none).
func (db *DB) endSessions(ctx context.Context, tx *sql.Tx, ws, user, keep int64) error {
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE workspace_id = ? AND user_id = ? AND id <> ?`), ws, user, keep)
	if err != nil {
		return fmt.Errorf("store: end sessions: %w", err)
	}
	return nil
}

// unauthorized is the one answer to every wrong credential, so that it
// tells nothing of which part was wrong or whether the user exists.
func unauthorized() error {
	return custos.Errorf(custos.EUNAUTHORIZED, "The e-mail address or the password is wrong.")
}

// locked is the answer while an account or an address is locked.
func locked() error {
	return custos.Errorf(custos.ERATELIMIT, "Too many failed attempts. Try again later.")
}

// throttleLocked reports whether the subject is locked now.
func (db *DB) throttleLocked(ctx context.Context, ws int64, subject []byte, now time.Time) (bool, error) {
	var until int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT locked_until FROM login_throttle WHERE workspace_id = ? AND subject = ?`), ws, subject).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: throttle: %w", err)
	}
	return micros(now) < until, nil
}

// throttleFail counts a failure of the subject and locks it as the
// throttle's rules say.
func (db *DB) throttleFail(ctx context.Context, tx *sql.Tx, ws int64, subject []byte, now time.Time, free, lock int) error {
	var start, failures int64
	err := tx.QueryRowContext(ctx, db.q(`SELECT window_start, failures FROM login_throttle WHERE workspace_id = ? AND subject = ?`), ws, subject).Scan(&start, &failures)
	if errors.Is(err, sql.ErrNoRows) || err == nil && micros(now) >= start+throttleWindow.Microseconds() {
		start, failures = micros(now), 0
		// A new window: forget the subjects whose windows ended, so the
		// table holds only the last hour's failures.
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM login_throttle WHERE window_start < ? AND locked_until <= ?`),
			micros(now)-throttleWindow.Microseconds(), micros(now)); err != nil {
			return fmt.Errorf("store: throttle: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("store: throttle: %w", err)
	}
	failures++
	until := int64(0)
	switch {
	case failures >= int64(lock):
		until = start + throttleWindow.Microseconds()
	case failures > int64(free):
		delay := min(time.Second<<(failures-int64(free)), maxDelay)
		until = micros(now) + delay.Microseconds()
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO login_throttle (workspace_id, subject, window_start, failures, locked_until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, subject) DO UPDATE SET window_start = excluded.window_start, failures = excluded.failures, locked_until = excluded.locked_until`),
		ws, subject, start, failures, until)
	if err != nil {
		return fmt.Errorf("store: throttle: %w", err)
	}
	return nil
}

// throttleClear forgets the subject's failures.
func (db *DB) throttleClear(ctx context.Context, tx *sql.Tx, ws int64, subject []byte) error {
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM login_throttle WHERE workspace_id = ? AND subject = ?`), ws, subject)
	return err
}

// recordLogin adds a line to the user's login history, and a failed
// sign-in to the audit log too.
func (db *DB) recordLogin(ctx context.Context, tx *sql.Tx, ws, user int64, at time.Time, ip netip.Addr, ua, result, twoFactor string) error {
	k := db.vault.StaffKey(ws, user)
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO login_history (workspace_id, user_id, at, ip_sealed, ua_sealed, result, two_factor) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		ws, user, micros(at), k.Seal("ip", []byte(ipString(ip))), k.Seal("ua", []byte(ua)), result, twoFactor)
	if err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	switch result {
	case custos.LoginBadPassword, custos.LoginLocked, custos.LoginDisabled, custos.LoginIPRefused:
		return db.auditSignIn(ctx, tx, ws, user, "/login", ip, custos.AuditLoginFailed, "result="+result)
	case custos.LoginBadCode, custos.LoginCodeReused:
		return db.auditSignIn(ctx, tx, ws, user, "/login/2fa", ip, custos.AuditLoginFailed, "result="+result)
	}
	return nil
}

// auditSignIn writes an audit entry about a sign-in step at route from ip:
// by the user when known (user 0: actor "anonymous", and no trace of the
// address or password typed). Nothing is written for a workspace that
// does not exist: there is no chain to write it into.
func (db *DB) auditSignIn(ctx context.Context, tx *sql.Tx, ws, user int64, route string, ip netip.Addr, action, detail string) error {
	if ws == 0 {
		return nil
	}
	a := custos.Actor{WorkspaceID: ws, Kind: custos.ActorAnonymous}
	if user != 0 {
		a.Kind, a.ID = custos.ActorUser, user
		detail = userDetail(user, detail)
	}
	req := &custos.Request{Method: "POST", Route: route, IP: ipString(ip)}
	return db.audit(custos.WithRequest(ctx, req), tx, a, action, 0, detail)
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.Unmap().String()
}

// maxUserAgent bounds the user agent kept of a sign-in.
const maxUserAgent = 300

func clipUA(ua string) string {
	ua = strings.ToValidUTF8(strings.ReplaceAll(ua, "\x00", ""), "")
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	return ua
}

// Login checks e-mail and password and opens a session: a full one, or a
// pending one that waits for the second factor.
func (db *DB) Login(ctx context.Context, at custos.LoginAttempt) (*custos.LoginResult, error) {
	now := db.Now()
	at.UserAgent = clipUA(at.UserAgent)
	if at.Workspace == "" {
		at.Workspace = custos.DefaultWorkspace
	}
	var ws int64
	if w, err := db.FindWorkspaceByName(ctx, at.Workspace); err == nil {
		ws = w.ID
	} else if custos.ErrorCode(err) != custos.ENOTFOUND {
		return nil, err
	}
	email, err := custos.NormalizeEmail("email", at.Email)
	if err != nil {
		email = strings.ToLower(strings.TrimSpace(strings.ToValidUTF8(at.Email, "")))
	}
	acct, ipKey := db.vault.StaffMAC(ws, "account", email), db.vault.StaffMAC(ws, "ip", ipString(at.IP))

	// The user, when there is one. An unknown user is verified against a
	// dummy hash below, so that it takes as long as a known one.
	var u *userRow
	if ws != 0 && err == nil && len(at.Password) <= 4*custos.PasswordMaxChars {
		u, err = db.scanUser(db.read.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND email_index = ?`), ws, db.emailIndex(ws, email)))
		if errors.Is(err, sql.ErrNoRows) {
			u = nil
		} else if err != nil {
			return nil, fmt.Errorf("store: login: %w", err)
		}
	}
	for _, s := range [][]byte{acct, ipKey} {
		if l, err := db.throttleLocked(ctx, ws, s, now); err != nil {
			return nil, err
		} else if l {
			if err := db.tx(ctx, func(tx *sql.Tx) error {
				if u == nil {
					return db.auditSignIn(ctx, tx, ws, 0, "/login", at.IP, custos.AuditLoginFailed, "result="+custos.LoginLocked)
				}
				return db.recordLogin(ctx, tx, ws, u.ID, now, at.IP, at.UserAgent, custos.LoginLocked, "")
			}); err != nil {
				return nil, err
			}
			return nil, locked()
		}
	}
	hash := ""
	if u != nil {
		hash = u.hash
	}
	pw := at.Password
	if len(pw) > 4*custos.PasswordMaxChars {
		pw = "" // longer than any password can be: verified, and failed, all the same
	}
	ok, err := db.passwords.Verify(ctx, hash, pw)
	if err != nil {
		return nil, err
	}
	if !ok || u == nil || u.Status != custos.UserActive {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			if u != nil {
				result := custos.LoginBadPassword
				if ok {
					result = custos.LoginDisabled
				}
				if err := db.recordLogin(ctx, tx, ws, u.ID, now, at.IP, at.UserAgent, result, ""); err != nil {
					return err
				}
			} else if err := db.auditSignIn(ctx, tx, ws, 0, "/login", at.IP, custos.AuditLoginFailed, "result="+custos.LoginBadPassword); err != nil {
				return err
			}
			if err := db.throttleFail(ctx, tx, ws, acct, now, accountFree, accountLock); err != nil {
				return err
			}
			return db.throttleFail(ctx, tx, ws, ipKey, now, ipFree, ipLock)
		})
		if err != nil {
			return nil, err
		}
		return nil, unauthorized()
	}
	settings, err := db.securitySettings(ctx, db.read, ws)
	if err != nil {
		return nil, err
	}
	if !custos.NetworksAllow(settings.AllowedIPs, at.IP) || !custos.NetworksAllow(u.AllowedIPs, at.IP) {
		// The same answer as a wrong password, and counted as one: from
		// outside the allowlist a password is worth nothing, and whether it
		// was right must not show.
		err := db.tx(ctx, func(tx *sql.Tx) error {
			if err := db.recordLogin(ctx, tx, ws, u.ID, now, at.IP, at.UserAgent, custos.LoginIPRefused, ""); err != nil {
				return err
			}
			if err := db.throttleFail(ctx, tx, ws, acct, now, accountFree, accountLock); err != nil {
				return err
			}
			return db.throttleFail(ctx, tx, ws, ipKey, now, ipFree, ipLock)
		})
		if err != nil {
			return nil, err
		}
		return nil, unauthorized()
	}
	res := &custos.LoginResult{User: &u.User, Pending: u.TOTPEnabled || u.Email2FA}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.throttleClear(ctx, tx, ws, acct); err != nil {
			return err
		}
		result := custos.LoginSuccess
		if res.Pending {
			result = custos.LoginPasswordOK
		}
		if err := db.recordLogin(ctx, tx, ws, u.ID, now, at.IP, at.UserAgent, result, ""); err != nil {
			return err
		}
		res.Token, res.Session, err = db.createSession(ctx, tx, u, now, at.IP, at.UserAgent, res.Pending, "")
		if err != nil {
			return err
		}
		if res.Pending {
			if u.Email2FA {
				res.EmailCode, err = db.createEmailCode(ctx, tx, u, res.Session.ID, now)
			}
			return err
		}
		// The route, not the address: a known user's address is kept
		// sealed, in the login history.
		return db.audit(custos.WithRequest(ctx, &custos.Request{Method: "POST", Route: "/login"}), tx,
			userActor(u, res.Session.ID), custos.AuditLogin, 0, userDetail(u.ID, "session="+strconv.FormatInt(res.Session.ID, 10)))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// userActor returns the actor of a user signed in with the session.
func userActor(u *userRow, session int64) custos.Actor {
	return custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, SessionID: session}
}

// createSession stores a new session of the user and returns its token:
// 256 bits from crypto/rand, stored as its SHA-256.
func (db *DB) createSession(ctx context.Context, tx *sql.Tx, u *userRow, now time.Time, ip netip.Addr, ua string, pending bool, twoFactor string) (string, *custos.Session, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	token := sessionPrefix + base64.RawURLEncoding.EncodeToString(secret)
	life := custos.SessionLifetime
	if pending {
		life = custos.PendingLifetime
	}
	s := &custos.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(life), IP: ipString(ip), UserAgent: ua, TwoFactor: twoFactor, Current: true}
	// The user's sessions past their absolute limit go now; those only
	// idle go when next presented or listed.
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE workspace_id = ? AND user_id = ? AND expires_at <= ?`), u.WorkspaceID, u.ID, micros(now)); err != nil {
		return "", nil, fmt.Errorf("store: create session: %w", err)
	}
	k := db.vault.StaffKey(u.WorkspaceID, u.ID)
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO sessions (workspace_id, user_id, token_hash, pending, two_factor, created_at, last_seen_at, expires_at, ip_sealed, ua_sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.WorkspaceID, u.ID, hashToken(token), pending, twoFactor, micros(now), micros(now), micros(s.ExpiresAt),
		k.Seal("ip", []byte(s.IP)), k.Seal("ua", []byte(ua))).Scan(&s.ID)
	if err != nil {
		return "", nil, fmt.Errorf("store: create session: %w", err)
	}
	return token, s, nil
}

// sessionRow is a session with its user, as AuthenticateSession reads it.
type sessionRow struct {
	id, ws, user           int64
	pending                bool
	twoFactor              string
	created, seen, expires int64
}

// findSessionByToken returns the session of the token, or EUNAUTHORIZED.
func (db *DB) findSessionByToken(ctx context.Context, token string) (*sessionRow, error) {
	if !strings.HasPrefix(token, sessionPrefix) || len(token) > 100 {
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "The session is not valid; sign in again.")
	}
	s := &sessionRow{}
	err := db.read.QueryRowContext(ctx, db.q(`SELECT id, workspace_id, user_id, pending, two_factor, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = ?`),
		hashToken(token)).Scan(&s.id, &s.ws, &s.user, &s.pending, &s.twoFactor, &s.created, &s.seen, &s.expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "The session is not valid; sign in again.")
	} else if err != nil {
		return nil, fmt.Errorf("store: find session: %w", err)
	}
	return s, nil
}

// touchEvery is how stale a session's last use may be before a request
// writes it again: fewer writes, an idle time a little longer at most.
const touchEvery = 30 * time.Second

// AuthenticateSession returns the live session of the token and its user
// (without the address, which a request does not need), with the
// permissions of the user's role when it is the workspace's own. A session past its
// idle time or its absolute limit, or of a disabled user, is ended. The
// workspace's and the user's allowlists must admit ip. One query reads
// session, user, role and settings: it runs on every request of a browser.
func (db *DB) AuthenticateSession(ctx context.Context, token string, ip netip.Addr, touch bool) (*custos.SessionAuth, error) {
	unauthorized := custos.Errorf(custos.EUNAUTHORIZED, "The session is not valid; sign in again.")
	if !strings.HasPrefix(token, sessionPrefix) || len(token) > 100 {
		return nil, unauthorized
	}
	s := &sessionRow{}
	u := &custos.User{}
	var role, status, userIPs, wsIPs, perms string
	var changed int64
	settings := custos.DefaultSecuritySettings()
	err := db.read.QueryRowContext(ctx, db.q(`SELECT s.id, s.workspace_id, s.user_id, s.pending, s.two_factor, s.created_at, s.last_seen_at, s.expires_at,
		u.role, u.status, u.must_change, u.totp_sealed IS NOT NULL, u.email_2fa, u.allowed_ips, u.password_changed_at,
		COALESCE(w.idle_timeout_minutes, ?), COALESCE(w.require_2fa, ?), COALESCE(w.allowed_ips, '[]'), COALESCE(w.password_max_age_days, 0),
		COALESCE(r.permissions, '')
		FROM sessions s JOIN users u ON u.workspace_id = s.workspace_id AND u.id = s.user_id
		LEFT JOIN workspace_security w ON w.workspace_id = s.workspace_id
		LEFT JOIN roles r ON r.workspace_id = u.workspace_id AND r.name = u.role
		WHERE s.token_hash = ?`), settings.IdleTimeoutMinutes, settings.Require2FA, hashToken(token)).
		Scan(&s.id, &s.ws, &s.user, &s.pending, &s.twoFactor, &s.created, &s.seen, &s.expires,
			&role, &status, &u.MustChangePassword, &u.TOTPEnabled, &u.Email2FA, &userIPs, &changed,
			&settings.IdleTimeoutMinutes, &settings.Require2FA, &wsIPs, &settings.PasswordMaxAgeDays, &perms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, unauthorized
	} else if err != nil {
		return nil, fmt.Errorf("store: authenticate session: %w", err)
	}
	u.ID, u.WorkspaceID, u.Role, u.Status = s.user, s.ws, custos.Role(role), custos.UserStatus(status)
	if err := json.Unmarshal([]byte(userIPs), &u.AllowedIPs); err != nil {
		return nil, fmt.Errorf("store: authenticate session: %w", err)
	}
	if err := json.Unmarshal([]byte(wsIPs), &settings.AllowedIPs); err != nil {
		return nil, fmt.Errorf("store: authenticate session: %w", err)
	}
	now := db.Now()
	idle := time.Duration(settings.IdleTimeoutMinutes) * time.Minute
	if micros(now) >= s.expires || micros(now) >= s.seen+idle.Microseconds() || u.Status != custos.UserActive {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE id = ?`), s.id)
			return err
		}); err != nil {
			return nil, err
		}
		return nil, custos.Errorf(custos.EUNAUTHORIZED, "The session has ended; sign in again.")
	}
	if !custos.NetworksAllow(settings.AllowedIPs, ip) || !custos.NetworksAllow(u.AllowedIPs, ip) {
		return nil, custos.Errorf(custos.EFORBIDDEN, "Requests from this network are not allowed in this workspace.")
	}
	if touch && !s.pending && now.Sub(fromMicros(s.seen)) >= touchEvery {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, db.q(`UPDATE sessions SET last_seen_at = ? WHERE id = ?`), micros(now), s.id)
			return err
		}); err != nil {
			return nil, err
		}
		s.seen = micros(now)
	}
	var rolePerms []custos.Permission
	if !u.Role.Builtin() {
		if rolePerms, err = decodePermissions(perms); err != nil {
			return nil, err
		}
	}
	auth := &custos.SessionAuth{User: u, Permissions: rolePerms, Pending: s.pending, Session: &custos.Session{ID: s.id, UserID: s.user,
		CreatedAt: fromMicros(s.created), LastSeenAt: fromMicros(s.seen), ExpiresAt: fromMicros(s.expires), TwoFactor: s.twoFactor, Current: true}}
	maxAge := time.Duration(settings.PasswordMaxAgeDays) * 24 * time.Hour
	switch {
	case u.MustChangePassword, maxAge > 0 && now.Sub(fromMicros(changed)) >= maxAge:
		auth.Restricted = custos.RestrictPasswordChange
	case settings.Requires2FA(u.Role) && !u.TOTPEnabled && !u.Email2FA:
		auth.Restricted = custos.RestrictEnrol2FA
	}
	return auth, nil
}

// Logout ends the session of the token.
func (db *DB) Logout(ctx context.Context, token string) error {
	s, err := db.findSessionByToken(ctx, token)
	if err != nil {
		return err
	}
	u, err := db.findUser(ctx, db.read, s.ws, s.user)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE id = ?`), s.id); err != nil {
			return err
		}
		if s.pending {
			return nil
		}
		return db.audit(ctx, tx, userActor(u, s.id), custos.AuditLogout, 0, userDetail(u.ID, "session="+strconv.FormatInt(s.id, 10)))
	})
}

// selfUser returns the actor's own user row, or EFORBIDDEN for an actor
// that is no user.
func (db *DB) selfUser(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (custos.Actor, *userRow, error) {
	a, err := actor(ctx)
	if err != nil {
		return a, nil, err
	}
	if a.Kind != custos.ActorUser {
		return a, nil, custos.Errorf(custos.EFORBIDDEN, "Only a signed-in user can do this.")
	}
	u, err := db.findUser(ctx, q, a.WorkspaceID, a.ID)
	return a, u, err
}

// checkOwnPassword verifies the actor's password, counting failures like
// sign-ins, so that a stolen session cannot guess it.
func (db *DB) checkOwnPassword(ctx context.Context, u *userRow, pw string) error {
	now := db.Now()
	subject := db.vault.StaffMAC(u.WorkspaceID, "reauth", strconv.FormatInt(u.ID, 10))
	if l, err := db.throttleLocked(ctx, u.WorkspaceID, subject, now); err != nil {
		return err
	} else if l {
		return locked()
	}
	if len(pw) > 4*custos.PasswordMaxChars {
		pw = ""
	}
	ok, err := db.passwords.Verify(ctx, u.hash, pw)
	if err != nil {
		return err
	}
	if !ok {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			return db.throttleFail(ctx, tx, u.WorkspaceID, subject, now, accountFree, accountLock)
		}); err != nil {
			return err
		}
		return custos.Invalid("current_password", "is wrong")
	}
	return nil
}

// ChangePassword changes the actor's password and ends their other
// sessions.
func (db *DB) ChangePassword(ctx context.Context, current, next string) error {
	a, u, err := db.selfUser(ctx, db.read)
	if err != nil {
		return err
	}
	if err := db.common.Check("new_password", next); err != nil {
		return err
	}
	if err := db.checkOwnPassword(ctx, u, current); err != nil {
		return err
	}
	hash, err := db.passwords.Hash(ctx, next)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := db.Now()
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET password_hash = ?, password_version = password_version + 1, password_changed_at = ?, must_change = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			hash, micros(now), false, micros(now), a.WorkspaceID, a.ID); err != nil {
			return fmt.Errorf("store: change password: %w", err)
		}
		if err := db.endSessions(ctx, tx, a.WorkspaceID, a.ID, a.SessionID); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditPasswordChange, 0, userDetail(a.ID, "other_sessions_ended"))
	})
}

// SetLanguage sets the language of the actor's admin pages.
func (db *DB) SetLanguage(ctx context.Context, lang string) error {
	if !i18n.Supported(lang) {
		return custos.Invalid("language", "unknown language %q: choose one of %s", lang, strings.Join(i18n.Languages(), ", "))
	}
	a, _, err := db.selfUser(ctx, db.read)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET language = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			lang, micros(db.Now()), a.WorkspaceID, a.ID); err != nil {
			return fmt.Errorf("store: set language: %w", err)
		}
		return db.audit(ctx, tx, a, custos.AuditLanguage, 0, userDetail(a.ID, "language="+lang))
	})
}

// FindSessions returns the user's live sessions, newest first.
func (db *DB) FindSessions(ctx context.Context, userID int64) ([]*custos.Session, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.findUser(ctx, db.read, a.WorkspaceID, userID); err != nil {
		return nil, err
	}
	settings, err := db.securitySettings(ctx, db.read, a.WorkspaceID)
	if err != nil {
		return nil, err
	}
	now, idle := db.Now(), time.Duration(settings.IdleTimeoutMinutes)*time.Minute
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, two_factor, created_at, last_seen_at, expires_at, ip_sealed, ua_sealed FROM sessions
		WHERE workspace_id = ? AND user_id = ? AND pending = ? AND expires_at > ? AND last_seen_at > ? ORDER BY id DESC`),
		a.WorkspaceID, userID, false, micros(now), micros(now.Add(-idle)))
	if err != nil {
		return nil, fmt.Errorf("store: find sessions: %w", err)
	}
	defer rows.Close()
	k := db.vault.StaffKey(a.WorkspaceID, userID)
	out := []*custos.Session{}
	for rows.Next() {
		s := &custos.Session{UserID: userID}
		var created, seen, expires int64
		var ip, ua []byte
		if err := rows.Scan(&s.ID, &s.TwoFactor, &created, &seen, &expires, &ip, &ua); err != nil {
			return nil, err
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
		if s.IP, s.UserAgent, err = openPair(k, ip, ua); err != nil {
			return nil, err
		}
		s.Current = a.Kind == custos.ActorUser && s.ID == a.SessionID
		out = append(out, s)
	}
	return out, rows.Err()
}

// openPair opens a sealed client address and user agent.
func openPair(k interface {
	Open(string, []byte) ([]byte, error)
}, ip, ua []byte) (string, string, error) {
	if len(ip) == 0 && len(ua) == 0 {
		return "", "", nil // removed with a deleted user's account
	}
	i, err := k.Open("ip", ip)
	if err != nil {
		return "", "", fmt.Errorf("store: open client address: %w", err)
	}
	u, err := k.Open("ua", ua)
	if err != nil {
		return "", "", fmt.Errorf("store: open user agent: %w", err)
	}
	return string(i), string(u), nil
}

// EndSession ends one session of the user.
func (db *DB) EndSession(ctx context.Context, userID, sessionID int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE workspace_id = ? AND user_id = ? AND id = ?`), a.WorkspaceID, userID, sessionID)
		if err != nil {
			return fmt.Errorf("store: end session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return custos.NotFound("session")
		}
		return db.audit(ctx, tx, a, custos.AuditSessionsEnd, 0, userDetail(userID, "session="+strconv.FormatInt(sessionID, 10)))
	})
}

// EndSessions ends every session of the user.
func (db *DB) EndSessions(ctx context.Context, userID int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		u, err := db.findUser(ctx, tx, a.WorkspaceID, userID)
		if err != nil {
			return err
		}
		if err := db.mayManage(ctx, tx, a, u.Role, "user"); err != nil {
			return err
		}
		if err := db.endSessions(ctx, tx, a.WorkspaceID, userID, 0); err != nil {
			return err
		}
		return db.audit(ctx, tx, a, custos.AuditSessionsEnd, 0, userDetail(userID, "all"))
	})
}

// FindLogins returns login records of the workspace, newest first.
func (db *DB) FindLogins(ctx context.Context, f custos.LoginFilter) ([]*custos.LoginRecord, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	where, args := "workspace_id = ?", []any{a.WorkspaceID}
	if f.UserID != nil {
		where, args = where+" AND user_id = ?", append(args, *f.UserID)
	}
	if f.Cursor > 0 {
		where, args = where+" AND id < ?", append(args, f.Cursor)
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, user_id, at, ip_sealed, ua_sealed, result, two_factor FROM login_history WHERE `+where+` ORDER BY id DESC LIMIT ?`),
		append(args, f.Limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find logins: %w", err)
	}
	defer rows.Close()
	out := []*custos.LoginRecord{}
	for rows.Next() {
		r := &custos.LoginRecord{}
		var at int64
		var ip, ua []byte
		if err := rows.Scan(&r.ID, &r.UserID, &at, &ip, &ua, &r.Result, &r.TwoFactor); err != nil {
			return nil, 0, err
		}
		r.At = fromMicros(at)
		if r.IP, r.UserAgent, err = openPair(db.vault.StaffKey(a.WorkspaceID, r.UserID), ip, ua); err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out, next := trimPage(out, f.Limit, func(r *custos.LoginRecord) int64 { return r.ID })
	return out, next, nil
}

// securitySettings returns the workspace's sign-in rules, or the defaults.
func (db *DB) securitySettings(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ws int64) (*custos.SecuritySettings, error) {
	s := custos.DefaultSecuritySettings()
	var ips string
	err := q.QueryRowContext(ctx, db.q(`SELECT idle_timeout_minutes, require_2fa, allowed_ips, password_max_age_days FROM workspace_security WHERE workspace_id = ?`), ws).
		Scan(&s.IdleTimeoutMinutes, &s.Require2FA, &ips, &s.PasswordMaxAgeDays)
	if errors.Is(err, sql.ErrNoRows) {
		return &s, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: security settings: %w", err)
	}
	if err := json.Unmarshal([]byte(ips), &s.AllowedIPs); err != nil {
		return nil, fmt.Errorf("store: security settings: %w", err)
	}
	return &s, nil
}

// SecuritySettings returns the actor's workspace's sign-in rules.
func (db *DB) SecuritySettings(ctx context.Context) (*custos.SecuritySettings, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.securitySettings(ctx, db.read, a.WorkspaceID)
}

// UpdateSecuritySettings replaces the workspace's sign-in rules.
func (db *DB) UpdateSecuritySettings(ctx context.Context, s *custos.SecuritySettings) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	return db.authTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO workspace_security (workspace_id, idle_timeout_minutes, require_2fa, allowed_ips, password_max_age_days, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id) DO UPDATE SET idle_timeout_minutes = excluded.idle_timeout_minutes, require_2fa = excluded.require_2fa,
			allowed_ips = excluded.allowed_ips, password_max_age_days = excluded.password_max_age_days, updated_at = excluded.updated_at`),
			a.WorkspaceID, s.IdleTimeoutMinutes, s.Require2FA, encodeJSON(s.AllowedIPs), s.PasswordMaxAgeDays, micros(db.Now()))
		if err != nil {
			return fmt.Errorf("store: update security settings: %w", err)
		}
		return db.audit(ctx, tx, a, custos.AuditSettingsUpdate, 0, "require_2fa="+s.Require2FA)
	})
}

// CheckIP refuses an address the workspace's list, or the user actor's
// own, does not allow.
func (db *DB) CheckIP(ctx context.Context, ip netip.Addr) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	s, err := db.cachedSettings(ctx, a.WorkspaceID)
	if err != nil {
		return err
	}
	refused := custos.Errorf(custos.EFORBIDDEN, "Requests from this network are not allowed in this workspace.")
	if !custos.NetworksAllow(s.AllowedIPs, ip) {
		return refused
	}
	if a.Kind == custos.ActorUser {
		u, err := db.findUser(ctx, db.read, a.WorkspaceID, a.ID)
		if err != nil {
			return err
		}
		if !custos.NetworksAllow(u.AllowedIPs, ip) {
			return refused
		}
	}
	return nil
}
