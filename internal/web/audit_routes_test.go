package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestEveryChangeIsAudited calls every route of the table that changes
// state, for objects of a workspace of its own, with input it accepts. A
// request that succeeds must have left, as the newest audit entry, one
// naming its method and route, the API key (or the user, for one's own
// account) and the client's address (and
// the contact its path names); a request that fails must have left none.
func TestEveryChangeIsAudited(t *testing.T) {
	e := newEnv(t)
	n := 0
	for i, rt := range e.srv.routes() {
		if rt.permission == permPublic || rt.method == http.MethodGet {
			continue
		}
		if !strings.Contains(rt.pattern, "{") {
			continue // creation routes: covered by TestCreateIsAudited
		}
		w := e.newWorkspace("w" + strconv.Itoa(i))
		body, query, ok := validInput(w, rt.method, rt.pattern)
		if !ok {
			t.Fatalf("%s %s: no valid input; add it to validInput", rt.method, rt.pattern)
		}
		path := fillPattern(t, rt.pattern, allOf(rt.pattern, w)) + query
		before := newestAudit(e, w)
		res := e.do(request{method: rt.method, path: path, token: w.credential(rt.pattern, w.token), body: body})
		after := newestAudit(e, w)
		op := rt.method + " " + rt.pattern
		if res.status >= 300 {
			if after.Seq != before.Seq {
				t.Errorf("%s failed (%d) but was audited: %+v", op, res.status, after)
			}
			continue
		}
		n++
		actor := "apikey:"
		if strings.HasPrefix(rt.pattern, "/api/v1/me") {
			actor = "user:"
		}
		if after.Seq == before.Seq || after.Route != op || !strings.HasPrefix(after.Actor, actor) || after.IP != "192.0.2.1" {
			t.Errorf("%s (%d): newest entry %+v, want one for this route", op, res.status, after)
		}
		if strings.HasPrefix(rt.pattern, "/api/v1/contacts/{id}") && (after.ContactID == nil || *after.ContactID != w.contact) {
			t.Errorf("%s: entry names contact %v, want %d", op, after.ContactID, w.contact)
		}
	}
	if n < 20 {
		t.Fatalf("only %d changes were made; the walk lost its routes?", n)
	}
}

// TestCreateIsAudited creates a contact through the API: audited with its
// route; a refused creation is not.
func TestCreateIsAudited(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	before := newestAudit(e, w)
	e.call(w.token, "POST", "/api/v1/contacts", map[string]any{"email": "bad"}, 400, nil)
	if got := newestAudit(e, w); got.Seq != before.Seq {
		t.Fatalf("a refused creation was audited: %+v", got)
	}
	e.call(w.token, "POST", "/api/v1/contacts", map[string]any{"email": "new@example.com"}, 201, nil)
	if got := newestAudit(e, w); got.Seq != before.Seq+1 || got.Route != "POST /api/v1/contacts" || got.Action != custos.AuditWrite {
		t.Fatalf("creation: %+v", got)
	}
}

// newestAudit returns the workspace's newest audit entry (zero if none).
func newestAudit(e *testEnv, w *workspace) custos.AuditEntry {
	e.t.Helper()
	// Through the store: reading the log through the API, which opens its
	// diffs for an admin, is itself a read of personal data.
	entries, _, err := e.db.FindAudit(w.ctx, custos.AuditFilter{Limit: 1})
	must(e.t, err)
	if len(entries) == 0 {
		return custos.AuditEntry{}
	}
	return *entries[0]
}

