package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestCustomRoles makes a role of the workspace's own through the API,
// gives it to a user and a key, changes it (in force from the next
// request), and deletes it only once nobody carries it.
func TestCustomRoles(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")

	var list struct{ Data []custos.RoleDef }
	e.call(a.token, "GET", "/api/v1/roles", nil, http.StatusOK, &list)
	builtin := map[custos.Role]custos.RoleDef{}
	for _, d := range list.Data {
		if d.Builtin {
			builtin[d.Name] = d
		}
	}
	if len(builtin) != 6 || !slices.Equal(builtin[custos.RoleViewer].Permissions, []custos.Permission{custos.PermContactsRead}) {
		t.Fatalf("built-in roles %+v", list.Data)
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"built-in name", map[string]any{"name": "admin", "permissions": []string{"export"}}, 400, "name"},
		{"bad name", map[string]any{"name": "Team\nLead", "permissions": []string{"export"}}, 400, "name"},
		{"unknown permission", map[string]any{"name": "x", "permissions": []string{"contacts:*"}}, 400, "permissions"},
		{"no permission", map[string]any{"name": "x", "permissions": []string{}}, 400, "permissions"},
		{"extra member", map[string]any{"name": "x", "permissions": []string{"export"}, "builtin": true}, 400, "builtin"},
		{"taken", map[string]any{"name": a.role, "permissions": []string{"export"}}, 409, "name"},
		// The register shows the subject's address and a request's answer
		// holds the export: managing requests is reading personal data.
		{"requests without personal data", map[string]any{"name": "clerk", "permissions": []string{"contacts:read", "requests:manage"}}, 400, "permissions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: "/api/v1/roles", token: a.token, body: tc.body})
			if res.status != tc.status || res.apiError(t).Field != tc.field {
				t.Fatalf("status %d %s", res.status, res.body)
			}
		})
	}
	e.call(a.token, "PATCH", "/api/v1/roles/viewer", map[string]any{"permissions": []string{"export"}}, http.StatusBadRequest, nil)
	e.call(a.token, "PATCH", "/api/v1/roles/"+string(a.role), map[string]any{"permissions": []string{"requests:manage"}}, http.StatusBadRequest, nil)
	e.call(a.token, "DELETE", "/api/v1/roles/admin", nil, http.StatusBadRequest, nil)
	e.call(a.token, "GET", "/api/v1/roles/nosuch", nil, http.StatusNotFound, nil)
	e.call(a.token, "PATCH", "/api/v1/users/"+strconv.FormatInt(a.user, 10), map[string]any{"role": "nosuch"}, http.StatusBadRequest, nil)

	var d custos.RoleDef
	e.call(a.token, "POST", "/api/v1/roles", map[string]any{"name": "reader", "permissions": []string{"personal_data:read", "contacts:read"}}, http.StatusCreated, &d)
	if d.Builtin || !slices.Equal(d.Permissions, []custos.Permission{custos.PermContactsRead, custos.PermPersonalDataRead}) {
		t.Fatalf("created %+v", d)
	}
	// A user of the role, signed in with a session, and a key of it.
	var u custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "reader@example.com", "role": "reader", "password": testPassword}, http.StatusCreated, &u)
	session := e.loginForm("a", "reader@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	var key struct{ Token string }
	e.call(a.token, "POST", "/api/v1/api-keys", map[string]any{"name": "reader key", "role": "reader"}, http.StatusCreated, &key)
	contact := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10)
	for _, cred := range []string{session, key.Token} {
		var c custos.Contact
		e.call(cred, "GET", contact, nil, http.StatusOK, &c)
		if c.Email != a.email {
			t.Fatalf("reader sees %+v", c)
		}
		e.call(cred, "GET", contact+"/history", nil, http.StatusOK, nil)
		e.call(cred, "PATCH", contact, map[string]any{"tags": []string{"x"}}, http.StatusForbidden, nil)
	}

	// A change of the role counts from the next request, for both.
	e.call(a.token, "PATCH", "/api/v1/roles/reader", map[string]any{"permissions": []string{"contacts:read", "contacts:write"}}, http.StatusOK, &d)
	for _, cred := range []string{session, key.Token} {
		var c custos.Contact
		e.call(cred, "GET", contact, nil, http.StatusOK, &c)
		if c.Email != "" {
			t.Fatalf("the role lost personal_data:read but the e-mail shows: %+v", c)
		}
		e.call(cred, "GET", contact+"/history", nil, http.StatusForbidden, nil)
		e.call(cred, "PATCH", contact, map[string]any{"tags": []string{"tag-a"}}, http.StatusOK, nil)
	}

	// In use: refused, saying by how many.
	res := e.do(request{method: "DELETE", path: "/api/v1/roles/reader", token: a.token})
	if res.status != http.StatusConflict || res.apiError(t).Message != "The role reader is in use by 1 users and 1 API keys; give them another role, or revoke the keys, first." {
		t.Fatalf("delete in use: %d %s", res.status, res.body)
	}
	e.call(key.Token, "GET", contact, nil, http.StatusOK, nil) // still there
	var keys struct{ Data []custos.APIKey }
	e.call(a.token, "GET", "/api/v1/api-keys", nil, http.StatusOK, &keys)
	for _, k := range keys.Data {
		if k.Role == "reader" {
			e.call(a.token, "DELETE", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10), nil, http.StatusNoContent, nil)
		}
	}
	// A new role ends the user's sessions, as before.
	e.call(a.token, "PATCH", "/api/v1/users/"+strconv.FormatInt(u.ID, 10), map[string]any{"role": "viewer"}, http.StatusOK, nil)
	e.call(session, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	e.call(a.token, "DELETE", "/api/v1/roles/reader", nil, http.StatusNoContent, nil)
	e.call(a.token, "GET", "/api/v1/roles/reader", nil, http.StatusNotFound, nil)

	var audit struct{ Data []custos.AuditEntry }
	e.call(a.token, "GET", "/api/v1/audit?limit=100", nil, http.StatusOK, &audit)
	var actions []string
	for _, en := range audit.Data {
		if en.Route != "" && (en.Action == "role.create" || en.Action == "role.update" || en.Action == "role.delete") {
			actions = append(actions, en.Action+" "+en.Detail)
		}
	}
	want := []string{"role.delete role=reader", "role.update role=reader permissions=contacts:read,contacts:write",
		"role.create role=reader permissions=contacts:read,personal_data:read"}
	if !slices.Equal(actions, want) {
		t.Errorf("audited %q, want %q", actions, want)
	}
}

