package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// formEnv is a test server whose per-IP limit is off unless limit > 0.
func formEnv(t *testing.T, limit int, opts ...Option) (*testEnv, *workspace) {
	t.Helper()
	e := newEnv(t)
	w := e.newWorkspace("a")
	opts = append([]Option{WithMailer(e.mail), WithBaseURL(testBaseURL), WithSignupIPLimit(limit, time.Minute)}, opts...)
	e.srv = newServer(e.db, nil, opts...)
	return e, w
}

func formPath(id int64) string { return "/f/" + strconv.FormatInt(id, 10) }

func submissionsPath(id int64) string {
	return "/api/public/forms/" + strconv.FormatInt(id, 10) + "/submissions"
}

// postForm posts an HTML form.
func (e *testEnv) postForm(path string, v url.Values, header map[string]string) *response {
	return e.do(request{method: "POST", path: path, body: v.Encode(), contentType: "application/x-www-form-urlencoded", header: header})
}

// queued returns the messages queued, claiming them as a worker would.
func (e *testEnv) queued(t *testing.T) []*custos.QueuedMail {
	t.Helper()
	q, err := e.db.ClaimMail(context.Background(), 1000)
	must(t, err)
	return q
}

var confirmRE = regexp.MustCompile(`/confirm/([A-Za-z0-9_-]+)`)

// pending counts the pending sign-ups.
func (e *testEnv) pending(t *testing.T) int {
	t.Helper()
	s, err := e.db.PendingSignups(context.Background())
	must(t, err)
	return len(s)
}

func TestFormsAPI(t *testing.T) {
	e, w := formEnv(t, 0, WithFormRedirects([]string{"https://shop.example/thanks"}))
	in := map[string]any{"name": "Spring", "language": "pl", "fields": []map[string]any{{"field": "first_name", "required": true}},
		"purposes":           []map[string]any{{"purpose_id": w.purpose, "main": true, "notice": "Chcę newsletter."}},
		"information_clause": "Administratorem jest A.", "privacy_policy_url": "https://a.example/privacy",
		"list_ids": []int64{w.list}, "redirect_url": "https://shop.example/thanks"}
	var f custos.Form
	e.call(w.token, "POST", "/api/v1/forms", in, 201, &f)
	if f.ID == 0 || f.Version != 1 || f.Language != "pl" || len(f.Fields) != 2 || f.RedirectURL != "https://shop.example/thanks" {
		t.Fatalf("created %+v", f)
	}
	// No open redirect: only an allow-listed address, exactly.
	for _, u := range []string{"https://evil.example/", "https://shop.example/thanks?x=1", "https://shop.example/thanks/"} {
		in["redirect_url"] = u
		res := e.do(request{method: "POST", path: "/api/v1/forms", token: w.token, body: in})
		if res.status != 400 || res.apiError(t).Field != "redirect_url" {
			t.Fatalf("redirect %s: %d %s", u, res.status, res.body)
		}
		res = e.do(request{method: "PATCH", path: fmt.Sprintf("/api/v1/forms/%d", f.ID), token: w.token, body: map[string]any{"redirect_url": u}})
		if res.status != 400 || res.apiError(t).Field != "redirect_url" {
			t.Fatalf("redirect %s by PATCH: %d %s", u, res.status, res.body)
		}
	}
	var g custos.Form
	e.call(w.token, "PATCH", fmt.Sprintf("/api/v1/forms/%d", f.ID), map[string]any{"name": "Spring 2"}, 200, &g)
	if g.Version != 2 || g.Name != "Spring 2" || g.Purposes[0].Notice != "Chcę newsletter." {
		t.Fatalf("updated %+v", g)
	}
	var vs dataBody[custos.Form]
	e.call(w.token, "GET", fmt.Sprintf("/api/v1/forms/%d/versions", f.ID), nil, 200, &vs)
	if len(vs.Data) != 2 || vs.Data[0].Name != "Spring" || vs.Data[1].Name != "Spring 2" {
		t.Fatalf("versions %+v", vs.Data)
	}
	// The snippet: a plain form posting to the hosted page, boxes unticked.
	res := e.call(w.token, "GET", fmt.Sprintf("/api/v1/forms/%d/embed", f.ID), nil, 200, nil)
	snippet := string(res.body)
	if !strings.Contains(snippet, `action="`+testBaseURL+formPath(f.ID)+`"`) || !strings.Contains(snippet, `type="checkbox" name="purpose"`) ||
		strings.Contains(snippet, "checked") || strings.Contains(snippet, "<script") || !strings.Contains(snippet, `name="website"`) ||
		!strings.Contains(snippet, "Chcę newsletter.") || !strings.Contains(snippet, "Administratorem jest A.") {
		t.Fatalf("snippet %s", snippet)
	}
	// Archived: off line.
	e.call(w.token, "DELETE", fmt.Sprintf("/api/v1/forms/%d", f.ID), nil, 200, &g)
	if g.ArchivedAt == nil {
		t.Fatalf("archived %+v", g)
	}
	e.page(t, "GET", formPath(f.ID), 404)
	e.call("", "POST", submissionsPath(f.ID), map[string]any{"fields": map[string]string{"email": "x@example.com"}, "purposes": []int64{w.purpose}}, 404, nil)
}

