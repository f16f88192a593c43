package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

func mustPurpose(t testing.TB, db *store.DB, ctx context.Context, basis custos.LegalBasis) *custos.Purpose {
	t.Helper()
	p := &custos.Purpose{Name: "Newsletter " + string(basis), LegalBasis: basis, Channel: "email", Unsubscribable: true}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatalf("create purpose: %v", err)
	}
	return p
}

func mustContact(t testing.TB, db *store.DB, ctx context.Context, email string, fields map[string]any) *custos.Contact {
	t.Helper()
	c := &custos.Contact{Email: email, Fields: fields}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatalf("create contact %s: %v", email, err)
	}
	return c
}

func code(err error) string { return custos.ErrorCode(err) }

func TestContactLifecycle(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)

	c := mustContact(t, db, ctx, "  Anna.Kowalska@Example.PL ", map[string]any{"first_name": "Anna", "last_name": "Kowalska", "phone": "+48 600-100-200"})
	if c.ID == 0 || c.Email != "anna.kowalska@example.pl" || c.Status != custos.StatusActive || c.Source.Kind != custos.SourceAPI {
		t.Fatalf("created %+v", c)
	}
	got, err := db.FindContactByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != c.Email || got.Fields["first_name"] != "Anna" || got.Fields["phone"] != "+48600100200" {
		t.Fatalf("found %+v", got)
	}

	// A duplicate address is a conflict naming the existing contact.
	err = db.CreateContact(ctx, &custos.Contact{Email: "anna.kowalska@example.pl"})
	if e := custos.AsError(err); e == nil || e.Code != custos.ECONFLICT || e.Existing != c.ID {
		t.Fatalf("duplicate: %v", err)
	}

	// PATCH changes only what it names and records old → new.
	last := "Nowak"
	_ = last
	u, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"last_name": "Nowak", "phone": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Fields["last_name"] != "Nowak" || u.Fields["first_name"] != "Anna" || u.Fields["phone"] != nil {
		t.Fatalf("updated %+v", u.Fields)
	}
	hist, _, err := db.ContactHistory(ctx, c.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Actor != "test" {
		t.Fatalf("history %+v", hist)
	}
	seen := map[string]bool{}
	for _, h := range hist {
		seen[fmt.Sprintf("%s:%v>%v", h.Field, h.Old, h.New)] = true
	}
	if !seen["fields.last_name:Kowalska>Nowak"] || !seen["fields.phone:+48600100200><nil>"] {
		t.Fatalf("history %v", seen)
	}

	// Unknown fields and bad values are refused and change nothing.
	for _, tc := range []struct {
		name  string
		u     custos.ContactUpdate
		field string
	}{
		{"unknown field", custos.ContactUpdate{Fields: map[string]any{"nope": "x"}}, "fields.nope"},
		{"bad phone", custos.ContactUpdate{Fields: map[string]any{"phone": "call me"}}, "fields.phone"},
		{"number for text", custos.ContactUpdate{Fields: map[string]any{"first_name": 5.0}}, "fields.first_name"},
		{"bad email", custos.ContactUpdate{Email: ptr("not-an-address")}, "email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.UpdateContact(ctx, c.ID, tc.u)
			if e := custos.AsError(err); e == nil || e.Code != custos.EINVALID || e.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
	again, _ := db.FindContactByID(ctx, c.ID)
	if again.Fields["first_name"] != "Anna" || !again.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("a refused update changed the contact: %+v", again)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSpecialFieldNeedsExplicitConsent(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "clinic", custos.RoleAdmin)
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	f := &custos.FieldDef{Key: "allergies", Type: custos.FieldText, Classification: custos.ClassSpecial, PurposeIDs: []int64{p.ID}}
	if err := db.CreateField(ctx, f); err != nil {
		t.Fatal(err)
	}
	err := db.CreateContact(ctx, &custos.Contact{Email: "a@example.com", Fields: map[string]any{"allergies": "pollen"}})
	if code(err) != custos.ECONSENT {
		t.Fatalf("special value without consent: %v", err)
	}
	c := mustContact(t, db, ctx, "a@example.com", nil)
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"allergies": "pollen"}}); code(err) != custos.ECONSENT {
		t.Fatalf("special value without consent: %v", err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "I agree to the processing of my health data."}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"allergies": "pollen"}}); err != nil {
		t.Fatalf("special value with consent: %v", err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionWithdraw}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"allergies": "dust"}}); code(err) != custos.ECONSENT {
		t.Fatalf("special value after withdrawal: %v", err)
	}
	// Clearing a special value is always allowed.
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"allergies": nil}}); err != nil {
		t.Fatal(err)
	}
	// The bulk path counts a grant given with the contact.
	cs := []*custos.Contact{{Email: "b@example.com", Fields: map[string]any{"allergies": "nuts"}}}
	if err := db.CreateContacts(ctx, cs, []custos.ConsentRequest{{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "I agree to the processing of my health data."}}); err != nil {
		t.Fatal(err)
	}
}

