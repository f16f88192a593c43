package web

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/custos/custos/internal/custos"
)

// The admin pages are tested in headless Chromium (Debian's chromium
// package; CUSTOS_CHROMIUM names another binary) against the real handler
// over TLS, since the session cookie is __Host- and Secure. A test that
// fails leaves a screenshot of the page in CUSTOS_SCREENSHOTS (default:
// the system's temporary directory), named after the test.

// browser is a headless Chromium tab on a test server.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's address, https://127.0.0.1:port

	mu       sync.Mutex
	problems []string // scripts that ran or failed, dialogs, CSP refusals
}

// chromium returns the browser binary the tests drive.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CUSTOS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the browser tests need Chromium: apt-get install chromium, or set CUSTOS_CHROMIUM (%v)", err)
	}
	return path
}

// newBrowser serves e's handler over TLS and opens a headless browser on
// it. Every console error, uncaught exception, CSP refusal and dialog is
// recorded as a problem, which fails the test at its end.
func newBrowser(t *testing.T, e *testEnv) *browser {
	t.Helper()
	exe := chromium(t)
	srv := httptest.NewTLSServer(e.srv)
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.IgnoreCertErrors,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, base: srv.URL}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			// A refusal of the API is the browser's error too: the page
			// shows it, and the tests check that it does.
			refused := strings.HasPrefix(m.Text, "Failed to load resource") && strings.Contains(m.URL, "/api/")
			if m.Type == chromedp.ConsoleException || m.Type == "error" && !refused {
				b.problem("console " + string(m.Type) + ": " + m.Text)
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, cdppage.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			b.problem("a script opened a dialog: " + ev.Message)
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

// problem records something that must not happen in a page.
func (b *browser) problem(p string) {
	b.mu.Lock()
	b.problems = append(b.problems, p)
	b.mu.Unlock()
}

// screenshot saves the page as it is, for a test that failed.
func (b *browser) screenshot() {
	dir := os.Getenv("CUSTOS_SCREENSHOTS")
	if dir == "" {
		dir = os.TempDir()
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failed page: %s", name)
}

// run runs the actions, failing the test on the first error; each run has
// half a minute.
func (b *browser) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			b.t.Fatalf("browser: timed out on %s", loc)
		}
		b.t.Fatalf("browser: %v", err)
	}
}

// open goes to the path of the server and waits for its main heading.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// text returns the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// signIn gives the browser the session of w's staff user, as a sign-in
// would (TestBrowserSignIn signs in through the page).
func (b *browser) signIn(w *workspace) {
	b.t.Helper()
	b.useSession(w.session)
}

// signInAs makes a staff user of the role in w (staffSession) and gives
// the browser their session; it returns the session token.
func (b *browser) signInAs(e *testEnv, w *workspace, role custos.Role) string {
	b.t.Helper()
	token := e.staffSession(w, role)
	b.useSession(token)
	return token
}

// useSession gives the browser a staff user's session token.
func (b *browser) useSession(token string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	yes := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: token,
		URL: b.base + "/", Path: "/", Secure: &yes, HTTPOnly: &yes, SameSite: network.CookieSameSiteLax}); err != nil {
		b.t.Fatalf("browser: set the session cookie: %v", err)
	}
}

// login signs in as w's staff user through the sign-in page, and waits
// for the dashboard.
func (b *browser) login(w *workspace) {
	b.t.Helper()
	b.open("/login")
	b.fillLogin(w)
	b.waitPath("/")
}

// fillLogin fills and sends the sign-in form shown.
func (b *browser) fillLogin(w *workspace) {
	b.t.Helper()
	b.run(
		chromedp.SetValue(chromedp.CSS("#workspace"), w.name),
		chromedp.SendKeys(chromedp.CSS("#email"), w.name+"-staff@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
	)
}

// waitUntil asks cond again and again, for at most half a minute, until it
// holds; cond also says what it saw, for the failure. A page being
// replaced meanwhile fails nothing: cond is asked again.
func (b *browser) waitUntil(want string, cond func() (bool, string)) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: waited for %s; %s", want, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// try evaluates a JavaScript expression in the page, answering the error
// of a page being replaced instead of failing the test.
func try[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitLocation waits until the browser's path passes ok, then for the
// page's heading, and returns the path.
func (b *browser) waitLocation(want string, ok func(path string) bool) string {
	b.t.Helper()
	var loc string
	b.waitUntil(want, func() (bool, string) {
		loc, _ = try[string](b, "location.pathname")
		return ok(loc), "at " + loc
	})
	b.run(chromedp.WaitVisible(chromedp.CSS("h1")))
	return loc
}

// waitPath waits until the browser is at path (without query).
func (b *browser) waitPath(path string) {
	b.t.Helper()
	b.waitLocation(path, func(loc string) bool { return loc == path })
}

// TestBrowserSignIn opens a page, signs in through the sign-in page it is
// sent to, lands on the page it asked for, sees the dashboard, switches
// the pages to Polish and signs out.
func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)

	b.open("/account")
	b.waitPath("/login")
	b.fillLogin(w)
	b.waitPath("/account")
	b.open("/")
	if got := b.text("main h1"); got != "Dashboard" {
		t.Errorf("heading %q, want Dashboard", got)
	}
	if got := b.text(`dd[data-status="active"]`); got != "1" {
		t.Errorf("active contacts %q, want 1", got)
	}
	if got := b.text("#pending-signups"); got != "0" {
		t.Errorf("pending sign-ups %q, want 0", got)
	}
	if got := b.text(".overdue, #h-requests + table, #h-requests + p"); got == "" {
		t.Error("the dashboard shows nothing of the requests")
	}

	b.open("/account")
	b.run(chromedp.SetValue(chromedp.CSS("#language"), "pl"), chromedp.Click(chromedp.CSS(`form[action="/api/v1/me/language"] button`)))
	b.run(chromedp.WaitVisible(chromedp.CSS(`html[lang="pl"] h1`)))
	if got := b.text("main h1"); got != "Moje konto" {
		t.Errorf("heading %q after choosing Polish, want Moje konto", got)
	}
	u, err := e.db.FindUserByID(w.ctx, w.user)
	must(t, err)
	if u.Language != "pl" {
		t.Errorf("the user's language is %q, want pl", u.Language)
	}

	b.run(chromedp.Click(chromedp.CSS(".who form button")))
	b.waitPath("/login")
	b.open("/")
	b.waitPath("/login")
}

// TestBrowserFormShowsAPIErrors checks that a page's form shows the API's
// refusal next to the field it names, and changes nothing.
func TestBrowserFormShowsAPIErrors(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	b.open("/account")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#current_password"), "not the password at all"),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "a brand new passphrase"),
		chromedp.Click(chromedp.CSS(`form[action="/api/v1/me/password"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/api/v1/me/password"] .form-error`)),
	)
	if got := b.text(`form[action="/api/v1/me/password"] .form-error`); !strings.Contains(got, "current_password") {
		t.Errorf("error shown: %q, want one naming current_password", got)
	}
	if got := eval[string](b, `document.querySelector("#current_password").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("aria-invalid of the field = %q", got)
	}
	// Nothing changed: the old password still signs in.
	if _, err := e.db.Login(context.Background(), custos.LoginAttempt{Workspace: w.name, Email: w.name + "-staff@example.com", Password: testPassword}); err != nil {
		t.Errorf("the password changed: %v", err)
	}
}
