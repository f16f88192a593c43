package web

import (
	"net/http"
	"slices"
	"strconv"
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: "/api/v1/roles", token: a.token, body: tc.body})
			if res.status != tc.status || res.apiError(t).Field != tc.field {
				t.Fatalf("status %d %s", res.status, res.body)
			}
		})
	}
	e.call(a.token, "PATCH", "/api/v1/roles/viewer", map[string]any{"permissions": []string{"export"}}, http.StatusBadRequest, nil)
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
	var err error
	key.Token, err = e.db.CreateAPIKey(a.ctx, &custos.APIKey{Name: "reader key", Role: "reader"})
	must(t, err)
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
	keys, err := e.db.FindAPIKeys(a.ctx)
	must(t, err)
	for _, k := range keys {
		if k.Role == "reader" {
			must(t, e.db.RevokeAPIKey(a.ctx, k.ID))
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
