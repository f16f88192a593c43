package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

func mustRequest(t testing.TB, db *store.DB, ctx context.Context, r *custos.DSRRequest) *custos.DSRRequest {
	t.Helper()
	if err := db.CreateDSRRequest(ctx, r); err != nil {
		t.Fatalf("create request: %v", err)
	}
	return r
}

// sendLink sends the request's verification link and returns the address
// it went to and the token.
func sendLink(t testing.TB, db *store.DB, ctx context.Context, id int64) (to, token string) {
	t.Helper()
	r, err := db.SendDSRVerification(ctx, id, func(a, tok string) error { to, token = a, tok; return nil })
	if err != nil {
		t.Fatalf("send verification: %v", err)
	}
	if r.Status != custos.DSRVerificationSent || r.VerificationSentAt == nil {
		t.Fatalf("after sending: %+v", r)
	}
	return to, token
}

// verified registers a request and has its subject confirm it.
func verified(t testing.TB, db *store.DB, ctx context.Context, r *custos.DSRRequest) *custos.DSRRequest {
	t.Helper()
	mustRequest(t, db, ctx, r)
	_, token := sendLink(t, db, ctx, r.ID)
	if _, err := db.VerifyDSRToken(context.Background(), token); err != nil {
		t.Fatalf("verify: %v", err)
	}
	got, err := db.FindDSRRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDSRCreate(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "ada@example.com", nil)
	foreign := mustContact(t, db, other, "bob@example.com", nil)

	byEmail := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: " ADA@example.com "})
	if byEmail.ID == 0 || byEmail.Email != "ada@example.com" || byEmail.ContactID == nil || *byEmail.ContactID != c.ID {
		t.Fatalf("by e-mail: %+v", byEmail)
	}
	got, err := db.FindDSRRequest(ctx, byEmail.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "ada@example.com" || got.Status != custos.DSRReceived || got.ActedBy != "test" ||
		!got.DueAt.Equal(custos.DSRDueAt(got.ReceivedAt, 0)) || len(got.History) != 1 || got.History[0].Event != custos.DSREventReceived {
		t.Fatalf("read back %+v", got)
	}

	both := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, ContactID: &c.ID, Email: "ADA@example.com"})
	if *both.ContactID != c.ID {
		t.Fatalf("by contact and its address: %+v", both)
	}
	byContact := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRErasure, ContactID: &c.ID})
	if byContact.Email != "" || *byContact.ContactID != c.ID {
		t.Fatalf("by contact: %+v", byContact)
	}
	stranger := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRObjection, Email: "nobody@example.com"})
	if stranger.ContactID != nil {
		t.Fatalf("a stranger's request is linked: %+v", stranger)
	}

	received := time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)
	post := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "letter@example.com", ReceivedAt: received})
	if !post.DueAt.Equal(time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("received 31 January 2024, due %s", post.DueAt)
	}

	bad := []struct {
		name  string
		r     custos.DSRRequest
		code  string
		field string
	}{
		{"another workspace's contact", custos.DSRRequest{Type: custos.DSRAccess, ContactID: &foreign.ID}, custos.EINVALID, "contact_id"},
		{"no such contact", custos.DSRRequest{Type: custos.DSRAccess, ContactID: ptr(int64(987654))}, custos.EINVALID, "contact_id"},
		// The link would go to one person and the answer be another's data.
		{"someone else's address", custos.DSRRequest{Type: custos.DSRAccess, ContactID: &c.ID, Email: "attacker@example.com"}, custos.EINVALID, "email"},
		{"in the future", custos.DSRRequest{Type: custos.DSRAccess, Email: "a@example.com", ReceivedAt: time.Now().Add(time.Hour)}, custos.EINVALID, "received_at"},
		{"no subject", custos.DSRRequest{Type: custos.DSRAccess}, custos.EINVALID, "email"},
		{"bad type", custos.DSRRequest{Type: "gossip", Email: "a@example.com"}, custos.EINVALID, "type"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := db.CreateDSRRequest(ctx, &tc.r)
			if e := custos.AsError(err); e == nil || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("err %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}

	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize}); err != nil {
		t.Fatal(err)
	}
	err = db.CreateDSRRequest(ctx, &custos.DSRRequest{Type: custos.DSRAccess, ContactID: &c.ID})
	if code(err) != custos.ECONFLICT {
		t.Fatalf("request for a forgotten contact: %v", err)
	}
	if _, err := db.FindDSRRequest(other, byEmail.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("another workspace reads the request: %v", err)
	}
}

