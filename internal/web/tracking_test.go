package web

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func TestTrackingAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	tracking := &custos.Purpose{Name: "tracking", LegalBasis: custos.BasisConsent, Channel: custos.ChannelTracking}
	must(t, e.db.CreatePurpose(a.ctx, tracking))
	_, err := e.db.RecordConsent(a.ctx, a.contact, custos.ConsentRequest{PurposeID: tracking.ID, Action: custos.ActionGrant, Notice: "Track me."})
	must(t, err)

	var res struct {
		Stored bool  `json:"stored"`
		ID     int64 `json:"id"`
	}
	e.call(a.token, "POST", "/api/v1/events", map[string]any{"contact_id": a.contact, "type": "page_view", "at": "2026-01-01T00:00:00Z",
		"properties": map[string]string{"url": "/a"}}, http.StatusAccepted, &res)
	if !res.Stored || res.ID == 0 {
		t.Fatalf("event: %+v", res)
	}
	var stats custos.TrackingStats
	e.call(a.token, "GET", "/api/v1/tracking/stats", nil, http.StatusOK, &stats)
	if stats.Dropped != 0 {
		t.Fatalf("stats %+v", stats)
	}

	// The pixel: a valid token and any other answer the same bytes.
	token, err := e.db.PixelToken(a.ctx, a.contact, "news-1")
	must(t, err)
	valid := e.do(request{method: "GET", path: "/t/" + token})
	forged := e.do(request{method: "GET", path: "/t/" + token[:len(token)-2] + "AA"})
	if valid.status != http.StatusOK || forged.status != http.StatusOK || !bytes.Equal(valid.body, forged.body) ||
		valid.header.Get("Content-Type") != "image/gif" || valid.header.Get("Cache-Control") != "no-store" || !bytes.HasPrefix(valid.body, []byte("GIF89a")) {
		t.Fatalf("pixel: %d %d %v", valid.status, forged.status, valid.header)
	}
	// Monitoring off: the same GIF, and the open is counted, not stored.
	e.call(a.token, "PUT", "/api/v1/contacts/"+strconv.FormatInt(a.contact, 10)+"/monitoring", map[string]any{"enabled": false}, http.StatusOK, nil)
	if off := e.do(request{method: "GET", path: "/t/" + token}); !bytes.Equal(off.body, valid.body) {
		t.Fatal("the pixel answers differently with monitoring off")
	}
	e.call(a.token, "POST", "/api/v1/events", map[string]any{"contact_id": a.contact, "type": "page_view"}, http.StatusAccepted, &res)
	if res.Stored {
		t.Fatal("stored with monitoring off")
	}
	e.call(a.token, "GET", "/api/v1/tracking/stats", nil, http.StatusOK, &stats)
	if stats.Dropped != 2 {
		t.Fatalf("dropped %d, want 2", stats.Dropped)
	}
	var tl struct{ Data []custos.TimelineEntry }
	e.call(a.token, "GET", "/api/v1/contacts/"+strconv.FormatInt(a.contact, 10)+"/timeline", nil, http.StatusOK, &tl)
	n := 0
	for _, en := range tl.Data {
		if en.Kind == custos.TimelineTracking {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d tracking entries on the timeline, want the event and the open", n)
	}

	for _, tc := range []struct {
		name  string
		body  string
		field string
	}{
		{"unknown member", `{"contact_id":1,"type":"x","ip":"1.2.3.4"}`, "ip"},
		{"no type", `{"contact_id":1}`, "type"},
		{"bad time", `{"contact_id":1,"type":"x","at":"now"}`, "at"},
		{"future", `{"contact_id":1,"type":"x","at":"2999-01-01T00:00:00Z"}`, "at"},
		{"property not text", `{"contact_id":1,"type":"x","properties":{"a":1}}`, "properties"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(request{method: "POST", path: "/api/v1/events", token: a.token, body: tc.body})
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if got := res.apiError(t); got.Field != tc.field {
				t.Errorf("field %q, want %q", got.Field, tc.field)
			}
		})
	}
	e.call(a.token, "POST", "/api/v1/events", map[string]any{"contact_id": 987654, "type": "x"}, http.StatusNotFound, nil)
}
