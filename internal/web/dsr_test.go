package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
	"github.com/custos/custos/internal/mail"
)

// linkRE finds the verification link in a mail.
var linkRE = regexp.MustCompile(regexp.QuoteMeta(testBaseURL) + `/dsr/verify/([A-Za-z0-9_-]+)`)

// linkPath returns the path of the verification link in the last mail.
func (e *testEnv) linkPath(t *testing.T) string {
	t.Helper()
	m := linkRE.FindStringSubmatch(e.mail.last(t).Text)
	if m == nil {
		t.Fatalf("no verification link in %q", e.mail.last(t).Text)
	}
	return "/dsr/verify/" + m[1]
}

// page serves a public page (no token) and checks its status and headers.
func (e *testEnv) page(t *testing.T, method, path string, want int) string {
	t.Helper()
	res := e.do(request{method: method, path: path})
	if res.status != want {
		t.Fatalf("%s %s: status %d, want %d; %s", method, path, res.status, want, res.body)
	}
	h := res.header
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	csp := h.Get("Content-Security-Policy")
	frame, xfo := "frame-ancestors 'none'", "DENY"
	if method == "GET" && strings.HasPrefix(path, "/f/") && want == 200 {
		// The hosted page of a form is framed by the admin pages' preview,
		// and by no other site.
		frame, xfo = "frame-ancestors 'self'", "SAMEORIGIN"
	}
	for _, d := range []string{"default-src 'none'", "form-action 'self'", frame} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "script-src") || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != xfo ||
		h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", h)
	}
	return string(res.body)
}

func requestPath(id int64) string { return "/api/v1/dsr-requests/" + strconv.FormatInt(id, 10) }

