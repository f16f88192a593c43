package web

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// pathParamRE finds the parameters of a ServeMux pattern.
var pathParamRE = regexp.MustCompile(`\{([a-z_]+)(?:\.\.\.)?\}`)

// pathParamValue returns w's value for a path parameter, by the segment
// before it and its name: {id} after /contacts is a contact id, after
// /lists a list id, and so on. A new kind of parameter must be added here.
func pathParamValue(t *testing.T, w *workspace, pattern, param string) string {
	t.Helper()
	i := strings.Index(pattern, "{"+param)
	segments := strings.Split(strings.Trim(pattern[:i], "/"), "/")
	key := segments[len(segments)-1] + "/" + param
	values := map[string]string{
		"contacts/id":               strconv.FormatInt(w.contact, 10),
		"lists/id":                  strconv.FormatInt(w.list, 10),
		"members/contact_id":        strconv.FormatInt(w.contact, 10),
		"list-groups/id":            strconv.FormatInt(w.group, 10),
		"purposes/id":               strconv.FormatInt(w.purpose, 10),
		"processors/id":             strconv.FormatInt(w.processor, 10),
		"fields/key":                w.field,
		"notices/hash":              w.notice,
		"dsr-requests/id":           strconv.FormatInt(w.request, 10),
		"activities/activity_id":    strconv.FormatInt(w.activity, 10),
		"attachments/attachment_id": strconv.FormatInt(w.attach, 10),
		"users/id":                  strconv.FormatInt(w.user, 10),
		"sessions/id":               strconv.FormatInt(w.sessionID, 10),
		"forms/id":                  strconv.FormatInt(w.form, 10),
		"imports/id":                strconv.FormatInt(w.imp, 10),
		"requests/id":               strconv.FormatInt(w.request, 10),
		"roles/name":                string(w.role),
		"api-keys/id":               strconv.FormatInt(w.apiKey, 10),
		"saved-filters/id":          strconv.FormatInt(w.saved, 10),
	}
	v, ok := values[key]
	if !ok {
		t.Fatalf("%s: no test value for path parameter %q (after %q); add it to pathParamValue", pattern, param, key)
	}
	return v
}

// fillPattern returns the path of pattern with each parameter taken from
// the workspace from names.
func fillPattern(t *testing.T, pattern string, from map[string]*workspace) string {
	t.Helper()
	return pathParamRE.ReplaceAllStringFunc(strings.TrimSuffix(pattern, "{$}"), func(m string) string {
		name := pathParamRE.FindStringSubmatch(m)[1]
		return pathParamValue(t, from[name], pattern, name)
	})
}

// validInput returns a body and query that the route accepts for objects
// of w, so that only the foreign path parameter can make it fail. Every
// route that reads a body or a required parameter needs an entry.
func validInput(w *workspace, method, pattern string) (body any, query string, ok bool) {
	switch method + " " + pattern {
	case "PATCH /api/v1/fields/{key}":
		return map[string]any{"label": "changed"}, "", true
	case "PATCH /api/v1/contacts/{id}":
		return map[string]any{"tags": []string{"changed"}}, "", true
	case "POST /api/v1/contacts/{id}/consents":
		return map[string]any{"purpose_id": w.purpose, "action": "withdraw"}, "", true
	case "POST /api/v1/contacts/{id}/forget":
		return map[string]any{"mode": "erase"}, "", true
	case "POST /api/v1/contacts/{id}/restriction", "DELETE /api/v1/contacts/{id}/restriction":
		return map[string]any{"reason": "contests the data of " + w.name}, "", true
	case "POST /api/v1/contacts/{id}/objection":
		return nil, "", true
	case "POST /api/v1/events":
		return map[string]any{"contact_id": w.contact, "type": "page_view"}, "", true
	case "PUT /api/v1/contacts/{id}/monitoring":
		return map[string]any{"enabled": false}, "", true
	case "POST /api/v1/contacts/{id}/attachments":
		// The contact is looked up before the multipart body is read.
		return nil, "", true
	case "POST /api/v1/contacts/{id}/activities":
		return map[string]any{"type": "note", "body": "note by " + w.name}, "", true
	case "PATCH /api/v1/contacts/{id}/activities/{activity_id}":
		return map[string]any{"body": "changed"}, "", true
	case "GET /api/v1/contacts/{id}/permissions":
		return nil, "?purpose_id=" + strconv.FormatInt(w.purpose, 10), true
	case "PATCH /api/v1/lists/{id}":
		return map[string]any{"name": "changed"}, "", true
	case "POST /api/v1/lists/{id}/members", "POST /api/v1/lists/{id}/members/remove":
		return map[string]any{"contact_ids": []int64{w.contact}}, "", true
	case "PATCH /api/v1/list-groups/{id}":
		return map[string]any{"name": "changed"}, "", true
	case "PATCH /api/v1/purposes/{id}", "PATCH /api/v1/processors/{id}":
		return map[string]any{"name": "changed"}, "", true
	case "POST /api/v1/dsr-requests/{id}/extension":
		return map[string]any{"months": 1, "reason": "many systems to search"}, "", true
	case "POST /api/v1/dsr-requests/{id}/notes":
		return map[string]any{"text": "changed"}, "", true
	case "POST /api/v1/dsr-requests/{id}/verification":
		return nil, "", true
	case "POST /api/v1/dsr-requests/{id}/execute":
		return map[string]any{"format": "json"}, "", true
	case "POST /api/v1/dsr-requests/{id}/complete":
		return map[string]any{"note": "changed"}, "", true
	case "POST /api/v1/dsr-requests/{id}/reject":
		return map[string]any{"reason": "changed"}, "", true
	case "PATCH /api/v1/users/{id}":
		return map[string]any{"role": "viewer"}, "", true
	case "POST /api/v1/users/{id}/invitation":
		return nil, "", true
	case "PATCH /api/v1/roles/{name}":
		return map[string]any{"permissions": []string{"contacts:read", "export"}}, "", true
	case "PATCH /api/v1/forms/{id}":
		return map[string]any{"name": "changed"}, "", true
	case "POST /api/v1/saved-filters":
		return map[string]any{"name": "saved by " + w.name, "query": "tag=tag-" + w.name, "columns": []string{"email", w.field}}, "", true
	}
	return nil, "", method != http.MethodPost && method != http.MethodPatch
}

