package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// resetRequestPage shows the form that asks for a reset link.
func (s *server) resetRequestPage(w http.ResponseWriter, r *http.Request) {
	s.writeLogin(w, r, http.StatusOK, loginView{Kind: "reset-request"})
}

// resetRequest queues a reset link for the mail worker when the address
// belongs to an active user. The answer is the same either way, and so is
// the work behind it (RequestPasswordReset), so that neither the page nor
// its timing tells whether it did.
func (s *server) resetRequest(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	if s.mailer == nil || s.baseURL == "" {
		s.writeLogin(w, r, http.StatusServiceUnavailable, loginView{Kind: "reset-request",
			Error: loginText(r, "login.error.no_mail")})
		return
	}
	_, err := s.svc.RequestPasswordReset(r.Context(), strings.TrimSpace(r.PostForm.Get("workspace")), r.PostForm.Get("email"), s.clientIP(r), s.resetMessage)
	switch custos.ErrorCode(err) {
	case "", custos.ENOTFOUND:
	default:
		s.loginError(w, r, err, loginView{Kind: "reset-request"})
		return
	}
	s.writeLogin(w, r, http.StatusOK, loginView{Kind: "reset-sent"})
}

// resetMessage is the mail holding a reset link.
func (s *server) resetMessage(pr *custos.PasswordReset) *custos.Message {
	return &custos.Message{To: pr.Email, Subject: "Reset your Custos password", Ref: fmt.Sprintf("user-%d", pr.UserID), Transactional: true,
		Text: "Someone, we hope you, asked to reset the password of your Custos account.\n\n" +
			"Open this link within ten minutes to choose a new one; it works once:\n\n" +
			s.baseURL + "/login/reset/" + pr.Token + "\n\nIf it was not you, ignore this mail: your password stays as it is.\n"}
}

// resetError renders the page for a reset link that does not work.
func (s *server) resetError(w http.ResponseWriter, r *http.Request, err error) {
	switch custos.ErrorCode(err) {
	case custos.ENOTFOUND:
		s.writeLogin(w, r, http.StatusNotFound, loginView{Kind: "reset-invalid", Error: loginText(r, "login.reset.invalid")})
	case custos.EGONE:
		s.writeLogin(w, r, http.StatusGone, loginView{Kind: "reset-invalid", Error: loginText(r, "login.reset.expired")})
	case custos.EINVALID:
		// The password policy's reason is in English.
		s.writeLogin(w, r, http.StatusBadRequest, loginView{Kind: "reset-new", Error: loginText(r, "login.reset.bad_password", custos.ErrorMessage(err))})
	default:
		s.loginError(w, r, err, loginView{Kind: "reset-request"})
	}
}

// resetPage shows the new-password form of a live link. It changes
// nothing: mail scanners follow links.
func (s *server) resetPage(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.CheckPasswordReset(r.Context(), r.PathValue("token")); err != nil {
		s.resetError(w, r, err)
		return
	}
	s.writeLogin(w, r, http.StatusOK, loginView{Kind: "reset-new"})
}

// resetSubmit sets the new password with the link, which it uses up.
func (s *server) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	err := s.svc.ResetPassword(r.Context(), r.PathValue("token"), r.PostForm.Get("password"), s.clientIP(r), r.UserAgent())
	if err != nil {
		s.resetError(w, r, err)
		return
	}
	for _, name := range []string{sessionCookie, pendingCookie} {
		setCookie(w, name, "", 0)
	}
	s.writeLogin(w, r, http.StatusOK, loginView{Kind: "reset-done"})
}
