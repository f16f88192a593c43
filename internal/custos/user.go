package custos

import (
	"context"
	"net/netip"
	"time"
	"unicode/utf8"
)

// UserStatus says whether a staff user may sign in.
type UserStatus string

// The statuses of a user.
const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
	// UserDeleted is an account whose personal data was removed; only its
	// id remains, which the audit log names.
	UserDeleted UserStatus = "deleted"
)

// Password lengths, in Unicode characters after NFC normalisation (ASVS
// 2.1.1, 2.1.2). Nothing is truncated and no composition is required.
const (
	PasswordMinChars = 12
	PasswordMaxChars = 128
)

// User is a member of staff who signs in with an e-mail address and a
// password. The address is personal data: it is stored sealed, with a blind
// index for sign-in.
type User struct {
	ID                 int64      `json:"id"`
	WorkspaceID        int64      `json:"workspace_id"`
	Email              string     `json:"email"`
	Role               Role       `json:"role"`
	Status             UserStatus `json:"status"`
	MustChangePassword bool       `json:"must_change_password"`
	// HasPassword is false for a user invited who has not set one yet.
	HasPassword bool `json:"has_password"`
	TOTPEnabled bool `json:"totp_enabled"`
	// Email2FA is true when a code mailed to the address is a second
	// factor of the user.
	Email2FA bool `json:"email_2fa_enabled"`
	// AllowedIPs, when not empty, are the networks (CIDR) the user may
	// sign in and act from, besides the workspace's own list.
	AllowedIPs []string `json:"allowed_ips"`
	// Language is the language of the admin pages for the user (en, pl).
	Language  string    `json:"language"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// PasswordVersion counts password changes; a reset link is bound to it.
	PasswordVersion int64 `json:"-"`
}

// Validate normalises the address and checks the role, status and
// networks.
func (u *User) Validate() error {
	email, err := NormalizeEmail("email", u.Email)
	if err != nil {
		return err
	}
	u.Email = email
	if err := CheckRoleName("role", u.Role); err != nil {
		return err
	}
	if u.Status == "" {
		u.Status = UserActive
	}
	if u.Status != UserActive && u.Status != UserDisabled {
		return Invalid("status", "must be active or disabled")
	}
	if u.AllowedIPs == nil {
		u.AllowedIPs = []string{}
	}
	return CheckNetworks("allowed_ips", u.AllowedIPs)
}

// MaxNetworks bounds an IP allowlist.
const MaxNetworks = 100

// CheckNetworks checks an IP allowlist: CIDR prefixes (IPv4 or IPv6) or
// single addresses, at most MaxNetworks, and rewrites each in canonical
// form.
func CheckNetworks(field string, nets []string) error {
	if len(nets) > MaxNetworks {
		return Invalid(field, "must hold at most %d networks", MaxNetworks)
	}
	for i, s := range nets {
		p, err := ParseNetwork(s)
		if err != nil {
			return Invalid(field, "item %d is not a CIDR network or an IP address", i)
		}
		nets[i] = p.String()
	}
	return nil
}

// ParseNetwork parses a CIDR prefix, or an address as a prefix of one.
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// NetworksAllow reports whether the list allows ip: an empty list allows
// every address.
func NetworksAllow(nets []string, ip netip.Addr) bool {
	if len(nets) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, s := range nets {
		if p, err := ParseNetwork(s); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckPasswordLength checks a password's length in characters. The
// common-password check and the normalisation are the store's.
func CheckPasswordLength(field, pw string) error {
	if !utf8.ValidString(pw) {
		return Invalid(field, "is not valid UTF-8")
	}
	n := utf8.RuneCountInString(pw)
	if n < PasswordMinChars || n > PasswordMaxChars {
		return Invalid(field, "must be %d to %d characters long", PasswordMinChars, PasswordMaxChars)
	}
	return nil
}

// UserUpdate changes a user; nil members stay as they are.
type UserUpdate struct {
	Role               *Role
	Disabled           *bool
	MustChangePassword *bool
	AllowedIPs         *[]string
}

// Validate checks the update.
func (u *UserUpdate) Validate() error {
	if u.Role != nil {
		if err := CheckRoleName("role", *u.Role); err != nil {
			return err
		}
	}
	if u.AllowedIPs != nil {
		if *u.AllowedIPs == nil {
			*u.AllowedIPs = []string{}
		}
		return CheckNetworks("allowed_ips", *u.AllowedIPs)
	}
	return nil
}

// UserFilter selects users, by id.
type UserFilter struct {
	After int64
	Limit int
}

// Validate fills in the default limit and checks it.
func (f *UserFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	return nil
}

// Session is a signed-in browser of a user. Its token is shown only when
// it is made and stored only as a hash.
type Session struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"` // the absolute limit
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	// TwoFactor is how the second factor was given ("totp", "recovery"),
	// or "" without one.
	TwoFactor string `json:"two_factor"`
	Current   bool   `json:"current"`
}