func TestDSRExtension(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	received := time.Date(2024, 1, 31, 9, 0, 0, 0, time.UTC)
	now := received.Add(10 * 24 * time.Hour)
	db.Now = func() time.Time { return now }
	r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "a@example.com", ReceivedAt: received})

	got, err := db.ExtendDSRRequest(ctx, r.ID, custos.DSRExtension{Months: 1, Reason: "twelve systems to search"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.DueAt.Equal(time.Date(2024, 3, 29, 9, 0, 0, 0, time.UTC)) || got.Extension == nil || got.Extension.Months != 1 ||
		got.Extension.Reason != "twelve systems to search" || got.Extension.By != "test" {
		t.Fatalf("after one month: due %s, %+v", got.DueAt, got.Extension)
	}
	got, err = db.ExtendDSRRequest(ctx, r.ID, custos.DSRExtension{Months: 1, Reason: "still searching"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.DueAt.Equal(time.Date(2024, 4, 29, 9, 0, 0, 0, time.UTC)) || got.Extension.Months != 2 {
		t.Fatalf("after two months: due %s, %+v", got.DueAt, got.Extension)
	}
	_, err = db.ExtendDSRRequest(ctx, r.ID, custos.DSRExtension{Months: 1, Reason: "more"})
	if e := custos.AsError(err); e == nil || e.Code != custos.ECONFLICT || e.Field != "months" {
		t.Fatalf("a third month: %v", err)
	}
	var extended int
	for _, e := range got.History {
		if e.Event == custos.DSREventExtended {
			extended++
		}
	}
	if extended != 2 {
		t.Fatalf("history %+v", got.History)
	}

	r2 := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "b@example.com"})
	if _, err := db.ExtendDSRRequest(ctx, r2.ID, custos.DSRExtension{Months: 3, Reason: "x"}); code(err) != custos.EINVALID {
		t.Fatalf("three months at once: %v", err)
	}
	if _, err := db.ExtendDSRRequest(ctx, r2.ID, custos.DSRExtension{Months: 1}); code(err) != custos.EINVALID {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := db.ExtendDSRRequest(ctx, r2.ID, custos.DSRExtension{Months: 2, Reason: "complex"}); err != nil {
		t.Fatalf("two at once: %v", err)
	}
	if _, err := db.RejectDSRRequest(ctx, r2.ID, "manifestly unfounded"); err != nil {
		t.Fatal(err)
	}
	r3 := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "c@example.com"})
	if _, err := db.CompleteDSRRequest(ctx, r3.ID, "done by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExtendDSRRequest(ctx, r3.ID, custos.DSRExtension{Months: 1, Reason: "x"}); code(err) != custos.ECONFLICT {
		t.Fatalf("a closed request extended: %v", err)
	}
	// Only within one month of receipt (Art. 12(3)): up to the first due
	// date, not after it.
	r4 := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "d@example.com", ReceivedAt: received})
	now = custos.DSRDueAt(received, 0).Add(time.Second)
	_, err = db.ExtendDSRRequest(ctx, r4.ID, custos.DSRExtension{Months: 1, Reason: "late"})
	if e := custos.AsError(err); e == nil || e.Code != custos.ECONFLICT || e.Field != "months" {
		t.Fatalf("extended after the month: %v", err)
	}
	now = custos.DSRDueAt(received, 0)
	if _, err := db.ExtendDSRRequest(ctx, r4.ID, custos.DSRExtension{Months: 1, Reason: "in time"}); err != nil {
		t.Fatalf("extended on the last day: %v", err)
	}
}

