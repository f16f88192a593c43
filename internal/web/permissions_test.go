package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestRoutesDenyByDefault checks the route table itself: every route names
// a permission, and only the health check, the API document and the
// subject's verification page are public.
func TestRoutesDenyByDefault(t *testing.T) {
	public := []string{"GET /healthz", "GET /api/v1/openapi.json", "GET /dsr/verify/{token}", "POST /dsr/verify/{token}"}
	// The preference centre: the person's own page by the mailed link, and
	// the form that asks for a link.
	public = append(public, "GET /p/request", "POST /p/request", "GET /p/{token}", "POST /p/{token}/consents",
		"POST /p/{token}/objection", "POST /p/{token}/lists", "POST /p/{token}/export", "POST /p/{token}/erasure")
	public = append(public, "GET /t/{token}") // the e-mail open pixel
	public = append(public,                   // staff sign-in
		"GET /login", "POST /login", "POST /login/2fa", "POST /logout",
		"GET /login/reset", "POST /login/reset", "GET /login/reset/{token}", "POST /login/reset/{token}")
	public = append(public, "GET /assets/{file...}") // the admin pages' script and style
	public = append(public,                          // sign-up forms and their confirmation
		"GET /f/{form}", "POST /f/{form}", "POST /api/public/forms/{form}/submissions", "GET /confirm/{token}", "POST /confirm/{token}")
	seen := map[string]bool{}
	for _, rt := range (&server{}).routes() {
		op := rt.method + " " + rt.pattern
		if seen[op] {
			t.Errorf("%s is in the table twice", op)
		}
		seen[op] = true
		switch {
		case rt.permission == "":
			t.Errorf("%s has no permission; name one, or permPublic", op)
		case rt.permission == permPublic && !slices.Contains(public, op):
			t.Errorf("%s is public, but only %v may be", op, public)
		case rt.permission != permPublic && slices.Contains(public, op):
			t.Errorf("%s should be public", op)
		case rt.permission != permPublic && !strings.HasPrefix(rt.pattern, "/api/v1/") && rt.method != http.MethodGet:
			t.Errorf("%s is neither under /api/v1 nor an admin page (which only GETs)", op)
		}
	}
}

// TestGuardRefusesRouteWithoutPermission checks that a route whose
// permission was forgotten is refused even to an admin.
func TestGuardRefusesRouteWithoutPermission(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	called := false
	h := e.srv.guard(route{"GET", "/x", "", func(http.ResponseWriter, *http.Request) { called = true }})
	e.srv.mux.Handle("GET /x", h)
	res := e.do(request{method: "GET", path: "/x", token: a.token})
	if res.status != http.StatusForbidden || called {
		t.Fatalf("status %d, handler called %v", res.status, called)
	}
}

// TestEveryRoleForbiddenRoutes requests, with a key of each built-in
// role, every route whose permission the role lacks: each must be 403 and
// change nothing.
func TestEveryRoleForbiddenRoutes(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	for _, def := range custos.BuiltinRoles() {
		role := def.Name
		key := e.key(a, role)
		var n int
		for _, rt := range e.srv.routes() {
			if rt.permission == permPublic || rt.permission == permSignedIn || role.Can(rt.permission) {
				continue
			}
			n++
			body, query, _ := validInput(a, rt.method, rt.pattern)
			path := fillPattern(t, rt.pattern, allOf(rt.pattern, a)) + query
			t.Run(string(role)+" "+rt.method+" "+rt.pattern, func(t *testing.T) {
				res := e.do(request{method: rt.method, path: path, token: key, body: body})
				if res.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403; body %s", res.status, res.body)
				}
				if got := res.apiError(t); got.Code != custos.EFORBIDDEN {
					t.Errorf("code %q, want forbidden", got.Code)
				}
			})
		}
		if role == custos.RoleViewer && n < 20 {
			t.Errorf("only %d routes refused to a viewer; the table lost its permissions?", n)
		}
	}
	checkUntouched(t, e, a)
}

// TestCustomRoleOfOnePermission gives, for each known permission, a key a
// role of the workspace's own with exactly that permission: every route
// needing it lets the key past the route's check (the handler may still
// refuse what needs more, such as handing out a permission the key lacks),
// every other route refuses it. requests:manage comes only with
// personal_data:read, which a role needs to manage requests.
func TestCustomRoleOfOnePermission(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	for _, p := range custos.AllPermissions() {
		name := custos.Role("only-" + strings.NewReplacer(":", "-", "_", "-").Replace(string(p)))
		perms := []custos.Permission{p}
		if p == custos.PermRequestsManage {
			perms = append(perms, custos.PermPersonalDataRead)
		}
		e.call(a.token, "POST", "/api/v1/roles", map[string]any{"name": name, "permissions": perms}, http.StatusCreated, nil)
		var created struct{ Token string }
		e.call(a.token, "POST", "/api/v1/api-keys", map[string]any{"name": "one permission", "role": name}, http.StatusCreated, &created)
		allowed := 0
		for _, rt := range e.srv.routes() {
			if rt.permission == permPublic || rt.permission == permSignedIn {
				continue
			}
			body, query, _ := validInput(a, rt.method, rt.pattern)
			path := fillPattern(t, rt.pattern, allOf(rt.pattern, a)) + query
			res := e.do(request{method: rt.method, path: path, token: created.Token, body: body})
			routeRefused := res.status == http.StatusForbidden && strings.Contains(string(res.body), "permission this route needs")
			if rt.permission == p {
				allowed++
				if routeRefused || res.status == http.StatusUnauthorized {
					t.Errorf("%s: %s %s refused (%d): %s", name, rt.method, rt.pattern, res.status, res.body)
				}
			} else if !routeRefused && !slices.Contains(perms, rt.permission) {
				t.Errorf("%s: %s %s (needs %s) answered %d, want 403: %s", name, rt.method, rt.pattern, rt.permission, res.status, res.body)
			}
		}
		if allowed == 0 {
			t.Errorf("no route needs %s", p)
		}
	}
}

