package web

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
	"github.com/custos/custos/internal/importer"
)

// configPages are the templates of the configuration pages.
var configPages = []string{"fields", "purposes", "purpose", "lists", "notices", "notice", "imports", "import", "forms", "form"}

// TestConfigPagesKeysExist checks that every catalog key the configuration
// pages name, and every value their enumerations print, is in the catalog
// in every language.
func TestConfigPagesKeysExist(t *testing.T) {
	keyRE := regexp.MustCompile(`T "(ui\.[a-z_.-]+)"`)
	var keys []string
	for _, name := range configPages {
		b, err := fs.ReadFile(uiFiles, "ui/pages/"+name+".html")
		must(t, err)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
	}
	for _, v := range fieldTypes {
		keys = append(keys, "ui.config.type."+string(v))
	}
	for _, v := range classifications {
		keys = append(keys, "ui.config.class."+string(v))
	}
	for _, v := range legalBases {
		keys = append(keys, "ui.config.basis."+string(v))
	}
	for _, v := range retentionFroms {
		keys = append(keys, "ui.config.from."+string(v))
	}
	for _, v := range noticeKinds {
		keys = append(keys, "ui.config.kind."+string(v))
	}
	for _, v := range profilePolicies {
		keys = append(keys, "ui.config.profile."+string(v))
	}
	for _, v := range []custos.ImportStatus{custos.ImportRunning, custos.ImportDone, custos.ImportFailed} {
		keys = append(keys, "ui.config.import.status."+string(v))
	}
	for _, lang := range []string{"en", "pl"} {
		for _, k := range keys {
			if i18n.T(lang, k) == k {
				t.Errorf("%s: no message %s", lang, k)
			}
		}
	}
}

// roleSession signs a new staff user of the role in to w and returns the
// session token.
func roleSession(t *testing.T, e *testEnv, w *workspace, role custos.Role) string {
	t.Helper()
	u := &custos.User{Email: w.name + "-" + string(role) + "@example.com", Role: role}
	must(t, e.db.CreateUser(w.ctx, u, testPassword))
	res, err := e.db.Login(context.Background(), custos.LoginAttempt{Workspace: w.name, Email: u.Email, Password: testPassword})
	must(t, err)
	return res.Token
}

// submit clicks the submit button of the form sel.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel + ` button[type="submit"]`))
}

// waitText waits until the text of sel contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitUntil(sel+" saying "+want, func() (bool, string) {
		got, _ := try[string](b, `(document.querySelector(`+jsString(sel)+`) || {}).textContent || ""`)
		return strings.Contains(got, want), "it says " + got
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// TestBrowserPurposes creates a purpose through its page, sees a refusal
// of a blank name, changes the purpose and sees its version 2 in the
// history, both versions kept.
func TestBrowserPurposes(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/purposes")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#name"), "   "),
		submit("#new-purpose"),
		chromedp.WaitVisible(chromedp.CSS("#new-purpose .form-error")),
	)
	if got := b.text("#new-purpose .form-error"); !strings.Contains(got, "name") {
		t.Errorf("error shown %q, want one naming the name", got)
	}
	b.run(
		chromedp.SetValue(chromedp.CSS("#name"), "Newsletter <script>alert(1)</script>"),
		chromedp.SetValue(chromedp.CSS("#legal_basis"), "consent"),
		chromedp.SetValue(chromedp.CSS("#retention_days"), "365"),
		chromedp.SendKeys(chromedp.CSS("#channel"), "email"),
		chromedp.Click(chromedp.CSS("#marketing")),
		submit("#new-purpose"),
		chromedp.WaitVisible(chromedp.CSS("#purpose-version")),
	)
	if got := b.text("#purpose-version"); got != "1" {
		t.Errorf("version %q, want 1", got)
	}
	if got := b.text("main h2"); got != "Newsletter <script>alert(1)</script>" {
		t.Errorf("name shown %q", got)
	}
	b.run(
		chromedp.SetValue(chromedp.CSS("#name"), "Weekly newsletter"),
		chromedp.SetValue(chromedp.CSS("#retention_days"), "730"),
		submit("#edit-purpose"),
		chromedp.WaitVisible(chromedp.CSS("#versions tbody tr:nth-child(2)")),
	)
	if got := b.text("#purpose-version"); got != "2" {
		t.Errorf("version %q after the change, want 2", got)
	}
	if got := b.text("#versions tbody tr:nth-child(1)"); !strings.Contains(got, "Newsletter <script>") {
		t.Errorf("version 1 row %q", got)
	}
	if got := b.text("#versions tbody tr:nth-child(2)"); !strings.Contains(got, "Weekly newsletter") || !strings.Contains(got, "730 days") {
		t.Errorf("version 2 row %q", got)
	}
	ps, err := e.db.FindPurposes(w.ctx)
	must(t, err)
	var p *custos.Purpose
	for _, q := range ps {
		if q.Name == "Weekly newsletter" {
			p = q
		}
	}
	if p == nil || p.Version != 2 || !p.Marketing || p.Channel != "email" || p.RetentionDays != 730 || p.LegalBasis != custos.BasisConsent {
		t.Errorf("stored purpose %+v", p)
	}
}