// notPersonal are the authenticated GET routes whose answers hold no
// personal data, so reading them is not audited. Every GET route must be
// in this list or in personalReads.
var notPersonal = []string{
	"GET /api/v1/fields", "GET /api/v1/fields/{key}", "GET /api/v1/contacts/{id}/lists", "GET /api/v1/contacts/{id}/permissions",
	"GET /api/v1/lists", "GET /api/v1/lists/{id}", "GET /api/v1/list-groups", "GET /api/v1/list-groups/{id}",
	"GET /api/v1/purposes", "GET /api/v1/purposes/{id}", "GET /api/v1/purposes/{id}/versions",
	"GET /api/v1/notices", "GET /api/v1/notices/{hash}", "GET /api/v1/processors", "GET /api/v1/processors/{id}",
	"GET /api/v1/audit/verify", "GET /api/v1/tracking/stats", "GET /api/v1/settings/security",
	"GET /api/v1/forms", "GET /api/v1/forms/{id}", "GET /api/v1/forms/{id}/versions", "GET /api/v1/forms/{id}/embed",
	"GET /api/v1/imports", "GET /api/v1/imports/{id}",
	"GET /api/v1/roles", "GET /api/v1/roles/{name}", "GET /api/v1/api-keys",
	"GET /api/v1/saved-filters", // names and query strings of one's own
	// One's own account.
	"GET /api/v1/me", "GET /api/v1/me/logins", "GET /api/v1/me/sessions",
	// Counts, and the admin pages that show only counts or one's own account.
	"GET /api/v1/overview", "GET /{$}", "GET /account",
	// The configuration pages.
	"GET /fields", "GET /purposes", "GET /purposes/{id}", "GET /lists", "GET /notices", "GET /notices/{hash}",
	"GET /imports", "GET /imports/{id}", "GET /forms", "GET /forms/{id}",
	// The form of a new contact: the workspace's fields, empty.
	"GET /contacts/new",
	// Admin pages that show no personal data.
	"GET /settings/security", "GET /roles", "GET /api-keys",
}

// TestReadsOfPersonalDataAreAudited walks every authenticated GET route:
// each must be classified, and each read of personal data that succeeds
// must be audited once, with its route, while a read that fails, and one
// whose answer is masked (no personal_data:read), is not.
func TestReadsOfPersonalDataAreAudited(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	viewer := e.key(w, custos.RoleViewer)
	n := 0
	for _, rt := range e.srv.routes() {
		op := rt.method + " " + rt.pattern
		if rt.permission == permPublic || rt.method != http.MethodGet {
			continue
		}
		p, personal := personalReads[op]
		if personal == slices.Contains(notPersonal, op) {
			t.Errorf("%s: classify it in personalReads or notPersonal (exactly one)", op)
			continue
		}
		_, query, _ := validInput(w, rt.method, rt.pattern)
		path := fillPattern(t, rt.pattern, allOf(rt.pattern, w)) + query
		before := newestAudit(e, w)
		res := e.do(request{method: "GET", path: path, token: w.credential(rt.pattern, w.token)})
		after := newestAudit(e, w)
		if res.status != 200 {
			// (The request has no answer to read yet.)
			if op != "GET /api/v1/dsr-requests/{id}/answer" {
				t.Fatalf("%s: %d %s", op, res.status, res.body)
			}
			if after.Seq != before.Seq {
				t.Errorf("%s failed (%d) but was audited: %+v", op, res.status, after)
			}
			continue
		}
		if !personal {
			if after.Seq != before.Seq {
				t.Errorf("%s holds no personal data but was audited: %+v", op, after)
			}
			continue
		}
		n++
		if after.Seq != before.Seq+1 || after.Route != op || after.IP != "192.0.2.1" ||
			(after.Action != custos.AuditRead && after.Action != custos.AuditContactExport) {
			t.Errorf("%s: newest entry %+v (before %d), want one read entry", op, after, before.Seq)
		}
		if p == custos.PermPersonalDataRead && custos.RoleViewer.Can(rt.permission) {
			e.do(request{method: "GET", path: path, token: viewer})
			if got := newestAudit(e, w); got.Seq != after.Seq {
				t.Errorf("%s: a masked read was audited: %+v", op, got)
			}
		}
	}
	if n < 7 {
		t.Fatalf("only %d personal reads", n)
	}
	// A read that fails is not audited.
	before := newestAudit(e, w)
	e.call(w.token, "GET", "/api/v1/contacts/987654", nil, 404, nil)
	if got := newestAudit(e, w); got.Seq != before.Seq {
		t.Fatalf("a failed read was audited: %+v", got)
	}
}

// allOf names w's objects for every parameter of the pattern.
func allOf(pattern string, w *workspace) map[string]*workspace {
	from := map[string]*workspace{}
	for _, p := range pathParamRE.FindAllStringSubmatch(pattern, -1) {
		from[p[1]] = w
	}
	return from
}
