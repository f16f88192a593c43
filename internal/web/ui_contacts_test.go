package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// contractField defines a custom field classified none, "contract signed".
func (e *testEnv) contractField(w *workspace) {
	e.t.Helper()
	f := &custos.FieldDef{Key: "contract_signed", Label: "Contract signed", Type: custos.FieldBool, Classification: custos.ClassNone}
	must(e.t, f.Validate())
	must(e.t, e.db.CreateField(w.ctx, f))
}

// htmlPage asks for an admin page as a browser does.
func (e *testEnv) htmlPage(token, path string) *response {
	e.t.Helper()
	return e.do(request{method: "GET", path: path, token: token, header: map[string]string{"Accept": "text/html"}})
}

// TestSavedFiltersAreTheirOwners checks the saved filters API: a filter is
// checked as the contacts list would read it, and another user of the same
// workspace neither sees nor deletes it.
func TestSavedFiltersAreTheirOwners(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	anna, bob := e.staffSession(w, custos.RoleSales), e.staffSession(w, custos.RoleViewer)

	var f custos.SavedFilter
	e.call(anna, "POST", "/api/v1/saved-filters", map[string]any{"name": "VIPs", "query": "tag=vip&field.a_only=x", "columns": []string{"email", "a_only"}}, 201, &f)
	if f.ID == 0 || f.Query != "tag=vip&field.a_only=x" || len(f.Columns) != 2 {
		t.Fatalf("saved: %+v", f)
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown status", map[string]any{"name": "x", "query": "status=happy"}, "query.status"},
		{"unknown parameter", map[string]any{"name": "x", "query": "colour=red"}, "query.colour"},
		{"unknown column", map[string]any{"name": "x", "columns": []string{"shoe_size"}}, "columns"},
		{"no name", map[string]any{"query": "tag=a"}, "name"},
		{"same name", map[string]any{"name": "VIPs"}, "name"},
		// Kept unsealed, a saved filter may not hold personal data.
		{"a search", map[string]any{"name": "x", "query": "tag=vip&q=kowalski"}, "query"},
		{"an address", map[string]any{"name": "x", "query": "email=jan@example.com"}, "query"},
		{"a personal field", map[string]any{"name": "x", "query": "field.first_name=Jan"}, "query"},
	} {
		res := e.do(request{method: "POST", path: "/api/v1/saved-filters", token: anna, body: tt.body})
		if res.status/100 != 4 || res.apiError(t).Field != tt.field {
			t.Errorf("%s: status %d, %s", tt.name, res.status, res.body)
		}
	}
	var list struct{ Data []custos.SavedFilter }
	e.call(bob, "GET", "/api/v1/saved-filters", nil, 200, &list)
	if len(list.Data) != 0 {
		t.Fatalf("bob sees %+v", list.Data)
	}
	e.call(bob, "DELETE", fmt.Sprintf("/api/v1/saved-filters/%d", f.ID), nil, 404, nil)
	e.call(w.token, "DELETE", fmt.Sprintf("/api/v1/saved-filters/%d", f.ID), nil, 404, nil)
	e.call(anna, "GET", "/api/v1/saved-filters", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].ID != f.ID {
		t.Fatalf("anna's: %+v", list.Data)
	}
	// The page lists it, as a link that applies it.
	if body := string(e.htmlPage(anna, "/contacts").body); !strings.Contains(body, `href="/contacts?tag=vip&amp;field.a_only=x&amp;cols=email%2Ca_only"`) {
		t.Errorf("the page does not link the saved filter:\n%s", body)
	}
	e.call(anna, "DELETE", fmt.Sprintf("/api/v1/saved-filters/%d", f.ID), nil, 204, nil)
	e.call(anna, "GET", "/api/v1/saved-filters", nil, 200, &list)
	if len(list.Data) != 0 {
		t.Fatalf("after delete: %+v", list.Data)
	}
}

