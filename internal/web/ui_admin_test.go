package web

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/totp"
)

// waitPathPrefix waits until the browser is at a path under prefix, and
// returns the path.
func (b *browser) waitPathPrefix(prefix string) string {
	b.t.Helper()
	return b.waitLocation("a path under "+prefix, func(loc string) bool { return strings.HasPrefix(loc, prefix) })
}

// submit clicks the submit button of the form sel and waits until what
// follows, wait, is visible.
func (b *browser) submit(form, wait string) {
	b.t.Helper()
	b.run(chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(wait)))
}

// clickReload clicks the submit button of the form sel, whose success
// reloads the page, and waits for the new page.
func (b *browser) clickReload(form string) {
	b.t.Helper()
	b.run(chromedp.Evaluate[chromedp.Void](`window.custosStale = true`), chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	b.waitJS(`window.custosStale !== true && document.readyState === "complete"`)
	b.run(chromedp.WaitVisible(chromedp.CSS("h1")))
}

// waitQuery waits until the browser's query string holds part, and its
// page is shown.
func (b *browser) waitQuery(part string) {
	b.t.Helper()
	b.waitUntil("a query holding "+part, func() (bool, string) {
		q, _ := try[string](b, "location.search")
		return strings.Contains(q, part), "at ?" + q
	})
	b.run(chromedp.WaitVisible(chromedp.CSS("h1")))
}

// fetchStatus fetches the address the expression gives from the page, as
// the page's reader, and returns the answer's status.
func (b *browser) fetchStatus(expr string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+expr+`).then((r) => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: fetch: %v", err)
	}
	return n
}

// waitMail waits for a mail to be sent, at most a few seconds, and
// returns the newest.
func (e *testEnv) waitMail(t *testing.T, n int) *custos.Message {
	t.Helper()
	for range 100 {
		if e.mail.count(t) >= n {
			return e.mail.last(t)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail number %d was sent", n)
	return nil
}

// TestBrowserRequests registers a request through the register's form,
// sees it with its due date, sees an overdue request highlighted and
// filtered, adds a note, sends the verification link and, once the
// subject confirmed, carries out an access request and downloads the
// export; a request naming no subject is refused, naming the field.
func TestBrowserRequests(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	old := &custos.DSRRequest{Type: custos.DSRErasure, Email: "late@example.com", ReceivedAt: time.Now().AddDate(0, -3, 0)}
	must(t, e.db.CreateDSRRequest(w.ctx, old))
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/requests")
	b.submit("#new-request", "#new-request .form-error")
	if got := b.text("#new-request .form-error"); !strings.Contains(got, "email") {
		t.Errorf("a request without a subject: error %q, want one naming email", got)
	}
	b.run(chromedp.SetValue(chromedp.CSS("#n-type"), "portability"),
		chromedp.SendKeys(chromedp.CSS("#n-email"), "someone@example.com"), chromedp.Click(chromedp.CSS(`#new-request button[type="submit"]`)))
	loc := b.waitPathPrefix("/requests/")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/requests/"), 10, 64)
	must(t, err)
	d, err := e.db.FindDSRRequest(w.ctx, id)
	must(t, err)
	if d.Type != custos.DSRPortability || d.Email != "someone@example.com" {
		t.Fatalf("registered %+v", d)
	}
	due := d.DueAt.UTC().Format("2006-01-02")
	if got := b.text("#due"); got != due {
		t.Errorf("due date shown %q, want %s", got, due)
	}

	b.open("/requests")
	row := `#requests tr[data-id="` + strconv.FormatInt(id, 10) + `"]`
	if got := b.text(row + " .due"); got != due {
		t.Errorf("register: due %q, want %s", got, due)
	}
	oldRow := `#requests tr[data-id="` + strconv.FormatInt(old.ID, 10) + `"]`
	if !eval[bool](b, `document.querySelector('`+oldRow+`').classList.contains("overdue")`) {
		t.Error("the overdue request is not marked overdue")
	}
	if got := b.text(oldRow + " .due"); !strings.HasPrefix(got, "Overdue since") {
		t.Errorf("the overdue request's due date reads %q, want it to say so in words", got)
	}
	if eval[bool](b, `document.querySelector('`+row+`').classList.contains("overdue")`) {
		t.Error("a request not yet due is marked overdue")
	}
	b.run(chromedp.Click(chromedp.CSS("#f-overdue")), chromedp.Click(chromedp.CSS(`.filters button[type="submit"]`)))
	b.waitQuery("overdue=true")
	if n := eval[int](b, `document.querySelectorAll("#requests tbody tr").length`); n != 1 {
		t.Errorf("overdue filter: %d rows, want 1", n)
	}

	// The workspace's access request: a note, the verification, the export.
	b.open("/requests/" + strconv.FormatInt(w.request, 10))
	b.run(chromedp.SendKeys(chromedp.CSS("#note-text"), "phoned <script>alert(1)</script> back"))
	b.submit("#add-note", "#notes li:nth-child(2)")
	if got := b.text("#notes li:nth-child(2) p"); got != "phoned <script>alert(1)</script> back" {
		t.Errorf("the note shows as %q", got)
	}
	b.submit("#send-verification", ".flash")
	m := e.waitMail(t, 1)
	token := regexp.MustCompile(`/dsr/verify/(\S+)`).FindStringSubmatch(m.Text)
	if token == nil || m.To != w.email {
		t.Fatalf("verification mail to %s: %s", m.To, m.Text)
	}
	if _, err := e.db.VerifyDSRToken(context.Background(), token[1]); err != nil {
		t.Fatal(err)
	}
	b.open("/requests/" + strconv.FormatInt(w.request, 10))
	b.run(chromedp.SetValue(chromedp.CSS("#x-format"), "json"))
	b.submit("#execute", "#answer-link")
	if got := b.text("#status"); got != "Completed" {
		t.Errorf("status after executing: %q", got)
	}
	if status := b.fetchStatus(`document.querySelector("#answer-link").href`); status != http.StatusOK {
		t.Errorf("the answer's link answers %d", status)
	}
}

// TestBrowserAuditAndLogins opens the audit log: its chain is verified,
// entries are listed and filtered by action and time; the login history
// lists the staff user's sign-in.
func TestBrowserAuditAndLogins(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/audit")
	if got := b.text("#verification"); !strings.HasPrefix(got, "Verified:") {
		t.Errorf("verification: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll("#audit tbody tr").length`); n < 2 {
		t.Errorf("%d entries listed", n)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#a-action"), custos.AuditContactExport), chromedp.Click(chromedp.CSS(`.filters button[type="submit"]`)))
	b.waitQuery("action=")
	actions := eval[[]string](b, `Array.from(document.querySelectorAll("#audit tbody tr td:nth-child(4)"), (td) => td.textContent)`)
	if len(actions) != 1 || actions[0] != custos.AuditContactExport {
		t.Errorf("filtered by action: %v", actions)
	}
	b.open("/audit?before=2000-01-01T00:00")
	if got := b.text("main"); !strings.Contains(got, "No entry matches.") {
		t.Errorf("entries before 2000: %q", got)
	}

	b.open("/logins")
	if got := b.text("#logins tbody tr td:nth-child(3)"); got != "Signed in" {
		t.Errorf("newest login: %q", got)
	}
}

// TestBrowserUsers invites a user, who is mailed the link, changes their
// role, refuses a bad network, and ends their sessions; a user without
// users:manage sees no Users entry in the menu and is refused the page.
func TestBrowserUsers(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/users")
	b.run(chromedp.SendKeys(chromedp.CSS("#i-email"), "new.colleague@example.com"), chromedp.SetValue(chromedp.CSS("#i-role"), "sales"),
		chromedp.Click(chromedp.CSS(`#invite button[type="submit"]`)))
	loc := b.waitPathPrefix("/users/")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/users/"), 10, 64)
	must(t, err)
	if m := e.waitMail(t, 1); m.To != "new.colleague@example.com" || !strings.Contains(m.Text, "/login/reset/") {
		t.Errorf("invitation to %s: %s", m.To, m.Text)
	}
	if got := b.text("#user-status"); got != "Invited, no password yet" {
		t.Errorf("status %q", got)
	}
	b.run(chromedp.SetValue(chromedp.CSS("#u-role"), "manager"))
	b.clickReload("#change-role")
	if got := b.text("#role"); got != "manager" {
		t.Errorf("the page shows role %q", got)
	}
	u, err := e.db.FindUserByID(w.ctx, id)
	must(t, err)
	if u.Role != custos.RoleManager {
		t.Errorf("role %s, want manager", u.Role)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#u-ips"), "10.0.0.0/33"), chromedp.Click(chromedp.CSS(`#user-networks button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#user-networks .form-error")))
	if got := b.text("#user-networks .form-error"); !strings.Contains(got, "allowed_ips") {
		t.Errorf("bad network: %q", got)
	}

	// Deleting the account: nothing until the consequences are
	// acknowledged, then the account's personal data is gone.
	b.run(chromedp.Click(chromedp.CSS(`#delete-user button[type="submit"]`)))
	time.Sleep(300 * time.Millisecond)
	if u, err := e.db.FindUserByID(w.ctx, id); err != nil || u.Status == custos.UserDeleted {
		t.Fatalf("deleted without the acknowledgement: %+v %v", u, err)
	}
	b.run(chromedp.Click(chromedp.CSS("#delete-confirm")), chromedp.Click(chromedp.CSS(`#delete-user button[type="submit"]`)))
	b.waitPath("/users")
	if got := b.text(".flash"); got != "The account is deleted." {
		t.Errorf("flash %q", got)
	}
	if u, err := e.db.FindUserByID(w.ctx, id); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("after deleting the store finds %+v %v", u, err)
	}
	if n := eval[int](b, `document.body.textContent.includes("new.colleague@example.com") ? 1 : 0`); n != 0 {
		t.Error("the users list still shows the deleted account's address")
	}
	// One's own account is not offered for deletion.
	b.open("/users/" + strconv.FormatInt(w.user, 10))
	if n := eval[int](b, `document.querySelectorAll("#delete-user").length`); n != 0 {
		t.Error("an admin is offered to delete their own account")
	}

	sales := newBrowser(t, e)
	salesSession := sales.signInAs(e, w, custos.RoleSales)
	sales.open("/")
	if n := eval[int](sales, `document.querySelectorAll('nav a[href="/users"]').length`); n != 0 {
		t.Error("a sales user sees the Users menu entry")
	}
	if n := eval[int](b, `document.querySelectorAll('nav a[href="/users"]').length`); n != 1 {
		t.Error("an admin does not see the Users menu entry")
	}
	html := map[string]string{"Accept": "text/html"}
	if res := e.do(request{method: "GET", path: "/users", token: salesSession, header: html}); res.status != http.StatusForbidden ||
		!strings.Contains(string(res.body), "users:manage") {
		t.Errorf("a sales user opening /users: %d %s", res.status, res.body)
	}
	if res := e.do(request{method: "GET", path: "/users", token: w.session, header: html}); res.status != http.StatusOK {
		t.Errorf("admin: /users answers %d", res.status)
	}
}

// TestBrowserAccountTOTP enrols an authenticator from My account with a
// code computed from the secret shown, sees the recovery codes once,
// then turns it off with the password; it also ends another session of
// the user and sees the sign-ins.
func TestBrowserAccountTOTP(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	other, err := e.db.Login(context.Background(), custos.LoginAttempt{Workspace: w.name, Email: w.name + "-staff@example.com", Password: testPassword})
	must(t, err)
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/account")
	if n := eval[int](b, `document.querySelectorAll("#my-sessions tbody tr").length`); n != 2 {
		t.Errorf("%d sessions listed, want 2", n)
	}
	if got := b.text("#my-logins tbody tr td:nth-child(2)"); got != "Signed in" {
		t.Errorf("newest sign-in %q", got)
	}
	b.clickReload(`#my-sessions tr[data-id="` + strconv.FormatInt(other.Session.ID, 10) + `"] form`)
	if n := eval[int](b, `document.querySelectorAll("#my-sessions tbody tr").length`); n != 1 {
		t.Errorf("%d sessions listed after ending one, want 1", n)
	}
	if _, err := e.db.AuthenticateSession(context.Background(), other.Token, netip.MustParseAddr("192.0.2.1"), false); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Errorf("the ended session still works: %v", err)
	}

	b.submit("#totp-begin", "#totp-enrol")
	secret, err := totp.Decode(b.text("#totp-secret"))
	must(t, err)
	if uri := b.text("#totp-uri"); !strings.HasPrefix(uri, "otpauth://totp/") {
		t.Errorf("otpauth URI %q", uri)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#totp-code"), "000000"))
	b.submit("#totp-confirm", "#totp-confirm .form-error")
	if got := b.text("#totp-confirm .form-error"); !strings.Contains(got, "code") {
		t.Errorf("a wrong code: %q", got)
	}
	code := totp.Code(secret, totp.Step(time.Now()))
	b.run(chromedp.SetValue(chromedp.CSS("#totp-code"), code))
	b.submit("#totp-confirm", "#recovery")
	if codes := strings.Fields(b.text("#recovery-codes")); len(codes) != 10 {
		t.Errorf("recovery codes %v", codes)
	}
	u, err := e.db.FindUserByID(w.ctx, w.user)
	must(t, err)
	if !u.TOTPEnabled {
		t.Fatal("TOTP is not on after the confirmation")
	}

	b.open("/account")
	if got := b.text("#totp-state"); got != "An authenticator app is set up." {
		t.Errorf("state %q", got)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#td-password"), testPassword))
	b.submit("#totp-disable", "#totp-begin")
	u, err = e.db.FindUserByID(w.ctx, w.user)
	must(t, err)
	if u.TOTPEnabled {
		t.Error("TOTP is still on")
	}
}

// TestBrowserSecuritySettings saves the workspace's sign-in rules, and
// shows the refusal of a bad network, which changes nothing.
func TestBrowserSecuritySettings(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/settings/security")
	// (Requiring 2FA of admins would send this admin, who has none, to
	// enrol first: TestBrowserAccountTOTP covers enrolment.)
	b.run(chromedp.Click(chromedp.CSS("#r2fa-none")), chromedp.SetValue(chromedp.CSS("#s-idle"), "45"), chromedp.SetValue(chromedp.CSS("#s-age"), "90"),
		chromedp.SetValue(chromedp.CSS("#s-ips"), "192.0.2.0/24, 127.0.0.1, ::1"))
	b.submit("#security", ".flash")
	st, err := e.db.SecuritySettings(w.ctx)
	must(t, err)
	if st.Require2FA != custos.Require2FANone || st.IdleTimeoutMinutes != 45 || st.PasswordMaxAgeDays != 90 || len(st.AllowedIPs) != 3 {
		t.Errorf("saved %+v", st)
	}
	if got := eval[string](b, `document.querySelector("#s-idle").value`); got != "45" {
		t.Errorf("idle timeout shown %q", got)
	}
	b.run(chromedp.SetValue(chromedp.CSS("#s-ips"), "192.0.2.0/24, 10.1.2.3/40"))
	b.submit("#security", "#security .form-error")
	if got := b.text("#security .form-error"); !strings.Contains(got, "allowed_ips") {
		t.Errorf("a bad network: %q", got)
	}
	if got := eval[string](b, `document.querySelector("#s-ips").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("aria-invalid %q", got)
	}
	st2, err := e.db.SecuritySettings(w.ctx)
	must(t, err)
	if len(st2.AllowedIPs) != 3 {
		t.Errorf("a refused save changed the networks: %v", st2.AllowedIPs)
	}
}

// TestBrowserRolesAndKeys makes a role of the workspace's own, changes
// its permissions and deletes it; makes an API key, whose secret is shown
// once and works, and revokes it.
func TestBrowserRolesAndKeys(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/roles")
	if got := b.text(`#roles tr[data-role="viewer"] .perms`); got != "contacts:read" {
		t.Errorf("viewer's permissions shown as %q", got)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#role-name"), "auditor"), chromedp.Click(chromedp.CSS("#np-audit\\:read")),
		chromedp.Click(chromedp.CSS("#np-contacts\\:read")))
	b.submit("#new-role", `#roles tr[data-role="auditor"]`)
	if got := b.text(`#roles tr[data-role="auditor"] .perms`); got != "contacts:read, audit:read" {
		t.Errorf("the new role's permissions: %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS("#p-auditor-export")))
	b.clickReload("#edit-auditor")
	if got := b.text(`#roles tr[data-role="auditor"] .perms`); got != "contacts:read, export, audit:read" {
		t.Errorf("after the edit the page shows %q", got)
	}
	d, err := e.db.FindRole(w.ctx, "auditor")
	must(t, err)
	if len(d.Permissions) != 3 {
		t.Errorf("after the edit: %v", d.Permissions)
	}
	b.clickReload("#delete-auditor")
	if n := eval[int](b, `document.querySelectorAll('#roles tr[data-role="auditor"]').length`); n != 0 {
		t.Error("the deleted role is still listed")
	}
	if _, err := e.db.FindRole(w.ctx, "auditor"); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("the deleted role: %v", err)
	}

	b.open("/api-keys")
	b.run(chromedp.SendKeys(chromedp.CSS("#k-name"), "<i>ci</i>"), chromedp.SetValue(chromedp.CSS("#k-role"), "viewer"))
	b.submit("#create-key", "#key-token")
	token := b.text("#key-token")
	k, err := e.db.Authenticate(context.Background(), token)
	if err != nil || k.Role != custos.RoleViewer {
		t.Fatalf("the key shown: %+v %v", k, err)
	}
	b.open("/api-keys")
	row := `#keys tr[data-id="` + strconv.FormatInt(k.ID, 10) + `"]`
	if got := b.text(row + " th"); got != "<i>ci</i>" {
		t.Errorf("the key's name shows as %q", got)
	}
	if strings.Contains(b.text("main"), token) {
		t.Error("the list shows the secret")
	}
	b.clickReload(row + " form")
	if n := eval[int](b, `document.querySelectorAll('`+row+`').length`); n != 0 {
		t.Error("the revoked key is still listed")
	}
	if _, err := e.db.Authenticate(context.Background(), token); err == nil {
		t.Error("the revoked key still works")
	}
}
