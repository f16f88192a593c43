package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestLocalPath checks where a browser may be sent after signing in: a
// path of this server, never another site.
func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "/",
		"/contacts/7?tab=consents": "/contacts/7?tab=consents",
		"/account":                 "/account",
		"//evil.example/x":         "/",
		"/\\evil.example":          "/",
		"https://evil.example/":    "/",
		"javascript:alert(1)":      "/",
		"contacts":                 "/",
		"/x\r\nSet-Cookie: a=b":    "/",
		"/%2F%2Fevil.example":      "/%2F%2Fevil.example",
		"/\tevil":                  "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPagesSendStrangersToSignIn checks that a page asked for without a
// session sends a browser to the sign-in page, keeping where it was going,
// and answers an API client with the JSON error; and that an API key
// cannot open the pages meant for a signed-in person.
func TestPagesSendStrangersToSignIn(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	res := e.do(request{method: "GET", path: "/account?x=1", header: map[string]string{"Accept": "text/html"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next=%2Faccount%3Fx%3D1" {
		t.Errorf("status %d, Location %q", res.status, res.header.Get("Location"))
	}
	res = e.do(request{method: "GET", path: "/"})
	if res.status != http.StatusUnauthorized || res.apiError(t).Code != "unauthorized" {
		t.Errorf("API client: status %d, body %s", res.status, res.body)
	}
	res = e.do(request{method: "GET", path: "/", token: w.token, header: map[string]string{"Accept": "text/html"}})
	if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "not an API key") {
		t.Errorf("API key: status %d, body %s", res.status, res.body)
	}
	res = e.do(request{method: "GET", path: "/", token: w.session, header: map[string]string{"Accept": "text/html"}})
	if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("signed in: status %d, CSP %q", res.status, res.header.Get("Content-Security-Policy"))
	}
}

// TestLoginPagesSpeakPolish checks that the sign-in pages, which come
// before anyone is known, speak the browser's language, errors included.
func TestLoginPagesSpeakPolish(t *testing.T) {
	e := newEnv(t)
	e.newWorkspace("a")
	pl := map[string]string{"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}
	res := e.do(request{method: "GET", path: "/login", header: pl})
	if body := string(res.body); res.status != http.StatusOK || !strings.Contains(body, `<html lang="pl">`) ||
		!strings.Contains(body, "<h1>Zaloguj się</h1>") || !strings.Contains(body, "Nie pamiętasz hasła?") {
		t.Errorf("GET /login in Polish: %d %s", res.status, body)
	}
	res = e.loginForm("a", "a-staff@example.com", "not the password at all", pl)
	if body := string(res.body); res.status != http.StatusUnauthorized || !strings.Contains(body, "Adres e-mail lub hasło są nieprawidłowe.") {
		t.Errorf("a wrong password in Polish: %d %s", res.status, body)
	}
	res = e.loginForm("a", "a-staff@example.com", "not the password at all", nil)
	if body := string(res.body); !strings.Contains(body, "The e-mail address or the password is wrong.") {
		t.Errorf("a wrong password in English: %d %s", res.status, body)
	}
	res = e.do(request{method: "GET", path: "/login/reset/nonsense", header: pl})
	if body := string(res.body); res.status != http.StatusNotFound || !strings.Contains(body, "Link jest nieprawidłowy") {
		t.Errorf("a bad reset link in Polish: %d %s", res.status, body)
	}
}

// TestContactsOldestFirst pages the contacts oldest first through the API
// and the list page, by cursor, and refuses an unknown order or an order
// for a search.
func TestContactsOldestFirst(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	want := []int64{w.contact}
	for i := range 4 {
		c := &custos.Contact{Email: fmt.Sprintf("order%d@example.com", i)}
		must(t, c.Validate())
		must(t, e.db.CreateContact(w.ctx, c))
		want = append(want, c.ID)
	}
	var got []int64
	for path := "/api/v1/contacts?sort=oldest&limit=2"; ; {
		var page struct {
			Data []*custos.Contact `json:"data"`
			Next string            `json:"next_cursor"`
		}
		e.call(w.token, "GET", path, nil, http.StatusOK, &page)
		for _, c := range page.Data {
			got = append(got, c.ID)
		}
		if page.Next == "" {
			break
		}
		path = "/api/v1/contacts?sort=oldest&limit=2&cursor=" + page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("oldest first: %v, want %v", got, want)
	}
	for _, q := range []string{"sort=upwards", "sort=oldest&q=order"} {
		if res := e.do(request{method: "GET", path: "/api/v1/contacts?" + q, token: w.token}); res.status != http.StatusBadRequest || res.apiError(t).Field != "sort" {
			t.Errorf("%s: %d %s", q, res.status, res.body)
		}
	}
	res := e.do(request{method: "GET", path: "/contacts?sort=oldest", token: w.session, header: map[string]string{"Accept": "text/html"}})
	body := string(res.body)
	first, last := strings.Index(body, fmt.Sprintf(`href="/contacts/%d"`, want[0])), strings.Index(body, fmt.Sprintf(`href="/contacts/%d"`, want[4]))
	if res.status != http.StatusOK || first < 0 || last < 0 || first > last {
		t.Errorf("the page oldest first: %d, first at %d, last at %d", res.status, first, last)
	}
}

// TestUserPageOffersOnlyWhatTheReaderMayDo: a role that may manage users
// but not all an administrator may sees an administrator's page without
// its forms (the store would refuse them), and is offered only the roles
// it may give.
func TestUserPageOffersOnlyWhatTheReaderMayDo(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	must(t, e.db.CreateRole(w.ctx, &custos.RoleDef{Name: "staffer", Permissions: []custos.Permission{custos.PermUsersManage, custos.PermContactsRead}}))
	staffer := e.staffSession(w, "staffer")
	html := map[string]string{"Accept": "text/html"}

	page := func(id int64) string {
		t.Helper()
		res := e.do(request{method: "GET", path: fmt.Sprintf("/users/%d", id), token: staffer, header: html})
		if res.status != http.StatusOK {
			t.Fatalf("/users/%d: %d %s", id, res.status, res.body)
		}
		return string(res.body)
	}
	admin := page(w.user)
	if !strings.Contains(admin, `id="not-manageable"`) || strings.Contains(admin, `id="change-role"`) || strings.Contains(admin, `id="end-sessions"`) {
		t.Errorf("an administrator's page offers changes to a narrower role:\n%s", admin)
	}
	u := &custos.User{Email: "viewer@a.example", Role: custos.RoleViewer}
	must(t, e.db.CreateUser(w.ctx, u, testPassword))
	viewer := page(u.ID)
	if strings.Contains(viewer, `id="not-manageable"`) || !strings.Contains(viewer, `id="change-role"`) {
		t.Errorf("a viewer's page does not offer its forms:\n%s", viewer)
	}
	if strings.Contains(viewer, `<option value="admin"`) || !strings.Contains(viewer, `<option value="viewer"`) {
		t.Errorf("the roles offered are not those the reader may give")
	}
}