// TestBrowserFields defines a choice field through the page, sees the
// refusal of a choice field without choices, and deletes the field; a
// built-in field offers no delete.
func TestBrowserFields(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/fields")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#key"), "size"),
		chromedp.SetValue(chromedp.CSS("#type"), "choice"),
		submit("#new-field"),
		chromedp.WaitVisible(chromedp.CSS("#new-field .form-error")),
	)
	if got := b.text("#new-field .form-error"); !strings.Contains(got, "choices") {
		t.Errorf("error shown %q, want one naming choices", got)
	}
	b.run(
		chromedp.SendKeys(chromedp.CSS("#label"), "T-shirt size"),
		chromedp.SendKeys(chromedp.CSS("#choices"), "S, M, L"),
		chromedp.SetValue(chromedp.CSS("#classification"), "none"),
		chromedp.Click(chromedp.CSS(`#new-field input[name="purpose_ids"]`)),
		submit("#new-field"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-field="size"]`)),
	)
	if got := b.text(`tr[data-field="size"]`); !strings.Contains(got, "T-shirt size") || !strings.Contains(got, "S, M, L") ||
		!strings.Contains(got, "purpose of a") {
		t.Errorf("row %q", got)
	}
	f, err := e.db.FindField(w.ctx, "size")
	must(t, err)
	if f.Type != custos.FieldChoice || len(f.Choices) != 3 || len(f.PurposeIDs) != 1 || f.PurposeIDs[0] != w.purpose {
		t.Errorf("stored field %+v", f)
	}
	if n := eval[int](b, `document.querySelectorAll('tr[data-field="email"] form[data-method="DELETE"]').length`); n != 0 {
		t.Error("the built-in e-mail field offers a delete")
	}
	b.run(
		submit(`tr[data-field="size"] form[data-method="DELETE"]`),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-field="size"]`)),
	)
	if _, err := e.db.FindField(w.ctx, "size"); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("the field is still there: %v", err)
	}
}

// TestBrowserListsAndNotices creates a list group and a list in it, and a
// notice version, through the pages.
func TestBrowserListsAndNotices(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/lists")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#group-name"), "Newsletters"),
		submit("#new-group"),
		chromedp.WaitVisible(chromedp.CSS(`#groups`)),
	)
	b.waitText("#groups", "Newsletters")
	_ = eval[bool](b, `(() => { const s = document.querySelector('#list-group');
		s.value = Array.from(s.options).find((o) => o.text === 'Newsletters').value; return true; })()`)
	b.run(
		chromedp.SendKeys(chromedp.CSS("#list-name"), "Weekly"),
		submit("#new-list"),
	)
	b.waitText("#lists", "Weekly")
	row := eval[string](b, `Array.from(document.querySelectorAll('#lists tbody tr')).find((r) => r.textContent.includes('Weekly')).textContent`)
	if !strings.Contains(row, "Newsletters") {
		t.Errorf("the list's row %q names no group", row)
	}

	b.open("/notices")
	b.run(
		chromedp.SetValue(chromedp.CSS("#kind"), "checkbox"),
		chromedp.SendKeys(chromedp.CSS("#language"), "en"),
		chromedp.SendKeys(chromedp.CSS("#body"), "I agree to <b>the</b> weekly newsletter."),
		submit("#new-notice"),
		chromedp.WaitVisible(chromedp.CSS("#notice-body")),
	)
	hash := custos.NoticeHash("I agree to <b>the</b> weekly newsletter.")
	if got := b.text("#notice-hash"); got != hash {
		t.Errorf("hash %q, want %q", got, hash)
	}
	if got := b.text("#notice-body"); got != "I agree to <b>the</b> weekly newsletter." {
		t.Errorf("wording %q", got)
	}
	if n, err := e.db.FindNotice(w.ctx, hash); err != nil || n.Kind != custos.NoticeCheckbox {
		t.Errorf("stored notice %+v, %v", n, err)
	}
}