// TestIsolationPathParameters requests, with workspace A's admin key, every
// route of the table that has a path parameter, with each parameter in turn
// (and all of them at once) naming an object of workspace B. Every answer
// must be 404, and B's objects must be as they were.
func TestIsolationPathParameters(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	distinctIDs(t, a, b)

	type testCase struct {
		name    string
		method  string
		path    string
		body    any
		foreign string
	}
	var tests []testCase
	for _, rt := range e.srv.routes() {
		params := pathParamRE.FindAllStringSubmatch(rt.pattern, -1)
		// A public page's parameter is a secret token, which is the
		// credential itself and belongs to no caller's workspace.
		if len(params) == 0 || rt.permission == permPublic {
			continue
		}
		body, query, ok := validInput(a, rt.method, rt.pattern)
		if !ok {
			t.Fatalf("%s %s: no valid input; add it to validInput", rt.method, rt.pattern)
		}
		// Each parameter foreign alone, the others A's; then all foreign.
		var combos []map[string]*workspace
		for _, p := range params {
			combo := map[string]*workspace{}
			for _, q := range params {
				combo[q[1]] = a
			}
			combo[p[1]] = b
			combos = append(combos, combo)
		}
		if len(params) > 1 {
			all := map[string]*workspace{}
			for _, q := range params {
				all[q[1]] = b
			}
			combos = append(combos, all)
		}
		for _, combo := range combos {
			var foreign []string
			for name, w := range combo {
				if w == b {
					foreign = append(foreign, name)
				}
			}
			tests = append(tests, testCase{
				name:    fmt.Sprintf("%s %s foreign %v", rt.method, rt.pattern, foreign),
				method:  rt.method,
				path:    fillPattern(t, rt.pattern, combo) + query,
				body:    body,
				foreign: strings.Join(foreign, ","),
			})
		}
	}
	// Deletes last, so that no delete of a foreign object that wrongly
	// succeeded hides another route's answer.
	slices.SortStableFunc(tests, func(x, y testCase) int {
		return cmp.Compare(boolInt(x.method == http.MethodDelete), boolInt(y.method == http.MethodDelete))
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: tc.method, path: tc.path, token: a.credential(tc.path, a.token), body: tc.body})
			if res.status != http.StatusNotFound {
				t.Fatalf("%s %s: status %d, want 404; body %s", tc.method, tc.path, res.status, res.body)
			}
			if got := res.apiError(t); got.Code != custos.ENOTFOUND {
				t.Errorf("code %q, want not_found", got.Code)
			}
		})
	}
	checkUntouched(t, e, b)
}