func TestDSRVerification(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "ada@example.com", nil)
	r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRErasure, Email: "ada@example.com"})
	public := context.Background() // the subject has no actor

	if _, err := db.EraseDSRSubject(ctx, r.ID, custos.ForgetErase, false); code(err) != custos.ECONFLICT {
		t.Fatalf("executed before verification: %v", err)
	}
	to, first := sendLink(t, db, ctx, r.ID)
	if to != "ada@example.com" || len(first) < 40 {
		t.Fatalf("sent to %q token %q", to, first)
	}
	// A new link replaces the first.
	_, token := sendLink(t, db, ctx, r.ID)
	if _, err := db.CheckDSRToken(public, first); code(err) != custos.ENOTFOUND {
		t.Fatalf("replaced token: %v", err)
	}
	// Checking changes nothing.
	for range 3 {
		typ, err := db.CheckDSRToken(public, token)
		if err != nil || typ != custos.DSRErasure {
			t.Fatalf("check: %v %v", typ, err)
		}
	}
	if got, _ := db.FindDSRRequest(ctx, r.ID); got.Status != custos.DSRVerificationSent || got.VerifiedAt != nil {
		t.Fatalf("a check changed the request: %+v", got)
	}
	for _, bad := range []string{"", "x", token + "x", string(make([]byte, 200))} {
		if _, err := db.VerifyDSRToken(public, bad); code(err) != custos.ENOTFOUND {
			t.Fatalf("token %q: %v", bad, err)
		}
	}
	if _, err := db.VerifyDSRToken(public, token); err != nil {
		t.Fatal(err)
	}
	got, _ := db.FindDSRRequest(ctx, r.ID)
	if got.Status != custos.DSRVerified || got.VerifiedAt == nil || got.ActedBy != custos.DSRActorSubject {
		t.Fatalf("verified %+v", got)
	}
	if _, err := db.VerifyDSRToken(public, token); code(err) != custos.ENOTFOUND {
		t.Fatalf("a used token works again: %v", err)
	}
	if _, err := db.SendDSRVerification(ctx, r.ID, func(string, string) error { return nil }); code(err) != custos.ECONFLICT {
		t.Fatalf("a verified request sent again: %v", err)
	}

	t.Run("expiry", func(t *testing.T) {
		r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "late@example.com"})
		_, token := sendLink(t, db, ctx, r.ID)
		now := db.Now
		t.Cleanup(func() { db.Now = now })
		db.Now = func() time.Time { return now().Add(custos.DSRTokenTTL + time.Minute) }
		if _, err := db.CheckDSRToken(public, token); code(err) != custos.EGONE {
			t.Fatalf("expired check: %v", err)
		}
		if _, err := db.VerifyDSRToken(public, token); code(err) != custos.EGONE {
			t.Fatalf("expired verify: %v", err)
		}
		// A new link works.
		_, token = sendLink(t, db, ctx, r.ID)
		if _, err := db.VerifyDSRToken(public, token); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("closed request", func(t *testing.T) {
		r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "closed@example.com"})
		_, token := sendLink(t, db, ctx, r.ID)
		if _, err := db.RejectDSRRequest(ctx, r.ID, "duplicate of another request"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.VerifyDSRToken(public, token); code(err) != custos.ENOTFOUND {
			t.Fatalf("the link of a rejected request: %v", err)
		}
	})
	t.Run("failed send", func(t *testing.T) {
		r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "bounce@example.com"})
		boom := errors.New("smtp down")
		if _, err := db.SendDSRVerification(ctx, r.ID, func(string, string) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
		if got, _ := db.FindDSRRequest(ctx, r.ID); got.Status != custos.DSRReceived || got.VerificationSentAt != nil {
			t.Fatalf("recorded as sent: %+v", got)
		}
	})
	t.Run("by contact only", func(t *testing.T) {
		r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, ContactID: &c.ID})
		if to, _ := sendLink(t, db, ctx, r.ID); to != "ada@example.com" {
			t.Fatalf("sent to %q", to)
		}
	})
	t.Run("linked on verification", func(t *testing.T) {
		r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "later@example.com"})
		later := mustContact(t, db, ctx, "later@example.com", nil)
		got := verified(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "later@example.com"})
		if got.ContactID == nil || *got.ContactID != later.ID {
			t.Fatalf("linked at creation: %+v", got)
		}
		_, token := sendLink(t, db, ctx, r.ID)
		if _, err := db.VerifyDSRToken(public, token); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindDSRRequest(ctx, r.ID); got.ContactID == nil || *got.ContactID != later.ID {
			t.Fatalf("not linked on verification: %+v", got)
		}
	})
}

