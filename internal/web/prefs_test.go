package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// prefsLink makes a preference-centre link for w's contact and returns its
// path, as a mail would carry it.
func (e *testEnv) prefsLink(w *workspace, lang string) string {
	e.t.Helper()
	link, err := custos.PreferenceLink(w.ctx, e.db, testBaseURL, w.contact, lang)
	must(e.t, err)
	return strings.TrimPrefix(link, testBaseURL)
}

// prefsPost posts a form of the page, as a browser on the same site does.
func (e *testEnv) prefsPost(path string, form url.Values, header map[string]string) *response {
	e.t.Helper()
	h := map[string]string{"Sec-Fetch-Site": "same-origin"}
	for k, v := range header {
		h[k] = v
	}
	return e.do(request{method: "POST", path: path, body: form.Encode(), contentType: "application/x-www-form-urlencoded", header: h})
}

// pagePath returns the path of a link without its query.
func pagePath(link string) string {
	p, _, _ := strings.Cut(link, "?")
	return p
}

// ledger returns w's contact's ledger.
func (e *testEnv) ledger(w *workspace) []*custos.ConsentEvent {
	e.t.Helper()
	_, events, err := e.db.ContactConsents(w.ctx, w.contact)
	must(e.t, err)
	return events
}

// lists returns the ids of w's contact's lists.
func (e *testEnv) lists(w *workspace) []int64 {
	e.t.Helper()
	ids, err := e.db.ContactLists(w.ctx, w.contact)
	must(e.t, err)
	return ids
}

// checkRedirect fails unless res is the redirect back to the page saying done.
func checkRedirect(t *testing.T, res *response, page, done string) {
	t.Helper()
	if res.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	if !strings.HasPrefix(loc, page+"?") || !strings.Contains(loc, "done="+done) {
		t.Fatalf("Location %q, want %s with done=%s", loc, page, done)
	}
}

// checkPublicHeaders checks the headers every public page carries.
func checkPublicHeaders(t *testing.T, res *response) {
	t.Helper()
	csp := res.header.Get("Content-Security-Policy")
	if csp != pageCSP || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q", csp)
	}
	for k, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
		if got := res.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if bytes.Contains(res.body, []byte("<script")) {
		t.Error("the page has a script")
	}
}

