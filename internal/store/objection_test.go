package store_test

import (
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

func TestObjectToMarketing(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	purpose := func(name string, basis custos.LegalBasis, marketing bool) *custos.Purpose {
		t.Helper()
		p := &custos.Purpose{Name: name, LegalBasis: basis, Marketing: marketing}
		if err := db.CreatePurpose(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var (
		newsletter = purpose("Newsletter", custos.BasisConsent, true)
		offers     = purpose("Offers to customers", custos.BasisLegitimateInterests, true)
		never      = purpose("Partner offers", custos.BasisConsent, true)
		withdrawn  = purpose("SMS offers", custos.BasisConsent, true)
		later      = purpose("Surveys", custos.BasisConsent, false) // made marketing by version 2
		earlier    = purpose("Events", custos.BasisConsent, true)   // no longer marketing in version 2
		service    = purpose("Service messages", custos.BasisConsent, false)
		fraud      = purpose("Fraud prevention", custos.BasisLegitimateInterests, false)
	)
	c := mustContact(t, db, ctx, "ewa@example.com", nil)
	o := mustContact(t, db, ctx, "ola@example.com", nil)
	record := func(id int64, p *custos.Purpose, a custos.ConsentAction) {
		t.Helper()
		if _, err := db.RecordConsent(ctx, id, custos.ConsentRequest{PurposeID: p.ID, Action: a, Notice: notice(a)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*custos.Purpose{newsletter, withdrawn, later, earlier, service} {
		record(c.ID, p, custos.ActionGrant)
	}
	for _, p := range []*custos.Purpose{offers, fraud} {
		record(c.ID, p, custos.ActionAssignBasis)
	}
	record(c.ID, withdrawn, custos.ActionWithdraw)
	record(o.ID, newsletter, custos.ActionGrant)
	if _, err := db.UpdatePurpose(ctx, later.ID, custos.PurposeUpdate{Marketing: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdatePurpose(ctx, earlier.ID, custos.PurposeUpdate{Marketing: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if vs, err := db.PurposeVersions(ctx, later.ID); err != nil || len(vs) != 2 || vs[0].Marketing || !vs[1].Marketing {
		t.Fatalf("versions of a purpose made marketing: %+v %v", vs, err)
	}
	_, ledger, _ := db.ContactConsents(ctx, c.ID)
	time.Sleep(2 * time.Millisecond)
	before := db.Now()
	time.Sleep(2 * time.Millisecond)

	events, err := db.ObjectToMarketing(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		p *custos.Purpose
		a custos.ConsentAction
	}{{newsletter, custos.ActionWithdraw}, {offers, custos.ActionRemoveBasis}, {later, custos.ActionWithdraw}}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(want), events)
	}
	for i, w := range want {
		e := events[i]
		if e.PurposeID != w.p.ID || e.Action != w.a || e.Method != custos.MethodObjection || e.ContactID != c.ID || e.Actor != "test" || e.ID == 0 {
			t.Errorf("event %d: %+v, want %s of purpose %d", i, e, w.a, w.p.ID)
		}
	}
	_, after, _ := db.ContactConsents(ctx, c.ID)
	if len(after) != len(ledger)+len(want) {
		t.Fatalf("ledger grew from %d to %d events", len(ledger), len(after))
	}

	// No for every marketing purpose; the others as they were.
	for _, tc := range []struct {
		p      *custos.Purpose
		reason string
	}{
		{newsletter, custos.ReasonWithdrawn}, {offers, custos.ReasonBasisRemoved}, {never, custos.ReasonNoConsent},
		{withdrawn, custos.ReasonWithdrawn}, {later, custos.ReasonWithdrawn},
		{earlier, custos.ReasonConsent}, {service, custos.ReasonConsent}, {fraud, custos.ReasonBasis},
	} {
		d, err := db.Permission(ctx, c.ID, tc.p.ID, nil)
		if err != nil || d.Reason != tc.reason || d.Allowed != (tc.reason == custos.ReasonConsent || tc.reason == custos.ReasonBasis) {
			t.Errorf("%s: %+v %v, want %s", tc.p.Name, d, err, tc.reason)
		}
	}
	// As the ledger stood before, the objection had not happened.
	if d, _ := db.Permission(ctx, c.ID, newsletter.ID, &before); !d.Allowed {
		t.Errorf("before the objection: %+v", d)
	}
	// Another contact is untouched.
	if d, _ := db.Permission(ctx, o.ID, newsletter.ID, nil); !d.Allowed {
		t.Errorf("another contact: %+v", d)
	}

	// Again: nothing left to end, an empty answer, nothing written.
	again, err := db.ObjectToMarketing(ctx, c.ID)
	if err != nil || again == nil || len(again) != 0 {
		t.Fatalf("second objection: %+v %v", again, err)
	}
	if _, l, _ := db.ContactConsents(ctx, c.ID); len(l) != len(after) {
		t.Fatalf("second objection wrote %d events", len(l)-len(after))
	}
	fresh := mustContact(t, db, ctx, "new@example.com", nil)
	if none, err := db.ObjectToMarketing(ctx, fresh.ID); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("contact without consents: %+v %v", none, err)
	}

	// The person's right holds while their processing is restricted.
	if _, err := db.RestrictContact(ctx, o.ID, "Contests the data."); err != nil {
		t.Fatal(err)
	}
	if evs, err := db.ObjectToMarketing(ctx, o.ID); err != nil || len(evs) != 1 || evs[0].Action != custos.ActionWithdraw {
		t.Fatalf("objection of a restricted contact: %+v %v", evs, err)
	}

	if _, err := db.ObjectToMarketing(ctx, 987654); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown contact: %v", err)
	}
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.ObjectToMarketing(other, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("another workspace's contact: %v", err)
	}
	if _, err := db.ForgetContact(ctx, fresh.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ObjectToMarketing(ctx, fresh.ID); code(err) != custos.ECONFLICT {
		t.Fatalf("forgotten contact: %v", err)
	}
}

// notice is the wording a request for the action needs.
func notice(a custos.ConsentAction) string {
	if a == custos.ActionGrant {
		return "Tak."
	}
	return ""
}

// TestObjectionIsRemembered holds Art. 21(3): after an objection, even
// one that had nothing to end, no basis can be assigned for a marketing
// purpose, one by one or in bulk; the person's own consent still can be
// recorded, and the export says when they objected.
func TestObjectionIsRemembered(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	purpose := func(name string, basis custos.LegalBasis, marketing bool) *custos.Purpose {
		t.Helper()
		p := &custos.Purpose{Name: name, LegalBasis: basis, Marketing: marketing}
		if err := db.CreatePurpose(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	offers := purpose("Offers to customers", custos.BasisLegitimateInterests, true)
	fraud := purpose("Fraud prevention", custos.BasisLegitimateInterests, false)
	newsletter := purpose("Newsletter", custos.BasisConsent, true)
	c := mustContact(t, db, ctx, "ewa@example.com", nil)
	o := mustContact(t, db, ctx, "ola@example.com", nil)
	if x, err := db.ExportContact(ctx, c.ID); err != nil || x.ObjectedAt != nil {
		t.Fatalf("export before objecting: %v %v", x.ObjectedAt, err)
	}
	if evs, err := db.ObjectToMarketing(ctx, c.ID); err != nil || len(evs) != 0 {
		t.Fatalf("objection: %v %v", evs, err)
	}
	assign := custos.ConsentRequest{PurposeID: offers.ID, Action: custos.ActionAssignBasis}
	_, err := db.RecordConsent(ctx, c.ID, assign)
	if e := custos.AsError(err); e == nil || e.Code != custos.ECONFLICT || e.Field != "action" {
		t.Fatalf("a marketing basis after the objection: %v", err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: fraud.ID, Action: custos.ActionAssignBasis}); err != nil {
		t.Fatalf("a basis for a purpose that is not marketing: %v", err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: newsletter.ID, Action: custos.ActionGrant, Notice: "Tak."}); err != nil {
		t.Fatalf("the person's own consent: %v", err)
	}
	n, skipped, err := db.RecordConsentByFilter(ctx, custos.ContactFilter{}, assign)
	if err != nil || n != 1 || skipped != 1 {
		t.Fatalf("bulk basis: %d affected, %d skipped, %v; want 1 and 1", n, skipped, err)
	}
	if d, _ := db.Permission(ctx, c.ID, offers.ID, nil); d.Allowed {
		t.Errorf("objected contact allowed for offers: %+v", d)
	}
	if d, _ := db.Permission(ctx, o.ID, offers.ID, nil); !d.Allowed {
		t.Errorf("other contact not given the basis: %+v", d)
	}
	x, err := db.ExportContact(ctx, c.ID)
	if err != nil || x.ObjectedAt == nil {
		t.Fatalf("export after objecting: %v %v", x, err)
	}
}
