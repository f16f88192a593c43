package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// forgettable creates a contact with personal values, a tag, a list, a
// consent with IP and user agent, a history entry, and a restriction in
// force: forget and export work on a restricted contact.
func forgettable(t *testing.T, db *store.DB, ctx context.Context) (*custos.Contact, *custos.Purpose, *custos.List) {
	t.Helper()
	score := &custos.FieldDef{Key: "score", Type: custos.FieldNumber, Classification: custos.ClassNone}
	if err := db.CreateField(ctx, score); err != nil && code(err) != custos.ECONFLICT {
		t.Fatal(err)
	}
	p := mustPurpose(t, db, ctx, custos.BasisConsent)
	l := &custos.List{Name: "News"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	c := &custos.Contact{Email: "forget.me@example.com", Tags: []string{"vip"},
		Fields: map[string]any{"first_name": "Zapomniana", "phone": "+48 600 700 800", "score": 7.0}}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMembers(ctx, l.ID, []int64{c.ID}); err != nil {
		t.Fatal(err)
	}
	// A list the contact left.
	old := &custos.List{Name: "Old offers"}
	if err := db.CreateList(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMembers(ctx, old.ID, []int64{c.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RemoveMembers(ctx, old.ID, []int64{c.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "Tak.", IP: "192.0.2.1", UserAgent: "UA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"last_name": "Nowak"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateActivity(ctx, c.ID, &custos.Activity{Type: custos.ActivityNote, Body: "Notatka o Zapomnianej."}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAttachment(ctx, c.ID, &custos.Attachment{Name: "skan.pdf"}, []byte("%PDF-1.4 skan"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ObjectToMarketing(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestrictContact(ctx, c.ID, "Kwestionuje prawidłowość danych."); err != nil {
		t.Fatal(err)
	}
	return c, p, l
}

func TestForgetErase(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, p, l := forgettable(t, db, ctx)
	keep := mustContact(t, db, ctx, "stays@example.com", map[string]any{"first_name": "Zostaje"})

	ts, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "DSR-2026-17"})
	if err != nil {
		t.Fatal(err)
	}
	if ts.ContactID != c.ID || ts.Mode != custos.ForgetErase || ts.RequestID != "DSR-2026-17" || ts.ErasedAt.IsZero() {
		t.Fatalf("tombstone %+v", ts)
	}
	want := map[string]int64{"data_key": 1, "tags": 1, "list_members": 1, "list_leaves": 1, "consent_state": 1, "consent_events": 1, "contact_changes": 2,
		"contact_restrictions": 1, "contact_objections": 1, "contacts": 1, "dsr_requests": 0, "outbox_messages": 0,
		"contact_activities": 1, "contact_attachments": 1, "tracking_events": 0}
	if !reflect.DeepEqual(ts.Removed, want) {
		t.Fatalf("certificate %v, want %v", ts.Removed, want)
	}
	if _, err := db.FindContactByID(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("erased contact: %v", err)
	}
	if _, _, err := db.ContactConsents(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("erased contact's consents: %v", err)
	}
	if _, err := db.ContactRestrictions(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("erased contact's restrictions: %v", err)
	}
	for name, f := range map[string]custos.ContactFilter{
		"search": {Search: "zapomniana"}, "email": {Email: ptr("forget.me@example.com")},
		"tag": {Tag: ptr("vip")}, "list": {ListID: &l.ID}, "phone": {Fields: map[string]string{"phone": "+48600700800"}},
	} {
		if cs, _, err := db.FindContacts(ctx, f); err != nil || len(cs) != 0 {
			t.Errorf("%s still finds %d contacts: %v", name, len(cs), err)
		}
	}
	if got, _ := db.FindContactByID(ctx, keep.ID); got == nil || got.Fields["first_name"] != "Zostaje" {
		t.Fatalf("the other contact changed: %+v", got)
	}
	// Idempotent: the same tombstone again, whatever the second request says.
	again, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize})
	if err != nil || !reflect.DeepEqual(again, ts) {
		t.Fatalf("second forget: %+v %v", again, err)
	}
	// The address may be used again by a new contact.
	if err := db.CreateContact(ctx, &custos.Contact{Email: "forget.me@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, 987654, custos.ForgetRequest{Mode: custos.ForgetErase}); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown contact: %v", err)
	}
	if _, err := db.ForgetContact(ctx, keep.ID, custos.ForgetRequest{Mode: "shred"}); code(err) != custos.EINVALID {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := db.ForgetContact(ctx, keep.ID, custos.ForgetRequest{Mode: custos.ForgetErase, RequestID: "jan@example.com"}); code(err) != custos.EINVALID {
		t.Fatalf("personal data as request id: %v", err)
	}
	_ = p
}

func TestForgetAnonymize(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, p, _ := forgettable(t, db, ctx)
	first, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize})
	if err != nil {
		t.Fatal(err)
	}
	// A second request, even another mode, answers the first certificate
	// and changes nothing.
	second, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, Suppress: true})
	if err != nil || !reflect.DeepEqual(first, second) || first.Removed["consent_events"] != 1 {
		t.Fatalf("second forget: %+v, first %+v, %v", second, first, err)
	}
	got, err := db.FindContactByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != custos.StatusAnonymized || got.Email != "" || len(got.Tags) != 0 || len(got.Fields) != 1 || got.Fields["score"] != 7.0 {
		t.Fatalf("anonymized contact holds %+v", got)
	}
	// Still counted; no longer processed, changed or found by its values.
	if cs, _, _ := db.FindContacts(ctx, custos.ContactFilter{Status: ptr(custos.StatusAnonymized)}); len(cs) != 1 {
		t.Fatalf("anonymized contacts: %d", len(cs))
	}
	if d, err := db.Permission(ctx, c.ID, p.ID, nil); err != nil || d.Allowed || d.Reason != custos.ReasonAnonymized {
		t.Fatalf("permission: %+v %v", d, err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Tags: &[]string{"x"}}); code(err) != custos.ECONFLICT {
		t.Fatalf("update of an anonymized contact: %v", err)
	}
	if states, events, err := db.ContactConsents(ctx, c.ID); err != nil || len(states) != 0 || len(events) != 0 {
		t.Fatalf("ledger after anonymizing: %d states, %d events, %v", len(states), len(events), err)
	}
	if rs, err := db.ContactRestrictions(ctx, c.ID); err != nil || len(rs) != 0 || first.Removed["contact_restrictions"] != 1 {
		t.Fatalf("restrictions after anonymizing: %v %v, certificate %v", rs, err, first.Removed)
	}
	if h, _, err := db.ContactHistory(ctx, c.ID, 0, 10); code(err) != custos.EGONE && len(h) != 0 {
		t.Fatalf("history after anonymizing: %v %v", h, err)
	}
	if cs, _, _ := db.FindContacts(ctx, custos.ContactFilter{Search: "zapomniana"}); len(cs) != 0 {
		t.Fatal("search still finds the anonymized contact")
	}
	if x, err := db.ExportContact(ctx, c.ID); err != nil || x.Contact.Email != "" || len(x.Ledger) != 0 {
		t.Fatalf("export of an anonymized contact: %+v %v", x, err)
	}
	// Its statistics value goes with its field.
	if err := db.DeleteField(ctx, "score"); err != nil {
		t.Fatalf("delete a field only an anonymized contact holds: %v", err)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); len(got.Fields) != 0 {
		t.Fatalf("the deleted field's value stayed: %v", got.Fields)
	}
}