// TestPreferenceCentreConsents shows the person their consents, withdraws
// one with one click and gives it again with the wording shown, each in
// the ledger with method preference_centre and actor subject; GET changes
// nothing.
func TestPreferenceCentreConsents(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	link := e.prefsLink(a, "")
	page := pagePath(link)

	before := len(e.ledger(a))
	res := e.do(request{method: "GET", path: link})
	if res.status != http.StatusOK {
		t.Fatalf("GET: %d %s", res.status, res.body)
	}
	checkPublicHeaders(t, res)
	body := string(res.body)
	for _, want := range []string{"purpose of a", "Consent given", "Withdraw consent", "list of a", "group of a", "Unsubscribe", "a…@example.com", "entered by our staff"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, a.email) {
		t.Error("the page shows the whole address")
	}
	// GET again, and with every parameter a scanner might try: nothing changes.
	e.do(request{method: "GET", path: page + "?done=withdrawn&action=withdraw&purpose_id=" + strconv.FormatInt(a.purpose, 10)})
	if n := len(e.ledger(a)); n != before {
		t.Fatalf("GET changed the ledger: %d events, had %d", n, before)
	}

	form := url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"withdraw"}}
	res = e.prefsPost(page+"/consents", form, map[string]string{"User-Agent": "Firefox test"})
	checkRedirect(t, res, page, "withdrawn")
	events := e.ledger(a)
	last := events[len(events)-1]
	if len(events) != before+1 || last.Action != custos.ActionWithdraw || last.Method != custos.MethodPreference ||
		last.Actor != custos.ActorSubject || last.IP != "192.0.2.1" || last.UserAgent != "Firefox test" {
		t.Fatalf("withdrawal: %+v", last)
	}
	if got := newestAudit(e, a); got.Action != custos.AuditWrite || got.Route != "POST /p/{token}/consents" || got.Actor != custos.ActorSubject ||
		got.ContactID == nil || *got.ContactID != a.contact || got.IP != "" {
		t.Fatalf("the withdrawal's audit entry: %+v", got)
	}
	d, err := e.db.Permission(a.ctx, a.contact, a.purpose, nil)
	must(t, err)
	if d.Allowed {
		t.Fatal("still allowed after the withdrawal")
	}
	// Withdrawing again records nothing more.
	checkRedirect(t, e.prefsPost(page+"/consents", form, nil), page, "withdrawn")
	if n := len(e.ledger(a)); n != before+1 {
		t.Fatalf("a second withdrawal was recorded: %d", n)
	}

	// The page now offers the consent again, with the wording given before.
	res = e.do(request{method: "GET", path: page + "?done=withdrawn"})
	body = string(res.body)
	for _, want := range []string{"Your consent has been withdrawn.", "I agree to the newsletter of a.", a.notice, "on this page"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// A grant with another wording than the page shows is refused.
	bad := url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"grant"}, "notice_hash": {custos.NoticeHash("something else")}}
	checkRedirect(t, e.prefsPost(page+"/consents", bad, nil), page, "stale")
	if n := len(e.ledger(a)); n != before+1 {
		t.Fatal("a grant with another wording was recorded")
	}
	grant := url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"grant"}, "notice_hash": {a.notice}}
	checkRedirect(t, e.prefsPost(page+"/consents", grant, nil), page, "granted")
	events = e.ledger(a)
	last = events[len(events)-1]
	if last.Action != custos.ActionGrant || last.Method != custos.MethodPreference || last.NoticeHash != a.notice {
		t.Fatalf("grant: %+v", last)
	}
	// A purpose the page does not show, such as another workspace's, is
	// refused and changes nothing.
	b := e.newWorkspace("b")
	bBefore := len(e.ledger(b))
	other := url.Values{"purpose_id": {strconv.FormatInt(b.purpose, 10)}, "action": {"withdraw"}}
	checkRedirect(t, e.prefsPost(page+"/consents", other, nil), page, "stale")
	if len(e.ledger(b)) != bBefore || len(e.ledger(a)) != len(events) {
		t.Fatal("a purpose of another workspace changed")
	}
}

// TestPreferenceCentreLists leaves and joins the lists of a list group;
// lists not shown, ungrouped or of another workspace, cannot be joined.
func TestPreferenceCentreLists(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	page := pagePath(e.prefsLink(a, ""))
	list := strconv.FormatInt(a.list, 10)

	checkRedirect(t, e.prefsPost(page+"/lists", url.Values{"list_id": {list}, "action": {"leave"}}, nil), page, "left")
	if ids := e.lists(a); len(ids) != 0 {
		t.Fatalf("still on %v", ids)
	}
	res := e.do(request{method: "GET", path: page})
	if !strings.Contains(string(res.body), "Not subscribed") {
		t.Error("the page does not show the list left")
	}
	checkRedirect(t, e.prefsPost(page+"/lists", url.Values{"list_id": {list}, "action": {"join"}}, nil), page, "joined")
	if ids := e.lists(a); len(ids) != 1 || ids[0] != a.list {
		t.Fatalf("lists %v", ids)
	}

	loose := &custos.List{Name: "staff only"}
	must(t, e.db.CreateList(a.ctx, loose))
	for _, id := range []int64{loose.ID, b.list} {
		checkRedirect(t, e.prefsPost(page+"/lists", url.Values{"list_id": {strconv.FormatInt(id, 10)}, "action": {"join"}}, nil), page, "stale")
	}
	if ids := e.lists(a); len(ids) != 1 {
		t.Fatalf("joined a list not shown: %v", ids)
	}
	if bl, err := e.db.FindList(b.ctx, b.list); err != nil || bl.Members != 1 {
		t.Fatalf("b's list: %+v %v", bl, err)
	}
	if strings.Contains(string(e.do(request{method: "GET", path: page}).body), "staff only") {
		t.Error("the page shows an ungrouped list")
	}
}