func TestDSRVerificationFlow(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	path := requestPath(w.request)
	const secretNote = "Zq5 the requester wrote: my password is hunter2"
	e.call(w.token, "POST", path+"/notes", map[string]any{"text": secretNote}, 200, nil)

	var d custos.DSRRequest
	e.call(w.token, "POST", path+"/verification", nil, 200, &d)
	if d.Status != custos.DSRVerificationSent || d.VerificationSentAt == nil || d.ActedBy == "" {
		t.Fatalf("after sending %+v", d)
	}
	m := e.mail.last(t)
	if m.To != w.email || m.Ref != fmt.Sprintf("dsr-%d", w.request) || !strings.Contains(m.Text, "a copy of the personal data") {
		t.Fatalf("mail %+v", m)
	}
	if strings.Contains(m.Text, "Zq5") || strings.Contains(m.Text, "hunter2") || strings.Contains(m.Subject+m.Text, w.email) {
		t.Fatalf("the mail repeats what it should not: %q", m.Text)
	}
	link := e.linkPath(t)

	// Mail scanners follow links: GET shows a form and changes nothing.
	for range 3 {
		body := e.page(t, "GET", link, 200)
		if !strings.Contains(body, `<form method="post">`) || !strings.Contains(body, "Confirm") {
			t.Fatalf("confirm page %s", body)
		}
	}
	e.page(t, "HEAD", link, 200)
	// In the language the browser asks for.
	pl := e.do(request{method: "GET", path: link, header: map[string]string{"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}})
	if pl.status != 200 || !strings.Contains(string(pl.body), `<html lang="pl">`) || !strings.Contains(string(pl.body), "Potwierdzam") ||
		!strings.Contains(string(pl.body), "kopii Twoich danych osobowych") {
		t.Fatalf("Polish confirm page %d %s", pl.status, pl.body)
	}
	e.call(w.token, "GET", path, nil, 200, &d)
	if d.Status != custos.DSRVerificationSent || d.VerifiedAt != nil {
		t.Fatalf("GET changed the request: %+v", d)
	}

	// A cross-site form post is refused.
	res := e.do(request{method: "POST", path: link, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if res.status != 403 {
		t.Fatalf("cross-site post: %d", res.status)
	}
	if body := e.page(t, "POST", link, 200); !strings.Contains(body, "Thank you") {
		t.Fatalf("thank-you page %s", body)
	}
	e.call(w.token, "GET", path, nil, 200, &d)
	if d.Status != custos.DSRVerified || d.VerifiedAt == nil || d.ActedBy != custos.DSRActorSubject {
		t.Fatalf("after confirming %+v", d)
	}
	// The link is used up; an unknown one looks the same.
	used := e.page(t, "POST", link, 404)
	e.page(t, "GET", link, 404)
	unknown := e.page(t, "GET", "/dsr/verify/nonsense", 404)
	if used != unknown || strings.Contains(used, w.email) {
		t.Fatalf("a used link's page differs from an unknown one's:\n%s\n%s", used, unknown)
	}
	e.call(w.token, "POST", path+"/verification", nil, 409, nil)

	t.Run("expiry", func(t *testing.T) {
		var r custos.DSRRequest
		e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "erasure", "email": "late@example.com"}, 201, &r)
		e.call(w.token, "POST", requestPath(r.ID)+"/verification", nil, 200, nil)
		first := e.linkPath(t)
		e.call(w.token, "POST", requestPath(r.ID)+"/verification", nil, 200, nil)
		second := e.linkPath(t)
		e.page(t, "GET", first, 404) // replaced
		now := e.db.Now
		t.Cleanup(func() { e.db.Now = now })
		e.db.Now = func() time.Time { return now().Add(custos.DSRTokenTTL + time.Hour) }
		if body := e.page(t, "GET", second, 410); !strings.Contains(body, "expired") {
			t.Fatalf("expired page %s", body)
		}
		e.page(t, "POST", second, 410)
		e.call(w.token, "GET", requestPath(r.ID), nil, 200, &r)
		if r.Status != custos.DSRVerificationSent {
			t.Fatalf("an expired link changed the request: %+v", r)
		}
	})
	t.Run("mail refused", func(t *testing.T) {
		// The link is queued, so the request answers at once; the mail
		// server's refusal, later, fails the message, and neither the
		// queue nor the answer repeats the address.
		var r custos.DSRRequest
		e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "access", "email": "bounce@example.com"}, 201, &r)
		e.mail.mu.Lock()
		e.mail.fail = fmt.Errorf("%w: no such user bounce@example.com", &mail.SMTPError{Stage: "recipient", Code: 550, Status: "5.1.1"})
		e.mail.mu.Unlock()
		defer func() { e.mail.mu.Lock(); e.mail.fail = nil; e.mail.mu.Unlock() }()
		e.call(w.token, "POST", requestPath(r.ID)+"/verification", nil, 200, &r)
		if r.Status != custos.DSRVerificationSent {
			t.Fatalf("not recorded as sent: %+v", r)
		}
		e.mail.deliver(t)
		q, err := e.db.MailQueueStatus(context.Background())
		must(t, err)
		last := q[len(q)-1]
		if last.Status != custos.MailFailed || last.Sealed || strings.Contains(last.LastError, "bounce") || !strings.Contains(last.LastError, "550") {
			t.Fatalf("the refused message: %+v", last)
		}
	})
	t.Run("no mailer", func(t *testing.T) {
		s := newServer(e.db, nil)
		env := &testEnv{t: t, db: e.db, srv: s, mail: e.mail}
		var r custos.DSRRequest
		env.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "access", "email": "x@example.com"}, 201, &r)
		env.call(w.token, "POST", requestPath(r.ID)+"/verification", nil, 503, nil)
	})
}

