package store_test

import (
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// TestProcessorsAndTheExport keeps a register of processors and finds in a
// contact's export those that serve its purposes, and only those.
func TestProcessorsAndTheExport(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	news := mustPurpose(t, db, ctx, custos.BasisConsent)
	other := mustPurpose(t, db, ctx, custos.BasisConsent)
	c := mustContact(t, db, ctx, "reader@example.com", nil)
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: news.ID, Action: custos.ActionGrant, Notice: "Yes."}); err != nil {
		t.Fatal(err)
	}
	hosting := &custos.Processor{Name: "Hosting Sp. z o.o.", Country: "pl", Service: "servers"}
	mailer := &custos.Processor{Name: "Mailer Inc.", Country: "US", Safeguard: "standard contractual clauses", PurposeIDs: []int64{news.ID, news.ID}}
	ads := &custos.Processor{Name: "Ads Ltd", Kind: custos.KindRecipient, Country: "IE", PurposeIDs: []int64{other.ID}}
	for _, p := range []*custos.Processor{hosting, mailer, ads} {
		if err := db.CreateProcessor(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if hosting.Country != "PL" || hosting.Kind != custos.KindProcessor || len(mailer.PurposeIDs) != 1 {
		t.Fatalf("normalised: %+v %+v", hosting, mailer)
	}
	x, err := db.ExportContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range x.Recipients {
		names = append(names, r.Name)
	}
	if len(names) != 2 || names[0] != hosting.Name || names[1] != mailer.Name {
		t.Fatalf("recipients in the export: %v", names)
	}

	for name, p := range map[string]*custos.Processor{
		"country":     {Name: "X", Country: "Poland"},
		"name":        {Name: " ", Country: "PL"},
		"kind":        {Name: "X", Country: "PL", Kind: "friend"},
		"purpose_ids": {Name: "X", Country: "PL", PurposeIDs: []int64{other.ID + 100}},
		"service":     {Name: "X", Country: "PL", Service: "a\x00b"},
	} {
		if err := db.CreateProcessor(ctx, p); code(err) != custos.EINVALID || custos.AsError(err).Field != name {
			t.Errorf("bad %s: %v", name, err)
		}
	}
	got, err := db.UpdateProcessor(ctx, ads.ID, custos.ProcessorUpdate{PurposeIDs: &[]int64{}, Country: ptr("de")})
	if err != nil || got.Country != "DE" || len(got.PurposeIDs) != 0 {
		t.Fatalf("update: %+v %v", got, err)
	}
	if x, _ := db.ExportContact(ctx, c.ID); len(x.Recipients) != 3 {
		t.Fatalf("a recipient of every purpose is not in the export: %d", len(x.Recipients))
	}
	if err := db.DeleteProcessor(ctx, ads.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindProcessor(ctx, ads.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("deleted processor: %v", err)
	}
	other2 := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if ps, _ := db.FindProcessors(other2); len(ps) != 0 {
		t.Fatalf("another workspace sees %d processors", len(ps))
	}
	if _, err := db.FindProcessor(other2, hosting.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("another workspace's processor: %v", err)
	}
}
