package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func TestTimelineAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	path := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10) + "/timeline"
	_, err := e.db.UpdateContact(a.ctx, a.contact, custos.ContactUpdate{Fields: map[string]any{custos.FieldLastName: "Lastofa"}})
	must(t, err)

	type page struct {
		Data       []custos.TimelineEntry `json:"data"`
		NextCursor *string                `json:"next_cursor"`
	}
	var all []custos.TimelineEntry
	cursor := ""
	for {
		var p page
		e.call(a.token, "GET", path+"?limit=2"+cursor, nil, http.StatusOK, &p)
		all = append(all, p.Data...)
		if p.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *p.NextCursor
	}
	kinds := map[string]int{}
	for _, en := range all {
		kinds[en.Kind]++
	}
	// created, the field change, the consent, the note, the attachment.
	want := map[string]int{"created": 1, "change": 1, "consent": 1, "activity": 1, "attachment": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s entries, want %d (%v)", kinds[k], k, n, kinds)
		}
	}
	var full page
	res := e.call(a.token, "GET", path, nil, http.StatusOK, &full)
	for _, m := range []string{"Lastofa", "note of a", "file of a.txt", "192.0.2.1"} {
		if !strings.Contains(string(res.body), m) {
			t.Errorf("the timeline lacks %q: %s", m, res.body)
		}
	}
	// A viewer sees what happened, not the personal values.
	viewer := e.key(a, custos.RoleViewer)
	res = e.call(viewer, "GET", path, nil, http.StatusOK, nil)
	var redacted page
	must(t, json.Unmarshal(res.body, &redacted))
	if len(redacted.Data) != len(full.Data) {
		t.Fatalf("viewer sees %d entries, admin %d", len(redacted.Data), len(full.Data))
	}
	for _, m := range []string{"Lastofa", "note of a", "file of a.txt", "192.0.2.1", "test agent"} {
		if strings.Contains(string(res.body), m) {
			t.Errorf("the viewer's timeline shows %q", m)
		}
	}
	for _, q := range []string{"?cursor=x", "?cursor=" + "MTIzLk5PVEUuNQ", "?limit=0", "?since=1"} {
		res := e.do(request{method: "GET", path: path + q, token: a.token})
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", q, res.status)
		}
		res.apiError(t)
	}
	e.call(a.token, "GET", "/api/v1/contacts/987654/timeline", nil, http.StatusNotFound, nil)
}

func TestMonitoringAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	tracking := &custos.Purpose{Name: "tracking", LegalBasis: custos.BasisConsent, Channel: custos.ChannelTracking}
	must(t, e.db.CreatePurpose(a.ctx, tracking))
	contact := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10)
	var st custos.MonitoringState
	e.call(a.token, "PUT", contact+"/monitoring", map[string]any{"enabled": false}, http.StatusOK, &st)
	if st.Enabled || st.OffSince == nil || len(st.Events) != 1 || st.Events[0].Action != custos.ActionMonitoringOff {
		t.Fatalf("off: %+v", st)
	}
	res := e.do(request{method: "PUT", path: contact + "/monitoring", token: a.token, body: map[string]any{"enabled": true}})
	if res.status != http.StatusUnprocessableEntity || res.apiError(t).Code != custos.ECONSENT {
		t.Fatalf("on without consent: %d %s", res.status, res.body)
	}
	e.call(a.token, "POST", contact+"/consents", map[string]any{"purpose_id": tracking.ID, "action": "grant", "notice": "Track me."}, http.StatusCreated, nil)
	e.call(a.token, "PUT", contact+"/monitoring", map[string]any{"enabled": true}, http.StatusOK, &st)
	if !st.Enabled {
		t.Fatalf("on: %+v", st)
	}
	for _, body := range []string{`{}`, `{"enabled":"no"}`, `{"enabled":false,"why":"x"}`} {
		res := e.do(request{method: "PUT", path: contact + "/monitoring", token: a.token, body: body})
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: %d", body, res.status)
		}
	}
	e.call(e.key(a, custos.RoleViewer), "PUT", contact+"/monitoring", map[string]any{"enabled": false}, http.StatusForbidden, nil)
}