// TestContactsExportCSV exports the chosen columns of the contacts a
// filter or a selection picks: formula-looking cells neutralised, the read
// audited, refused without the export permission.
func TestContactsExportCSV(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	e.contractField(w)
	var ids []int64
	for i, name := range []string{"=HYPERLINK(\"http://evil\")", "+1 Anna", "@SUM(A1)"} {
		c := &custos.Contact{Email: fmt.Sprintf("p%d@example.com", i), Tags: []string{"export"},
			Fields: map[string]any{custos.FieldFirstName: name, "contract_signed": i%2 == 0}}
		must(t, c.Validate())
		must(t, e.db.CreateContact(w.ctx, c))
		ids = append(ids, c.ID)
	}
	before := newestAudit(e, w)
	res := e.call(w.token, "GET", "/api/v1/contacts/export.csv?tag=export&cols=email,name,contract_signed,status", nil, 200, nil)
	if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
	must(t, err)
	want := [][]string{
		{"email", "name", "contract_signed", "status"},
		{"p2@example.com", "'@SUM(A1)", "true", "active"},
		{"p1@example.com", "'+1 Anna", "false", "active"},
		{"p0@example.com", `'=HYPERLINK("http://evil")`, "true", "active"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("CSV:\n%v\nwant\n%v", rows, want)
	}
	if got := newestAudit(e, w); got.Seq != before.Seq+1 || got.Action != custos.AuditRead || got.Route != "GET /api/v1/contacts/export.csv" {
		t.Errorf("the export's audit entry: %+v", got)
	}
	// A contact whose processing is restricted is left out, and counted.
	_, err = e.db.RestrictContact(w.ctx, ids[1], "the person contests the data")
	must(t, err)
	res = e.call(w.token, "GET", "/api/v1/contacts/export.csv?tag=export&cols=email", nil, 200, nil)
	if got, omitted := string(res.body), res.header.Get("X-Custos-Restricted-Omitted"); got != "email\np2@example.com\np0@example.com\n" || omitted != "1" {
		t.Errorf("with p1 restricted: %q, %s omitted", got, omitted)
	}
	// A selection, within the filter.
	res = e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/export.csv?tag=export&contact_ids=%d,%d&cols=email", ids[0], ids[2]), nil, 200, nil)
	if got := string(res.body); got != "email\np2@example.com\np0@example.com\n" {
		t.Errorf("selection: %q", got)
	}
	for _, tt := range []struct{ query, field string }{
		{"cols=shoe_size", "cols"}, {"status=happy", "status"}, {"contact_ids=1,x", "contact_ids"},
	} {
		if res := e.do(request{method: "GET", path: "/api/v1/contacts/export.csv?" + tt.query, token: w.token}); res.status != 400 || res.apiError(t).Field != tt.field {
			t.Errorf("%s: %d %s", tt.query, res.status, res.body)
		}
	}
	for _, role := range []custos.Role{custos.RoleSales, custos.RoleViewer} {
		e.call(e.key(w, role), "GET", "/api/v1/contacts/export.csv", nil, 403, nil)
	}
}

// TestConsentsBulkByIDs records a basis for the contacts named by id, and
// refuses ids together with a filter.
func TestConsentsBulkByIDs(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	basis := &custos.Purpose{Name: "contract", LegalBasis: custos.BasisContract}
	must(t, e.db.CreatePurpose(w.ctx, basis))
	other := &custos.Contact{Email: "other@example.com"}
	must(t, e.db.CreateContact(w.ctx, other))
	var got affectedBody
	e.call(w.token, "POST", "/api/v1/consents/bulk", map[string]any{"contact_ids": []int64{w.contact},
		"consent": map[string]any{"purpose_id": basis.ID, "action": "assign_basis"}}, 200, &got)
	if got.Affected != 1 {
		t.Fatalf("affected %d", got.Affected)
	}
	d, err := e.db.Permission(w.ctx, other.ID, basis.ID, nil)
	must(t, err)
	if d.Allowed {
		t.Error("a contact not named got the basis")
	}
	d, err = e.db.Permission(w.ctx, w.contact, basis.ID, nil)
	must(t, err)
	if !d.Allowed {
		t.Error("the named contact has no basis")
	}
	res := e.do(request{method: "POST", path: "/api/v1/consents/bulk", token: w.token, body: map[string]any{"contact_ids": []int64{w.contact},
		"filter": map[string]any{"all": true}, "consent": map[string]any{"purpose_id": basis.ID, "action": "assign_basis"}}})
	if res.status != 400 || res.apiError(t).Field != "filter" {
		t.Errorf("ids and filter: %d %s", res.status, res.body)
	}
}

// TestContactsPage renders the list: the chosen columns, a custom field
// among them, values masked for a viewer, who gets no bulk action and is
// refused a search on personal data with the form shown again.
func TestContactsPage(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	e.contractField(w)
	_, err := e.db.UpdateContact(w.ctx, w.contact, custos.ContactUpdate{Fields: map[string]any{"contract_signed": true, custos.FieldCompany: "<script>alert(1)</script>"}})
	must(t, err)
	path := "/contacts?cols=email,company,contract_signed"
	body := string(e.htmlPage(w.session, path).body)
	for _, s := range []string{w.email, "&lt;script&gt;alert(1)&lt;/script&gt;", "Contract signed", `href="/contacts/` + strconv.FormatInt(w.contact, 10) + `"`, `id="bulk-list"`, `id="bulk-consent"`, `id="bulk-export"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the admin's page lacks %q", s)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a value is not escaped")
	}
	viewer := e.staffSession(w, custos.RoleViewer)
	res := e.htmlPage(viewer, path)
	body = string(res.body)
	if res.status != 200 || strings.Contains(body, w.email) || strings.Contains(body, "alert(1)") || !strings.Contains(body, `class="masked"`) {
		t.Errorf("viewer: status %d, personal data shown or not masked:\n%s", res.status, body)
	}
	if !strings.Contains(body, "<td>true</td>") {
		t.Error("the viewer does not see the field classified none")
	}
	for _, s := range []string{"bulk-list", "bulk-consent", "bulk-export"} {
		if strings.Contains(body, s) {
			t.Errorf("the viewer is offered %s", s)
		}
	}
	res = e.htmlPage(viewer, "/contacts?q=anna")
	if body := string(res.body); res.status != http.StatusForbidden || !strings.Contains(body, `id="filter-error"`) || !strings.Contains(body, "personal_data:read") || !strings.Contains(body, `id="f-q"`) {
		t.Errorf("a viewer's search: status %d\n%s", res.status, body)
	}
	res = e.htmlPage(w.session, "/contacts?cols=shoe_size")
	if body := string(res.body); res.status != 400 || !strings.Contains(body, "shoe_size") {
		t.Errorf("unknown column: %d", res.status)
	}
	// Empty boxes of the form filter on nothing.
	res = e.htmlPage(w.session, "/contacts?"+url.Values{"q": {""}, "tag": {""}, "created_after": {""}, "cols": {"email"}}.Encode())
	if res.status != 200 || !strings.Contains(string(res.body), w.email) {
		t.Errorf("empty boxes: %d", res.status)
	}
}