// TestViewerSeesNoPersonalData checks that a key without personal_data:read
// gets contacts without e-mail or personal fields, consents without IP and
// user agent, no history, and cannot filter on personal data.
func TestViewerSeesNoPersonalData(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	viewer := e.key(a, custos.RoleViewer)
	contact := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10)

	checkContact := func(t *testing.T, c *custos.Contact) {
		t.Helper()
		if c.Email != "" {
			t.Errorf("viewer sees e-mail %q", c.Email)
		}
		if _, ok := c.Fields[custos.FieldFirstName]; ok {
			t.Errorf("viewer sees first_name: %v", c.Fields)
		}
		if c.Fields[a.field] != "value of a" {
			t.Errorf("viewer misses the unclassified field: %v", c.Fields)
		}
	}

	t.Run("one contact", func(t *testing.T) {
		var c custos.Contact
		e.call(viewer, "GET", contact, nil, http.StatusOK, &c)
		checkContact(t, &c)
	})
	t.Run("contact listing", func(t *testing.T) {
		var page struct{ Data []*custos.Contact }
		e.call(viewer, "GET", "/api/v1/contacts", nil, http.StatusOK, &page)
		if len(page.Data) != 1 {
			t.Fatalf("%d contacts", len(page.Data))
		}
		checkContact(t, page.Data[0])
	})
	t.Run("consents", func(t *testing.T) {
		var body struct{ History []*custos.ConsentEvent }
		e.call(viewer, "GET", contact+"/consents", nil, http.StatusOK, &body)
		if len(body.History) != 1 || body.History[0].IP != "" || body.History[0].UserAgent != "" {
			t.Errorf("viewer sees consent metadata: %+v", body.History)
		}
	})
	t.Run("admin sees it all", func(t *testing.T) {
		var c custos.Contact
		e.call(a.token, "GET", contact, nil, http.StatusOK, &c)
		if c.Email != a.email || c.Fields[custos.FieldFirstName] != "Firsta" {
			t.Errorf("admin's contact: %+v", c)
		}
	})

	forbidden := []struct {
		name  string
		path  string
		field string
	}{
		{"history", contact + "/history", ""},
		{"restrictions, whose reasons are personal", contact + "/restrictions", ""},
		{"filter by e-mail", "/api/v1/contacts?email=" + a.email, "email"},
		{"search", "/api/v1/contacts?q=first", "q"},
		{"filter by personal field", "/api/v1/contacts?field.first_name=Firsta", "field.first_name"},
	}
	for _, tc := range forbidden {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "GET", path: tc.path, token: viewer})
			if res.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %s", res.status, res.body)
			}
			if got := res.apiError(t); got.Code != custos.EFORBIDDEN || got.Field != tc.field {
				t.Errorf("error %+v, want forbidden on %q", got, tc.field)
			}
		})
	}
	t.Run("filter by unclassified field", func(t *testing.T) {
		var page struct{ Data []*custos.Contact }
		e.call(viewer, "GET", "/api/v1/contacts?field."+a.field+"=value+of+a", nil, http.StatusOK, &page)
		if len(page.Data) != 1 {
			t.Errorf("%d contacts", len(page.Data))
		}
	})
}

// TestRestrictionNeedsItsPermission checks that only the roles granted
// contacts:restrict (admin, manager, dpo) may restrict and lift, whatever
// else they may write.
func TestRestrictionNeedsItsPermission(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	path := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10) + "/restriction"
	body := map[string]any{"reason": "Contests the data."}
	for _, role := range []custos.Role{custos.RoleMarketer, custos.RoleSales, custos.RoleViewer} {
		key := e.key(a, role)
		for _, method := range []string{"POST", "DELETE"} {
			res := e.do(request{method: method, path: path, token: key, body: body})
			if res.status != http.StatusForbidden || res.apiError(t).Code != custos.EFORBIDDEN {
				t.Errorf("%s %s as %s: status %d, want 403; body %s", method, path, role, res.status, res.body)
			}
		}
	}
	checkUntouched(t, e, a)
	for _, role := range []custos.Role{custos.RoleDPO, custos.RoleManager, custos.RoleAdmin} {
		key := e.key(a, role)
		e.call(key, "POST", path, body, http.StatusCreated, nil)
		e.call(key, "DELETE", path, body, http.StatusOK, nil)
	}
	var rs struct{ Data []*custos.Restriction }
	e.call(a.token, "GET", path+"s", nil, http.StatusOK, &rs)
	if len(rs.Data) != 3 || rs.Data[2].RestrictedBy == rs.Data[0].RestrictedBy {
		t.Errorf("restrictions %+v", rs.Data)
	}
}
