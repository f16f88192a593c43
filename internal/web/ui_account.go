package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// accountView is what My account shows besides the user: their sessions
// and latest sign-ins.
type accountView struct {
	Sessions []*custos.Session
	Logins   []*custos.LoginRecord
}

// accountLogins is how many of one's latest sign-ins My account lists.
const accountLogins = 10

// accountPage renders the caller's own account: language, password,
// second factors, sessions and latest sign-ins.
func (s *server) accountPage(w http.ResponseWriter, r *http.Request) {
	a, err := self(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var v accountView
	if v.Sessions, err = s.svc.FindSessions(r.Context(), a.ID); err == nil {
		v.Logins, _, err = s.svc.FindLogins(r.Context(), custos.LoginFilter{UserID: &a.ID, Limit: accountLogins})
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "account", "ui.nav.account", v)
}
