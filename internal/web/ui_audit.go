package web

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/custos/custos/internal/custos"
)

// The audit pages: the audit log with its filters and the verification of
// its chain, and the login history of the workspace.

// auditView is what the audit log page shows.
type auditView struct {
	Entries []*custos.AuditEntry
	Filter  url.Values
	Next    string
	// Report is the verification of the chain, made on the first page
	// only: it reads the whole chain.
	Report *custos.AuditReport
}

// localMinute is the value of a datetime-local input, read as UTC.
var localMinute = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$`)

// auditPage renders a page of the audit log, filtered by the query
// parameters of GET /api/v1/audit, with the chain's verification.
func (s *server) auditPage(w http.ResponseWriter, r *http.Request) {
	q := pageForm(r)
	// The form's times are minutes in UTC; the API reads RFC 3339.
	api := url.Values{}
	for k, v := range q {
		api[k] = v
		if (k == "after" || k == "before") && localMinute.MatchString(v[0]) {
			api[k] = []string{v[0] + ":00Z"}
		}
	}
	r.URL.RawQuery = api.Encode()
	f, err := auditFilter(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := auditView{Filter: q}
	var next int64
	if v.Entries, next, err = s.svc.FindAudit(r.Context(), f); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Next = nextQuery(q, next)
	if f.Cursor == 0 {
		if v.Report, err = s.svc.VerifyAudit(r.Context()); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.renderPage(w, r, "audit", "ui.nav.audit", v)
}

// loginsView is what the login history page shows.
type loginsView struct {
	Logins []*custos.LoginRecord
	Filter url.Values
	Next   string
}

// loginsPage renders a page of the workspace's login history, of one
// user with user_id.
func (s *server) loginsPage(w http.ResponseWriter, r *http.Request) {
	q := pageForm(r)
	f, err := readLoginFilter(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	logins, next, err := s.svc.FindLogins(r.Context(), f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "logins", "ui.admin.nav.logins", loginsView{Logins: logins, Filter: q, Next: nextQuery(q, next)})
}