// Session limits (ASVS 3.3).
const (
	DefaultIdleTimeout = 30 * time.Minute
	SessionLifetime    = 12 * time.Hour
	// PendingLifetime is how long a password accepted waits for its
	// second factor.
	PendingLifetime = 5 * time.Minute
)

// LoginAttempt is a sign-in with e-mail and password.
type LoginAttempt struct {
	Workspace string // name; empty: the default workspace
	Email     string
	Password  string
	IP        netip.Addr
	UserAgent string
}

// LoginResult is what a sign-in, or its second step, gives.
type LoginResult struct {
	// Token is the session's secret, for the cookie.
	Token string
	// Pending is true when the token only allows the second factor to be
	// given (or, with Enrol, enrolled).
	Pending bool
	User    *User
	Session *Session
	// EmailCode, when not empty, is the code to mail to the user for the
	// second step.
	EmailCode string
}

// EmailCodeLifetime and EmailCodeTries bound a mailed sign-in code.
const (
	EmailCodeLifetime = 10 * time.Minute
	EmailCodeTries    = 5
)

// The results a login record can hold.
const (
	LoginSuccess        = "success"
	LoginBadPassword    = "bad_password"
	LoginLocked         = "locked"
	LoginDisabled       = "disabled"
	LoginBadCode        = "bad_code"
	LoginCodeReused     = "code_reused"
	LoginIPRefused      = "ip_refused"
	LoginPasswordOK     = "password_ok" // the first of two steps
	LoginLogout         = "logout"
	LoginPasswordChange = "password_change"
	LoginPasswordReset  = "password_reset"
)

// LoginRecord is one line of a user's login history.
type LoginRecord struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Result    string    `json:"result"`
	TwoFactor string    `json:"two_factor"`
}

// LoginFilter selects login records, newest first.
type LoginFilter struct {
	UserID *int64
	Cursor int64 // records with an id below it
	Limit  int
}

// Validate fills in the default limit and checks it.
func (f *LoginFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	return nil
}

// Who must use a second factor, by workspace setting.
const (
	Require2FANone   = "none"
	Require2FAAdmins = "admins"
	Require2FAAll    = "all"
)

// SecuritySettings are a workspace's sign-in rules.
type SecuritySettings struct {
	// IdleTimeoutMinutes ends a session unused this long (5 to 720).
	IdleTimeoutMinutes int `json:"idle_timeout_minutes"`
	// Require2FA is none, admins or all.
	Require2FA string `json:"require_2fa"`
	// AllowedIPs, when not empty, are the only networks users and API
	// keys of the workspace may act from.
	AllowedIPs []string `json:"allowed_ips"`
	// PasswordMaxAgeDays, when not 0, makes a user change a password this
	// old before anything else (30 to 730). Off by default: ASVS 2.1.10
	// advises against periodic rotation; some policies demand it.
	PasswordMaxAgeDays int `json:"password_max_age_days"`
}

// DefaultSecuritySettings are the settings of a workspace that set none.
func DefaultSecuritySettings() SecuritySettings {
	return SecuritySettings{IdleTimeoutMinutes: int(DefaultIdleTimeout / time.Minute), Require2FA: Require2FANone, AllowedIPs: []string{}}
}

