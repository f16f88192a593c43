package store_test

import (
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

func TestMonitoringOffAndOn(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	clock := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	tracking := &custos.Purpose{Name: "Open and click tracking", LegalBasis: custos.BasisConsent, Channel: custos.ChannelTracking}
	if err := db.CreatePurpose(ctx, tracking); err != nil {
		t.Fatal(err)
	}
	mail := mustPurpose(t, db, ctx, custos.BasisConsent) // channel email: does not count
	c := mustContact(t, db, ctx, "tracked@example.com", nil)
	grant := func(p int64) {
		t.Helper()
		if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p, Action: custos.ActionGrant, Notice: "Track my opens."}); err != nil {
			t.Fatal(err)
		}
	}
	grant(tracking.ID)
	if got, _ := db.FindContactByID(ctx, c.ID); !got.Monitoring {
		t.Fatal("a new contact is not monitored")
	}

	off, err := db.SetMonitoring(ctx, c.ID, false)
	if err != nil || off.Enabled || off.OffSince == nil || len(off.Events) != 1 || off.Events[0].Action != custos.ActionMonitoringOff || off.Events[0].PurposeID != tracking.ID {
		t.Fatalf("off: %+v %v", off, err)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Monitoring {
		t.Fatal("still monitored")
	}
	// The ledger holds the event, which decides no consent, now or then.
	_, events, err := db.ContactConsents(ctx, c.ID)
	if err != nil || len(events) != 2 || events[1].Action != custos.ActionMonitoringOff {
		t.Fatalf("ledger: %+v %v", events, err)
	}
	later := clock.Add(time.Hour)
	for _, at := range []*time.Time{nil, &later} {
		if d, err := db.Permission(ctx, c.ID, tracking.ID, at); err != nil || !d.Allowed {
			t.Fatalf("the consent stands after monitoring off (at %v): %+v %v", at, d, err)
		}
	}
	hist, _, _ := db.ContactHistory(ctx, c.ID, 0, 10)
	if len(hist) != 1 || hist[0].Field != "monitoring" || hist[0].Old != true || hist[0].New != false {
		t.Fatalf("history: %+v", hist)
	}
	// Off again: nothing more.
	if again, err := db.SetMonitoring(ctx, c.ID, false); err != nil || len(again.Events) != 0 || again.Enabled {
		t.Fatalf("off twice: %+v %v", again, err)
	}

	// The old consent, or a consent for another channel, does not turn it on.
	if _, err := db.SetMonitoring(ctx, c.ID, true); code(err) != custos.ECONSENT {
		t.Fatalf("on without a new consent: %v", err)
	}
	grant(mail.ID)
	if _, err := db.SetMonitoring(ctx, c.ID, true); code(err) != custos.ECONSENT {
		t.Fatalf("on with a consent of another channel: %v", err)
	}
	// Nor a grant recorded now but back-dated to before the switch-off.
	before := off.OffSince.Add(-time.Minute)
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: tracking.ID, Action: custos.ActionGrant, Notice: "Track my opens.", EffectiveFrom: &before}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetMonitoring(ctx, c.ID, true); code(err) != custos.ECONSENT {
		t.Fatalf("on with a back-dated consent: %v", err)
	}
	// A new grant, withdrawn again, does not either.
	grant(tracking.ID)
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: tracking.ID, Action: custos.ActionWithdraw}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetMonitoring(ctx, c.ID, true); code(err) != custos.ECONSENT {
		t.Fatalf("on with a withdrawn new consent: %v", err)
	}
	grant(tracking.ID)
	on, err := db.SetMonitoring(ctx, c.ID, true)
	if err != nil || !on.Enabled || len(on.Events) != 1 || on.Events[0].Action != custos.ActionMonitoringOn {
		t.Fatalf("on: %+v %v", on, err)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); !got.Monitoring {
		t.Fatal("not monitored after switching on")
	}

	// Restricted: off works, on waits for the lifting.
	if _, err := db.RestrictContact(ctx, c.ID, "Contests."); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetMonitoring(ctx, c.ID, false); err != nil {
		t.Fatalf("off while restricted: %v", err)
	}
	grant2 := func() error {
		_, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: tracking.ID, Action: custos.ActionGrant, Notice: "x"})
		return err
	}
	if err := grant2(); code(err) != custos.ERESTRICTED {
		t.Fatalf("grant while restricted: %v", err)
	}
	if _, err := db.SetMonitoring(ctx, c.ID, true); code(err) != custos.ERESTRICTED {
		t.Fatalf("on while restricted: %v", err)
	}
	if _, err := db.SetMonitoring(storetest.Workspace(t, db, "other", custos.RoleAdmin), c.ID, false); code(err) != custos.ENOTFOUND {
		t.Fatalf("from another workspace: %v", err)
	}
}