// TestNoPrivilegeEscalation checks that a caller with users:manage but a
// narrower role cannot make a key, a user or a role with more than its
// own permissions, nor widen the role it carries.
func TestNoPrivilegeEscalation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	e.call(a.token, "POST", "/api/v1/roles", map[string]any{"name": "staffer", "permissions": []string{"users:manage", "contacts:read"}}, http.StatusCreated, nil)
	var k struct {
		custos.APIKey
		Token string
	}
	e.call(a.token, "POST", "/api/v1/api-keys", map[string]any{"name": "staffer key", "role": "staffer"}, http.StatusCreated, &k)
	staffer := k.Token
	var viewer custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "viewer@example.com", "role": "viewer", "password": testPassword}, http.StatusCreated, &viewer)

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"admin key", "POST", "/api/v1/api-keys", map[string]any{"name": "x", "role": "admin"}},
		{"key of a wider own role", "POST", "/api/v1/api-keys", map[string]any{"name": "x", "role": a.role + "-wide"}},
		{"admin user", "POST", "/api/v1/users", map[string]any{"email": "x@example.com", "role": "admin", "password": testPassword}},
		{"user made dpo", "PATCH", "/api/v1/users/" + strconv.FormatInt(viewer.ID, 10), map[string]any{"role": "dpo"}},
		{"wider role", "POST", "/api/v1/roles", map[string]any{"name": "wider", "permissions": []string{"users:manage", "forget"}}},
		{"widen own role", "PATCH", "/api/v1/roles/staffer", map[string]any{"permissions": []string{"users:manage", "contacts:read", "personal_data:read"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "key of a wider own role" {
				e.call(a.token, "POST", "/api/v1/roles", map[string]any{"name": a.role + "-wide", "permissions": []string{"contacts:read", "export"}}, http.StatusCreated, nil)
			}
			res := e.do(request{method: tc.method, path: tc.path, token: staffer, body: tc.body})
			if res.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", res.status, res.body)
			}
			if got := res.apiError(t); got.Code != custos.EFORBIDDEN || (got.Field != "role" && got.Field != "permissions") {
				t.Errorf("error %+v", got)
			}
		})
	}
	// Nor act on an account or a key whose role has more than its own:
	// lock an administrator out by networks, disable, demote, delete them,
	// end their sessions, or revoke an admin key.
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "admin2@example.com", "role": "admin", "password": testPassword}, http.StatusCreated, nil)
	e.call(a.token, "POST", "/api/v1/roles", map[string]any{"name": "wide", "permissions": []string{"contacts:read", "forget"}}, http.StatusCreated, nil)
	keys, err := e.db.FindAPIKeys(a.ctx)
	must(t, err)
	admin := "/api/v1/users/" + strconv.FormatInt(a.user, 10)
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"networks", "PATCH", admin, map[string]any{"allowed_ips": []string{"198.51.100.7/32"}}},
		{"disable", "PATCH", admin, map[string]any{"disabled": true}},
		{"demote", "PATCH", admin, map[string]any{"role": "viewer"}},
		{"force a password change", "PATCH", admin, map[string]any{"must_change_password": true}},
		{"end sessions", "DELETE", admin + "/sessions", nil},
		{"delete", "DELETE", admin, nil},
		{"revoke an admin key", "DELETE", "/api/v1/api-keys/" + strconv.FormatInt(keys[0].ID, 10), nil},
		{"narrow a wider role", "PATCH", "/api/v1/roles/wide", map[string]any{"permissions": []string{"contacts:read"}}},
	} {
		t.Run("wider "+tc.name, func(t *testing.T) {
			res := e.do(request{method: tc.method, path: tc.path, token: staffer, body: tc.body})
			if res.status != http.StatusForbidden || res.apiError(t).Code != custos.EFORBIDDEN {
				t.Fatalf("status %d, want 403: %s", res.status, res.body)
			}
		})
	}
	if u, err := e.db.FindUserByID(a.ctx, a.user); err != nil || u.Role != custos.RoleAdmin || len(u.AllowedIPs) != 0 || u.MustChangePassword {
		t.Fatalf("the admin changed: %+v %v", u, err)
	}
	e.call(a.token, "GET", "/api/v1/users", nil, http.StatusOK, nil)

	// What the caller holds it can hand out.
	var viewerKey struct{ Token string }
	e.call(staffer, "POST", "/api/v1/api-keys", map[string]any{"name": "v", "role": "viewer"}, http.StatusCreated, &viewerKey)
	e.call(staffer, "POST", "/api/v1/api-keys", map[string]any{"name": "s", "role": "staffer"}, http.StatusCreated, nil)
	e.call(staffer, "POST", "/api/v1/roles", map[string]any{"name": "narrow", "permissions": []string{"contacts:read"}}, http.StatusCreated, nil)
	if u, err := e.db.FindUserByID(a.ctx, viewer.ID); err != nil || u.Role != custos.RoleViewer {
		t.Fatalf("user changed: %+v %v", u, err)
	}
	// And it acts on accounts no wider than its own.
	e.call(staffer, "PATCH", "/api/v1/users/"+strconv.FormatInt(viewer.ID, 10), map[string]any{"must_change_password": true}, http.StatusOK, nil)
	e.call(staffer, "DELETE", "/api/v1/users/"+strconv.FormatInt(viewer.ID, 10)+"/sessions", nil, http.StatusNoContent, nil)
	if keys, err := e.db.FindAPIKeys(a.ctx); err != nil || slices.ContainsFunc(keys, func(k *custos.APIKey) bool { return k.Name == "x" }) {
		t.Fatalf("a refused key exists: %v", err)
	}
}

