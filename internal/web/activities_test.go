package web

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func TestActivitiesAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	base := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10) + "/activities"

	var task custos.Activity
	e.call(a.token, "POST", base, map[string]any{"type": "task", "title": "Call back", "due_at": "2030-01-02T10:00:00Z"}, http.StatusCreated, &task)
	if task.ID == 0 || task.DueAt == nil || task.Done || task.CreatedBy == "" {
		t.Fatalf("created %+v", task)
	}
	var deal custos.Activity
	e.call(a.token, "POST", base, map[string]any{"type": "deal", "title": "Renewal", "value": "99.90", "currency": "PLN", "stage": "won"}, http.StatusCreated, &deal)

	taskPath := fmt.Sprintf("%s/%d", base, task.ID)
	var done custos.Activity
	e.call(a.token, "PATCH", taskPath, map[string]any{"done": true}, http.StatusOK, &done)
	if !done.Done || done.DoneAt == nil {
		t.Fatalf("done %+v", done)
	}
	var page struct {
		Data       []custos.Activity `json:"data"`
		NextCursor *string           `json:"next_cursor"`
	}
	e.call(a.token, "GET", base+"?limit=2", nil, http.StatusOK, &page)
	if len(page.Data) != 2 || page.Data[0].ID != deal.ID || page.NextCursor == nil {
		t.Fatalf("page %+v", page)
	}
	e.call(a.token, "GET", base+"?cursor="+*page.NextCursor, nil, http.StatusOK, &page)
	if len(page.Data) != 1 || page.Data[0].ID != a.activity || page.NextCursor != nil {
		t.Fatalf("second page %+v", page)
	}

	// Bodies are personal data: a viewer reads none of them.
	viewer := e.key(a, custos.RoleViewer)
	e.call(viewer, "GET", base, nil, http.StatusForbidden, nil)
	e.call(viewer, "GET", taskPath, nil, http.StatusForbidden, nil)

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"unknown member", "POST", base, `{"type":"note","body":"x","mood":"ok"}`, 400, "mood"},
		{"no type", "POST", base, `{"body":"x"}`, 400, "type"},
		{"bad due date", "POST", base, `{"type":"task","title":"x","due_at":"tomorrow"}`, 400, "due_at"},
		{"done note", "POST", base, `{"type":"note","body":"x","done":true}`, 400, "done"},
		{"number as value", "POST", base, `{"type":"deal","title":"x","value":12,"currency":"EUR"}`, 400, "value"},
		{"empty patch", "PATCH", taskPath, `{}`, 400, ""},
		{"type in patch", "PATCH", taskPath, `{"type":"note"}`, 400, "type"},
		{"bad id", "GET", base + "/x", nil, 404, ""},
		{"missing activity", "GET", base + "/987654", nil, 404, ""},
		{"missing contact", "POST", "/api/v1/contacts/987654/activities", `{"type":"note","body":"x"}`, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: tc.method, path: tc.path, token: a.token, body: tc.body})
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if got := res.apiError(t); got.Field != tc.field {
				t.Errorf("field %q, want %q", got.Field, tc.field)
			}
		})
	}

	// Restricted: no new activity, no change, no removal.
	e.call(a.token, "POST", "/api/v1/contacts/"+strconv.FormatInt(a.contact, 10)+"/restriction", map[string]any{"reason": "contests"}, http.StatusCreated, nil)
	res := e.do(request{method: "POST", path: base, token: a.token, body: map[string]any{"type": "note", "body": "x"}})
	if res.status != http.StatusConflict || res.apiError(t).Code != custos.ERESTRICTED {
		t.Fatalf("restricted create: %d %s", res.status, res.body)
	}
	res = e.do(request{method: "DELETE", path: taskPath, token: a.token})
	if res.status != http.StatusConflict || res.apiError(t).Code != custos.ERESTRICTED {
		t.Fatalf("restricted delete: %d %s", res.status, res.body)
	}
	e.call(a.token, "DELETE", "/api/v1/contacts/"+strconv.FormatInt(a.contact, 10)+"/restriction", map[string]any{"reason": "settled"}, http.StatusOK, nil)
	e.call(a.token, "DELETE", taskPath, nil, http.StatusNoContent, nil)
	e.call(a.token, "GET", taskPath, nil, http.StatusNotFound, nil)
}