func TestDSRExecuteAccess(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	path := requestPath(w.request)

	e.call(w.token, "POST", path+"/execute", nil, 409, nil) // not verified
	e.call(w.token, "GET", path+"/answer", nil, 404, nil)
	e.call(w.token, "POST", path+"/verification", nil, 200, nil)
	e.page(t, "POST", e.linkPath(t), 200)

	var d custos.DSRRequest
	e.call(w.token, "POST", path+"/execute", nil, 200, &d) // zip by default
	if d.Status != custos.DSRCompleted || d.Answer == nil || d.Answer.Kind != custos.DSRAnswerExport || d.Answer.Format != "zip" || d.Answer.Size == 0 {
		t.Fatalf("executed %+v answer %+v", d, d.Answer)
	}
	res := e.call(w.token, "GET", path+"/answer", nil, 200, nil)
	if ct := res.header.Get("Content-Type"); ct != "application/zip" || int64(len(res.body)) != d.Answer.Size ||
		!strings.Contains(res.header.Get("Content-Disposition"), fmt.Sprintf("dsr-%d.zip", w.request)) {
		t.Fatalf("answer %s %d bytes %v", ct, len(res.body), res.header)
	}
	z, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	must(t, err)
	var x custos.Export
	for _, f := range z.File {
		if f.Name == "export.json" {
			rc, err := f.Open()
			must(t, err)
			must(t, json.NewDecoder(rc).Decode(&x))
			rc.Close()
		}
	}
	if x.Contact == nil || x.Contact.Email != w.email || len(x.Requests) != 1 || x.Requests[0].ID != w.request {
		t.Fatalf("the stored export: %+v", x)
	}
	e.call(w.token, "POST", path+"/execute", nil, 409, nil) // completed
	var pending custos.DSRRequest
	e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "portability", "contact_id": w.contact}, 201, &pending)
	e.call(w.token, "POST", requestPath(pending.ID)+"/verification", nil, 200, nil)
	e.page(t, "POST", e.linkPath(t), 200)

	// Forgetting the contact removes the stored export and the address.
	e.call(w.token, "POST", fmt.Sprintf("/api/v1/contacts/%d/forget", w.contact), map[string]any{"mode": "erase"}, 200, nil)
	if res := e.call(w.token, "POST", requestPath(pending.ID)+"/execute", map[string]any{"format": "json"}, 409, nil); !strings.Contains(res.apiError(t).Message, "forgotten") {
		t.Fatalf("executing for a forgotten contact: %s", res.body)
	}
	e.call(w.token, "GET", path+"/answer", nil, 410, nil)
	var after custos.DSRRequest
	e.call(w.token, "GET", path, nil, 200, &after)
	if after.Email != "" || after.Notes == nil || len(after.Notes) != 0 || after.PersonalDataErasedAt == nil || after.Status != custos.DSRCompleted || after.Answer.Size == 0 {
		t.Fatalf("after forget %+v", after)
	}
}

func TestDSRExecuteErasure(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	var d custos.DSRRequest
	e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "erasure", "contact_id": w.contact}, 201, &d)
	path := requestPath(d.ID)
	e.call(w.token, "POST", path+"/verification", nil, 200, nil)
	if to := e.mail.last(t).To; to != w.email {
		t.Fatalf("a request by contact mailed %q", to)
	}
	e.page(t, "POST", e.linkPath(t), 200)
	// A role without requests:manage may not, not even one that may forget.
	e.call(e.key(w, custos.RoleManager), "POST", path+"/execute", map[string]any{"mode": "erase"}, 403, nil)

	dpo := e.key(w, custos.RoleDPO)
	e.call(dpo, "POST", path+"/execute", map[string]any{"mode": "erase", "suppress": true}, 200, &d)
	cert := d.Answer.Certificate
	if d.Status != custos.DSRCompleted || d.Answer.Kind != custos.DSRAnswerCertificate || cert == nil || cert.RequestID != fmt.Sprintf("dsr-%d", d.ID) ||
		cert.Removed["contacts"] != 1 || cert.Removed["dsr_requests"] != 2 || !cert.Suppressed || !strings.HasPrefix(d.ActedBy, "apikey:") {
		t.Fatalf("executed %+v, certificate %+v", d, cert)
	}
	e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/%d", w.contact), nil, 404, nil)
	// The register still shows the certificate, without personal data.
	var after custos.DSRRequest
	e.call(w.token, "GET", path, nil, 200, &after)
	if after.Answer == nil || after.Answer.Certificate == nil || after.Answer.Certificate.Removed["contacts"] != 1 || after.PersonalDataErasedAt == nil || after.Email != "" {
		t.Fatalf("the register after erasure %+v", after)
	}
	var answer custos.DSRAnswer
	e.call(w.token, "GET", path+"/answer", nil, 200, &answer)
	if answer.Certificate == nil || answer.Certificate.ContactID != w.contact {
		t.Fatalf("answer %+v", answer)
	}
	// The fixture's access request, linked by address, lost its personal data.
	var other custos.DSRRequest
	e.call(w.token, "GET", requestPath(w.request), nil, 200, &other)
	if other.Email != "" || len(other.Notes) != 0 || other.Status != custos.DSRReceived {
		t.Fatalf("the other request %+v", other)
	}
	// The address may not come back.
	e.call(w.token, "POST", "/api/v1/contacts", map[string]any{"email": w.email}, 409, nil)
}