// TestPreferenceCentreRestricted lets a contact whose processing is
// restricted withdraw and leave, but not give consent or join.
func TestPreferenceCentreRestricted(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	page := pagePath(e.prefsLink(a, ""))
	_, err := e.db.RestrictContact(a.ctx, a.contact, "the person contests the data")
	must(t, err)

	res := e.do(request{method: "GET", path: page})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), "restricted") {
		t.Fatalf("GET: %d %s", res.status, res.body)
	}
	checkRedirect(t, e.prefsPost(page+"/consents", url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"withdraw"}}, nil), page, "withdrawn")
	events := e.ledger(a)
	if last := events[len(events)-1]; last.Action != custos.ActionWithdraw || last.Method != custos.MethodPreference {
		t.Fatalf("withdrawal: %+v", last)
	}
	if strings.Contains(string(e.do(request{method: "GET", path: page}).body), "I agree to the newsletter") {
		t.Error("a restricted contact is offered to give consent")
	}
	grant := url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"grant"}, "notice_hash": {a.notice}}
	checkRedirect(t, e.prefsPost(page+"/consents", grant, nil), page, "restricted")
	checkRedirect(t, e.prefsPost(page+"/lists", url.Values{"list_id": {strconv.FormatInt(a.list, 10)}, "action": {"leave"}}, nil), page, "left")
	checkRedirect(t, e.prefsPost(page+"/lists", url.Values{"list_id": {strconv.FormatInt(a.list, 10)}, "action": {"join"}}, nil), page, "restricted")
	if len(e.lists(a)) != 0 || len(e.ledger(a)) != len(events) {
		t.Fatal("a restricted contact joined or gave consent")
	}
}

// TestPreferenceCentreExportAndErasure downloads the person's data, in
// the audit log by the subject, and asks for erasure: a verified erasure
// request in the register, once however often asked, which staff execute.
func TestPreferenceCentreExportAndErasure(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	page := pagePath(e.prefsLink(a, "pl"))

	res := e.prefsPost(page+"/export", url.Values{"format": {"json"}}, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" ||
		!strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", res.status, res.header)
	}
	var x custos.Export
	must(t, json.Unmarshal(res.body, &x))
	if x.Contact == nil || x.Contact.Email != a.email || len(x.Ledger) == 0 || len(x.Lists) != 1 {
		t.Fatalf("export: %+v", x)
	}
	res = e.prefsPost(page+"/export", url.Values{"format": {"zip"}}, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d", res.status)
	}
	if _, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body))); err != nil {
		t.Fatalf("zip: %v", err)
	}
	checkRedirect(t, e.prefsPost(page+"/export", url.Values{"format": {"exe"}}, nil), page, "stale")
	entries, _, err := e.db.FindAudit(a.ctx, custos.AuditFilter{ContactID: &a.contact})
	must(t, err)
	if len(entries) < 2 || entries[0].Actor != custos.ActorSubject || entries[0].Action != custos.AuditContactExport {
		t.Fatalf("audit: %+v", entries[0])
	}

	if !strings.Contains(string(e.do(request{method: "GET", path: page}).body), "/erasure?lang=") {
		t.Fatal("the page offers no erasure")
	}
	for range 2 {
		checkRedirect(t, e.prefsPost(page+"/erasure", url.Values{}, nil), page, "erasure")
	}
	var list struct {
		Data []custos.DSRRequest `json:"data"`
	}
	e.call(a.token, "GET", "/api/v1/dsr-requests?type=erasure", nil, http.StatusOK, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d erasure requests", len(list.Data))
	}
	d := list.Data[0]
	if d.Status != custos.DSRVerified || d.ContactID == nil || *d.ContactID != a.contact || d.Email != a.email || d.ActedBy != custos.ActorSubject {
		t.Fatalf("request %+v", d)
	}
	// The page now says by when instead of offering another.
	after := string(e.do(request{method: "GET", path: page + "?lang=pl&done=erasure"}).body)
	if strings.Contains(after, "/erasure?lang=") || !strings.Contains(after, "zrealizujemy je najpóźniej do "+d.DueAt.UTC().Format(time.DateOnly)) ||
		!strings.Contains(after, "Dziękujemy, Twoje żądanie zostało przyjęte.") {
		t.Fatalf("the page after asking:\n%s", after)
	}
	// Staff execute it; the link dies with the contact.
	e.call(a.token, "POST", "/api/v1/dsr-requests/"+strconv.FormatInt(d.ID, 10)+"/execute", map[string]any{"mode": "erase"}, http.StatusOK, nil)
	if res := e.do(request{method: "GET", path: page}); res.status != http.StatusNotFound {
		t.Fatalf("the link of a forgotten contact: %d", res.status)
	}
}