// TestAPIKeysOverTheAPI makes, lists and revokes keys: the secret is
// answered once and never listed, the last use is recorded, and a revoked
// key is refused at its next request.
func TestAPIKeysOverTheAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	var k struct {
		custos.APIKey
		Token string
	}
	res := e.call(a.token, "POST", "/api/v1/api-keys", map[string]any{"name": "crm sync", "role": "sales"}, http.StatusCreated, &k)
	if !strings.HasPrefix(k.Token, "cus_") || k.Role != custos.RoleSales || k.Name != "crm sync" || !strings.HasPrefix(k.Token, k.Prefix) || k.LastUsedAt != nil {
		t.Fatalf("created %s", res.body)
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"unknown role", map[string]any{"name": "x", "role": "root"}, "role"},
		{"bad role", map[string]any{"name": "x", "role": "Root!"}, "role"},
		{"long name", map[string]any{"name": strings.Repeat("n", 101), "role": "viewer"}, "name"},
		{"extra member", map[string]any{"name": "x", "role": "viewer", "workspace_id": 2}, "workspace_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: "/api/v1/api-keys", token: a.token, body: tc.body})
			if res.status != http.StatusBadRequest || res.apiError(t).Field != tc.field {
				t.Fatalf("status %d %s", res.status, res.body)
			}
		})
	}
	e.call(k.Token, "GET", "/api/v1/contacts", nil, http.StatusOK, nil)

	res = e.call(a.token, "GET", "/api/v1/api-keys", nil, http.StatusOK, nil)
	if strings.Contains(string(res.body), k.Token) || strings.Contains(string(res.body), k.Token[len(k.Prefix):]) || strings.Contains(string(res.body), "token") {
		t.Fatalf("the listing shows a secret: %s", res.body)
	}
	var list struct{ Data []custos.APIKey }
	e.call(a.token, "GET", "/api/v1/api-keys", nil, http.StatusOK, &list)
	var found *custos.APIKey
	for i := range list.Data {
		if list.Data[i].ID == k.ID {
			found = &list.Data[i]
		}
	}
	if found == nil || found.LastUsedAt == nil || found.Role != custos.RoleSales {
		t.Fatalf("listed %+v", list.Data)
	}

	path := "/api/v1/api-keys/" + strconv.FormatInt(k.ID, 10)
	e.call(a.token, "DELETE", path, nil, http.StatusNoContent, nil)
	res = e.do(request{method: "GET", path: "/api/v1/contacts", token: k.Token})
	if res.status != http.StatusUnauthorized {
		t.Fatalf("a revoked key answered %d", res.status)
	}
	e.call(a.token, "DELETE", path, nil, http.StatusNotFound, nil)
	e.call(a.token, "GET", "/api/v1/api-keys", nil, http.StatusOK, &list)
	if slices.ContainsFunc(list.Data, func(x custos.APIKey) bool { return x.ID == k.ID }) {
		t.Fatalf("a revoked key is listed")
	}
	var audit struct{ Data []custos.AuditEntry }
	e.call(a.token, "GET", "/api/v1/audit?action=apikey.revoke", nil, http.StatusOK, &audit)
	if len(audit.Data) != 1 || audit.Data[0].Detail != "apikey="+strconv.FormatInt(k.ID, 10) || audit.Data[0].Route != "DELETE /api/v1/api-keys/{id}" {
		t.Fatalf("audit %+v", audit.Data)
	}
}