func TestDSRLifecycle(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token
	// Within the month after receipt, when a deadline may be extended.
	now := time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC)
	e.db.Now = func() time.Time { return now }

	var d custos.DSRRequest
	e.call(tok, "POST", "/api/v1/dsr-requests", map[string]any{"type": "rectification", "email": " Ada@Example.com ", "received_at": "2024-01-31T10:00:00Z"}, 201, &d)
	if d.Email != "ada@example.com" || d.ContactID != nil || !d.DueAt.Equal(time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)) || d.Status != custos.DSRReceived {
		t.Fatalf("created %+v", d)
	}
	path := requestPath(d.ID)
	e.call(tok, "POST", path+"/extension", map[string]any{"months": 2, "reason": "records in three systems"}, 200, &d)
	if !d.DueAt.Equal(time.Date(2024, 4, 29, 10, 0, 0, 0, time.UTC)) || d.Extension.Months != 2 || d.Extension.Reason != "records in three systems" {
		t.Fatalf("extended %+v %+v", d.DueAt, d.Extension)
	}
	res := e.call(tok, "POST", path+"/extension", map[string]any{"months": 1, "reason": "more"}, 409, nil)
	if got := res.apiError(t); got.Field != "months" {
		t.Fatalf("a third month: %+v", got)
	}
	res = e.call(tok, "POST", path+"/execute", nil, 409, nil)
	if got := res.apiError(t); !strings.Contains(got.Message, "/complete") {
		t.Fatalf("executing a rectification: %+v", got)
	}
	e.call(tok, "POST", path+"/notes", map[string]any{"text": "corrected the surname in the billing system"}, 200, &d)
	e.call(tok, "POST", path+"/complete", map[string]any{"note": "surname corrected; subject told by mail"}, 200, &d)
	if d.Status != custos.DSRCompleted || d.CompletedAt == nil || d.Answer.Kind != custos.DSRAnswerNote ||
		d.Answer.Note != "surname corrected; subject told by mail" || len(d.Notes) != 1 {
		t.Fatalf("completed %+v %+v", d, d.Answer)
	}
	var events []string
	for _, ev := range d.History {
		events = append(events, ev.Event)
	}
	if strings.Join(events, ",") != "received,extended,note,completed" {
		t.Fatalf("history %v", events)
	}
	e.call(tok, "POST", path+"/reject", map[string]any{"reason": "x"}, 409, nil)
	e.call(tok, "POST", path+"/extension", map[string]any{"months": 1, "reason": "x"}, 409, nil)
	var answer custos.DSRAnswer
	e.call(tok, "GET", path+"/answer", nil, 200, &answer)
	if answer.Note == "" {
		t.Fatalf("answer %+v", answer)
	}

	var rej custos.DSRRequest
	e.call(tok, "POST", "/api/v1/dsr-requests", map[string]any{"type": "objection", "email": "bob@example.com"}, 201, &rej)
	e.call(tok, "POST", requestPath(rej.ID)+"/reject", map[string]any{"reason": "identity could not be confirmed"}, 200, &rej)
	if rej.Status != custos.DSRRejected || rej.Answer.Note != "identity could not be confirmed" {
		t.Fatalf("rejected %+v", rej)
	}

	e.call(e.key(w, custos.RoleMarketer), "GET", "/api/v1/dsr-requests", nil, 403, nil)
	e.call(e.key(w, custos.RoleViewer), "GET", path, nil, 403, nil)
}