// TestConfigPagesByRole checks that a viewer sees the configuration pages
// without any of their forms, and that the API refuses the viewer's
// changes; an admin sees the forms.
func TestConfigPagesByRole(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	viewer := roleSession(t, e, w, custos.RoleViewer)
	html := map[string]string{"Accept": "text/html"}
	for _, path := range []string{"/fields", "/purposes", "/purposes/" + strconv.FormatInt(w.purpose, 10), "/lists", "/notices", "/notices/" + w.notice,
		"/imports", "/imports/" + strconv.FormatInt(w.imp, 10)} {
		res := e.do(request{method: "GET", path: path, token: viewer, header: html})
		if res.status != http.StatusOK {
			t.Fatalf("viewer GET %s: %d %s", path, res.status, res.body)
		}
		if strings.Contains(string(res.body), "data-api") {
			t.Errorf("viewer GET %s offers a form", path)
		}
		admin := e.do(request{method: "GET", path: path, token: w.session, header: html})
		if admin.status != http.StatusOK {
			t.Fatalf("admin GET %s: %d", path, admin.status)
		}
		if !strings.Contains(string(admin.body), "data-api") && !strings.HasPrefix(path, "/notices/") && !strings.HasPrefix(path, "/imports/") {
			t.Errorf("admin GET %s offers no form", path)
		}
	}
	for _, path := range []string{"/forms", "/forms/" + strconv.FormatInt(w.form, 10)} {
		if res := e.do(request{method: "GET", path: path, token: viewer, header: html}); res.status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d, want 403", path, res.status)
		}
	}
	res := e.do(request{method: "GET", path: "/lists", token: viewer, header: html})
	if !strings.Contains(string(res.body), "list of a") || !strings.Contains(string(res.body), "group of a") {
		t.Error("the viewer does not see the lists and groups")
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/lists"}, {"POST", "/api/v1/list-groups"}, {"POST", "/api/v1/purposes"},
		{"POST", "/api/v1/fields"}, {"POST", "/api/v1/notices"}, {"POST", "/api/v1/imports"}, {"POST", "/api/v1/forms"}, {"DELETE", "/api/v1/lists/" + strconv.FormatInt(w.list, 10)},
	} {
		if res := e.do(request{method: c.method, path: c.path, token: viewer, body: map[string]any{"name": "x"}}); res.status != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d", c.method, c.path, res.status)
		}
	}
}

