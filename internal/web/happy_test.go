package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// emptyWorkspace makes a workspace with an admin key and nothing else.
func (e *testEnv) emptyWorkspace(name string) *workspace {
	e.t.Helper()
	ws := &custos.Workspace{Name: name}
	bg := e.t.Context()
	must(e.t, e.db.CreateWorkspace(bg, ws))
	w := &workspace{name: name, id: ws.ID}
	w.ctx = custos.WithActor(bg, custos.Actor{WorkspaceID: ws.ID, Kind: "cli", Role: custos.RoleAdmin})
	w.token = e.key(w, custos.RoleAdmin)
	return w
}

func TestFieldsHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var f custos.FieldDef
	e.call(tok, "POST", "/api/v1/fields", map[string]any{
		"key": "plan", "label": "Plan", "type": "choice", "classification": "none", "choices": []string{"free", "pro"},
	}, http.StatusCreated, &f)
	if f.Key != "plan" || f.BuiltIn || len(f.Choices) != 2 {
		t.Fatalf("created %+v", f)
	}
	e.call(tok, "POST", "/api/v1/fields", map[string]any{"key": "plan", "type": "text", "classification": "none"},
		http.StatusConflict, nil)

	var list struct{ Data []*custos.FieldDef }
	e.call(tok, "GET", "/api/v1/fields", nil, http.StatusOK, &list)
	if len(list.Data) != len(custos.BuiltInFields())+1 {
		t.Errorf("%d fields", len(list.Data))
	}
	e.call(tok, "PATCH", "/api/v1/fields/plan", map[string]any{"label": "Pricing plan", "choices": []string{"free", "pro", "team"}},
		http.StatusOK, &f)
	if f.Label != "Pricing plan" || len(f.Choices) != 3 {
		t.Errorf("updated %+v", f)
	}
	e.call(tok, "GET", "/api/v1/fields/plan", nil, http.StatusOK, &f)
	if f.Label != "Pricing plan" {
		t.Errorf("read %+v", f)
	}
	e.call(tok, "DELETE", "/api/v1/fields/email", nil, http.StatusConflict, nil)
	e.call(tok, "DELETE", "/api/v1/fields/plan", nil, http.StatusNoContent, nil)
	e.call(tok, "GET", "/api/v1/fields/plan", nil, http.StatusNotFound, nil)
}

func TestContactsHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token
	e.call(tok, "POST", "/api/v1/fields", map[string]any{"key": "city", "type": "text", "classification": "none"},
		http.StatusCreated, nil)

	var c custos.Contact
	e.call(tok, "POST", "/api/v1/contacts", map[string]any{
		"email": " Anna@Example.COM ", "fields": map[string]any{"first_name": "Anna", "city": "Kraków"},
		"tags": []string{"vip"}, "source": map[string]any{"kind": "form", "detail": "landing page"},
	}, http.StatusCreated, &c)
	if c.ID <= 0 || c.Email != "anna@example.com" || c.Status != custos.StatusActive || c.Source.Kind != custos.SourceForm {
		t.Fatalf("created %+v", c)
	}
	path := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)

	t.Run("duplicate e-mail", func(t *testing.T) {
		res := e.do(request{method: "POST", path: "/api/v1/contacts", token: tok, body: map[string]any{"email": "anna@example.com"}})
		if res.status != http.StatusConflict {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		if got := res.apiError(t); got.Code != custos.ECONFLICT || got.ExistingID != c.ID {
			t.Errorf("error %+v, want conflict with existing_id %d", got, c.ID)
		}
	})

	t.Run("patch and history", func(t *testing.T) {
		var u custos.Contact
		e.call(tok, "PATCH", path, map[string]any{"fields": map[string]any{"first_name": "Anne", "city": nil}, "tags": []string{"vip", "b2b"}},
			http.StatusOK, &u)
		if u.Fields["first_name"] != "Anne" || u.Fields["city"] != nil || len(u.Tags) != 2 {
			t.Fatalf("updated %+v", u)
		}
		var got custos.Contact
		e.call(tok, "GET", path, nil, http.StatusOK, &got)
		if _, ok := got.Fields["city"]; ok || got.Fields["first_name"] != "Anne" {
			t.Errorf("read back %+v", got)
		}
		var hist struct {
			Data       []*custos.Change
			NextCursor *string `json:"next_cursor"`
		}
		e.call(tok, "GET", path+"/history", nil, http.StatusOK, &hist)
		var seen bool
		for _, ch := range hist.Data {
			// The history names a field as a request body does.
			if ch.Field == "fields.first_name" {
				seen = true
				if ch.Old != "Anna" || ch.New != "Anne" || ch.Actor == "" {
					t.Errorf("change %+v, want Anna → Anne by an actor", ch)
				}
			}
		}
		if !seen {
			t.Errorf("history without first_name: %s", e.do(request{method: "GET", path: path + "/history", token: tok}).body)
		}
		if hist.NextCursor != nil {
			t.Errorf("one page of history has a next cursor")
		}
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name  string
			query string
			want  int
		}{
			{"by e-mail", "?email=ANNA@example.com", 1},
			{"by tag", "?tag=b2b", 1},
			{"by missing tag", "?tag=none", 0},
			{"by search", "?q=ann", 1},
			{"by status", "?status=active", 1},
			{"created after", "?created_after=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), 1},
			{"created before", "?created_before=2000-01-01T00:00:00Z", 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var page struct{ Data []*custos.Contact }
				e.call(tok, "GET", "/api/v1/contacts"+tc.query, nil, http.StatusOK, &page)
				if len(page.Data) != tc.want {
					t.Errorf("%d contacts, want %d", len(page.Data), tc.want)
				}
			})
		}
	})

	t.Run("pagination", func(t *testing.T) {
		for i := range 11 {
			e.call(tok, "POST", "/api/v1/contacts", map[string]any{
				"email": fmt.Sprintf("p%d@example.com", i), "fields": map[string]any{"city": "Gdańsk"},
			}, http.StatusCreated, nil)
		}
		seen := map[int64]bool{}
		pages := 0
		next := "/api/v1/contacts?limit=4&field.city=Gda%C5%84sk"
		for next != "" {
			var page struct {
				Data       []*custos.Contact
				NextCursor *string `json:"next_cursor"`
			}
			e.call(tok, "GET", next, nil, http.StatusOK, &page)
			pages++
			for _, c := range page.Data {
				if seen[c.ID] {
					t.Errorf("contact %d on two pages", c.ID)
				}
				seen[c.ID] = true
			}
			next = ""
			if page.NextCursor != nil {
				next = "/api/v1/contacts?limit=4&field.city=Gda%C5%84sk&cursor=" + *page.NextCursor
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 11 || pages != 3 {
			t.Errorf("%d contacts on %d pages, want 11 on 3", len(seen), pages)
		}
	})
}

func TestConsentsHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var p custos.Purpose
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent", "channel": "email"},
		http.StatusCreated, &p)
	var n custos.Notice
	e.call(tok, "POST", "/api/v1/notices", map[string]any{"kind": "checkbox", "language": "en", "body": "Send me the newsletter."},
		http.StatusCreated, &n)
	var c custos.Contact
	e.call(tok, "POST", "/api/v1/contacts", map[string]any{"email": "jan@example.com", "tags": []string{"fan"}}, http.StatusCreated, &c)
	contact := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)
	permission := contact + "/permissions?purpose_id=" + strconv.FormatInt(p.ID, 10)

	var d custos.Decision
	e.call(tok, "GET", permission, nil, http.StatusOK, &d)
	if d.Allowed || d.Reason != custos.ReasonNoConsent {
		t.Fatalf("before any consent: %+v", d)
	}

	var ev custos.ConsentEvent
	e.call(tok, "POST", contact+"/consents", map[string]any{
		"purpose_id": p.ID, "action": "grant", "notice_hash": n.Hash, "ip": "2001:db8::1", "user_agent": "Firefox",
	}, http.StatusCreated, &ev)
	if ev.Method != custos.MethodAPI || ev.Actor == "" || ev.NoticeHash != n.Hash || ev.ContactID != c.ID {
		t.Fatalf("event %+v", ev)
	}
	e.call(tok, "GET", permission, nil, http.StatusOK, &d)
	if !d.Allowed || d.Reason != custos.ReasonConsent {
		t.Fatalf("after grant: %+v", d)
	}
	granted := time.Now()

	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": p.ID, "action": "withdraw"}, http.StatusCreated, nil)
	e.call(tok, "GET", permission, nil, http.StatusOK, &d)
	if d.Allowed || d.Reason != custos.ReasonWithdrawn {
		t.Fatalf("after withdraw: %+v", d)
	}
	var then custos.Decision
	e.call(tok, "GET", permission+"&at="+granted.UTC().Format(time.RFC3339Nano), nil, http.StatusOK, &then)
	if !then.Allowed {
		t.Errorf("as of the grant: %+v", then)
	}

	var all struct {
		States  []*custos.ConsentState
		History []*custos.ConsentEvent
	}
	e.call(tok, "GET", contact+"/consents", nil, http.StatusOK, &all)
	if len(all.States) != 1 || all.States[0].Action != custos.ActionWithdraw || len(all.History) != 2 {
		t.Errorf("consents %+v", all)
	}
	if all.History[0].IP != "2001:db8::1" {
		t.Errorf("admin misses the IP: %+v", all.History[0])
	}

	t.Run("bulk", func(t *testing.T) {
		var res affectedBody
		e.call(tok, "POST", "/api/v1/consents/bulk", map[string]any{
			"filter":  map[string]any{"tag": "fan"},
			"consent": map[string]any{"purpose_id": p.ID, "action": "grant", "notice": "Send me the newsletter."},
		}, http.StatusOK, &res)
		if res.Affected != 1 {
			t.Errorf("affected %d", res.Affected)
		}
		e.call(tok, "GET", permission, nil, http.StatusOK, &d)
		if !d.Allowed {
			t.Errorf("after bulk grant: %+v", d)
		}
		e.call(tok, "POST", "/api/v1/consents/bulk", map[string]any{
			"filter":  map[string]any{"all": true},
			"consent": map[string]any{"purpose_id": p.ID, "action": "withdraw"},
		}, http.StatusOK, &res)
		if res.Affected != 1 {
			t.Errorf("affected %d", res.Affected)
		}
	})
}

func TestListsHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var g custos.ListGroup
	e.call(tok, "POST", "/api/v1/list-groups", map[string]any{"name": "Topics"}, http.StatusCreated, &g)
	group := "/api/v1/list-groups/" + strconv.FormatInt(g.ID, 10)
	e.call(tok, "PATCH", group, map[string]any{"description": "What we write about"}, http.StatusOK, &g)
	if g.Description != "What we write about" {
		t.Errorf("group %+v", g)
	}
	var l custos.List
	e.call(tok, "POST", "/api/v1/lists", map[string]any{"name": "Weekly", "group_id": g.ID}, http.StatusCreated, &l)
	if l.GroupID == nil || *l.GroupID != g.ID {
		t.Fatalf("list %+v", l)
	}
	list := "/api/v1/lists/" + strconv.FormatInt(l.ID, 10)

	var ids []int64
	for i := range 3 {
		var c custos.Contact
		tags := []string{}
		if i > 0 {
			tags = []string{"late"}
		}
		e.call(tok, "POST", "/api/v1/contacts", map[string]any{"email": fmt.Sprintf("m%d@example.com", i), "tags": tags},
			http.StatusCreated, &c)
		ids = append(ids, c.ID)
	}
	one := list + "/members/" + strconv.FormatInt(ids[0], 10)

	members := func(want int64) {
		t.Helper()
		var got custos.List
		e.call(tok, "GET", list, nil, http.StatusOK, &got)
		if got.Members != want {
			t.Errorf("%d members, want %d", got.Members, want)
		}
	}
	e.call(tok, "PUT", one, nil, http.StatusNoContent, nil)
	e.call(tok, "PUT", one, nil, http.StatusNoContent, nil)
	members(1)
	var inLists struct{ Data []int64 }
	e.call(tok, "GET", "/api/v1/contacts/"+strconv.FormatInt(ids[0], 10)+"/lists", nil, http.StatusOK, &inLists)
	if len(inLists.Data) != 1 || inLists.Data[0] != l.ID {
		t.Errorf("contact's lists %v", inLists.Data)
	}
	e.call(tok, "DELETE", one, nil, http.StatusNoContent, nil)
	members(0)

	var res affectedBody
	e.call(tok, "POST", list+"/members", map[string]any{"contact_ids": ids}, http.StatusOK, &res)
	if res.Affected != 3 {
		t.Errorf("added %d", res.Affected)
	}
	e.call(tok, "POST", list+"/members/remove", map[string]any{"filter": map[string]any{"tag": "late"}}, http.StatusOK, &res)
	if res.Affected != 2 {
		t.Errorf("removed by filter %d", res.Affected)
	}
	members(1)
	// They left the list: adding by filter skips them; naming them brings
	// them back.
	e.call(tok, "POST", list+"/members", map[string]any{"filter": map[string]any{"tag": "late"}}, http.StatusOK, &res)
	if res.Affected != 0 || res.Skipped != 2 {
		t.Errorf("added by filter %d, skipped %d", res.Affected, res.Skipped)
	}
	e.call(tok, "POST", list+"/members", map[string]any{"contact_ids": ids[1:]}, http.StatusOK, &res)
	if res.Affected != 2 {
		t.Errorf("added by id %d", res.Affected)
	}
	e.call(tok, "POST", list+"/members/remove", map[string]any{"contact_ids": ids[:1]}, http.StatusOK, &res)
	if res.Affected != 1 {
		t.Errorf("removed %d", res.Affected)
	}
	members(2)
	var page struct{ Data []*custos.Contact }
	e.call(tok, "GET", "/api/v1/contacts?list_id="+strconv.FormatInt(l.ID, 10), nil, http.StatusOK, &page)
	if len(page.Data) != 2 {
		t.Errorf("%d contacts on the list", len(page.Data))
	}

	e.call(tok, "PATCH", list, map[string]any{"name": "Weekly digest", "group_id": 0}, http.StatusOK, &l)
	if l.Name != "Weekly digest" || l.GroupID != nil {
		t.Errorf("list %+v", l)
	}
	var lists struct{ Data []*custos.List }
	e.call(tok, "GET", "/api/v1/lists", nil, http.StatusOK, &lists)
	if len(lists.Data) != 1 {
		t.Errorf("%d lists", len(lists.Data))
	}
	var groups struct{ Data []*custos.ListGroup }
	e.call(tok, "GET", "/api/v1/list-groups", nil, http.StatusOK, &groups)
	if len(groups.Data) != 1 {
		t.Errorf("%d groups", len(groups.Data))
	}
	e.call(tok, "DELETE", group, nil, http.StatusNoContent, nil)
	e.call(tok, "GET", group, nil, http.StatusNotFound, nil)
	e.call(tok, "DELETE", list, nil, http.StatusNoContent, nil)
	e.call(tok, "GET", list, nil, http.StatusNotFound, nil)
}

func TestPurposesHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var p custos.Purpose
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{
		"name": "Customer service", "legal_basis": "contract", "retention_days": 365, "retention_from": "last_activity",
	}, http.StatusCreated, &p)
	if p.ID <= 0 || p.Version != 1 {
		t.Fatalf("created %+v", p)
	}
	path := "/api/v1/purposes/" + strconv.FormatInt(p.ID, 10)
	var v2 custos.Purpose
	e.call(tok, "PATCH", path, map[string]any{"description": "Answering questions", "retention_days": 730}, http.StatusOK, &v2)
	if v2.Version != 2 || v2.RetentionDays != 730 || v2.Name != "Customer service" {
		t.Errorf("version 2 %+v", v2)
	}
	var cur custos.Purpose
	e.call(tok, "GET", path, nil, http.StatusOK, &cur)
	if cur.Version != 2 {
		t.Errorf("current %+v", cur)
	}
	var versions struct{ Data []*custos.Purpose }
	e.call(tok, "GET", path+"/versions", nil, http.StatusOK, &versions)
	if len(versions.Data) != 2 || versions.Data[0].Version != 1 || versions.Data[0].RetentionDays != 365 {
		t.Errorf("versions %+v", versions.Data)
	}
	var all struct{ Data []*custos.Purpose }
	e.call(tok, "GET", "/api/v1/purposes", nil, http.StatusOK, &all)
	if len(all.Data) != 1 || all.Data[0].Version != 2 {
		t.Errorf("purposes %+v", all.Data)
	}
	res := e.do(request{method: "POST", path: "/api/v1/purposes", token: tok, body: map[string]any{"name": "x", "legal_basis": "whim"}})
	if res.status != 400 || res.apiError(t).Field != "legal_basis" {
		t.Errorf("bad basis: %d %s", res.status, res.body)
	}
}

func TestNoticesHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token
	body := map[string]any{"kind": "information_clause", "language": "pl", "body": "Administratorem danych jest…"}

	var n1, n2 custos.Notice
	e.call(tok, "POST", "/api/v1/notices", body, http.StatusCreated, &n1)
	if n1.Hash != custos.NoticeHash("Administratorem danych jest…") {
		t.Errorf("hash %q", n1.Hash)
	}
	e.call(tok, "POST", "/api/v1/notices", body, http.StatusOK, &n2)
	if n2.Hash != n1.Hash || !n2.CreatedAt.Equal(n1.CreatedAt) {
		t.Errorf("second store %+v, first %+v", n2, n1)
	}
	var got custos.Notice
	e.call(tok, "GET", "/api/v1/notices/"+n1.Hash, nil, http.StatusOK, &got)
	if got.Body != "Administratorem danych jest…" || got.Kind != custos.NoticeInformationClause {
		t.Errorf("read %+v", got)
	}
	var all struct{ Data []*custos.Notice }
	e.call(tok, "GET", "/api/v1/notices", nil, http.StatusOK, &all)
	if len(all.Data) != 1 {
		t.Errorf("%d notices", len(all.Data))
	}
	e.call(tok, "GET", "/api/v1/notices/sha256:00", nil, http.StatusNotFound, nil)
}

func TestRestrictionHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var p, l custos.Purpose
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent"}, http.StatusCreated, &p)
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Offers", "legal_basis": "legitimate_interests"}, http.StatusCreated, &l)
	var list custos.List
	e.call(tok, "POST", "/api/v1/lists", map[string]any{"name": "Weekly"}, http.StatusCreated, &list)
	var c, other custos.Contact
	e.call(tok, "POST", "/api/v1/contacts", map[string]any{"email": "ewa@example.com", "tags": []string{"t"}, "fields": map[string]any{"first_name": "Ewa"}},
		http.StatusCreated, &c)
	e.call(tok, "POST", "/api/v1/contacts", map[string]any{"email": "ola@example.com", "tags": []string{"t"}}, http.StatusCreated, &other)
	contact := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)
	members := "/api/v1/lists/" + strconv.FormatInt(list.ID, 10) + "/members"
	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": p.ID, "action": "grant", "notice": "Yes."}, http.StatusCreated, nil)
	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": l.ID, "action": "assign_basis"}, http.StatusCreated, nil)

	var r custos.Restriction
	res := e.call(tok, "POST", contact+"/restriction", map[string]any{"reason": "  Contests the accuracy of her address. "}, http.StatusCreated, &r)
	if r.ID <= 0 || r.ContactID != c.ID || r.Reason != "Contests the accuracy of her address." || !strings.HasPrefix(r.RestrictedBy, "apikey:") ||
		r.LiftedAt != nil || !strings.Contains(string(res.body), `"lifted_at":null`) {
		t.Fatalf("restriction %s", res.body)
	}
	during := time.Now()
	var got custos.Contact
	e.call(tok, "GET", contact, nil, http.StatusOK, &got)
	if got.Status != custos.StatusRestricted {
		t.Fatalf("status %q", got.Status)
	}
	e.call(tok, "POST", contact+"/restriction", map[string]any{"reason": "again"}, http.StatusConflict, nil)

	t.Run("frozen", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			body               any
			field              string
		}{
			{"tags", "PATCH", contact, map[string]any{"tags": []string{"x"}}, "tags"},
			{"a field", "PATCH", contact, map[string]any{"fields": map[string]any{"first_name": "Eva"}}, "fields.first_name"},
			{"e-mail", "PATCH", contact, map[string]any{"email": "eva@example.com"}, "email"},
			{"one member", "PUT", members + "/" + strconv.FormatInt(c.ID, 10), nil, "contact_id"},
			{"named members", "POST", members, map[string]any{"contact_ids": []int64{other.ID, c.ID}}, "contact_ids"},
			{"grant", "POST", contact + "/consents", map[string]any{"purpose_id": p.ID, "action": "grant", "notice": "Yes."}, "action"},
			{"assign a basis", "POST", contact + "/consents", map[string]any{"purpose_id": l.ID, "action": "assign_basis"}, "action"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res := e.do(request{method: tc.method, path: tc.path, token: tok, body: tc.body})
				if res.status != http.StatusConflict {
					t.Fatalf("status %d, want 409; body %s", res.status, res.body)
				}
				if got := res.apiError(t); got.Code != custos.ERESTRICTED || got.Field != tc.field {
					t.Errorf("error %+v, want restricted on %q", got, tc.field)
				}
			})
		}
		var after custos.Contact
		e.call(tok, "GET", contact, nil, http.StatusOK, &after)
		if after.Email != "ewa@example.com" || after.Fields["first_name"] != "Ewa" || len(after.Tags) != 1 || !after.UpdatedAt.Equal(got.UpdatedAt) {
			t.Errorf("a refused write changed the contact: %+v", after)
		}
		var l custos.List
		e.call(tok, "GET", "/api/v1/lists/"+strconv.FormatInt(list.ID, 10), nil, http.StatusOK, &l)
		if l.Members != 0 {
			t.Errorf("%d members after refused additions", l.Members)
		}
	})

	t.Run("bulk skips", func(t *testing.T) {
		var res affectedBody
		e.call(tok, "POST", members, map[string]any{"filter": map[string]any{"tag": "t"}}, http.StatusOK, &res)
		if res.Affected != 1 || res.Skipped != 1 {
			t.Errorf("add by filter: %+v", res)
		}
		e.call(tok, "POST", "/api/v1/consents/bulk", map[string]any{"filter": map[string]any{"tag": "t"},
			"consent": map[string]any{"purpose_id": p.ID, "action": "grant", "notice": "Yes."}}, http.StatusOK, &res)
		if res.Affected != 1 || res.Skipped != 1 {
			t.Errorf("bulk grant: %+v", res)
		}
	})

	t.Run("still possible", func(t *testing.T) {
		var d custos.Decision
		e.call(tok, "GET", contact+"/permissions?purpose_id="+strconv.FormatInt(l.ID, 10), nil, http.StatusOK, &d)
		if d.Allowed || d.Reason != custos.ReasonRestricted {
			t.Errorf("permission %+v", d)
		}
		e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": p.ID, "action": "withdraw"}, http.StatusCreated, nil)
		e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": l.ID, "action": "remove_basis"}, http.StatusCreated, nil)
		var x custos.Export
		e.call(tok, "GET", contact+"/export", nil, http.StatusOK, &x)
		if len(x.Restrictions) != 1 || x.Restrictions[0].Reason != r.Reason {
			t.Errorf("export restrictions %+v", x.Restrictions)
		}
	})

	var lifted custos.Restriction
	e.call(tok, "DELETE", contact+"/restriction", map[string]any{"reason": "Address confirmed."}, http.StatusOK, &lifted)
	if lifted.ID != r.ID || lifted.LiftedAt == nil || lifted.LiftReason != "Address confirmed." || lifted.LiftedBy != r.RestrictedBy {
		t.Fatalf("lifted %+v", lifted)
	}
	e.call(tok, "DELETE", contact+"/restriction", map[string]any{"reason": "again"}, http.StatusConflict, nil)
	var all struct{ Data []*custos.Restriction }
	e.call(tok, "GET", contact+"/restrictions", nil, http.StatusOK, &all)
	if len(all.Data) != 1 || all.Data[0].LiftReason != "Address confirmed." || all.Data[0].Reason != r.Reason {
		t.Fatalf("restrictions %+v", all.Data)
	}
	e.call(tok, "GET", contact, nil, http.StatusOK, &got)
	if got.Status != custos.StatusActive {
		t.Fatalf("status %q after lifting", got.Status)
	}
	e.call(tok, "PATCH", contact, map[string]any{"tags": []string{"x"}}, http.StatusOK, nil)
	e.call(tok, "PUT", members+"/"+strconv.FormatInt(c.ID, 10), nil, http.StatusNoContent, nil)

	var hist struct{ Data []*custos.Change }
	e.call(tok, "GET", contact+"/history", nil, http.StatusOK, &hist)
	var statuses []string
	for _, h := range hist.Data {
		if h.Field == "status" {
			statuses = append(statuses, fmt.Sprintf("%v>%v", h.Old, h.New))
		}
	}
	if strings.Join(statuses, " ") != "restricted>active active>restricted" {
		t.Errorf("status history, newest first: %v", statuses)
	}
	var then custos.Decision
	e.call(tok, "GET", contact+"/permissions?purpose_id="+strconv.FormatInt(p.ID, 10)+"&at="+during.UTC().Format(time.RFC3339Nano), nil, http.StatusOK, &then)
	if then.Allowed || then.Reason != custos.ReasonRestricted {
		t.Errorf("as of the restriction: %+v", then)
	}
}

