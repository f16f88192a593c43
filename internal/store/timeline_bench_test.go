package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// busyContact makes a contact with a history of the given numbers of field
// changes, consent events, activities and attachments, each through the
// store's own methods.
func busyContact(b *testing.B, db *store.DB, ctx context.Context, changes, consents, activities, attachments int) *custos.Contact {
	b.Helper()
	start := time.Now()
	p := mustPurpose(b, db, ctx, custos.BasisConsent)
	c := mustContact(b, db, ctx, "busy@example.com", map[string]any{"first_name": "Busy"})
	for i := range changes {
		if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"last_name": fmt.Sprint("Name", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range consents {
		action := custos.ActionGrant
		if i%2 == 1 {
			action = custos.ActionWithdraw
		}
		if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: action, Notice: "Yes.", IP: "192.0.2.1", UserAgent: "UA"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range activities {
		a := &custos.Activity{Type: custos.ActivityNote, Body: fmt.Sprintf("Called about order %d; the customer asked for a new offer.", i)}
		if i%3 == 1 {
			a = &custos.Activity{Type: custos.ActivityDeal, Title: fmt.Sprint("Deal ", i), Value: "1200.50", Currency: "EUR", Stage: "proposal"}
		}
		if err := db.CreateActivity(ctx, c.ID, a); err != nil {
			b.Fatal(err)
		}
	}
	for i := range attachments {
		if err := db.CreateAttachment(ctx, c.ID, &custos.Attachment{Name: fmt.Sprintf("scan-%d.txt", i)}, []byte("a small scanned text"), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: %d changes, %d consent events, %d activities, %d attachments made in %s", db.Dialect(), changes, consents, activities, attachments, time.Since(start).Round(time.Millisecond))
	return c
}

// BenchmarkTimeline reads the first page (50 entries) of the timeline of a
// contact with 10,000 events of every kind.
func BenchmarkTimeline(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	c := busyContact(b, db, ctx, 3000, 2000, 4000, 1000)
	b.ResetTimer()
	for b.Loop() {
		page, next, err := db.ContactTimeline(ctx, c.ID, nil, custos.DefaultLimit)
		if err != nil || len(page) != custos.DefaultLimit || next == nil {
			b.Fatalf("%d %v", len(page), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
}

// BenchmarkExportActivities exports (JSON data, audit entry included) a
// contact with 10,000 activities and 1,000 consent events.
func BenchmarkExportActivities(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	c := busyContact(b, db, ctx, 0, 1000, 10000, 0)
	b.ResetTimer()
	for b.Loop() {
		x, err := db.ExportContact(ctx, c.ID)
		if err != nil || len(x.Activities) != 10000 || len(x.Ledger) != 1000 {
			b.Fatalf("%v %v", len(x.Activities), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/export")
}