// TestBrowserImport uploads a CSV file with one bad row through the page,
// maps its columns, follows the import to its end and sees the rejected
// row with its line, column and reason.
func TestBrowserImport(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	bg, err := importer.NewBackground(ctx, t.TempDir(), e.db, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(func() { cancel(); bg.Wait() })
	e.srv = newServer(e.db, nil, WithImporter(bg), WithBaseURL(testBaseURL))
	w := e.newWorkspace("a")
	file := filepath.Join(t.TempDir(), "people.csv")
	must(t, os.WriteFile(file, []byte("Adres;Imię;\"shoe\"\r\nann-import@example.com;Ann;42\r\nnot an address;Bob;1\r\n"), 0o600))

	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/imports")
	b.run(
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.WaitVisible(chromedp.CSS("#map-col-2")),
	)
	if got := b.text(`label[for="map-col-1"]`); got != "Imię" {
		t.Errorf("the second column is shown as %q", got)
	}
	b.run(
		chromedp.SetValue(chromedp.CSS("#map-col-0"), "email"),
		chromedp.SetValue(chromedp.CSS("#map-col-1"), "first_name"),
		chromedp.SetValue(chromedp.CSS("#map-col-2"), "-"),
		chromedp.SetValue(chromedp.CSS("#purpose_id"), strconv.FormatInt(w.purpose, 10)),
		chromedp.SetValue(chromedp.CSS("#legal_basis"), "contract"),
		submit("#new-import"),
		chromedp.WaitVisible(chromedp.CSS("#new-import .form-error")),
	)
	if got := b.text("#new-import .form-error"); !strings.Contains(got, "basis") {
		t.Errorf("error shown %q, want one about the basis", got)
	}
	b.run(
		chromedp.SetValue(chromedp.CSS("#legal_basis"), "consent"),
		chromedp.SendKeys(chromedp.CSS("#notice"), "I agree to the newsletter."),
		chromedp.SetValue(chromedp.CSS("#list_id"), strconv.FormatInt(w.list, 10)),
		submit("#new-import"),
		chromedp.WaitVisible(chromedp.CSS("#import-status")),
	)
	b.run(chromedp.WaitVisible(chromedp.CSS(`#import-status[data-status="done"]`)))
	if got := b.text("#rows-rejected"); got != "1" {
		t.Errorf("rejected %q, want 1", got)
	}
	if got := b.text("#rejected tbody tr"); !strings.Contains(got, "3") || !strings.Contains(got, "Adres") || !strings.Contains(got, "e-mail") {
		t.Errorf("rejected row %q, want line 3, column Adres and the reason", got)
	}
	email := "ann-import@example.com"
	cs, _, err := e.db.FindContacts(w.ctx, custos.ContactFilter{Email: &email, ListID: &w.list})
	must(t, err)
	if len(cs) != 1 || cs[0].Fields[custos.FieldFirstName] != "Ann" {
		t.Fatalf("imported contacts %+v", cs)
	}
}

// TestBrowserForms starts a form through the page, builds it (a required
// field, a purpose checkbox with its wording, a list), and sees its
// version 2, its preview framed from the hosted page and its embed
// snippet.
func TestBrowserForms(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/forms")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#name"), "Newsletter sign-up"),
		chromedp.SetValue(chromedp.CSS("#main-purpose"), strconv.FormatInt(w.purpose, 10)),
		chromedp.SendKeys(chromedp.CSS("#main-notice"), "I want the weekly newsletter."),
		chromedp.SendKeys(chromedp.CSS("#information_clause"), "The controller is Example Ltd."),
		chromedp.SendKeys(chromedp.CSS("#privacy_policy_url"), "javascript:alert(1)"),
		submit("#new-form"),
	)
	// The browser refuses a URL that is not one; the API the rest.
	b.run(
		chromedp.SetValue(chromedp.CSS("#privacy_policy_url"), "ftp://example.com/privacy"),
		submit("#new-form"),
		chromedp.WaitVisible(chromedp.CSS("#new-form .form-error")),
	)
	if got := b.text("#new-form .form-error"); !strings.Contains(got, "privacy_policy_url") {
		t.Errorf("error shown %q, want one naming privacy_policy_url", got)
	}
	b.run(
		chromedp.SetValue(chromedp.CSS("#privacy_policy_url"), "https://example.com/privacy"),
		submit("#new-form"),
		chromedp.WaitVisible(chromedp.CSS("#form-version")),
	)
	if got := b.text("#form-version"); got != "1" {
		t.Errorf("version %q, want 1", got)
	}
	b.run(
		chromedp.Click(chromedp.CSS("#show-first_name")),
		chromedp.Click(chromedp.CSS("#req-first_name")),
		chromedp.Click(chromedp.CSS(`#form-lists input, input[id^="join-"]`)),
		submit("#edit-form"),
		chromedp.WaitVisible(chromedp.CSS("#versions tbody tr:nth-child(2)")),
	)
	if got := b.text("#form-version"); got != "2" {
		t.Errorf("version %q after building, want 2", got)
	}
	forms, err := e.db.FindForms(w.ctx)
	must(t, err)
	f := forms[len(forms)-1]
	if f.Name != "Newsletter sign-up" || len(f.Purposes) != 1 || f.Purposes[0].PurposeID != w.purpose || !f.Purposes[0].Main ||
		f.Purposes[0].Notice != "I want the weekly newsletter." || len(f.ListIDs) != 1 || f.ListIDs[0] != w.list {
		t.Errorf("stored form %+v", f)
	}
	if len(f.Fields) != 2 || f.Fields[1].Field != custos.FieldFirstName || !f.Fields[1].Required {
		t.Errorf("stored fields %+v", f.Fields)
	}
	embed := b.text("#embed")
	if !strings.Contains(embed, `action="`+testBaseURL+"/f/"+strconv.FormatInt(f.ID, 10)+`"`) ||
		!strings.Contains(embed, "I want the weekly newsletter.") || !strings.Contains(embed, "first_name") {
		t.Errorf("embed snippet %q", embed)
	}
	if src := eval[string](b, `document.querySelector('#preview').getAttribute('src')`); src != "/f/"+strconv.FormatInt(f.ID, 10) {
		t.Errorf("preview of %q", src)
	}
	// The frame shows the hosted page as built (a refused frame would also
	// be a console error, which fails the test).
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := eval[string](b, `(() => { const d = document.querySelector('#preview').contentDocument;
			return d && d.body ? d.body.textContent : ''; })()`)
		if strings.Contains(got, "I want the weekly newsletter.") && strings.Contains(got, "First name") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview shows %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostedFormFramedBySelfOnly checks that the hosted page of a form may
// be framed by our own pages only (the preview), and its error pages not
// at all.
func TestHostedFormFramedBySelfOnly(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	res := e.do(request{method: "GET", path: "/f/" + strconv.FormatInt(w.form, 10)})
	csp := res.header.Get("Content-Security-Policy")
	if res.status != http.StatusOK || !strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "frame-ancestors 'none'") ||
		res.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("form page: %d, CSP %q, X-Frame-Options %q", res.status, csp, res.header.Get("X-Frame-Options"))
	}
	res = e.do(request{method: "GET", path: "/f/999999"})
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || res.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("missing form: CSP %q, X-Frame-Options %q", csp, res.header.Get("X-Frame-Options"))
	}
}