// TestDeleteUserWeb deletes a staff account through the API: its sessions
// end, it is gone from the users, its login history keeps no address or
// browser, the audit log still verifies; one's own account and the last
// admin are refused with 409.
func TestDeleteUserWeb(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	var u custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "leaver@example.com", "role": "sales", "password": testPassword}, http.StatusCreated, &u)
	session := e.loginForm("a", "leaver@example.com", testPassword, nil).cookie(t, sessionCookie).Value
	path := "/api/v1/users/" + strconv.FormatInt(u.ID, 10)

	e.call(session, "DELETE", path, nil, http.StatusForbidden, nil) // sales lacks users:manage
	e.call(a.token, "DELETE", path, nil, http.StatusNoContent, nil)
	e.call(session, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	e.call(a.token, "GET", path, nil, http.StatusNotFound, nil)
	e.call(a.token, "DELETE", path, nil, http.StatusNotFound, nil)
	if res := e.loginForm("a", "leaver@example.com", testPassword, nil); res.status != http.StatusUnauthorized {
		t.Fatalf("a deleted user signed in: %d", res.status)
	}
	res := e.call(a.token, "GET", "/api/v1/users", nil, http.StatusOK, nil)
	if strings.Contains(string(res.body), "leaver") {
		t.Fatalf("listed: %s", res.body)
	}
	var logins struct{ Data []custos.LoginRecord }
	e.call(a.token, "GET", "/api/v1/logins?user_id="+strconv.FormatInt(u.ID, 10), nil, http.StatusOK, &logins)
	if len(logins.Data) != 1 {
		t.Fatalf("the login history went: %+v", logins.Data)
	}
	for _, l := range logins.Data {
		if l.IP != "" || l.UserAgent != "" {
			t.Errorf("login record keeps %q %q", l.IP, l.UserAgent)
		}
	}
	// The address is free again.
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "leaver@example.com", "role": "viewer", "password": testPassword}, http.StatusCreated, nil)

	// One's own account, and the last admin.
	self := "/api/v1/users/" + strconv.FormatInt(a.user, 10)
	res = e.do(request{method: "DELETE", path: self, token: a.session})
	if res.status != http.StatusConflict || !strings.Contains(res.apiError(t).Message, "your own account") {
		t.Fatalf("self-deletion: %d %s", res.status, res.body)
	}
	res = e.do(request{method: "DELETE", path: self, token: a.token})
	if res.status != http.StatusConflict || !strings.Contains(res.apiError(t).Message, "last active administrator") {
		t.Fatalf("last admin: %d %s", res.status, res.body)
	}
	var other custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "second-admin@example.com", "role": "admin", "password": testPassword}, http.StatusCreated, &other)
	e.call(a.token, "DELETE", self, nil, http.StatusNoContent, nil)
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)

	var audit struct{ Data []custos.AuditEntry }
	e.call(a.token, "GET", "/api/v1/audit?action=user.delete", nil, http.StatusOK, &audit)
	if len(audit.Data) != 2 || audit.Data[1].Detail != "user="+strconv.FormatInt(u.ID, 10)+" personal_data_removed sessions_ended" {
		t.Fatalf("audit %+v", audit.Data)
	}
	var rep custos.AuditReport
	e.call(a.token, "GET", "/api/v1/audit/verify", nil, http.StatusOK, &rep)
	if !rep.OK {
		t.Fatalf("verify %+v", rep)
	}
}