// Validate checks the settings.
func (s *SecuritySettings) Validate() error {
	if s.IdleTimeoutMinutes < 5 || s.IdleTimeoutMinutes > 720 {
		return Invalid("idle_timeout_minutes", "must be between 5 and 720")
	}
	switch s.Require2FA {
	case Require2FANone, Require2FAAdmins, Require2FAAll:
	default:
		return Invalid("require_2fa", "must be none, admins or all")
	}
	if s.PasswordMaxAgeDays != 0 && (s.PasswordMaxAgeDays < 30 || s.PasswordMaxAgeDays > 730) {
		return Invalid("password_max_age_days", "must be 0 (no expiry) or between 30 and 730")
	}
	if s.AllowedIPs == nil {
		s.AllowedIPs = []string{}
	}
	return CheckNetworks("allowed_ips", s.AllowedIPs)
}

// Requires2FA reports whether the settings make a user of the role use a
// second factor.
func (s *SecuritySettings) Requires2FA(r Role) bool {
	return s.Require2FA == Require2FAAll || s.Require2FA == Require2FAAdmins && r == RoleAdmin
}

// SessionAuth is a live session and its user.
type SessionAuth struct {
	User    *User
	Session *Session
	// Pending is true for a session that has passed only the password.
	Pending bool
	// Restricted, when not empty, is what the user must do before
	// anything else: RestrictPasswordChange or RestrictEnrol2FA.
	Restricted string
	// Permissions are those of the user's role when it is a workspace's
	// own, read with the session; nil for a built-in role.
	Permissions []Permission
}

// Why a session may do only one thing.
const (
	RestrictPasswordChange = "password_change"
	RestrictEnrol2FA       = "2fa_enrolment"
)

// TOTPEnrolment is a new TOTP secret, shown once.
type TOTPEnrolment struct {
	URI    string `json:"otpauth_uri"`
	Secret string `json:"secret"`
}

// Audited actions of staff accounts.
const (
	AuditLogin = "user.login"
	// AuditLoginFailed is a refused sign-in step: a wrong password or
	// code, a locked account or address, a disabled user, a network
	// outside the allowlist. Its detail holds the result, never what was
	// typed; an unknown user's entry is by actor "anonymous".
	AuditLoginFailed    = "user.login_failed"
	AuditLogout         = "user.logout"
	AuditUserCreate     = "user.create"
	AuditUserUpdate     = "user.update"
	AuditPasswordChange = "user.password_change"
	AuditSessionsEnd    = "user.sessions_end"
	AuditTOTPEnable     = "user.totp_enable"
	AuditTOTPDisable    = "user.totp_disable"
	AuditSettingsUpdate = "settings.security_update"
	AuditPasswordReset  = "user.password_reset"
	AuditEmail2FA       = "user.email_2fa"
	AuditUserInvite     = "user.invite"
	AuditLanguage       = "user.language"
	AuditUserDelete     = "user.delete"
)