func TestConsentLedgerAndPermission(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	li := mustPurpose(t, db, ctx, custos.BasisLegitimateInterests)
	c := mustContact(t, db, ctx, "jan@example.com", nil)

	d, err := db.Permission(ctx, c.ID, p.ID, nil)
	if err != nil || d.Allowed || d.Reason != custos.ReasonNoConsent {
		t.Fatalf("before consent: %+v %v", d, err)
	}
	before := db.Now()
	time.Sleep(2 * time.Millisecond)
	g, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant,
		Notice: "Chcę otrzymywać newsletter.", IP: "203.0.113.7", UserAgent: "Mozilla/5.0"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Method != custos.MethodAPI || g.Actor != "test" || g.NoticeHash != custos.NoticeHash("Chcę otrzymywać newsletter.") || g.PurposeVersion != 1 {
		t.Fatalf("event %+v", g)
	}
	d, _ = db.Permission(ctx, c.ID, p.ID, nil)
	if !d.Allowed || d.Reason != custos.ReasonConsent || d.EventID != g.ID {
		t.Fatalf("after grant: %+v", d)
	}
	// The purpose changes: the consent keeps pointing at version 1.
	if _, err := db.UpdatePurpose(ctx, p.ID, custos.PurposeUpdate{RetentionDays: ptr(365)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	mid := db.Now()
	time.Sleep(2 * time.Millisecond)
	w, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionWithdraw})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = db.Permission(ctx, c.ID, p.ID, nil)
	if d.Allowed || d.Reason != custos.ReasonWithdrawn || d.EventID != w.ID {
		t.Fatalf("after withdrawal: %+v", d)
	}
	// As the ledger stood before: not yet granted; in between: granted and
	// expiring a year after the grant under version 2's retention.
	if d, _ := db.Permission(ctx, c.ID, p.ID, &before); d.Allowed {
		t.Fatalf("at %v: %+v", before, d)
	}
	d, _ = db.Permission(ctx, c.ID, p.ID, &mid)
	if !d.Allowed || !d.ExpiresAt.Equal(g.EffectiveFrom.AddDate(0, 0, 365)) {
		t.Fatalf("at %v: %+v", mid, d)
	}
	// A back-dated grant does not undo the later withdrawal.
	old := g.EffectiveFrom.Add(-time.Hour)
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "x", EffectiveFrom: &old}); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.Permission(ctx, c.ID, p.ID, nil); d.Allowed {
		t.Fatalf("back-dated grant won: %+v", d)
	}
	states, events, err := db.ContactConsents(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || events[0].IP != "203.0.113.7" || events[0].UserAgent != "Mozilla/5.0" || len(states) != 1 || states[0].Action != custos.ActionWithdraw {
		t.Fatalf("states %+v events %+v", states, events)
	}

	// Other bases: assign, then object.
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: li.ID, Action: custos.ActionGrant, Notice: "x"}); code(err) != custos.EINVALID {
		t.Fatalf("grant under legitimate interests: %v", err)
	}
	if d, _ := db.Permission(ctx, c.ID, li.ID, nil); d.Allowed || d.Reason != custos.ReasonNoBasis {
		t.Fatalf("unassigned basis: %+v", d)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: li.ID, Action: custos.ActionAssignBasis}); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.Permission(ctx, c.ID, li.ID, nil); !d.Allowed || d.Reason != custos.ReasonBasis {
		t.Fatalf("assigned basis: %+v", d)
	}
	// A restricted contact may not be processed at all; before the
	// restriction it could be, and the answer for that time says so.
	time.Sleep(2 * time.Millisecond)
	unrestricted := db.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := db.RestrictContact(ctx, c.ID, "Contests the data."); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.Permission(ctx, c.ID, li.ID, nil); d.Allowed || d.Reason != custos.ReasonRestricted {
		t.Fatalf("restricted: %+v", d)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"first_name": "X"}}); code(err) != custos.ERESTRICTED {
		t.Fatalf("edit of a restricted contact: %v", err)
	}
	if d, err := db.Permission(ctx, c.ID, li.ID, &unrestricted); err != nil || !d.Allowed || d.Reason != custos.ReasonBasis {
		t.Fatalf("before the restriction: %+v %v", d, err)
	}
	later := db.Now()
	if d, _ := db.Permission(ctx, c.ID, li.ID, &later); d.Allowed || d.Reason != custos.ReasonRestricted {
		t.Fatalf("after the restriction, asked with at: %+v", d)
	}
	// Lifted, the contact may be edited again.
	if _, err := db.LiftRestriction(ctx, c.ID, "Data confirmed."); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"first_name": "X"}}); err != nil {
		t.Fatalf("edit after lifting: %v", err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: 999999, Action: custos.ActionWithdraw}); code(err) != custos.EINVALID {
		t.Fatalf("unknown purpose: %v", err)
	}
}