// TestPreferenceCentreInvalidLinks answers the same "not valid" page for
// a forged, altered, expired or forgotten contact's link, on GET and on
// POST, and changes nothing.
func TestPreferenceCentreInvalidLinks(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	good := pagePath(e.prefsLink(a, ""))
	token := strings.TrimPrefix(good, "/p/")
	altered := []byte(token)
	altered[10] ^= 1
	if altered[10] == '-' || altered[10] == '_' {
		altered[10] = 'A'
	}
	forgotten := pagePath(e.prefsLink(b, ""))
	_, err := e.db.ForgetContact(b.ctx, b.contact, custos.ForgetRequest{Mode: custos.ForgetErase})
	must(t, err)

	paths := []string{"/p/" + strings.Repeat("A", len(token)), "/p/" + string(altered), "/p/short", forgotten}
	var want []byte
	check := func(name string, res *response) {
		t.Helper()
		if res.status != http.StatusNotFound {
			t.Fatalf("%s: %d", name, res.status)
		}
		checkPublicHeaders(t, res)
		if want == nil {
			want = res.body
		} else if !bytes.Equal(res.body, want) {
			t.Fatalf("%s: another page:\n%s\nvs\n%s", name, res.body, want)
		}
	}
	for _, p := range paths {
		check(p, e.do(request{method: "GET", path: p}))
		check(p+" POST", e.prefsPost(p+"/consents", url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"withdraw"}}, nil))
	}
	if !strings.Contains(string(want), "This link is not valid") || !strings.Contains(string(want), `action="/p/request`) {
		t.Errorf("the page: %s", want)
	}
	// Expired: 30 days on.
	now := time.Now()
	e.db.Now = func() time.Time { return now.Add(custos.PreferenceTokenTTL) }
	check("expired", e.do(request{method: "GET", path: good}))
	check("expired POST", e.prefsPost(good+"/erasure", url.Values{}, nil))
	e.db.Now = time.Now
	ev := e.ledger(a)
	if last := ev[len(ev)-1]; last.Method == custos.MethodPreference {
		t.Fatal("an invalid link changed the ledger")
	}
	var list struct {
		Data []custos.DSRRequest `json:"data"`
	}
	e.call(a.token, "GET", "/api/v1/dsr-requests?type=erasure", nil, http.StatusOK, &list)
	if len(list.Data) != 0 {
		t.Fatal("an expired link made an erasure request")
	}
}

