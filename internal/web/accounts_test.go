package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/totp"
)

const formType = "application/x-www-form-urlencoded"

// loginForm posts the sign-in form.
func (e *testEnv) loginForm(ws, email, pw string, header map[string]string) *response {
	e.t.Helper()
	body := url.Values{"workspace": {ws}, "email": {email}, "password": {pw}}.Encode()
	return e.do(request{method: "POST", path: "/login", body: body, contentType: formType, header: header})
}

// cookie returns the value of the named cookie the answer sets, and the
// cookie.
func (r *response) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie set; headers %v, body %s", name, r.header, r.body)
	return nil
}

// setClock makes the store's time settable.
func (e *testEnv) setClock() *time.Time {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e.db.Now = func() time.Time { return now }
	return &now
}

// TestLoginPage serves the sign-in form with the public pages' headers and
// a policy that runs no script.
func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	res := e.do(request{method: "GET", path: "/login"})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="password"`) {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(string(res.body), "<script") {
		t.Errorf("CSP %q", csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := res.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// TestLoginCookieAndSession signs in through the form, checks the
// cookie's flags, uses the session on the API, refuses it to a cross-site
// post, and signs out.
func TestLoginCookieAndSession(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	res := e.loginForm("a", "A-Staff@example.com", testPassword, nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
		t.Fatalf("status %d, location %q: %s", res.status, res.header.Get("Location"), res.body)
	}
	c := res.cookie(t, sessionCookie)
	raw := res.header.Get("Set-Cookie")
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" ||
		!strings.HasPrefix(raw, "__Host-custos_session=") || len(c.Value) < 40 {
		t.Fatalf("cookie %q", raw)
	}
	if c.Value == a.session {
		t.Fatal("a new sign-in reused a session token")
	}
	var me custos.User
	e.call(c.Value, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	if me.ID != a.user || me.Email != "a-staff@example.com" || me.Role != custos.RoleAdmin {
		t.Fatalf("me %+v", me)
	}
	e.call(c.Value, "GET", "/api/v1/contacts", nil, http.StatusOK, nil)

	t.Run("cross-site post refused", func(t *testing.T) {
		for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
			res := e.do(request{method: "POST", path: "/api/v1/contacts", token: c.Value, body: map[string]any{"email": "csrf@example.com"}, header: h})
			if res.status != http.StatusForbidden || res.apiError(t).Code != custos.EFORBIDDEN {
				t.Fatalf("%v: status %d %s", h, res.status, res.body)
			}
			res = e.loginForm("a", "a-staff@example.com", testPassword, h)
			if res.status != http.StatusForbidden {
				t.Fatalf("cross-site sign-in %v: status %d", h, res.status)
			}
		}
		// The same post from the site itself works.
		e.do(request{method: "POST", path: "/api/v1/contacts", token: c.Value, body: map[string]any{"email": "same@example.com"},
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if e.countContacts(a) != 2 {
			t.Fatalf("%d contacts", e.countContacts(a))
		}
	})
	t.Run("no state change on GET", func(t *testing.T) {
		for _, rt := range e.srv.routes() {
			if rt.method == http.MethodGet && strings.Contains(rt.pattern, "logout") {
				t.Fatalf("%s %s", rt.method, rt.pattern)
			}
		}
		if res := e.do(request{method: "GET", path: "/logout", token: c.Value}); res.status != http.StatusMethodNotAllowed {
			t.Fatalf("GET /logout: %d", res.status)
		}
	})
	t.Run("logout", func(t *testing.T) {
		res := e.do(request{method: "POST", path: "/logout", token: c.Value})
		if res.status != http.StatusSeeOther || res.cookie(t, sessionCookie).MaxAge >= 0 {
			t.Fatalf("status %d, %v", res.status, res.header)
		}
		res = e.do(request{method: "GET", path: "/api/v1/me", token: c.Value})
		if res.status != http.StatusUnauthorized {
			t.Fatalf("after logout: %d", res.status)
		}
	})
	t.Run("API key on /me", func(t *testing.T) {
		res := e.do(request{method: "GET", path: "/api/v1/me", token: a.token})
		if res.status != http.StatusForbidden {
			t.Fatalf("status %d", res.status)
		}
	})
}

// TestLoginNoEnumerationWeb answers an unknown user and a wrong password
// with the same status and the same bytes.
func TestLoginNoEnumerationWeb(t *testing.T) {
	e := newEnv(t)
	e.newWorkspace("a")
	wrong := e.loginForm("a", "a-staff@example.com", "not the password", nil)
	unknown := e.loginForm("a", "nobody@example.com", "not the password", nil)
	noWorkspace := e.loginForm("nowhere", "a-staff@example.com", testPassword, nil)
	// The form echoes the workspace typed, and nothing else.
	noWorkspace.body = bytes.ReplaceAll(noWorkspace.body, []byte(`value="nowhere"`), []byte(`value="a"`))
	for _, r := range []*response{unknown, noWorkspace} {
		if r.status != wrong.status || !bytes.Equal(r.body, wrong.body) || r.header.Get("Set-Cookie") != "" {
			t.Fatalf("answers differ: %d %s / %d %s", wrong.status, wrong.body, r.status, r.body)
		}
	}
	if wrong.status != http.StatusUnauthorized {
		t.Fatalf("status %d", wrong.status)
	}
}

// TestLoginLockoutWeb locks the account after ten failures and lets the
// owner in once the hour has passed, on an injected clock.
func TestLoginLockoutWeb(t *testing.T) {
	e := newEnv(t)
	e.newWorkspace("a")
	now := e.setClock()
	statuses := []int{}
	for range 10 {
		statuses = append(statuses, e.loginForm("a", "a-staff@example.com", "not the password", nil).status)
		*now = now.Add(20 * time.Second) // past each short delay
	}
	for i, s := range statuses {
		if s != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, s)
		}
	}
	res := e.loginForm("a", "a-staff@example.com", testPassword, nil)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("locked: status %d", res.status)
	}
	*now = now.Add(time.Hour)
	if res := e.loginForm("a", "a-staff@example.com", testPassword, nil); res.status != http.StatusSeeOther {
		t.Fatalf("after the window: status %d %s", res.status, res.body)
	}
}

// TestForcedPasswordChange lets a user who must change the password do
// only that, then everything their role allows.
func TestForcedPasswordChange(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	var u custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "new@example.com", "role": "sales", "password": testPassword, "must_change_password": true},
		http.StatusCreated, &u)
	c := e.loginForm("a", "new@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	res := e.do(request{method: "GET", path: "/api/v1/contacts", token: c})
	if res.status != http.StatusForbidden || res.apiError(t).Field != custos.RestrictPasswordChange {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	e.call(c, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	e.call(c, "POST", "/api/v1/me/password", map[string]any{"current_password": "wrong one, surely", "new_password": "another fine passphrase"}, http.StatusBadRequest, nil)
	e.call(c, "POST", "/api/v1/me/password", map[string]any{"current_password": testPassword, "new_password": "another fine passphrase"}, http.StatusNoContent, nil)
	e.call(c, "GET", "/api/v1/contacts", nil, http.StatusOK, nil)
	e.call(c, "GET", "/api/v1/users", nil, http.StatusForbidden, nil)
}

// TestUserAdministration creates, lists and changes users through the API;
// a new role ends the user's sessions; admins list and end sessions; the
// login history is the user's own on /me and everyone's for audit:read.
func TestUserAdministration(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	var u custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "Sales@Example.com", "role": "sales", "password": testPassword}, http.StatusCreated, &u)
	if u.Email != "sales@example.com" || u.Role != custos.RoleSales || !u.HasPassword {
		t.Fatalf("created %+v", u)
	}
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "sales@example.com", "role": "viewer", "password": testPassword}, http.StatusConflict, nil)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"short password", map[string]any{"email": "x@example.com", "role": "sales", "password": "short"}, "password"},
		{"common password", map[string]any{"email": "x@example.com", "role": "sales", "password": "qwertyuiop123456"}, "password"},
		{"unknown role", map[string]any{"email": "x@example.com", "role": "root", "password": testPassword}, "role"},
		{"bad network", map[string]any{"email": "x@example.com", "role": "sales", "password": testPassword, "allowed_ips": []string{"10.0.0.0/40"}}, "allowed_ips"},
		{"extra member", map[string]any{"email": "x@example.com", "role": "sales", "password": testPassword, "workspace_id": 99}, "workspace_id"},
		{"password too long", map[string]any{"email": "x@example.com", "role": "sales", "password": strings.Repeat("zq", 65)}, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: "/api/v1/users", token: a.token, body: tc.body})
			if res.status != http.StatusBadRequest || res.apiError(t).Field != tc.field {
				t.Fatalf("status %d %s", res.status, res.body)
			}
		})
	}
	sales := e.loginForm("a", "sales@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	userPath := "/api/v1/users/" + strconv.FormatInt(u.ID, 10)
	var sessions struct{ Data []custos.Session }
	e.call(a.token, "GET", userPath+"/sessions", nil, http.StatusOK, &sessions)
	if len(sessions.Data) != 1 || sessions.Data[0].IP != "192.0.2.1" {
		t.Fatalf("sessions %+v", sessions)
	}
	e.call(sales, "GET", "/api/v1/me/sessions", nil, http.StatusOK, &sessions)
	if len(sessions.Data) != 1 || !sessions.Data[0].Current {
		t.Fatalf("own sessions %+v", sessions)
	}
	var logins struct{ Data []custos.LoginRecord }
	e.call(sales, "GET", "/api/v1/me/logins", nil, http.StatusOK, &logins)
	if len(logins.Data) != 1 || logins.Data[0].UserID != u.ID || logins.Data[0].Result != custos.LoginSuccess {
		t.Fatalf("own logins %+v", logins)
	}
	e.call(sales, "GET", "/api/v1/logins", nil, http.StatusForbidden, nil)
	e.call(e.key(a, custos.RoleDPO), "GET", "/api/v1/logins", nil, http.StatusOK, &logins)
	if len(logins.Data) != 2 {
		t.Fatalf("all logins %+v", logins)
	}
	// Another user's session cannot be ended through /me.
	e.call(sales, "DELETE", "/api/v1/me/sessions/"+strconv.FormatInt(a.sessionID, 10), nil, http.StatusNotFound, nil)

	var changed custos.User
	e.call(a.token, "PATCH", userPath, map[string]any{"role": "viewer"}, http.StatusOK, &changed)
	if changed.Role != custos.RoleViewer {
		t.Fatalf("patched %+v", changed)
	}
	e.call(sales, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	e.call(a.token, "PATCH", userPath, map[string]any{"role": "owner"}, http.StatusBadRequest, nil)
	e.call(a.token, "PATCH", userPath, map[string]any{"status": "active"}, http.StatusBadRequest, nil)

	viewer := e.loginForm("a", "sales@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	e.call(viewer, "POST", "/api/v1/contacts", map[string]any{"email": "v@example.com"}, http.StatusForbidden, nil)
	e.call(a.token, "DELETE", userPath+"/sessions", nil, http.StatusNoContent, nil)
	e.call(viewer, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)

	again := e.loginForm("a", "sales@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	e.call(a.token, "PATCH", userPath, map[string]any{"disabled": true}, http.StatusOK, nil)
	e.call(again, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	if res := e.loginForm("a", "sales@example.com", testPassword, nil); res.status != http.StatusUnauthorized {
		t.Fatalf("disabled user signed in: %d", res.status)
	}
	var audit struct{ Data []custos.AuditEntry }
	e.call(a.token, "GET", "/api/v1/audit?action=user.update", nil, http.StatusOK, &audit)
	if len(audit.Data) != 2 || strings.Contains(audit.Data[0].Detail, "example.com") {
		t.Fatalf("audit %+v", audit.Data)
	}
}

// TestTwoFactorWeb enrols a user through the API and signs in in two
// steps; the second step gives a new token and the pending one never
// works as a session.
func TestTwoFactorWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	now := e.setClock()
	var enr custos.TOTPEnrolment
	e.call(a.session, "POST", "/api/v1/me/totp", nil, http.StatusCreated, &enr)
	if !strings.HasPrefix(enr.URI, "otpauth://totp/") {
		t.Fatalf("enrolment %+v", enr)
	}
	secret, err := totp.Decode(enr.Secret)
	must(t, err)
	var rec recoveryBody
	e.call(a.session, "POST", "/api/v1/me/totp/confirm", map[string]any{"code": totp.Code(secret, totp.Step(*now))}, http.StatusOK, &rec)
	if len(rec.RecoveryCodes) != 10 {
		t.Fatalf("codes %+v", rec)
	}
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusOK, nil) // the enrolling session stays

	res := e.loginForm("a", "a-staff@example.com", testPassword, nil)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="code"`) || res.header.Get("Set-Cookie") == "" {
		t.Fatalf("first step: %d %s", res.status, res.body)
	}
	pending := res.cookie(t, pendingCookie)
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == sessionCookie {
			t.Fatal("a session cookie after the password alone")
		}
	}
	// The pending token is no session.
	e.call(pending.Value, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)

	*now = now.Add(totp.Period)
	post := func(code string) *response {
		return e.do(request{method: "POST", path: "/login/2fa", body: url.Values{"code": {code}}.Encode(), contentType: formType,
			header: map[string]string{"Cookie": pendingCookie + "=" + pending.Value}})
	}
	if res := post("000000"); res.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", res.status)
	}
	res = post(totp.Code(secret, totp.Step(*now)))
	if res.status != http.StatusSeeOther {
		t.Fatalf("second step: %d %s", res.status, res.body)
	}
	full := res.cookie(t, sessionCookie).Value
	if full == pending.Value {
		t.Fatal("the pending token became the session token")
	}
	var me custos.User
	e.call(full, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	if !me.TOTPEnabled {
		t.Fatalf("me %+v", me)
	}
	var logins struct{ Data []custos.LoginRecord }
	e.call(full, "GET", "/api/v1/me/logins?limit=1", nil, http.StatusOK, &logins)
	if len(logins.Data) != 1 || logins.Data[0].TwoFactor != "totp" {
		t.Fatalf("logins %+v", logins)
	}
	// Required for everyone: a user without a second factor may only enrol.
	e.call(a.token, "PUT", "/api/v1/settings/security", map[string]any{"idle_timeout_minutes": 15, "require_2fa": "all"}, http.StatusOK, nil)
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "m@example.com", "role": "manager", "password": testPassword}, http.StatusCreated, nil)
	m := e.loginForm("a", "m@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	res = e.do(request{method: "GET", path: "/api/v1/contacts", token: m})
	if res.status != http.StatusForbidden || res.apiError(t).Field != custos.RestrictEnrol2FA {
		t.Fatalf("unenrolled: %d %s", res.status, res.body)
	}
	e.call(m, "POST", "/api/v1/me/totp", nil, http.StatusCreated, nil)
}