// TestSignInsAreAudited checks that every sign-in, refused or not, is in
// the audit chain with its client address, and that no entry holds the
// address or the password typed.
func TestSignInsAreAudited(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	const typedAddress, typedPassword = "nobody-at-all@example.com", "a wrong guess of a password"
	e.loginForm("a", typedAddress, typedPassword, nil)
	e.loginForm("a", "a-staff@example.com", typedPassword, nil)
	e.loginForm("a", "a-staff@example.com", testPassword, nil)
	// Lock the account: its tenth failure locks it for the hour.
	for range 12 {
		e.loginForm("a", "a-staff@example.com", typedPassword, nil)
	}
	res := e.loginForm("a", "a-staff@example.com", testPassword, nil)
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("not locked: %d", res.status)
	}

	var audit struct{ Data []custos.AuditEntry }
	body := e.call(a.token, "GET", "/api/v1/audit?limit=100", nil, http.StatusOK, &audit).body
	for _, s := range []string{typedAddress, typedPassword, testPassword, "a-staff@"} {
		if strings.Contains(string(body), s) {
			t.Errorf("the audit log holds %q", s)
		}
	}
	user := "user:" + strconv.FormatInt(a.user, 10)
	var got []string
	for i := len(audit.Data) - 1; i >= 0; i-- {
		en := audit.Data[i]
		if en.Action != custos.AuditLogin && en.Action != custos.AuditLoginFailed {
			continue
		}
		// A failure carries the client's address (an attack's source); a
		// success only the route, the address being in the sealed login
		// history.
		if en.Route != "POST /login" || (en.IP == "192.0.2.1") != (en.Action == custos.AuditLoginFailed) {
			t.Errorf("entry without route or address: %+v", en)
		}
		got = append(got, en.Actor+" "+en.Action+" "+strings.TrimPrefix(en.Detail, "user="+strconv.FormatInt(a.user, 10)+" "))
	}
	want := []string{
		user + " user.login session=" + strconv.FormatInt(a.sessionID, 10), // newWorkspace's
		"anonymous user.login_failed result=bad_password",
		user + " user.login_failed result=bad_password",
	}
	if len(got) < 6 || !slices.Equal(got[:3], want) || !strings.HasPrefix(got[3], user+" user.login session=") ||
		got[len(got)-1] != user+" user.login_failed result=locked" {
		t.Fatalf("sign-in entries:\n%s", strings.Join(got, "\n"))
	}
	var rep custos.AuditReport
	e.call(a.token, "GET", "/api/v1/audit/verify", nil, http.StatusOK, &rep)
	if !rep.OK {
		t.Fatalf("verify %+v", rep)
	}
}