// TestForgetResumesAfterCrash leaves a tombstone whose purge never ran, as
// a kill -9 right after it would, and opens the store again.
func TestForgetResumesAfterCrash(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, _, _ := forgettable(t, db, ctx)
	a, _ := custos.ActorFrom(ctx)
	if err := db.ExecRaw(context.Background(), "INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at) VALUES ("+
		itoa(a.WorkspaceID)+", "+itoa(c.ID)+", 'erase', '', 1)"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindContactByID(ctx, c.ID); err != nil || got.Email == "" {
		t.Fatalf("before the restart the contact is whole: %+v %v", got, err)
	}
	db.Close()
	db = storetest.OpenConfig(t, cfg, v)
	if _, err := db.FindContactByID(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("after the restart: %v", err)
	}
}

func TestForgetWithSuppression(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, _, _ := forgettable(t, db, ctx)
	other := mustContact(t, db, ctx, "other@example.com", nil)
	ts, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase, Suppress: true})
	if err != nil || !ts.Suppressed {
		t.Fatalf("forget: %+v %v", ts, err)
	}
	refused := func(what string, err error) {
		t.Helper()
		if e := custos.AsError(err); e == nil || e.Code != custos.ECONFLICT || e.Field != "email" {
			t.Errorf("%s: %v, want a conflict on email", what, err)
		}
	}
	refused("create", db.CreateContact(ctx, &custos.Contact{Email: " Forget.Me@example.com "}))
	refused("bulk create", db.CreateContacts(ctx, []*custos.Contact{{Email: "new@example.com"}, {Email: "forget.me@example.com"}}, nil))
	_, err = db.UpdateContact(ctx, other.ID, custos.ContactUpdate{Email: ptr("forget.me@example.com")})
	refused("change of address", err)
	// Nothing of the refused bulk request was written.
	if cs, _, _ := db.FindContacts(ctx, custos.ContactFilter{Email: ptr("new@example.com")}); len(cs) != 0 {
		t.Fatal("the refused bulk request wrote a contact")
	}
	// Another workspace is not affected.
	ctxB := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if err := db.CreateContact(ctxB, &custos.Contact{Email: "forget.me@example.com"}); err != nil {
		t.Fatalf("another workspace: %v", err)
	}
}