func TestDSRDueFilters(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	e.db.Now = func() time.Time { return now }
	create := func(email, received string) int64 {
		var d custos.DSRRequest
		e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "access", "email": email, "received_at": received}, 201, &d)
		return d.ID
	}
	soon := create("soon@example.com", "2025-05-20T12:00:00Z")   // due 20 June
	late := create("late@example.com", "2025-05-10T12:00:00Z")   // due 10 June: overdue
	later := create("later@example.com", "2025-05-30T12:00:00Z") // due 30 June
	done := create("done@example.com", "2025-05-01T12:00:00Z")   // overdue, but completed
	e.call(w.token, "POST", requestPath(done)+"/complete", map[string]any{"note": "answered by post"}, 200, nil)

	tests := []struct {
		query string
		want  []int64
	}{
		{"?due_within=7", []int64{soon}},
		{"?due_within=30", []int64{later, soon}},
		{"?overdue=true", []int64{late}},
		{"?overdue=false", []int64{done, later, late, soon}},
		{"?due_within=7&overdue=true", []int64{late, soon}},
		{"?status=completed", []int64{done}},
		{"?type=erasure", nil},
		{"?limit=1&overdue=true", []int64{late}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var page struct {
				Data       []*custos.DSRRequest
				NextCursor *string `json:"next_cursor"`
			}
			e.call(w.token, "GET", "/api/v1/dsr-requests"+tc.query, nil, 200, &page)
			var got []int64
			for _, d := range page.Data {
				got = append(got, d.ID)
				if d.Email == "" {
					t.Errorf("request %d without its address", d.ID)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		seen := 0
		next := "/api/v1/dsr-requests?limit=3"
		for next != "" {
			var page struct {
				Data       []*custos.DSRRequest
				NextCursor *string `json:"next_cursor"`
			}
			e.call(w.token, "GET", next, nil, 200, &page)
			seen += len(page.Data)
			next = ""
			if page.NextCursor != nil {
				next = "/api/v1/dsr-requests?limit=3&cursor=" + *page.NextCursor
			}
		}
		if seen != 4 {
			t.Fatalf("%d requests over the pages", seen)
		}
	})
}

// TestVerificationTextEchoesNothing checks the mail text for a request of
// each type: it names the request in our words only.
func TestVerificationTextEchoesNothing(t *testing.T) {
	for _, typ := range []custos.DSRType{custos.DSRAccess, custos.DSRPortability, custos.DSRRectification, custos.DSRErasure, custos.DSRRestriction, custos.DSRObjection} {
		d := &custos.DSRRequest{ID: 9, Type: typ, Email: "ada@example.com", ReceivedAt: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
			Notes: []custos.DSRNote{{Text: "private"}}}
		text := verificationText(d, "https://x/dsr/verify/T")
		what := i18n.T("en", "dsr.what."+string(typ))
		if strings.HasPrefix(what, "dsr.") || !strings.Contains(text, what) || !strings.Contains(text, "https://x/dsr/verify/T") ||
			strings.Contains(text, "ada@") || strings.Contains(text, "private") || !strings.Contains(text, "DSR-9") {
			t.Errorf("%s: %s", typ, text)
		}
	}
}

// FuzzDSRFilterQuery feeds the register's query parser any query string:
// it fails only with an invalid-input error, and what it accepts is valid.
func FuzzDSRFilterQuery(f *testing.F) {
	for _, q := range []string{"", "due_within=7&overdue=true", "status=verified&type=access", "contact_id=3&limit=10&cursor=MTI",
		"due_within=-1", "overdue=yes", "cursor=%%%", "limit=501", "x=1"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/api/v1/dsr-requests", nil)
		r.URL.RawQuery = q
		fl, err := dsrFilterFromQuery(r)
		if err != nil {
			if custos.ErrorCode(err) != custos.EINVALID {
				t.Fatalf("%q: %v", q, err)
			}
			return
		}
		if v := fl.Validate(); v != nil || fl.Limit < 1 || fl.Limit > custos.MaxLimit {
			t.Fatalf("%q accepted as %+v (%v)", q, fl, v)
		}
	})
}

