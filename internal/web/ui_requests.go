package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// The data-subject request pages: the register with its filters, and one
// request with what can be done to it. They show the subject's address,
// so both are personal reads (personalReads).

// dsrRow is a request as the pages show it.
type dsrRow struct {
	*custos.DSRRequest
	// Overdue is true for an open request past its due date.
	Overdue bool
}

// requestsView is what the register shows.
type requestsView struct {
	Rows []dsrRow
	// Filter is the query the page was asked with, refilled in its form.
	Filter url.Values
	Next   string // the query of the next page, "" when there is none
	Types  []custos.DSRType
	States []custos.DSRStatus
}

// dsrTypes and dsrStates are the choices of the register's forms.
var (
	dsrTypes = []custos.DSRType{custos.DSRAccess, custos.DSRPortability, custos.DSRRectification,
		custos.DSRErasure, custos.DSRRestriction, custos.DSRObjection}
	dsrStates = []custos.DSRStatus{custos.DSRReceived, custos.DSRVerificationSent, custos.DSRVerified,
		custos.DSRCompleted, custos.DSRRejected}
)

// rowsOf marks the overdue requests.
func rowsOf(rs []*custos.DSRRequest, now time.Time) []dsrRow {
	rows := make([]dsrRow, len(rs))
	for i, d := range rs {
		rows[i] = dsrRow{DSRRequest: d, Overdue: d.Status.Open() && d.DueAt.Before(now)}
	}
	return rows
}

// requestsPage renders the request register, filtered by the same query
// parameters as GET /api/v1/dsr-requests.
func (s *server) requestsPage(w http.ResponseWriter, r *http.Request) {
	q := pageForm(r)
	f, err := dsrFilterFromQuery(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rs, next, err := s.svc.FindDSRRequests(r.Context(), f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := requestsView{Rows: rowsOf(rs, time.Now()), Filter: q, Next: nextQuery(q, next), Types: dsrTypes, States: dsrStates}
	s.renderPage(w, r, "requests", "ui.nav.requests", v)
}

// requestView is what a request's page shows.
type requestView struct {
	dsrRow
	Formats []string
	// Extendable: the deadline may still be extended (Art. 12(3)).
	Extendable bool
}

// requestPage renders one request: its subject, dates, notes, history and
// answer, and the forms that act on it.
func (s *server) requestPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d, err := s.svc.FindDSRRequest(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now := time.Now()
	v := requestView{dsrRow: rowsOf([]*custos.DSRRequest{d}, now)[0], Formats: []string{"zip", "json", "csv", "xlsx"},
		Extendable: d.CheckExtension(1, now) == nil}
	s.renderPage(w, r, "request", "ui.admin.dsr.title", v)
}

// pageForm drops the empty parameters of a page's query, as a filter form
// sends every field whether filled or not, so that the API's parsers read
// only what was chosen; it returns what is left.
func pageForm(r *http.Request) url.Values {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{} // the parser refuses it, naming the fault
	}
	for k, vs := range q {
		if len(vs) == 1 && strings.TrimSpace(vs[0]) == "" {
			delete(q, k)
		}
	}
	r.URL.RawQuery = q.Encode()
	return q
}

// nextQuery returns the query of the page after this one: the same
// filters with the cursor of next, or "" when there is no next page.
func nextQuery(q url.Values, next int64) string {
	c := encodeCursor(next)
	if c == nil {
		return ""
	}
	n := url.Values{}
	for k, v := range q {
		n[k] = v
	}
	n.Set("cursor", *c)
	return "?" + n.Encode()
}