// TestClientIP takes the socket's address unless the peer is a trusted
// proxy, then the right-most X-Forwarded-For address not a proxy; X-Real-IP
// and Forwarded are never read.
func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8::1")
	must(t, err)
	for _, tc := range []struct {
		name    string
		remote  string
		trusted bool
		header  map[string]string
		want    string
	}{
		{"socket", "198.51.100.7:5000", false, nil, "198.51.100.7"},
		{"spoofed XFF without proxies", "198.51.100.7:5000", false, map[string]string{"X-Forwarded-For": "10.1.1.1"}, "198.51.100.7"},
		{"spoofed X-Real-IP", "198.51.100.7:5000", true, map[string]string{"X-Real-IP": "10.1.1.1"}, "198.51.100.7"},
		{"untrusted peer's XFF ignored", "198.51.100.7:5000", true, map[string]string{"X-Forwarded-For": "203.0.113.9"}, "198.51.100.7"},
		{"through a proxy", "10.0.0.2:5000", true, map[string]string{"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"},
		{"client-chosen prefix ignored", "10.0.0.2:5000", true, map[string]string{"X-Forwarded-For": "10.9.9.9, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies", "10.0.0.2:5000", true, map[string]string{"X-Forwarded-For": "203.0.113.9, 10.0.0.3"}, "203.0.113.9"},
		{"Forwarded ignored", "10.0.0.2:5000", true, map[string]string{"Forwarded": "for=203.0.113.1"}, "10.0.0.2"},
		{"garbage", "10.0.0.2:5000", true, map[string]string{"X-Forwarded-For": "203.0.113.9, bogus"}, "invalid IP"},
		{"v6 proxy", "[2001:db8::1]:443", true, map[string]string{"X-Forwarded-For": "2001:db8::77"}, "2001:db8::77"},
		{"v4-mapped", "[::ffff:198.51.100.7]:1", false, nil, "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{}
			if tc.trusted {
				s.trusted = proxies
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if got := s.clientIP(r).String(); got != tc.want {
				t.Fatalf("client %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad network was accepted")
	}
}

// TestIPAllowlistWeb refuses API keys and sessions from outside the
// workspace's networks, however the headers are spoofed.
func TestIPAllowlistWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	e.call(a.token, "PUT", "/api/v1/settings/security", map[string]any{"idle_timeout_minutes": 30, "require_2fa": "none", "allowed_ips": []string{"192.0.2.0/24", "2001:db8::/32"}},
		http.StatusOK, nil)
	e.call(a.token, "GET", "/api/v1/contacts", nil, http.StatusOK, nil) // httptest's peer is 192.0.2.1
	narrow := []string{"10.0.0.0/8"}
	must(t, e.db.UpdateSecuritySettings(a.ctx, &custos.SecuritySettings{IdleTimeoutMinutes: 30, Require2FA: "none", AllowedIPs: narrow}))
	spoof := map[string]string{"X-Forwarded-For": "10.0.0.5", "X-Real-IP": "10.0.0.5", "Forwarded": "for=10.0.0.5"}
	for _, cred := range []string{a.token, a.session} {
		res := e.do(request{method: "GET", path: "/api/v1/contacts", token: cred, header: spoof})
		if res.status != http.StatusForbidden {
			t.Fatalf("spoofed: status %d %s", res.status, res.body)
		}
	}
	// From outside, the right password is refused exactly as a wrong one.
	right := e.loginForm("a", "a-staff@example.com", testPassword, spoof)
	wrong := e.loginForm("a", "a-staff@example.com", "not the password at all", spoof)
	if right.status != http.StatusUnauthorized || right.status != wrong.status || !bytes.Equal(right.body, wrong.body) {
		t.Fatalf("sign-in from outside: %d %s; with a wrong password: %d %s", right.status, right.body, wrong.status, wrong.body)
	}
	// Behind a trusted proxy, the forwarded address counts.
	e.srv.trusted = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
	res := e.do(request{method: "GET", path: "/api/v1/contacts", token: a.token, header: map[string]string{"X-Forwarded-For": "10.0.0.5"}})
	if res.status != http.StatusOK {
		t.Fatalf("through the proxy: %d %s", res.status, res.body)
	}
	res = e.do(request{method: "GET", path: "/api/v1/contacts", token: a.token, header: map[string]string{"X-Forwarded-For": "10.0.0.5, 198.51.100.9"}})
	if res.status != http.StatusForbidden {
		t.Fatalf("client-chosen prefix: %d", res.status)
	}
}

// TestPasswordResetWeb mails a link for a known address and answers an
// unknown one alike; the link's GET changes nothing, its POST sets the
// password once and ends the sessions.
func TestPasswordResetWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	ask := func(email string) *response {
		return e.do(request{method: "POST", path: "/login/reset", body: url.Values{"workspace": {"a"}, "email": {email}}.Encode(), contentType: formType})
	}
	unknown := ask("nobody@example.com")
	known := ask("a-staff@example.com")
	e.srv.mails.Wait()
	if unknown.status != http.StatusOK || known.status != unknown.status || !bytes.Equal(known.body, unknown.body) {
		t.Fatalf("answers differ: %d / %d", known.status, unknown.status)
	}
	if n := e.mail.count(t); n != 1 {
		t.Fatalf("%d mails", n)
	}
	m := e.mail.last(t)
	i := strings.Index(m.Text, testBaseURL+"/login/reset/")
	if m.To != "a-staff@example.com" || i < 0 || m.Ref != "user-"+strconv.FormatInt(a.user, 10) {
		t.Fatalf("mail %+v", m)
	}
	link := strings.Fields(m.Text[i+len(testBaseURL):])[0]
	if res := e.do(request{method: "GET", path: link}); res.status != http.StatusOK || !strings.Contains(string(res.body), `name="password"`) {
		t.Fatalf("GET link: %d", res.status)
	}
	post := func(pw string, h map[string]string) *response {
		return e.do(request{method: "POST", path: link, body: url.Values{"password": {pw}}.Encode(), contentType: formType, header: h})
	}
	if res := post("a new passphrase here", map[string]string{"Sec-Fetch-Site": "cross-site"}); res.status != http.StatusForbidden {
		t.Fatalf("cross-site: %d", res.status)
	}
	if res := post("password12345", nil); res.status != http.StatusBadRequest {
		t.Fatalf("common: %d", res.status)
	}
	if res := post("a new passphrase here", nil); res.status != http.StatusOK {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	if res := post("another new passphrase", nil); res.status != http.StatusNotFound {
		t.Fatalf("second use: %d", res.status)
	}
	if res := e.loginForm("a", "a-staff@example.com", "a new passphrase here", nil); res.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", res.status)
	}
}

// FuzzClientIP feeds arbitrary forwarding headers to the client address
// reader: it never panics, and behind no trusted proxy it is always the
// socket's address.
func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.9", "10.0.0.1")
	f.Add("203.0.113.9, 10.0.0.3", "for=1.2.3.4")
	f.Add(" , ,", "")
	f.Add("::ffff:10.0.0.1,2001:db8::1", "x")
	proxies, _ := ParseTrustedProxies("10.0.0.0/8,2001:db8::/32")
	f.Fuzz(func(t *testing.T, xff, realIP string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:1"
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Real-IP", realIP)
		behind := (&server{trusted: proxies}).clientIP(r)
		if behind.IsValid() && behind != netip.MustParseAddr("10.0.0.2") && (&server{trusted: proxies}).trustedProxy(behind) {
			t.Fatalf("a trusted proxy %s taken for the client", behind)
		}
		if got := (&server{}).clientIP(r); got != netip.MustParseAddr("10.0.0.2") {
			t.Fatalf("no proxies: %s", got)
		}
	})
}

// TestEmail2FAWeb turns mailed codes on and signs in with the code from
// the mail.
func TestEmail2FAWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	e.call(a.session, "PUT", "/api/v1/me/email-2fa", map[string]any{"enabled": true, "password": "not it at all"}, http.StatusBadRequest, nil)
	e.call(a.token, "PUT", "/api/v1/me/email-2fa", map[string]any{"enabled": true, "password": testPassword}, http.StatusForbidden, nil)
	e.call(a.session, "PUT", "/api/v1/me/email-2fa", map[string]any{"enabled": true, "password": testPassword}, http.StatusNoContent, nil)
	res := e.loginForm("a", "a-staff@example.com", testPassword, nil)
	e.srv.mails.Wait()
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="code"`) {
		t.Fatalf("first step: %d", res.status)
	}
	m := e.mail.last(t)
	i := strings.Index(m.Text, "code is ")
	if m.To != "a-staff@example.com" || i < 0 {
		t.Fatalf("mail %+v", m)
	}
	code := m.Text[i+8 : i+14]
	pending := res.cookie(t, pendingCookie).Value
	res = e.do(request{method: "POST", path: "/login/2fa", body: url.Values{"code": {code}}.Encode(), contentType: formType,
		header: map[string]string{"Cookie": pendingCookie + "=" + pending}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("second step: %d %s", res.status, res.body)
	}
	var me custos.User
	e.call(res.cookie(t, sessionCookie).Value, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	if !me.Email2FA {
		t.Fatalf("me %+v", me)
	}
}

// TestSignInAgainEndsOldSession: a browser that signs in again keeps one
// session, with a new token.
func TestSignInAgainEndsOldSession(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	res := e.loginForm("a", "a-staff@example.com", testPassword, map[string]string{"Cookie": sessionCookie + "=" + a.session})
	fresh := res.cookie(t, sessionCookie).Value
	if fresh == a.session {
		t.Fatal("the old token was kept")
	}
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	e.call(fresh, "GET", "/api/v1/me", nil, http.StatusOK, nil)
}

// TestAccountsMalformed sends malformed bodies and queries to the account
// routes: each is refused naming the member, and changes nothing.
func TestAccountsMalformed(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	user := "/api/v1/users/" + strconv.FormatInt(a.user, 10)
	for _, tc := range []struct {
		name, method, path string
		token              string
		body               any
		status             int
		field              string
	}{
		{"user: unknown member", "PATCH", user, a.token, `{"role":"viewer","owner":1}`, 400, "owner"},
		{"user: wrong type", "PATCH", user, a.token, `{"disabled":"yes"}`, 400, "disabled"},
		{"user: networks not a list", "PATCH", user, a.token, `{"allowed_ips":"10.0.0.0/8"}`, 400, "allowed_ips"},
		{"user: bad id", "GET", "/api/v1/users/x", a.token, nil, 404, ""},
		{"settings: missing 2fa", "PUT", "/api/v1/settings/security", a.token, `{"idle_timeout_minutes":30}`, 400, "require_2fa"},
		{"settings: unknown member", "PUT", "/api/v1/settings/security", a.token, `{"idle_timeout_minutes":30,"require_2fa":"none","x":1}`, 400, "x"},
		{"password: unknown member", "POST", "/api/v1/me/password", a.session, `{"current_password":"x","new_password":"y","admin":true}`, 400, "admin"},
		{"password: too short", "POST", "/api/v1/me/password", a.session, `{"current_password":"` + testPassword + `","new_password":"short"}`, 400, "new_password"},
		{"totp: confirm without begin", "POST", "/api/v1/me/totp/confirm", a.session, `{"code":"123456"}`, 409, ""},
		{"logins: bad cursor", "GET", "/api/v1/logins?cursor=!!", a.token, nil, 400, "cursor"},
		{"logins: unknown parameter", "GET", "/api/v1/logins?email=x", a.token, nil, 400, "email"},
		{"logins: bad user", "GET", "/api/v1/logins?user_id=-1", a.token, nil, 400, "user_id"},
		{"sessions: bad id", "DELETE", "/api/v1/me/sessions/0", a.session, nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: tc.method, path: tc.path, token: tc.token, body: tc.body})
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if got := res.apiError(t); got.Field != tc.field {
				t.Errorf("field %q, want %q", got.Field, tc.field)
			}
		})
	}
	u, err := e.db.FindUserByID(a.ctx, a.user)
	must(t, err)
	if u.Role != custos.RoleAdmin || u.Status != custos.UserActive || len(u.AllowedIPs) != 0 {
		t.Fatalf("user changed: %+v", u)
	}
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusOK, nil)
}

// TestInvitationWeb creates a user without a password: an invitation link
// is mailed, with which the user sets one and signs in; the link works
// once; without mail, a password is required.
func TestInvitationWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	var u custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "invited@example.com", "role": "marketer"}, http.StatusCreated, &u)
	if u.HasPassword {
		t.Fatalf("user %+v", u)
	}
	m := e.mail.last(t)
	i := strings.Index(m.Text, testBaseURL+"/login/reset/")
	if m.To != "invited@example.com" || i < 0 {
		t.Fatalf("mail %+v", m)
	}
	link := strings.Fields(m.Text[i+len(testBaseURL):])[0]
	if res := e.loginForm("a", "invited@example.com", "", nil); res.status != http.StatusUnauthorized {
		t.Fatalf("sign-in without a password: %d", res.status)
	}
	res := e.do(request{method: "POST", path: link, body: url.Values{"password": {"my first passphrase"}}.Encode(), contentType: formType})
	if res.status != http.StatusOK {
		t.Fatalf("set password: %d %s", res.status, res.body)
	}
	if res := e.loginForm("a", "invited@example.com", "my first passphrase", nil); res.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.status)
	}
	e.call(a.token, "POST", "/api/v1/users/"+strconv.FormatInt(u.ID, 10)+"/invitation", nil, http.StatusConflict, nil)
	e.srv.mailer = nil
	res = e.do(request{method: "POST", path: "/api/v1/users", token: a.token, body: map[string]any{"email": "x@example.com", "role": "sales"}})
	if res.status != http.StatusBadRequest || res.apiError(t).Field != "password" {
		t.Fatalf("without mail: %d %s", res.status, res.body)
	}
}

// TestLimitKey counts an IPv6 client by its /64 and an IPv4 one by its
// address, so that rotating addresses within a /64 escapes no limit.
func TestLimitKey(t *testing.T) {
	s := &server{}
	key := func(remote string) string {
		r := httptest.NewRequest("POST", "/p/request", nil)
		r.RemoteAddr = remote
		return s.limitKey(r)
	}
	if a, b := key("[2001:db8:1:2::1]:1000"), key("[2001:db8:1:2:ffff::9]:2000"); a != b || a != "2001:db8:1:2::/64" {
		t.Errorf("one /64: %q and %q", a, b)
	}
	if a, b := key("[2001:db8:1:2::1]:1000"), key("[2001:db8:1:3::1]:1000"); a == b {
		t.Errorf("two /64s share a key %q", a)
	}
	if a, b := key("192.0.2.1:1"), key("192.0.2.2:1"); a == b || a != "192.0.2.1" {
		t.Errorf("IPv4: %q and %q", a, b)
	}
	if k := key("garbage"); k != "" {
		t.Errorf("unknown address: %q", k)
	}
}