// UserService manages staff users, their sign-in and their sessions.
// Sign-in methods need no actor; the others act for the actor of the
// context, in its workspace.
type UserService interface {
	// CreateUser creates u in the actor's workspace with the password
	// (empty: none yet). EINVALID for a bad address, role or password,
	// ECONFLICT when the address is taken.
	CreateUser(ctx context.Context, u *User, password string) error
	// FindUsers returns a page of the workspace's users and the cursor of
	// the next (0: none).
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int64, error)
	// FindUserByID returns the user, or ENOTFOUND.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// UpdateUser changes the user; a change of role or a disabling ends
	// all the user's sessions. ECONFLICT for demoting or disabling the
	// last active administrator.
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)
	// DeleteUser ends the user's sessions and removes the account's
	// personal data, keeping its id for the audit log. ECONFLICT for
	// one's own account and for the last active administrator.
	DeleteUser(ctx context.Context, id int64) error

	// Login checks e-mail and password. EUNAUTHORIZED for any wrong
	// credential, unknown or disabled user, alike; ERATELIMIT while the
	// account or the address is locked.
	Login(ctx context.Context, a LoginAttempt) (*LoginResult, error)
	// LoginSecondFactor completes a pending sign-in with a TOTP or
	// recovery code, replacing the pending token with a new one.
	LoginSecondFactor(ctx context.Context, pendingToken, code string, ip netip.Addr, userAgent string) (*LoginResult, error)
	// AuthenticateSession returns the live session of the token, or
	// EUNAUTHORIZED; EFORBIDDEN when an allowlist refuses ip. touch
	// extends its idle time. The user it returns carries no address.
	AuthenticateSession(ctx context.Context, token string, ip netip.Addr, touch bool) (*SessionAuth, error)
	// Logout ends the session of the token.
	Logout(ctx context.Context, token string) error

	// ChangePassword changes the actor's password after checking the
	// current one, and ends the actor's other sessions.
	ChangePassword(ctx context.Context, current, next string) error
	// SetLanguage sets the language of the actor's admin pages; EINVALID
	// for one the catalog does not have.
	SetLanguage(ctx context.Context, lang string) error
	// FindSessions returns the live sessions of the user.
	FindSessions(ctx context.Context, userID int64) ([]*Session, error)
	// EndSession ends one session of the user; ENOTFOUND when it is not
	// theirs.
	EndSession(ctx context.Context, userID, sessionID int64) error
	// EndSessions ends every session of the user.
	EndSessions(ctx context.Context, userID int64) error
	// FindLogins returns login records, newest first, and the cursor of
	// the next page.
	FindLogins(ctx context.Context, f LoginFilter) ([]*LoginRecord, int64, error)

	// SecuritySettings returns the workspace's sign-in rules.
	SecuritySettings(ctx context.Context) (*SecuritySettings, error)
	// UpdateSecuritySettings replaces them.
	UpdateSecuritySettings(ctx context.Context, s *SecuritySettings) error
	// CheckIP returns EFORBIDDEN unless the workspace's list, and for a
	// user actor the user's, allow ip.
	CheckIP(ctx context.Context, ip netip.Addr) error

	// BeginTOTP makes a new TOTP secret for the actor, not yet in force.
	BeginTOTP(ctx context.Context) (*TOTPEnrolment, error)
	// ConfirmTOTP puts the secret begun in force once code matches it, and
	// returns ten recovery codes, shown only now. Other sessions end.
	ConfirmTOTP(ctx context.Context, code string) ([]string, error)
	// DisableTOTP turns the actor's second factor off after checking the
	// password.
	DisableTOTP(ctx context.Context, password string) error
	// SetEmail2FA turns codes mailed at sign-in on or off as the actor's
	// second factor, after checking the password; other sessions end.
	SetEmail2FA(ctx context.Context, password string, on bool) error

	// RequestPasswordReset makes a reset link's token for the active user
	// of the address and, when mail is not nil, queues the message it
	// makes of the token in the same transaction (QueueStaffMail's
	// sealing). ENOTFOUND, never shown to the caller, when there is no
	// such user or too many links were asked for; the work done is the
	// same as for a user found, so that its time tells nothing either.
	RequestPasswordReset(ctx context.Context, workspace, email string, ip netip.Addr, mail func(*PasswordReset) *Message) (*PasswordReset, error)
	// QueueStaffMail queues a message to a member of staff of the actor's
	// workspace, or to the subject of one of its requests, on the
	// persisted mail queue, sealed under a key of its own that is
	// shredded once it is sent or fails, or when expires passes (its link
	// or code then no longer works, and it is not sent any more).
	QueueStaffMail(ctx context.Context, m *Message, expires time.Time) error
	// CheckPasswordReset reports whether the token can still reset a
	// password: ENOTFOUND when unknown or used, EGONE when expired.
	CheckPasswordReset(ctx context.Context, token string) error
	// ResetPassword sets a new password with the token, which it uses up,
	// and ends all the user's sessions.
	ResetPassword(ctx context.Context, token, password string, ip netip.Addr, userAgent string) error
	// InviteUser makes a link for a user without a password to set one,
	// good for InviteLifetime; earlier links of the user stop working.
	// ECONFLICT when the user has a password or is disabled.
	InviteUser(ctx context.Context, id int64) (*PasswordReset, error)
}

// InviteLifetime is how long an invitation's link works.
const InviteLifetime = 72 * time.Hour

// PasswordResetLifetime is how long a reset link works (ASVS 2.5.x).
const PasswordResetLifetime = 10 * time.Minute

// PasswordReset is a reset link's token, made for the user of an address,
// and where to mail it.
type PasswordReset struct {
	UserID    int64
	Email     string
	Token     string
	ExpiresAt time.Time
}