// TestDSRExecuteRestrictionAndObjection carries out the two requests that
// protect the person, without waiting for a verification: the contact is
// restricted with the reason given, then every direct-marketing purpose is
// ended, and each request completes with a note saying what was done.
func TestDSRExecuteRestrictionAndObjection(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	var marketing, service custos.Purpose
	e.call(w.token, "POST", "/api/v1/purposes", map[string]any{"name": "Offers", "legal_basis": "consent", "marketing": true}, 201, &marketing)
	e.call(w.token, "POST", "/api/v1/purposes", map[string]any{"name": "Service notices", "legal_basis": "consent"}, 201, &service)
	for _, p := range []int64{marketing.ID, service.ID} {
		e.call(w.token, "POST", "/api/v1/contacts/"+strconv.FormatInt(w.contact, 10)+"/consents",
			map[string]any{"purpose_id": p, "action": "grant", "notice": "Yes."}, 201, nil)
	}

	var obj custos.DSRRequest
	e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "objection", "contact_id": w.contact}, 201, &obj)
	e.call(w.token, "POST", requestPath(obj.ID)+"/execute", map[string]any{"reason": "x"}, 400, nil) // not for an objection
	e.call(e.key(w, custos.RoleViewer), "POST", requestPath(obj.ID)+"/execute", nil, 403, nil)
	var d custos.DSRRequest
	e.call(w.token, "POST", requestPath(obj.ID)+"/execute", nil, 200, &d)
	if d.Status != custos.DSRCompleted || d.Answer == nil || !strings.Contains(d.Answer.Note, "2 marketing consents") {
		t.Fatalf("objection executed: %+v %+v", d, d.Answer)
	}
	dec, err := e.db.Permission(w.ctx, w.contact, marketing.ID, nil)
	must(t, err)
	if dec.Allowed {
		t.Fatalf("marketing still allowed after the objection: %+v", dec)
	}
	if dec, _ := e.db.Permission(w.ctx, w.contact, service.ID, nil); !dec.Allowed {
		t.Fatalf("the objection ended a purpose that is not marketing: %+v", dec)
	}

	var res custos.DSRRequest
	e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "restriction", "contact_id": w.contact}, 201, &res)
	if got := e.do(request{method: "POST", path: requestPath(res.ID) + "/execute", token: w.token, body: map[string]any{}}); got.status != 400 || got.apiError(t).Field != "reason" {
		t.Fatalf("restriction without a reason: %d %s", got.status, got.body)
	}
	e.call(w.token, "POST", requestPath(res.ID)+"/execute", map[string]any{"reason": "contests the accuracy of the address", "format": "zip"}, 400, nil)
	e.call(w.token, "POST", requestPath(res.ID)+"/execute", map[string]any{"reason": "contests the accuracy of the address"}, 200, &d)
	if d.Status != custos.DSRCompleted || d.Answer == nil || !strings.Contains(d.Answer.Note, "restricted") {
		t.Fatalf("restriction executed: %+v %+v", d, d.Answer)
	}
	c, err := e.db.FindContactByID(w.ctx, w.contact)
	must(t, err)
	if c.Status != custos.StatusRestricted {
		t.Fatalf("contact status %s after the restriction request", c.Status)
	}
	e.call(w.token, "POST", requestPath(res.ID)+"/execute", map[string]any{"reason": "again"}, 409, nil) // completed
}