func TestFormPage(t *testing.T) {
	e, w := formEnv(t, 0)
	body := e.page(t, "GET", formPath(w.form), 200)
	for _, want := range []string{`<html lang="en">`, `<form method="post" action="/f/`, `name="field.email"`, `type="email"`, `name="field.first_name"`,
		`type="checkbox" name="purpose" value="` + strconv.FormatInt(w.purpose, 10) + `"`, "I want the newsletter of a.", "The controller is the company of a.",
		`href="https://a.example/privacy"`, `name="website"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "checked") || strings.Contains(body, "<script") {
		t.Errorf("a box is ticked or a script is on the page: %s", body)
	}
	// A Polish form speaks Polish, whatever the browser asks for.
	var f custos.Form
	e.call(w.token, "PATCH", fmt.Sprintf("/api/v1/forms/%d", w.form), map[string]any{"language": "pl"}, 200, &f)
	res := e.do(request{method: "GET", path: formPath(w.form), header: map[string]string{"Accept-Language": "en"}})
	if !strings.Contains(string(res.body), `<html lang="pl">`) || !strings.Contains(string(res.body), "Zapisz się") {
		t.Fatalf("Polish page: %s", res.body)
	}
	e.page(t, "GET", "/f/999999", 404)
	e.page(t, "GET", "/f/x", 404)
}

// TestSubmissionBothEntryPoints sends every malformed submission through
// both entry points: each is refused the same way and stores nothing.
func TestSubmissionBothEntryPoints(t *testing.T) {
	e, w := formEnv(t, 0)
	purpose := strconv.FormatInt(w.purpose, 10)
	cases := []struct {
		name, field string
		json        map[string]any
		form        url.Values
	}{
		{"no email", "fields.email",
			map[string]any{"fields": map[string]string{"first_name": "A"}, "purposes": []int64{w.purpose}},
			url.Values{"field.first_name": {"A"}, "purpose": {purpose}}},
		{"bad email", "fields.email",
			map[string]any{"fields": map[string]string{"email": "not an address"}, "purposes": []int64{w.purpose}},
			url.Values{"field.email": {"not an address"}, "purpose": {purpose}}},
		{"main purpose unticked", "purposes",
			map[string]any{"fields": map[string]string{"email": "x@example.com"}},
			url.Values{"field.email": {"x@example.com"}}},
		{"purpose not offered", "purposes",
			map[string]any{"fields": map[string]string{"email": "x@example.com"}, "purposes": []int64{w.purpose, 424242}},
			url.Values{"field.email": {"x@example.com"}, "purpose": {purpose, "424242"}}},
		{"field not on the form", "fields.company",
			map[string]any{"fields": map[string]string{"email": "x@example.com", "company": "X"}, "purposes": []int64{w.purpose}},
			url.Values{"field.email": {"x@example.com"}, "field.company": {"X"}, "purpose": {purpose}}},
		{"too long", "fields.first_name",
			map[string]any{"fields": map[string]string{"email": "x@example.com", "first_name": strings.Repeat("a", 501)}, "purposes": []int64{w.purpose}},
			url.Values{"field.email": {"x@example.com"}, "field.first_name": {strings.Repeat("a", 501)}, "purpose": {purpose}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: submissionsPath(w.form), body: tc.json})
			if res.status != 400 || res.apiError(t).Field != tc.field {
				t.Errorf("JSON: %d %s, want 400 on %s", res.status, res.body, tc.field)
			}
			res = e.postForm(formPath(w.form), tc.form, nil)
			if res.status != 400 || !strings.Contains(string(res.body), `role="alert"`) || !strings.Contains(string(res.body), `<form method="post"`) {
				t.Errorf("HTML: %d %s, want the form again with the error", res.status, res.body)
			}
		})
	}
	// Malformed JSON itself.
	for _, body := range []string{`{"fields": {"email": "x@example.com"}, "unknown": 1}`, `{"fields": {"email": 5}}`, `[]`, `{}`} {
		if res := e.do(request{method: "POST", path: submissionsPath(w.form), body: body}); res.status != 400 {
			t.Errorf("%s: %d", body, res.status)
		}
	}
	if n := e.pending(t); n != 0 {
		t.Fatalf("%d sign-ups stored from refused submissions", n)
	}
	if q := e.queued(t); len(q) != 0 {
		t.Fatalf("%d mails queued from refused submissions", len(q))
	}
	// The same good submission through each: a pending sign-up and a mail each.
	e.call("", "POST", submissionsPath(w.form), map[string]any{"fields": map[string]string{"email": "one@example.com"}, "purposes": []int64{w.purpose}}, 202, nil)
	res := e.postForm(formPath(w.form), url.Values{"field.email": {"two@example.com"}, "purpose": {purpose}}, nil)
	if res.status != 200 || !strings.Contains(string(res.body), "check your inbox") {
		t.Fatalf("HTML submission: %d %s", res.status, res.body)
	}
	if n := e.pending(t); n != 2 {
		t.Fatalf("%d pending sign-ups, want 2", n)
	}
	// Not contacts until confirmed.
	if n := e.countContacts(w); n != 1 {
		t.Fatalf("%d contacts, want only the one made by the test", n)
	}
}

func TestSubmissionHoneypot(t *testing.T) {
	e, w := formEnv(t, 0)
	res := e.do(request{method: "POST", path: submissionsPath(w.form),
		body: map[string]any{"fields": map[string]string{"email": "bot@example.com"}, "purposes": []int64{w.purpose}, "website": "http://spam.example"}})
	if res.status != 202 || !strings.Contains(string(res.body), "pending_confirmation") {
		t.Fatalf("JSON honeypot: %d %s", res.status, res.body)
	}
	res = e.postForm(formPath(w.form), url.Values{"field.email": {"bot@example.com"}, "purpose": {strconv.FormatInt(w.purpose, 10)}, "website": {"x"}}, nil)
	if res.status != 200 || !strings.Contains(string(res.body), "check your inbox") {
		t.Fatalf("HTML honeypot: %d %s", res.status, res.body)
	}
	if n := e.pending(t); n != 0 {
		t.Fatalf("a filled honeypot stored %d sign-ups", n)
	}
	if q := e.queued(t); len(q) != 0 {
		t.Fatalf("a filled honeypot queued %d mails", len(q))
	}
}

func TestSubmissionLimits(t *testing.T) {
	e, w := formEnv(t, 5)
	body := func(i int) map[string]any {
		return map[string]any{"fields": map[string]string{"email": fmt.Sprintf("p%d@example.com", i)}, "purposes": []int64{w.purpose}}
	}
	for i := range 5 {
		e.call("", "POST", submissionsPath(w.form), body(i), 202, nil)
	}
	res := e.do(request{method: "POST", path: submissionsPath(w.form), body: body(5)})
	if res.status != 429 || res.apiError(t).Code != custos.ERATELIMIT {
		t.Fatalf("sixth sign-up from one IP: %d %s", res.status, res.body)
	}
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q", res.header.Get("Retry-After"))
	}
	// The HTML path shares the limit.
	res = e.postForm(formPath(w.form), url.Values{"field.email": {"p6@example.com"}, "purpose": {strconv.FormatInt(w.purpose, 10)}}, nil)
	if res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Fatalf("HTML over the limit: %d", res.status)
	}
	// Another IP address is not limited; one address gets at most three mails.
	for i := range 4 {
		rec := e.doFrom("198.51.100.1:4000", submissionsPath(w.form), body(100))
		want := 202
		if i == 3 {
			want = 429
		}
		if rec.status != want {
			t.Fatalf("mail %d to one address: %d %s", i+1, rec.status, rec.body)
		}
		if i == 3 {
			if ra, _ := strconv.Atoi(rec.header.Get("Retry-After")); ra != 24*3600 {
				t.Fatalf("Retry-After %q for the address limit", rec.header.Get("Retry-After"))
			}
		}
	}
}

// doFrom posts JSON from another remote address.
func (e *testEnv) doFrom(remote, path string, body any) *response {
	e.t.Helper()
	b, err := json.Marshal(body)
	must(e.t, err)
	req := httptest.NewRequest("POST", path, bytes.NewReader(b))
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestDoubleOptIn(t *testing.T) {
	e, w := formEnv(t, 0)
	// What a stranger types is not mailed back: no list bombing.
	const typed = "Zq4 BUY CHEAP WATCHES http://spam.example"
	var f custos.Form
	e.call(w.token, "PATCH", fmt.Sprintf("/api/v1/forms/%d", w.form), map[string]any{"fields": []map[string]any{{"field": "first_name"}, {"field": "last_name"}}}, 200, &f)
	res := e.postForm(formPath(w.form), url.Values{"field.email": {"New.Person@example.com"}, "field.first_name": {typed}, "field.last_name": {"Nowak"},
		"purpose": {strconv.FormatInt(w.purpose, 10)}}, map[string]string{"User-Agent": "SubmitBrowser/1"})
	if res.status != 200 {
		t.Fatalf("submit: %d %s", res.status, res.body)
	}
	q := e.queued(t)
	if len(q) != 1 || q[0].Message.To != "new.person@example.com" || !strings.HasPrefix(q[0].Message.Ref, "signup-") {
		t.Fatalf("queued %+v", q)
	}
	m := q[0].Message
	if strings.Contains(m.Subject+m.Text, "Zq4") || strings.Contains(m.Text, "WATCHES") || strings.Contains(m.Text, "Nowak") {
		t.Fatalf("the mail repeats what was typed: %q", m.Text)
	}
	match := confirmRE.FindStringSubmatch(m.Text)
	if match == nil || !strings.Contains(m.Text, testBaseURL+"/confirm/") {
		t.Fatalf("no link in %q", m.Text)
	}
	link := "/confirm/" + match[1]
	// GET changes nothing, however often mail scanners follow it.
	for range 3 {
		if body := e.page(t, "GET", link, 200); !strings.Contains(body, `<form method="post">`) {
			t.Fatalf("confirm page %s", body)
		}
	}
	if n := e.countContacts(w); n != 1 || e.pending(t) != 1 {
		t.Fatalf("GET changed something: %d contacts, %d pending", n, e.pending(t))
	}
	if res := e.do(request{method: "POST", path: link, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}); res.status != 403 {
		t.Fatalf("cross-site confirmation: %d", res.status)
	}
	res = e.do(request{method: "POST", path: link, header: map[string]string{"User-Agent": "ConfirmBrowser/2"}})
	if res.status != 200 || !strings.Contains(string(res.body), "Your sign-up is confirmed.") {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	var page pageBody[custos.Contact]
	e.call(w.token, "GET", "/api/v1/contacts?email=new.person@example.com", nil, 200, &page)
	if len(page.Data) != 1 || page.Data[0].Source.Kind != custos.SourceForm || page.Data[0].Fields["first_name"] != typed {
		t.Fatalf("contact %+v", page.Data)
	}
	var consents struct {
		History []custos.ConsentEvent `json:"history"`
	}
	e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/%d/consents", page.Data[0].ID), nil, 200, &consents)
	if len(consents.History) != 1 || consents.History[0].Method != custos.MethodDOI || consents.History[0].Proof == nil ||
		consents.History[0].Proof.SubmittedUserAgent != "SubmitBrowser/1" || consents.History[0].Proof.ConfirmedUserAgent != "ConfirmBrowser/2" ||
		consents.History[0].Proof.FormVersion != 2 {
		t.Fatalf("ledger %+v", consents.History)
	}
	// The export shows the proof: in the CSV and in the summary page.
	csv := string(e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/%d/export?format=csv", page.Data[0].ID), nil, 200, nil).body)
	for _, want := range []string{"submitted_user_agent,SubmitBrowser/1", "confirmed_user_agent,ConfirmBrowser/2", "confirmation_mail,sha256:", "Please confirm your sign-up"} {
		if !strings.Contains(csv, want) {
			t.Errorf("the CSV export lacks %q:\n%s", want, csv)
		}
	}
	var sum bytes.Buffer
	x, err := e.db.ExportContact(w.ctx, page.Data[0].ID)
	must(t, err)
	view := exportView{Export: x, notices: map[string]string{}}
	for _, n := range x.Notices {
		view.notices[n.Hash] = n.Body
	}
	must(t, NewExporter().html.Execute(&sum, view))
	if !strings.Contains(sum.String(), "SubmitBrowser/1") || !strings.Contains(sum.String(), "Please confirm your sign-up") ||
		!strings.Contains(sum.String(), "The controller is the company of a.") {
		t.Errorf("the summary lacks the proof:\n%s", sum.String())
	}
	// Single use.
	e.page(t, "POST", link, 404)
	e.page(t, "GET", link, 404)
	e.page(t, "GET", "/confirm/nonsense", 404)
}
