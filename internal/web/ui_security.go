package web

import (
	"net/http"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// securityView is what the security settings page shows.
type securityView struct {
	*custos.SecuritySettings
	// Networks is the workspace's allowlist as the form edits it.
	Networks string
	Choices  []string
}

// securityPage renders the workspace's sign-in rules in the form that
// replaces them (PUT /api/v1/settings/security).
func (s *server) securityPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.SecuritySettings(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := securityView{SecuritySettings: st, Networks: strings.Join(st.AllowedIPs, ", "),
		Choices: []string{custos.Require2FANone, custos.Require2FAAdmins, custos.Require2FAAll}}
	s.renderPage(w, r, "security", "ui.nav.security", v)
}
