package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

func TestContactTimeline(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "crm", custos.RoleAdmin)
	// A clock that stands still for pairs of steps, so that entries share
	// their time and the cursor must order them by kind and id.
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := 0
	db.Now = func() time.Time { tick++; return base.Add(time.Duration(tick/4) * time.Second) }

	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	c := mustContact(t, db, ctx, "timeline@example.com", map[string]any{"first_name": "Anna"})
	other := mustContact(t, db, ctx, "other@example.com", nil)
	want := map[string]bool{fmt.Sprintf("created/%d", c.ID): true}
	for i := range 5 {
		if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"last_name": fmt.Sprintf("Nowak%d", i)}}); err != nil {
			t.Fatal(err)
		}
		ev, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "Tak.", IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("consent/%d", ev.ID)] = true
		act := &custos.Activity{Type: custos.ActivityNote, Body: fmt.Sprintf("note %d", i)}
		if err := db.CreateActivity(ctx, c.ID, act); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("activity/%d", act.ID)] = true
		att := &custos.Attachment{Name: fmt.Sprintf("f%d.txt", i)}
		if err := db.CreateAttachment(ctx, c.ID, att, []byte("text"), nil); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("attachment/%d", att.ID)] = true
		// Noise on another contact, which must not appear.
		if err := db.CreateActivity(ctx, other.ID, &custos.Activity{Type: custos.ActivityNote, Body: "other"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.RestrictContact(ctx, c.ID, "Contests.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "Settled."); err != nil {
		t.Fatal(err)
	}
	want[fmt.Sprintf("restriction/%d", res.ID)] = true
	want[fmt.Sprintf("restriction_lifted/%d", res.ID)] = true
	hist, _, err := db.ContactHistory(ctx, c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		want[fmt.Sprintf("change/%d", h.ID)] = true
	}

	for _, limit := range []int{1, 3, 7, 100} {
		seen := map[string]bool{}
		var all []*custos.TimelineEntry
		var cursor *custos.TimelineCursor
		for pages := 0; ; pages++ {
			page, next, err := db.ContactTimeline(ctx, c.ID, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit || (next != nil && len(page) != limit) || pages > 100 {
				t.Fatalf("limit %d: page of %d, next %v", limit, len(page), next)
			}
			for _, e := range page {
				key := fmt.Sprintf("%s/%d", e.Kind, e.ID)
				if seen[key] {
					t.Fatalf("limit %d: %s twice", limit, key)
				}
				seen[key] = true
				all = append(all, e)
			}
			if next == nil {
				break
			}
			cursor = next
		}
		if len(seen) != len(want) {
			t.Fatalf("limit %d: %d entries, want %d: %v", limit, len(seen), len(want), seen)
		}
		for k := range want {
			if !seen[k] {
				t.Errorf("limit %d: %s missing", limit, k)
			}
		}
		for i := 1; i < len(all); i++ {
			if !(&custos.TimelineCursor{At: all[i-1].At, Kind: all[i-1].Kind, ID: all[i-1].ID}).Before(all[i]) {
				t.Fatalf("limit %d: entry %d (%s %d %v) is not after %s %d %v", limit, i, all[i].Kind, all[i].ID, all[i].At, all[i-1].Kind, all[i-1].ID, all[i-1].At)
			}
		}
		if last := all[len(all)-1]; last.Kind != custos.TimelineCreated || last.Source.Kind != custos.SourceAPI {
			t.Fatalf("the oldest entry is %+v", last)
		}
	}
	page, _, err := db.ContactTimeline(ctx, c.ID, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page {
		switch e.Kind {
		case custos.TimelineConsent:
			if e.Consent.IP != "192.0.2.7" {
				t.Errorf("consent without its IP: %+v", e.Consent)
			}
		case custos.TimelineActivity:
			if e.Activity.Body == "" || e.Actor == "" {
				t.Errorf("activity %+v", e.Activity)
			}
		}
	}
	if _, _, err := db.ContactTimeline(storetest.Workspace(t, db, "elsewhere", custos.RoleAdmin), c.ID, nil, 10); code(err) != custos.ENOTFOUND {
		t.Fatalf("from another workspace: %v", err)
	}
}