// TestPreferenceCentreCrossSite refuses a form posted from another site,
// and changes nothing.
func TestPreferenceCentreCrossSite(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	page := pagePath(e.prefsLink(a, ""))
	before := len(e.ledger(a))
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "", "Origin": "https://evil.example"}} {
		for _, p := range []string{"/consents", "/lists", "/export", "/erasure"} {
			res := e.prefsPost(page+p, url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "list_id": {strconv.FormatInt(a.list, 10)},
				"action": {"withdraw"}, "format": {"json"}}, h)
			if res.status != http.StatusForbidden || bytes.Contains(res.body, []byte(a.email)) {
				t.Fatalf("%s %v: %d", p, h, res.status)
			}
		}
		res := e.prefsPost("/p/request", url.Values{"email": {a.email}, "workspace": {"a"}}, h)
		if res.status != http.StatusForbidden {
			t.Fatalf("/p/request %v: %d", h, res.status)
		}
	}
	if len(e.ledger(a)) != before || len(e.lists(a)) != 1 {
		t.Fatal("a cross-site post changed something")
	}
	if sent := e.prefsMails(t); len(sent) != 0 {
		t.Fatal("a cross-site post sent mail")
	}
}

// TestPreferenceLinkRequest answers the same for a known and an unknown
// address, as a form and as JSON, and mails a working link only to the
// known one, in the language asked; other workspaces' contacts get none.
func TestPreferenceLinkRequest(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	e.newWorkspace("b")

	res := e.do(request{method: "GET", path: "/p/request?workspace=a"})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="workspace" value="a"`) {
		t.Fatalf("form: %d %s", res.status, res.body)
	}
	checkPublicHeaders(t, res)

	known := e.prefsPost("/p/request", url.Values{"email": {a.email}, "workspace": {"a"}}, nil)
	unknown := e.prefsPost("/p/request", url.Values{"email": {"nobody@example.com"}, "workspace": {"a"}}, nil)
	elsewhere := e.prefsPost("/p/request", url.Values{"email": {a.email}, "workspace": {"b"}}, nil)
	noWorkspace := e.prefsPost("/p/request", url.Values{"email": {a.email}, "workspace": {"nowhere"}}, nil)
	for _, r := range []*response{unknown, elsewhere, noWorkspace} {
		if r.status != known.status || !bytes.Equal(r.body, known.body) || r.header.Get("Content-Type") != known.header.Get("Content-Type") {
			t.Fatalf("answers differ: %d %s vs %d %s", r.status, r.body, known.status, known.body)
		}
	}
	if known.status != http.StatusAccepted || !strings.Contains(string(known.body), "Check your inbox") {
		t.Fatalf("known: %d %s", known.status, known.body)
	}
	jKnown := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": a.email, "workspace": "a", "lang": "pl"}})
	jUnknown := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": "nobody2@example.com", "workspace": "a", "lang": "pl"}})
	if jKnown.status != http.StatusAccepted || jUnknown.status != jKnown.status || !bytes.Equal(jKnown.body, jUnknown.body) {
		t.Fatalf("JSON answers: %d %s vs %d %s", jKnown.status, jKnown.body, jUnknown.status, jUnknown.body)
	}

	sent := e.prefsMails(t)
	if len(sent) != 2 {
		t.Fatalf("%d mails sent, want 2 (both to the known address)", len(sent))
	}
	for _, m := range sent {
		if m.To != a.email || m.Ref != "contact-"+strconv.FormatInt(a.contact, 10) {
			t.Fatalf("mail to %q, ref %q", m.To, m.Ref)
		}
		i := strings.Index(m.Text, testBaseURL+"/p/")
		if i < 0 {
			t.Fatalf("mail without a link: %s", m.Text)
		}
		link := strings.TrimPrefix(strings.Fields(m.Text[i:])[0], testBaseURL)
		res := e.do(request{method: "GET", path: link})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), "purpose of a") {
			t.Fatalf("the mailed link: %d", res.status)
		}
	}
	// The two mails go out in whichever order their lookups end.
	en, pl := sent[0], sent[1]
	if strings.Contains(en.Text, "?lang=pl") {
		en, pl = pl, en
	}
	if !strings.Contains(en.Subject, "Your link") || !strings.Contains(pl.Subject, "Twój link") ||
		!strings.Contains(pl.Text, "?lang=pl") || !strings.Contains(pl.Text, "Link działa przez 30 dni") {
		t.Fatalf("languages: %q / %q\n%s", en.Subject, pl.Subject, pl.Text)
	}

	// A bad address is refused, naming the field.
	res = e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": "not an address"}})
	if res.status != http.StatusBadRequest || res.apiError(t).Field != "email" {
		t.Fatalf("bad address: %d %s", res.status, res.body)
	}
	res = e.do(request{method: "POST", path: "/p/request", body: `{"email": "x@example.com", "extra": 1}`})
	if res.status != http.StatusBadRequest {
		t.Fatalf("unknown member: %d", res.status)
	}
}

// TestPreferenceLinkRequestLimits limits links per address, known or
// not, and per client, with 429 and Retry-After.
func TestPreferenceLinkRequestLimits(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	for _, addr := range []string{a.email, "nobody@example.com"} {
		for i := range prefsPerAddress + 1 {
			res := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": addr, "workspace": "a"},
				header: map[string]string{"X-Test": strconv.Itoa(i)}})
			want := http.StatusAccepted
			if i == prefsPerAddress {
				want = http.StatusTooManyRequests
			}
			if res.status != want {
				t.Fatalf("%s #%d: %d", addr, i, res.status)
			}
			if want == http.StatusTooManyRequests {
				if secs, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || secs < 3600 || secs > 24*3600+1 {
					t.Fatalf("Retry-After %q", res.header.Get("Retry-After"))
				}
				if res.apiError(t).Code != custos.ERATELIMIT {
					t.Fatal("code")
				}
			}
		}
	}
	if sent := e.prefsMails(t); len(sent) != prefsPerAddress {
		t.Fatalf("%d mails", len(sent))
	}
	// 2×4 requests so far from this client; the rest of its hour's share,
	// then 429, as an HTML page for a form.
	for i := 2 * (prefsPerAddress + 1); i < prefsPerIP; i++ {
		res := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": "n" + strconv.Itoa(i) + "@example.com"}})
		if res.status != http.StatusAccepted {
			t.Fatalf("#%d: %d", i, res.status)
		}
	}
	res := e.prefsPost("/p/request", url.Values{"email": {"last@example.com"}}, map[string]string{"Accept-Language": "pl"})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(string(res.body), "Zbyt wiele prób") {
		t.Fatalf("per client: %d %s", res.status, res.body)
	}
	checkPublicHeaders(t, res)
}

// TestPreferenceCentreLanguages shows the page in the link's language,
// else the browser's, else English.
func TestPreferenceCentreLanguages(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	for _, tc := range []struct {
		name, link, accept, lang, title string
	}{
		{"link pl", e.prefsLink(a, "pl"), "en", "pl", "Twoje zgody i subskrypcje"},
		{"link en", e.prefsLink(a, "en"), "pl", "en", "Your consents and subscriptions"},
		{"browser pl", e.prefsLink(a, ""), "pl-PL,pl;q=0.9,en;q=0.5", "pl", "Wycofuję zgodę"},
		{"unknown", e.prefsLink(a, "xx"), "de", "en", "Withdraw consent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "GET", path: tc.link, header: map[string]string{"Accept-Language": tc.accept}})
			body := string(res.body)
			if res.status != http.StatusOK || !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.title) {
				t.Fatalf("%d %s", res.status, body)
			}
			// The forms keep the language.
			if !strings.Contains(body, "/consents?lang="+tc.lang) {
				t.Error("a form loses the language")
			}
		})
	}
	// The redirect after a change keeps it too, and the page says what was
	// done in it.
	page := pagePath(e.prefsLink(a, ""))
	res := e.prefsPost(page+"/consents?lang=pl", url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"withdraw"}}, nil)
	loc := res.header.Get("Location")
	if !strings.Contains(loc, "lang=pl") {
		t.Fatalf("Location %q", loc)
	}
	if body := string(e.do(request{method: "GET", path: loc}).body); !strings.Contains(body, "Twoja zgoda została wycofana.") {
		t.Fatalf("page after: %s", body)
	}
	res = e.do(request{method: "GET", path: "/p/invalid", header: map[string]string{"Accept-Language": "pl"}})
	if !strings.Contains(string(res.body), "Ten link jest nieważny") {
		t.Fatalf("invalid page in Polish: %s", res.body)
	}
}

// TestRateLimit counts per key in fixed windows and says how long to wait.
func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newRateLimit(2, time.Hour)
	l.now = func() time.Time { return now }
	for _, tc := range []struct {
		name string
		key  string
		step time.Duration
		ok   bool
		wait time.Duration
	}{
		{name: "first", key: "a", ok: true},
		{name: "second", key: "a", step: 10 * time.Minute, ok: true},
		{name: "third refused", key: "a", step: 10 * time.Minute, wait: 40 * time.Minute},
		{name: "another key", key: "b", ok: true},
		{name: "still refused", key: "a", step: 39 * time.Minute, wait: time.Minute},
		{name: "next window", key: "a", step: time.Minute, ok: true},
	} {
		now = now.Add(tc.step)
		ok, wait := l.allow(tc.key)
		if ok != tc.ok || wait != tc.wait {
			t.Fatalf("%s: %v %v, want %v %v", tc.name, ok, wait, tc.ok, tc.wait)
		}
	}
}

// TestPreferenceLinkRequestPending mails nothing to a contact still
// waiting for its double opt-in, and answers the same.
func TestPreferenceLinkRequestPending(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	c := &custos.Contact{Email: "pending@example.com", Status: custos.StatusPending}
	must(t, c.Validate())
	must(t, e.db.CreateContact(a.ctx, c))
	res := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": c.Email, "workspace": "a"}})
	known := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": a.email, "workspace": "a"}})
	if res.status != http.StatusAccepted || !bytes.Equal(res.body, known.body) {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if sent := e.prefsMails(t); len(sent) != 1 || sent[0].To != a.email {
		t.Fatalf("mails: %d", len(sent))
	}
}

// TestPreferenceCentreIsolation keeps each link to its own workspace: the
// same address in two workspaces gets the link of the workspace asked
// for, a page shows nothing of another workspace, and nothing of another
// workspace can be changed through it.
func TestPreferenceCentreIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	// The same person in b.
	twin := &custos.Contact{Email: a.email}
	must(t, twin.Validate())
	must(t, e.db.CreateContact(b.ctx, twin))

	res := e.do(request{method: "POST", path: "/p/request", body: map[string]string{"email": a.email, "workspace": "b"}})
	if res.status != http.StatusAccepted {
		t.Fatalf("%d %s", res.status, res.body)
	}
	sent := e.prefsMails(t)
	if len(sent) != 1 || sent[0].Ref != "contact-"+strconv.FormatInt(twin.ID, 10) {
		t.Fatalf("mails: %+v", sent)
	}
	m := sent[0]
	link := strings.TrimPrefix(strings.Fields(m.Text[strings.Index(m.Text, testBaseURL+"/p/"):])[0], testBaseURL)
	page := pagePath(link)
	body := string(e.do(request{method: "GET", path: link}).body)
	if strings.Contains(body, "list of a") || strings.Contains(body, "group of a") || strings.Contains(body, "purpose of") || !strings.Contains(body, "group of b") {
		t.Fatalf("b's page shows a's objects:\n%s", body)
	}

	aLedger, aLists := len(e.ledger(a)), e.lists(a)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/consents", url.Values{"purpose_id": {strconv.FormatInt(a.purpose, 10)}, "action": {"withdraw"}}},
		{"/lists", url.Values{"list_id": {strconv.FormatInt(a.list, 10)}, "action": {"leave"}}},
		{"/lists", url.Values{"list_id": {strconv.FormatInt(a.list, 10)}, "action": {"join"}}},
	} {
		checkRedirect(t, e.prefsPost(page+tc.path, tc.form, nil), page, "stale")
	}
	if len(e.ledger(a)) != aLedger || len(e.lists(a)) != len(aLists) {
		t.Fatal("b's link changed a's contact")
	}
	res = e.prefsPost(page+"/export", url.Values{"format": {"json"}}, nil)
	var x custos.Export
	must(t, json.Unmarshal(res.body, &x))
	if x.Contact.ID != twin.ID || len(x.Ledger) != 0 || len(x.Lists) != 0 || bytes.Contains(res.body, []byte("list of a")) || bytes.Contains(res.body, []byte("purpose of a")) {
		t.Fatalf("b's export: %s", res.body)
	}
	checkRedirect(t, e.prefsPost(page+"/erasure", url.Values{}, nil), page, "erasure")
	var list struct {
		Data []custos.DSRRequest `json:"data"`
	}
	e.call(a.token, "GET", "/api/v1/dsr-requests?type=erasure", nil, http.StatusOK, &list)
	if len(list.Data) != 0 {
		t.Fatal("b's link made a request in a")
	}
	e.call(b.token, "GET", "/api/v1/dsr-requests?type=erasure", nil, http.StatusOK, &list)
	if len(list.Data) != 1 || *list.Data[0].ContactID != twin.ID {
		t.Fatalf("b's requests: %+v", list.Data)
	}
}

// TestPreferenceCentreObjection offers the objection to direct marketing
// where a marketing purpose rests on a basis no withdrawal ends, and
// records it with one click.
func TestPreferenceCentreObjection(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	page := pagePath(e.prefsLink(a, ""))
	if strings.Contains(string(e.do(request{method: "GET", path: page}).body), "/objection?") {
		t.Fatal("an objection is offered with consents only")
	}
	li := &custos.Purpose{Name: "offers to customers", LegalBasis: custos.BasisLegitimateInterests, Marketing: true}
	must(t, e.db.CreatePurpose(a.ctx, li))
	_, err := e.db.RecordConsent(a.ctx, a.contact, custos.ConsentRequest{PurposeID: li.ID, Action: custos.ActionAssignBasis, Method: custos.MethodManual})
	must(t, err)

	body := string(e.do(request{method: "GET", path: page}).body)
	if !strings.Contains(body, "our legitimate interests") || !strings.Contains(body, "I object to direct marketing") {
		t.Fatalf("page:\n%s", body)
	}
	before := len(e.ledger(a))
	checkRedirect(t, e.prefsPost(page+"/objection", url.Values{}, nil), page, "objected")
	events := e.ledger(a)
	if len(events) != before+2 { // the basis removed, the consent withdrawn
		t.Fatalf("%d events, had %d", len(events), before)
	}
	for _, ev := range events[before:] {
		if ev.Method != custos.MethodObjection || ev.Actor != custos.ActorSubject || ev.Action.Permits() {
			t.Fatalf("event %+v", ev)
		}
	}
	for _, p := range []int64{a.purpose, li.ID} {
		d, err := e.db.Permission(a.ctx, a.contact, p, nil)
		must(t, err)
		if d.Allowed {
			t.Fatalf("purpose %d still allowed", p)
		}
	}
	body = string(e.do(request{method: "GET", path: page + "?done=objected"}).body)
	if strings.Contains(body, "I object to direct marketing") || !strings.Contains(body, "Your objection has been recorded") {
		t.Fatalf("page after:\n%s", body)
	}
}

// prefsMails waits for the preference links on their way and returns the
// messages they queued, claiming them as the mail worker would.
func (e *testEnv) prefsMails(t *testing.T) []*custos.Message {
	t.Helper()
	e.srv.prefs.wg.Wait()
	var out []*custos.Message
	for _, q := range e.queued(t) {
		out = append(out, &q.Message)
	}
	return out
}
