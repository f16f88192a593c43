package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// self returns the signed-in user actor of the request, or EFORBIDDEN for
// an API key: /api/v1/me is about a person.
func self(r *http.Request) (custos.Actor, error) {
	a, ok := custos.ActorFrom(r.Context())
	if !ok || a.Kind != custos.ActorUser {
		return a, custos.Errorf(custos.EFORBIDDEN, "This route is for a signed-in user, not an API key.")
	}
	return a, nil
}

// getMe answers the signed-in user.
func (s *server) getMe(w http.ResponseWriter, r *http.Request) {
	a, err := self(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.FindUserByID(r.Context(), a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, u)
}

// passwordChange is the body of POST /api/v1/me/password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword changes the caller's password; their other sessions end.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var b passwordChange
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.ChangePassword(r.Context(), b.CurrentPassword, b.NewPassword); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// readLoginFilter reads the cursor, limit and user of a login history
// page.
func readLoginFilter(r *http.Request) (custos.LoginFilter, error) {
	var f custos.LoginFilter
	q, err := readQuery(r, []string{"cursor", "limit", "user_id"})
	if err == nil {
		f.Cursor, err = q.cursor()
	}
	if err == nil {
		f.Limit, err = q.limit()
	}
	if err == nil {
		f.UserID, err = q.id("user_id")
	}
	return f, err
}

// myLogins answers the caller's login history, newest first.
func (s *server) myLogins(w http.ResponseWriter, r *http.Request) {
	a, err := self(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := readLoginFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.UserID = &a.ID
	s.writeLogins(w, r, f)
}

// listLogins answers the workspace's login history, of one user with
// user_id.
func (s *server) listLogins(w http.ResponseWriter, r *http.Request) {
	f, err := readLoginFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeLogins(w, r, f)
}

func (s *server) writeLogins(w http.ResponseWriter, r *http.Request, f custos.LoginFilter) {
	logins, next, err := s.svc.FindLogins(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.LoginRecord]{Data: orEmpty(logins), NextCursor: encodeCursor(next)})
}

// mySessions answers the caller's live sessions.
func (s *server) mySessions(w http.ResponseWriter, r *http.Request) {
	a, err := self(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSessions(w, r, a.ID)
}

func (s *server) writeSessions(w http.ResponseWriter, r *http.Request, user int64) {
	ss, err := s.svc.FindSessions(r.Context(), user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Session]{Data: orEmpty(ss)})
}

// endMySession ends one of the caller's sessions.
func (s *server) endMySession(w http.ResponseWriter, r *http.Request) {
	a, err := self(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := pathID(r, "id", "session")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.EndSession(r.Context(), a.ID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// userSessions answers a user's live sessions.
func (s *server) userSessions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSessions(w, r, id)
}

// endUserSessions ends every session of a user.
func (s *server) endUserSessions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.EndSessions(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// userCreate is the body of POST /api/v1/users.
type userCreate struct {
	Email              string      `json:"email"`
	Role               custos.Role `json:"role"`
	Password           string      `json:"password"`
	MustChangePassword bool        `json:"must_change_password"`
	AllowedIPs         []string    `json:"allowed_ips"`
}

// createUser creates a staff user with a first password.
func (s *server) createUser(w http.ResponseWriter, r *http.Request) {
	var b userCreate
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Password == "" && (s.mailer == nil || s.baseURL == "") {
		s.writeError(w, r, custos.Invalid("password", "is required: mail is not configured, so no invitation can be sent"))
		return
	}
	u := &custos.User{Email: b.Email, Role: b.Role, MustChangePassword: b.MustChangePassword, AllowedIPs: b.AllowedIPs}
	if err := s.svc.CreateUser(r.Context(), u, b.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Password == "" {
		if err := s.invite(r, u.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeJSON(w, r, http.StatusCreated, u)
}

// inviteUser mails a user without a password a new link to set one.
func (s *server) inviteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.mailer == nil || s.baseURL == "" {
		s.writeError(w, r, custos.Errorf(custos.EUNAVAILABLE, "Mail is not configured on this server, so no invitation can be sent."))
		return
	}
	if err := s.invite(r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// invite makes an invitation link for the user and queues it for the mail
// worker.
func (s *server) invite(r *http.Request, id int64) error {
	pr, err := s.svc.InviteUser(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.svc.QueueStaffMail(r.Context(), InvitationMessage(pr, s.baseURL), pr.ExpiresAt); err != nil {
		s.log.WarnContext(r.Context(), "invitation not queued", slog.Int64("user", id),
			slog.String("error", strings.ReplaceAll(err.Error(), pr.Email, "<user>")))
		return custos.Errorf(custos.EUNAVAILABLE, "The invitation could not be queued; send it again with POST /api/v1/users/%d/invitation.", id)
	}
	return nil
}

// InvitationMessage is the mail that invites a user to set a password.
func InvitationMessage(pr *custos.PasswordReset, baseURL string) *custos.Message {
	return &custos.Message{To: pr.Email, Subject: "You are invited to Custos", Ref: "user-" + strconv.FormatInt(pr.UserID, 10), Transactional: true,
		Text: "An account on Custos was made for you.\n\nOpen this link within 72 hours to choose your password; it works once:\n\n" +
			strings.TrimRight(baseURL, "/") + "/login/reset/" + pr.Token + "\n\nThen sign in at " + strings.TrimRight(baseURL, "/") + "/login\n"}
}

// listUsers answers a page of the workspace's users.
func (s *server) listUsers(w http.ResponseWriter, r *http.Request) {
	var f custos.UserFilter
	q, err := readQuery(r, []string{"cursor", "limit"})
	if err == nil {
		f.After, err = q.cursor()
	}
	if err == nil {
		f.Limit, err = q.limit()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, next, err := s.svc.FindUsers(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.User]{Data: orEmpty(users), NextCursor: encodeCursor(next)})
}

// getUser answers one user.
func (s *server) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.FindUserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, u)
}

// userPatch is the body of PATCH /api/v1/users/{id}.
type userPatch struct {
	Role               *custos.Role `json:"role"`
	Disabled           *bool        `json:"disabled"`
	MustChangePassword *bool        `json:"must_change_password"`
	AllowedIPs         *[]string    `json:"allowed_ips"`
}

// updateUser changes a user's role, status, forced password change or
// networks; a new role or a disabling ends the user's sessions.
func (s *server) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b userPatch
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.UpdateUser(r.Context(), id, custos.UserUpdate{Role: b.Role, Disabled: b.Disabled, MustChangePassword: b.MustChangePassword, AllowedIPs: b.AllowedIPs})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, u)
}

// deleteUser ends a user's sessions and removes the account's personal
// data.
func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteUser(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// beginTOTP makes a new TOTP secret for the caller, shown only now.
func (s *server) beginTOTP(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.svc.BeginTOTP(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, e)
}

// totpConfirm is the body of POST /api/v1/me/totp/confirm.
type totpConfirm struct {
	Code string `json:"code"`
}

// recoveryBody answers an enrolment with the recovery codes, shown once.
type recoveryBody struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// confirmTOTP puts the caller's new secret in force.
func (s *server) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var b totpConfirm
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.svc.ConfirmTOTP(r.Context(), b.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, recoveryBody{RecoveryCodes: codes})
}

// totpDisable is the body of POST /api/v1/me/totp/disable.
type totpDisable struct {
	Password string `json:"password"`
}

// disableTOTP turns the caller's second factor off.
func (s *server) disableTOTP(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var b totpDisable
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DisableTOTP(r.Context(), b.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// email2FA is the body of PUT /api/v1/me/email-2fa.
type email2FA struct {
	Enabled  bool   `json:"enabled"`
	Password string `json:"password"`
}

// setEmail2FA turns codes mailed at sign-in on or off as the caller's
// second factor.
func (s *server) setEmail2FA(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var b email2FA
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Enabled && s.mailer == nil {
		s.writeError(w, r, custos.Errorf(custos.EUNAVAILABLE, "Mail is not configured on this server, so no sign-in code can be sent."))
		return
	}
	if err := s.svc.SetEmail2FA(r.Context(), b.Password, b.Enabled); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// getSecuritySettings answers the workspace's sign-in rules.
func (s *server) getSecuritySettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.SecuritySettings(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

// putSecuritySettings replaces the workspace's sign-in rules.
func (s *server) putSecuritySettings(w http.ResponseWriter, r *http.Request) {
	var st custos.SecuritySettings
	if err := decodeJSON(w, r, &st); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.UpdateSecuritySettings(r.Context(), &st); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

// setLanguage sets the language of the caller's admin pages.
func (s *server) setLanguage(w http.ResponseWriter, r *http.Request) {
	if _, err := self(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var b struct {
		Language string `json:"language"`
	}
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.SetLanguage(r.Context(), b.Language); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
