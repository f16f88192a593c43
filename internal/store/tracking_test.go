package store_test

import (
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

func TestTrackingEvents(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	tracking := &custos.Purpose{Name: "Tracking", LegalBasis: custos.BasisConsent, Channel: custos.ChannelTracking}
	if err := db.CreatePurpose(ctx, tracking); err != nil {
		t.Fatal(err)
	}
	tracked := mustContact(t, db, ctx, "tracked@example.com", nil)
	untracked := mustContact(t, db, ctx, "untracked@example.com", nil)
	if _, err := db.RecordConsent(ctx, tracked.ID, custos.ConsentRequest{PurposeID: tracking.ID, Action: custos.ActionGrant, Notice: "Track me."}); err != nil {
		t.Fatal(err)
	}
	event := func(id int64) (bool, error) {
		return db.RecordEvent(ctx, &custos.TrackingEvent{ContactID: id, Type: "page_view", Properties: map[string]string{"url": "/pricing"}})
	}
	if stored, err := event(tracked.ID); err != nil || !stored {
		t.Fatalf("tracked contact: %v %v", stored, err)
	}
	if stored, err := event(untracked.ID); err != nil || stored {
		t.Fatalf("contact without consent: %v %v", stored, err)
	}
	// The pixel records an open; a forged or altered token records nothing.
	token, err := db.PixelToken(ctx, tracked.ID, "campaign-7")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordPixel(ctx, token); err != nil {
		t.Fatal(err)
	}
	other, _ := db.PixelToken(ctx, untracked.ID, "campaign-7")
	for _, bad := range []string{"", "x", token + "x", strings.Replace(token, ".", "A.", 1), other[:strings.Index(other, ".")] + token[strings.Index(token, "."):]} {
		if err := db.RecordPixel(ctx, bad); code(err) != custos.EINVALID {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	page, _, err := db.ContactTimeline(ctx, tracked.ID, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	var opens, views int
	for _, e := range page {
		if e.Kind != custos.TimelineTracking {
			continue
		}
		switch e.Event.Type {
		case custos.EventEmailOpen:
			opens++
			if e.Event.MessageRef != "campaign-7" || e.Actor != "system" {
				t.Errorf("open %+v", e.Event)
			}
		case "page_view":
			views++
			if e.Event.Properties["url"] != "/pricing" {
				t.Errorf("view %+v", e.Event)
			}
		}
	}
	if opens != 1 || views != 1 {
		t.Fatalf("%d opens, %d views on the timeline", opens, views)
	}
	// Monitoring off: dropped at once. Restricted: dropped.
	if _, err := db.SetMonitoring(ctx, tracked.ID, false); err != nil {
		t.Fatal(err)
	}
	if stored, err := event(tracked.ID); err != nil || stored {
		t.Fatalf("monitoring off: %v %v", stored, err)
	}
	if err := db.RecordPixel(ctx, token); err != nil {
		t.Fatal(err)
	}
	st, err := db.TrackingStats(ctx)
	if err != nil || st.Dropped != 3 || st.LastDroppedAt == nil {
		t.Fatalf("stats %+v %v", st, err)
	}
	// Nothing of it touched the ledger: the grant and the switch-off.
	if _, events, _ := db.ContactConsents(ctx, tracked.ID); len(events) != 2 {
		t.Fatalf("ledger has %d events", len(events))
	}
	x, err := db.ExportContact(ctx, tracked.ID)
	if err != nil || len(x.Tracking) != 2 {
		t.Fatalf("export holds %d events: %v", len(x.Tracking), err)
	}
	foreign := storetest.Workspace(t, db, "elsewhere", custos.RoleAdmin)
	if _, err := db.RecordEvent(foreign, &custos.TrackingEvent{ContactID: tracked.ID, Type: "page_view"}); code(err) != custos.ENOTFOUND {
		t.Fatalf("from another workspace: %v", err)
	}
	if st, _ := db.TrackingStats(foreign); st.Dropped != 0 {
		t.Fatalf("another workspace counts %d", st.Dropped)
	}
	for _, e := range []custos.TrackingEvent{
		{ContactID: tracked.ID, Type: "Bad Type"},
		{ContactID: 0, Type: "x"},
		{ContactID: tracked.ID, Type: "x", MessageRef: "a b"},
		{ContactID: tracked.ID, Type: "x", Properties: map[string]string{"URL": "x"}},
	} {
		if _, err := db.RecordEvent(ctx, &e); code(err) != custos.EINVALID {
			t.Errorf("%+v: %v", e, err)
		}
	}
}