func TestObjectionHappyPath(t *testing.T) {
	e := newEnv(t)
	w := e.emptyWorkspace("w")
	tok := w.token

	var news, offers, service custos.Purpose
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent", "marketing": true}, http.StatusCreated, &news)
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Offers", "legal_basis": "legitimate_interests"}, http.StatusCreated, &offers)
	e.call(tok, "POST", "/api/v1/purposes", map[string]any{"name": "Service", "legal_basis": "consent"}, http.StatusCreated, &service)
	if !news.Marketing || offers.Marketing {
		t.Fatalf("marketing flags: %+v %+v", news, offers)
	}
	e.call(tok, "PATCH", "/api/v1/purposes/"+strconv.FormatInt(offers.ID, 10), map[string]any{"marketing": true}, http.StatusOK, &offers)
	if !offers.Marketing || offers.Version != 2 {
		t.Fatalf("offers made marketing: %+v", offers)
	}
	var c custos.Contact
	e.call(tok, "POST", "/api/v1/contacts", map[string]any{"email": "jan@example.com"}, http.StatusCreated, &c)
	contact := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)
	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": news.ID, "action": "grant", "notice": "Yes."}, http.StatusCreated, nil)
	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": offers.ID, "action": "assign_basis"}, http.StatusCreated, nil)
	e.call(tok, "POST", contact+"/consents", map[string]any{"purpose_id": service.ID, "action": "grant", "notice": "Yes."}, http.StatusCreated, nil)

	// A marketer may record it: it is a consent write.
	var got struct{ Data []*custos.ConsentEvent }
	e.call(e.key(w, custos.RoleMarketer), "POST", contact+"/objection", nil, http.StatusOK, &got)
	if len(got.Data) != 2 || got.Data[0].PurposeID != news.ID || got.Data[0].Action != custos.ActionWithdraw ||
		got.Data[1].PurposeID != offers.ID || got.Data[1].Action != custos.ActionRemoveBasis {
		t.Fatalf("events %+v", got.Data)
	}
	for _, ev := range got.Data {
		if ev.Method != custos.MethodObjection || ev.ContactID != c.ID || !strings.HasPrefix(ev.Actor, "apikey:") {
			t.Errorf("event %+v", ev)
		}
	}
	for _, tc := range []struct {
		p       custos.Purpose
		allowed bool
		reason  string
	}{{news, false, custos.ReasonWithdrawn}, {offers, false, custos.ReasonBasisRemoved}, {service, true, custos.ReasonConsent}} {
		var d custos.Decision
		e.call(tok, "GET", contact+"/permissions?purpose_id="+strconv.FormatInt(tc.p.ID, 10), nil, http.StatusOK, &d)
		if d.Allowed != tc.allowed || d.Reason != tc.reason {
			t.Errorf("%s: %+v", tc.p.Name, d)
		}
	}
	res := e.call(tok, "POST", contact+"/objection", nil, http.StatusOK, nil)
	if strings.TrimSpace(string(res.body)) != `{"data":[]}` {
		t.Errorf("second objection: %s", res.body)
	}
	var all struct{ History []*custos.ConsentEvent }
	e.call(tok, "GET", contact+"/consents", nil, http.StatusOK, &all)
	if len(all.History) != 5 {
		t.Errorf("%d ledger events, want 5", len(all.History))
	}
}