func TestDSRFilters(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "ada@example.com", nil)
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }

	// Due one month after receipt: 20 June, 15 June + 5 days, 10 June (overdue), 30 June.
	dueSoon := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "a@example.com", ReceivedAt: time.Date(2025, 5, 20, 12, 0, 0, 0, time.UTC)})
	overdue := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRErasure, ContactID: &c.ID, ReceivedAt: time.Date(2025, 5, 10, 12, 0, 0, 0, time.UTC)})
	later := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "b@example.com", ReceivedAt: time.Date(2025, 5, 30, 12, 0, 0, 0, time.UTC)})
	closedOverdue := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "c@example.com", ReceivedAt: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)})
	if _, err := db.CompleteDSRRequest(ctx, closedOverdue.ID, "answered by post"); err != nil {
		t.Fatal(err)
	}

	days := func(n int) *int { return &n }
	access, completed := custos.DSRAccess, custos.DSRCompleted
	tests := []struct {
		name string
		f    custos.DSRFilter
		want []int64
	}{
		{"all, newest first", custos.DSRFilter{}, []int64{closedOverdue.ID, later.ID, overdue.ID, dueSoon.ID}},
		{"due within 7 days", custos.DSRFilter{DueWithin: days(7)}, []int64{dueSoon.ID}},
		{"due within 30 days", custos.DSRFilter{DueWithin: days(30)}, []int64{later.ID, dueSoon.ID}},
		{"due within 0 days", custos.DSRFilter{DueWithin: days(0)}, nil},
		{"overdue", custos.DSRFilter{Overdue: true}, []int64{overdue.ID}},
		{"due within 7 days or overdue", custos.DSRFilter{DueWithin: days(7), Overdue: true}, []int64{overdue.ID, dueSoon.ID}},
		{"by type", custos.DSRFilter{Type: &access}, []int64{closedOverdue.ID, later.ID, dueSoon.ID}},
		{"by status", custos.DSRFilter{Status: &completed}, []int64{closedOverdue.ID}},
		{"by contact", custos.DSRFilter{ContactID: &c.ID}, []int64{overdue.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, next, err := db.FindDSRRequests(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range rs {
				got = append(got, r.ID)
			}
			if len(got) != len(tc.want) || next != 0 {
				t.Fatalf("got %v (next %d), want %v", got, next, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	t.Run("extension moves a request out of the window", func(t *testing.T) {
		if _, err := db.ExtendDSRRequest(ctx, dueSoon.ID, custos.DSRExtension{Months: 1, Reason: "complex"}); err != nil {
			t.Fatal(err)
		}
		rs, _, _ := db.FindDSRRequests(ctx, custos.DSRFilter{DueWithin: days(7)})
		if len(rs) != 0 {
			t.Fatalf("still due within 7 days: %+v", rs[0])
		}
		// Too late for the overdue one: its month after receipt has passed.
		if _, err := db.ExtendDSRRequest(ctx, overdue.ID, custos.DSRExtension{Months: 1, Reason: "complex"}); code(err) != custos.ECONFLICT {
			t.Fatalf("an overdue request extended: %v", err)
		}
	})
	t.Run("pages", func(t *testing.T) {
		seen := map[int64]bool{}
		var after int64
		for pages := 1; ; pages++ {
			rs, next, err := db.FindDSRRequests(ctx, custos.DSRFilter{Limit: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if seen[r.ID] {
					t.Fatalf("request %d twice", r.ID)
				}
				seen[r.ID] = true
				if r.Email == "" && r.ContactID == nil {
					t.Errorf("request %d without its subject", r.ID)
				}
			}
			if next == 0 {
				if len(seen) != 4 || pages != 2 {
					t.Fatalf("%d requests on %d pages", len(seen), pages)
				}
				return
			}
			after = next
		}
	})
}

func TestDSRErasure(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c, _, _ := forgettable(t, db, ctx)
	keep := mustContact(t, db, ctx, "stays@example.com", nil)
	// Before the contact: found by its address when it is forgotten.
	earlier := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRObjection, Email: "forget.me@example.com"})
	if _, err := db.AddDSRNote(ctx, earlier.ID, "phoned on Monday"); err != nil {
		t.Fatal(err)
	}
	unrelated := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, Email: "stays@example.com"})

	r := mustRequest(t, db, ctx, &custos.DSRRequest{Type: custos.DSRErasure, Email: "forget.me@example.com"})
	if r.ContactID == nil || *r.ContactID != c.ID {
		t.Fatalf("not linked: %+v", r)
	}
	if _, err := db.AddDSRNote(ctx, r.ID, "Zapomniana asked by letter"); err != nil {
		t.Fatal(err)
	}
	_, token := sendLink(t, db, ctx, r.ID)
	if _, err := db.VerifyDSRToken(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseDSRSubject(ctx, r.ID, "shred", false); code(err) != custos.EINVALID {
		t.Fatalf("bad mode: %v", err)
	}
	done, err := db.EraseDSRSubject(ctx, r.ID, custos.ForgetErase, true)
	if err != nil {
		t.Fatal(err)
	}
	cert := done.Answer
	if done.Status != custos.DSRCompleted || done.CompletedAt == nil || cert == nil || cert.Kind != custos.DSRAnswerCertificate ||
		cert.Certificate == nil || cert.Certificate.RequestID != "dsr-"+itoa(r.ID) || cert.Certificate.ContactID != c.ID ||
		!cert.Certificate.Suppressed || cert.Certificate.Removed["contacts"] != 1 || cert.Certificate.Removed["dsr_requests"] != 2 {
		t.Fatalf("executed: %+v answer %+v", done, cert)
	}
	// The register keeps the request without its personal data.
	got, err := db.FindDSRRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "" || len(got.Notes) != 0 || got.PersonalDataErasedAt == nil || got.Answer.Certificate.Removed["contacts"] != 1 ||
		got.Type != custos.DSRErasure || got.VerifiedAt == nil {
		t.Fatalf("after erasure %+v", got)
	}
	var events []string
	for _, e := range got.History {
		events = append(events, e.Event)
	}
	if want := []string{"received", "note", "verification_sent", "verified", "executed"}; !reflect.DeepEqual(events, want) {
		t.Fatalf("history %v, want %v", events, want)
	}
	e, _ := db.FindDSRRequest(ctx, earlier.ID)
	if e.Email != "" || len(e.Notes) != 0 || e.PersonalDataErasedAt == nil {
		t.Fatalf("the earlier request keeps personal data: %+v", e)
	}
	u, _ := db.FindDSRRequest(ctx, unrelated.ID)
	if u.Email != "stays@example.com" || u.ContactID == nil || *u.ContactID != keep.ID {
		t.Fatalf("an unrelated request changed: %+v", u)
	}
	// Executing again is refused; notes written afterwards are still sealed.
	if _, err := db.EraseDSRSubject(ctx, r.ID, custos.ForgetErase, false); code(err) != custos.ECONFLICT {
		t.Fatalf("second execution: %v", err)
	}
	after, err := db.AddDSRNote(ctx, r.ID, "certificate posted")
	if err != nil || len(after.Notes) != 1 || after.Notes[0].Text != "certificate posted" {
		t.Fatalf("note after erasure: %+v %v", after, err)
	}
}

func TestDSRAccessExport(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "ada@example.com", nil)
	r := verified(t, db, ctx, &custos.DSRRequest{Type: custos.DSRAccess, ContactID: &c.ID})

	if _, _, err := db.DSRExportFile(ctx, r.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("export before execution: %v", err)
	}
	x, err := db.ExportContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Requests) != 1 || x.Requests[0].ID != r.ID {
		t.Fatalf("the export lists requests %+v", x.Requests)
	}
	file := []byte(`{"contact":"ada@example.com"}`)
	if _, err := db.EraseDSRSubject(ctx, r.ID, custos.ForgetErase, false); code(err) != custos.ECONFLICT {
		t.Fatalf("an access request erased: %v", err)
	}
	done, err := db.AnswerDSRExport(ctx, r.ID, "json", file)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != custos.DSRCompleted || done.Answer.Kind != custos.DSRAnswerExport || done.Answer.Format != "json" || done.Answer.Size != int64(len(file)) {
		t.Fatalf("answered %+v %+v", done, done.Answer)
	}
	format, got, err := db.DSRExportFile(ctx, r.ID)
	if err != nil || format != "json" || string(got) != string(file) {
		t.Fatalf("stored export %q %q %v", format, got, err)
	}
	if _, err := db.AnswerDSRExport(ctx, r.ID, "json", file); code(err) != custos.ECONFLICT {
		t.Fatalf("answered twice: %v", err)
	}
	pending := verified(t, db, ctx, &custos.DSRRequest{Type: custos.DSRPortability, Email: "ada@example.com"})
	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	// Nothing of the person may be stored after the forget.
	if _, err := db.AnswerDSRExport(ctx, pending.ID, "json", file); code(err) != custos.ECONFLICT {
		t.Fatalf("an export stored for a forgotten contact: %v", err)
	}
	if _, _, err := db.DSRExportFile(ctx, r.ID); code(err) != custos.EGONE {
		t.Fatalf("export after forget: %v", err)
	}
	after, _ := db.FindDSRRequest(ctx, r.ID)
	if after.Answer == nil || after.Answer.Size != int64(len(file)) || after.PersonalDataErasedAt == nil {
		t.Fatalf("after forget %+v", after)
	}
}