// distinctIDs fails the test when an object of a and one of b share an id:
// then a "foreign" id would name a's own object and prove nothing.
func distinctIDs(t *testing.T, a, b *workspace) {
	t.Helper()
	if a.contact == b.contact || a.apiKey == b.apiKey || a.user == b.user || a.list == b.list || a.group == b.group || a.purpose == b.purpose || a.request == b.request || a.activity == b.activity || a.attach == b.attach {
		t.Fatalf("workspaces a and b share ids (%+v, %+v); make b's objects differ", a, b)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkUntouched fails the test unless w's objects are as newWorkspace made
// them.
func checkUntouched(t *testing.T, e *testEnv, w *workspace) {
	t.Helper()
	c, err := e.db.FindContactByID(w.ctx, w.contact)
	must(t, err)
	if len(c.Tags) != 1 || c.Tags[0] != "tag-"+w.name || c.Email != w.email || c.Status != custos.StatusActive || !c.Monitoring {
		t.Errorf("contact of %s changed: %+v", w.name, c)
	}
	if f, err := e.db.FindForm(w.ctx, w.form); err != nil || f.Version != 1 || f.ArchivedAt != nil {
		t.Errorf("form of %s changed: %+v %v", w.name, f, err)
	}
	if d, err := e.db.FindRole(w.ctx, w.role); err != nil || !slices.Equal(d.Permissions, []custos.Permission{custos.PermContactsRead}) {
		t.Errorf("role of %s changed: %+v %v", w.name, d, err)
	}
	if keys, err := e.db.FindAPIKeys(w.ctx); err != nil || !slices.ContainsFunc(keys, func(k *custos.APIKey) bool { return k.ID == w.apiKey }) {
		t.Errorf("key of %s was revoked: %v", w.name, err)
	}
	if u, err := e.db.FindUserByID(w.ctx, w.user); err != nil || u.Status != custos.UserActive {
		t.Errorf("user of %s changed: %+v %v", w.name, u, err)
	}
	if rs, err := e.db.ContactRestrictions(w.ctx, w.contact); err != nil || len(rs) != 0 {
		t.Errorf("contact of %s has restrictions: %+v %v", w.name, rs, err)
	}
	l, err := e.db.FindList(w.ctx, w.list)
	must(t, err)
	if l.Name != "list of "+w.name || l.Members != 1 {
		t.Errorf("list of %s changed: %+v", w.name, l)
	}
	g, err := e.db.FindListGroup(w.ctx, w.group)
	must(t, err)
	if g.Name != "group of "+w.name {
		t.Errorf("group of %s changed: %+v", w.name, g)
	}
	p, err := e.db.FindPurpose(w.ctx, w.purpose)
	must(t, err)
	if p.Version != 1 || p.Name != "purpose of "+w.name {
		t.Errorf("purpose of %s changed: %+v", w.name, p)
	}
	f, err := e.db.FindField(w.ctx, w.field)
	must(t, err)
	if f.Label != "only in "+w.name {
		t.Errorf("field of %s changed: %+v", w.name, f)
	}
	_, events, err := e.db.ContactConsents(w.ctx, w.contact)
	must(t, err)
	if len(events) != 1 {
		t.Errorf("consent ledger of %s has %d events, want 1", w.name, len(events))
	}
	r, err := e.db.FindDSRRequest(w.ctx, w.request)
	must(t, err)
	if r.Status != custos.DSRReceived || r.Email != w.email || r.Extension != nil || r.Answer != nil || len(r.Notes) != 1 || len(r.History) != 2 {
		t.Errorf("request of %s changed: %+v", w.name, r)
	}
	if n := e.mail.count(t); n != 0 {
		t.Errorf("%d messages were sent", n)
	}
	acts, _, err := e.db.ContactActivities(w.ctx, w.contact, 0, 10)
	must(t, err)
	if len(acts) != 1 || acts[0].ID != w.activity || acts[0].Body != "note of "+w.name {
		t.Errorf("activities of %s changed: %+v", w.name, acts)
	}
	atts, err := e.db.ContactAttachments(w.ctx, w.contact)
	must(t, err)
	if len(atts) != 1 || atts[0].ID != w.attach || atts[0].Name != "file of "+w.name+".txt" {
		t.Errorf("attachments of %s changed: %+v", w.name, atts)
	}
}

// TestIsolationListings requests every listing route (a GET without path
// parameters) with A's key and checks that nothing of B appears.
func TestIsolationListings(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	marks := []string{b.email, b.field, b.notice, "of b", "tag-b", "Firstb", string(b.role)}

	for _, rt := range e.srv.routes() {
		if rt.method != http.MethodGet || strings.Contains(rt.pattern, "{") || rt.permission == permPublic {
			continue
		}
		t.Run(rt.pattern, func(t *testing.T) {
			res := e.call(a.credential(rt.pattern, a.token), "GET", rt.pattern, nil, http.StatusOK, nil)
			body := string(res.body)
			for _, m := range marks {
				if strings.Contains(body, m) {
					t.Errorf("A's listing shows B's %q: %s", m, body)
				}
			}
			if strings.Contains(body, `"data":[]`) || strings.Contains(body, `"entries":0`) {
				t.Errorf("A's listing is empty: %s", body)
			}
		})
	}
	// Filters naming B's objects select nothing of A's, and nothing of B's.
	queries := []string{
		"?list_id=" + strconv.FormatInt(b.list, 10),
		"?tag=tag-b",
		"?email=" + b.email,
		"?q=b-person",
		"?field." + b.field + "=value+of+b",
	}
	t.Run("requests about B's contact", func(t *testing.T) {
		res := e.call(a.token, "GET", "/api/v1/dsr-requests?contact_id="+strconv.FormatInt(b.contact, 10), nil, http.StatusOK, nil)
		if !strings.Contains(string(res.body), `"data":[]`) {
			t.Errorf("filter on B's contact selects: %s", res.body)
		}
	})
	for _, q := range queries {
		t.Run("contacts"+q, func(t *testing.T) {
			res := e.do(request{method: "GET", path: "/api/v1/contacts" + q, token: a.token})
			if res.status == http.StatusOK && strings.Contains(string(res.body), b.email) {
				t.Errorf("B's contact found with A's key: %s", res.body)
			} else if res.status == http.StatusOK && !strings.Contains(string(res.body), `"data":[]`) {
				t.Errorf("filter on B's object selects: %s", res.body)
			}
		})
	}
}

// TestIsolationBodies names B's objects inside A's request bodies and
// parameters: none of it may succeed or touch B.
func TestIsolationBodies(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	aList := strconv.FormatInt(a.list, 10)
	aContact := strconv.FormatInt(a.contact, 10)

	tests := []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"add B's contact to A's list", "POST", "/api/v1/lists/" + aList + "/members",
			map[string]any{"contact_ids": []int64{b.contact}}},
		{"grant for B's purpose", "POST", "/api/v1/contacts/" + aContact + "/consents",
			map[string]any{"purpose_id": b.purpose, "action": "grant", "notice_hash": a.notice}},
		{"grant with B's notice", "POST", "/api/v1/contacts/" + aContact + "/consents",
			map[string]any{"purpose_id": a.purpose, "action": "grant", "notice_hash": b.notice}},
		{"permission for B's purpose", "GET",
			"/api/v1/contacts/" + aContact + "/permissions?purpose_id=" + strconv.FormatInt(b.purpose, 10), nil},
		{"put A's list in B's group", "PATCH", "/api/v1/lists/" + aList,
			map[string]any{"group_id": b.group}},
		{"new list in B's group", "POST", "/api/v1/lists",
			map[string]any{"name": "x", "group_id": b.group}},
		{"field serving B's purpose", "POST", "/api/v1/fields",
			map[string]any{"key": "x", "type": "text", "classification": "personal", "purpose_ids": []int64{b.purpose}}},
		{"contact on B's list by filter", "POST", "/api/v1/lists/" + aList + "/members",
			map[string]any{"filter": map[string]any{"list_id": b.list}}},
		{"bulk consent by B's list", "POST", "/api/v1/consents/bulk",
			map[string]any{"filter": map[string]any{"list_id": b.list},
				"consent": map[string]any{"purpose_id": a.purpose, "action": "withdraw"}}},
		{"request about B's contact", "POST", "/api/v1/dsr-requests",
			map[string]any{"type": "erasure", "contact_id": b.contact}},
		{"tracking event of B's contact", "POST", "/api/v1/events",
			map[string]any{"contact_id": b.contact, "type": "page_view"}},
		{"B's activity through A's contact", "GET", "/api/v1/contacts/" + aContact + "/activities/" + strconv.FormatInt(b.activity, 10), nil},
		{"B's attachment through A's contact", "GET", "/api/v1/contacts/" + aContact + "/attachments/" + strconv.FormatInt(b.attach, 10), nil},
		{"missing on B's field", "GET", "/api/v1/contacts?missing=" + b.field, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: tc.method, path: tc.path, token: a.token, body: tc.body})
			if res.status < 400 {
				// A filter on a foreign list may answer 200 if it selects
				// nothing; anything else is a leak.
				if strings.Contains(tc.name, "filter") || strings.Contains(tc.name, "bulk") {
					if !strings.Contains(string(res.body), `"affected":0`) {
						t.Fatalf("status %d, body %s", res.status, res.body)
					}
					return
				}
				t.Fatalf("status %d, want an error; body %s", res.status, res.body)
			}
			res.apiError(t)
		})
	}
	checkUntouched(t, e, b)
	checkUntouched(t, e, a)
}