// TestLastAdminStays refuses, with 409 naming the field, to demote or
// disable the workspace's last active administrator, as deleting them is
// refused; the refusal changes nothing and ends no session. A disabled
// administrator does not count as one left behind.
func TestLastAdminStays(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	path := func(id int64) string { return "/api/v1/users/" + strconv.FormatInt(id, 10) }
	refused := func(id int64, body map[string]any, field string) {
		t.Helper()
		before := newestAudit(e, a)
		res := e.do(request{method: "PATCH", path: path(id), token: a.token, body: body})
		if res.status != http.StatusConflict {
			t.Fatalf("%v: %d %s", body, res.status, res.body)
		}
		if ae := res.apiError(t); ae.Code != "conflict" || ae.Field != field || !strings.Contains(ae.Message, "last active administrator") {
			t.Fatalf("%v: %+v", body, ae)
		}
		if after := newestAudit(e, a); after.Seq != before.Seq {
			t.Fatalf("a refused change was audited: %+v", after)
		}
		var u custos.User
		e.call(a.token, "GET", path(id), nil, http.StatusOK, &u)
		if u.Role != custos.RoleAdmin || u.Status != custos.UserActive {
			t.Fatalf("%v refused, but the user is now %s, %s", body, u.Role, u.Status)
		}
	}
	refused(a.user, map[string]any{"role": "manager"}, "role")
	refused(a.user, map[string]any{"disabled": true}, "disabled")
	refused(a.user, map[string]any{"role": "viewer", "disabled": true}, "role")
	e.call(a.session, "GET", "/api/v1/me", nil, http.StatusOK, nil) // the session lives on
	// Naming the role and status it has changes nothing, and is allowed.
	e.call(a.token, "PATCH", path(a.user), map[string]any{"role": "admin", "disabled": false}, http.StatusOK, nil)

	// With a second active admin, the first may go; then the second stays.
	var second, third custos.User
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "second-admin@example.com", "role": "admin", "password": testPassword}, http.StatusCreated, &second)
	e.call(a.token, "PATCH", path(a.user), map[string]any{"role": "manager"}, http.StatusOK, nil)
	refused(second.ID, map[string]any{"disabled": true}, "disabled")
	// A disabled admin is no administrator left behind.
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "third-admin@example.com", "role": "admin", "password": testPassword}, http.StatusCreated, &third)
	e.call(a.token, "PATCH", path(third.ID), map[string]any{"disabled": true}, http.StatusOK, nil)
	refused(second.ID, map[string]any{"role": "dpo"}, "role")
	res := e.do(request{method: "DELETE", path: path(second.ID), token: a.token})
	if res.status != http.StatusConflict {
		t.Fatalf("delete the last admin: %d %s", res.status, res.body)
	}
	// Enabled again, the third is one: now the second may be demoted.
	e.call(a.token, "PATCH", path(third.ID), map[string]any{"disabled": false}, http.StatusOK, nil)
	e.call(a.token, "PATCH", path(second.ID), map[string]any{"role": "dpo"}, http.StatusOK, nil)
}