func TestLedgerIsAppendOnlyInTheDatabase(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	c := mustContact(t, db, ctx, "jan@example.com", nil)
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE consent_events SET action = 'withdraw'`, `DELETE FROM consent_events`, `UPDATE notices SET body = 'y'`, `UPDATE purpose_versions SET name = 'y'`, `UPDATE purpose_versions SET marketing = NOT marketing`} {
		if err := db.ExecRaw(context.Background(), stmt); err == nil {
			t.Errorf("%s: the database allowed it", stmt)
		}
	}
}

func TestSearchListsAndFilters(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	score := &custos.FieldDef{Key: "score", Type: custos.FieldNumber, Classification: custos.ClassNone}
	city := &custos.FieldDef{Key: "city", Type: custos.FieldText, Classification: custos.ClassPersonal}
	for _, f := range []*custos.FieldDef{score, city} {
		if err := db.CreateField(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	l := &custos.List{Name: "VIP"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 30 {
		c := &custos.Contact{Email: fmt.Sprintf("person%02d@example.com", i), Tags: []string{fmt.Sprintf("t%d", i%3)},
			Fields: map[string]any{"first_name": fmt.Sprintf("Łukasz%02d", i), "company": "Firma " + []string{"Alfa", "Beta"}[i%2],
				"score": float64(i % 5), "city": []string{"Kraków", "Brno"}[i%2], "phone": fmt.Sprintf("+48600000%03d", i)}}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if n, err := db.AddMembers(ctx, l.ID, ids[:10]); err != nil || n != 10 {
		t.Fatalf("add members: %d %v", n, err)
	}
	if n, _ := db.AddMembers(ctx, l.ID, ids[:5]); n != 0 {
		t.Fatalf("re-adding added %d", n)
	}
	if _, err := db.AddMembers(ctx, l.ID, []int64{ids[0], 987654}); code(err) != custos.EINVALID {
		t.Fatalf("unknown contact: %v", err)
	}
	count := func(f custos.ContactFilter) int {
		t.Helper()
		n := 0
		f.Limit = 7
		seen := map[int64]bool{}
		for {
			cs, next, err := db.FindContacts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if seen[c.ID] {
					t.Fatalf("contact %d twice", c.ID)
				}
				seen[c.ID] = true
			}
			n += len(cs)
			if next == 0 {
				return n
			}
			f.After = next
		}
	}
	for _, tc := range []struct {
		name string
		f    custos.ContactFilter
		want int
	}{
		{"all", custos.ContactFilter{}, 30},
		{"list", custos.ContactFilter{ListID: &l.ID}, 10},
		{"tag", custos.ContactFilter{Tag: ptr("t1")}, 10},
		{"email", custos.ContactFilter{Email: ptr("PERSON07@example.com")}, 1},
		{"search name folded", custos.ContactFilter{Search: "lukasz1"}, 10},
		{"search company", custos.ContactFilter{Search: "ALFA"}, 15},
		{"search email", custos.ContactFilter{Search: "son2"}, 10},
		{"search and list", custos.ContactFilter{Search: "beta", ListID: &l.ID}, 5},
		{"clear field", custos.ContactFilter{Fields: map[string]string{"score": "3"}}, 6},
		{"encrypted field", custos.ContactFilter{Fields: map[string]string{"city": "Brno"}}, 15},
		{"phone, written otherwise", custos.ContactFilter{Fields: map[string]string{"phone": "+48 600-000-007"}}, 1},
		{"status", custos.ContactFilter{Status: ptr(custos.StatusRestricted)}, 0},
		{"created range", custos.ContactFilter{CreatedBefore: ptr(time.Now().Add(-time.Hour))}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.f); got != tc.want {
				t.Fatalf("got %d contacts, want %d", got, tc.want)
			}
		})
	}
	// Bulk membership by filter, then removal.
	if n, skipped, err := db.AddMembersByFilter(ctx, l.ID, custos.ContactFilter{Search: "alfa"}); err != nil || n != 10 || skipped != 0 {
		t.Fatalf("add by filter: %d, skipped %d, %v", n, skipped, err)
	}
	if n, err := db.RemoveMembersByFilter(ctx, l.ID, custos.ContactFilter{Tag: ptr("t0")}); err != nil || n != 7 {
		t.Fatalf("remove by filter: %d %v", n, err)
	}
	if got := count(custos.ContactFilter{ListID: &l.ID}); got != 13 {
		t.Fatalf("list holds %d", got)
	}
	// An update shows in the search at once.
	if _, err := db.UpdateContact(ctx, ids[3], custos.ContactUpdate{Fields: map[string]any{"last_name": "Zażółć"}}); err != nil {
		t.Fatal(err)
	}
	if got := count(custos.ContactFilter{Search: "zazolc"}); got != 1 {
		t.Fatalf("search after update found %d", got)
	}
	// Bulk consent by list.
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	n, skipped, err := db.RecordConsentByFilter(ctx, custos.ContactFilter{ListID: &l.ID}, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "Tak."})
	if err != nil || n != 13 || skipped != 0 {
		t.Fatalf("bulk consent: %d, skipped %d, %v", n, skipped, err)
	}
}

func TestSpecialFieldKeepsNoBlindIndex(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "clinic", custos.RoleAdmin)
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	if err := db.CreateField(ctx, &custos.FieldDef{Key: "diagnosis", Type: custos.FieldText, Classification: custos.ClassSpecial, PurposeIDs: []int64{p.ID}}); err != nil {
		t.Fatal(err)
	}
	cs := []*custos.Contact{{Email: "p@example.com", Fields: map[string]any{"diagnosis": "asthma"}}}
	if err := db.CreateContacts(ctx, cs, []custos.ConsentRequest{{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "Yes."}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.FindContacts(ctx, custos.ContactFilter{Fields: map[string]string{"diagnosis": "asthma"}}); code(err) != custos.EINVALID {
		t.Fatalf("filter on a special field: %v", err)
	}
	// The field still counts as held, so it cannot be deleted under the value.
	if err := db.DeleteField(ctx, "diagnosis"); code(err) != custos.ECONFLICT {
		t.Fatalf("delete a held special field: %v", err)
	}
	got, err := db.FindContactByID(ctx, cs[0].ID)
	if err != nil || got.Fields["diagnosis"] != "asthma" {
		t.Fatalf("read back: %+v %v", got, err)
	}
}

func TestShreddedKeyHidesOnlyThatContact(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a := mustContact(t, db, ctx, "a@example.com", map[string]any{"first_name": "Ala"})
	b := mustContact(t, db, ctx, "b@example.com", map[string]any{"first_name": "Ola"})
	actor, _ := custos.ActorFrom(ctx)
	if err := db.ShredKey(ctx, actor.WorkspaceID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindContactByID(ctx, a.ID); code(err) != custos.EGONE {
		t.Fatalf("shredded contact: %v", err)
	}
	cs, _, err := db.FindContacts(ctx, custos.ContactFilter{})
	if err != nil || len(cs) != 1 || cs[0].ID != b.ID || cs[0].Fields["first_name"] != "Ola" {
		t.Fatalf("listing: %v %v", cs, err)
	}
	if cs, _, _ := db.FindContacts(ctx, custos.ContactFilter{Search: "ala"}); len(cs) != 0 {
		t.Fatalf("search still finds the shredded contact: %v", cs)
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }

// FindContactClear gives what may be shown without personal_data:read:
// the values kept in clear, and neither the e-mail nor any sealed value.
func TestFindContactClear(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	if err := db.CreateField(ctx, &custos.FieldDef{Key: "plan", Type: custos.FieldText, Classification: custos.ClassNone}); err != nil {
		t.Fatal(err)
	}
	c := &custos.Contact{Email: "anna@example.com", Tags: []string{"vip"}, Fields: map[string]any{"first_name": "Anna", "phone": "+48600700800", "plan": "pro"}}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindContactClear(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "" || len(got.Fields) != 1 || got.Fields["plan"] != "pro" {
		t.Fatalf("clear read: e-mail %q, fields %v", got.Email, got.Fields)
	}
	if got.ID != c.ID || got.Status != c.Status || !slices.Equal(got.Tags, c.Tags) {
		t.Fatalf("clear read: %+v, want the contact %+v without personal values", got, c)
	}
	if _, err := db.FindContactClear(ctx, c.ID+1000); code(err) != custos.ENOTFOUND {
		t.Fatalf("no such contact: err %v", err)
	}
}