func TestExportContact(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, p, l := forgettable(t, db, ctx)
	if _, err := db.UpdatePurpose(ctx, p.ID, custos.PurposeUpdate{RetentionDays: ptr(730)}); err != nil {
		t.Fatal(err)
	}
	x, err := db.ExportContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.Contact.Email != "forget.me@example.com" || x.Contact.Fields["first_name"] != "Zapomniana" || x.Contact.Fields["last_name"] != "Nowak" {
		t.Fatalf("values: %+v", x.Contact)
	}
	if len(x.Lists) != 1 || x.Lists[0].ID != l.ID {
		t.Fatalf("lists: %+v", x.Lists)
	}
	if len(x.Ledger) != 1 || x.Ledger[0].IP != "192.0.2.1" || x.Ledger[0].UserAgent != "UA" || len(x.Consents) != 1 {
		t.Fatalf("consents: %+v %+v", x.Consents, x.Ledger)
	}
	if len(x.Notices) != 1 || x.Notices[0].Body != "Tak." {
		t.Fatalf("notices: %+v", x.Notices)
	}
	if len(x.Purposes) != 2 || x.Purposes[1].RetentionDays != 730 || x.Purposes[0].LegalBasis != custos.BasisConsent {
		t.Fatalf("purposes: %+v", x.Purposes)
	}
	if len(x.History) != 2 || x.History[0].Field != "status" || x.History[1].Field != "fields.last_name" {
		t.Fatalf("history: %+v", x.History)
	}
	if len(x.Restrictions) != 1 || x.Restrictions[0].Reason != "Kwestionuje prawidłowość danych." || x.Restrictions[0].LiftedAt != nil {
		t.Fatalf("restrictions: %+v", x.Restrictions)
	}
	keys := map[string]bool{}
	for _, f := range x.Fields {
		keys[f.Key] = true
	}
	if !keys["email"] || !keys["first_name"] || !keys["score"] || keys["company"] {
		t.Fatalf("field definitions: %v", keys)
	}
	if _, err := db.ExportContact(ctx, 987654); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown contact: %v", err)
	}
}
