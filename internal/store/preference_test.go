package store_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// TestPreferenceTokens opens a link made for a contact, and refuses with
// the same not-found a token that is altered, cut, of another installation,
// expired, or for a contact forgotten or anonymized since.
func TestPreferenceTokens(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a, _ := custos.ActorFrom(ctx)
	c := mustContact(t, db, ctx, "anna@example.com", nil)
	other := mustContact(t, db, ctx, "bob@example.com", nil)

	token, err := db.PreferenceToken(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 43 { // ≥ 128 bits of MAC alone, plus the body
		t.Fatalf("token %q is short", token)
	}
	ws, id, err := db.OpenPreferenceToken(t.Context(), token)
	if err != nil || ws != a.WorkspaceID || id != c.ID {
		t.Fatalf("open: %d %d %v", ws, id, err)
	}

	link, err := custos.PreferenceLink(ctx, db, "https://crm.example.test/", c.ID, "pl")
	if err != nil || !strings.HasPrefix(link, "https://crm.example.test/p/") || !strings.HasSuffix(link, "?lang=pl") {
		t.Fatalf("link %q %v", link, err)
	}

	// Flip one bit of each byte in turn: never a working token, never
	// another contact's.
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		if _, _, err := db.OpenPreferenceToken(t.Context(), base64.RawURLEncoding.EncodeToString(b)); code(err) != custos.ENOTFOUND {
			t.Fatalf("byte %d altered: %v", i, err)
		}
	}
	for _, bad := range []string{"", "x", token[:len(token)-1], token + "A", strings.Repeat("A", len(token)), "../" + token[3:]} {
		if _, _, err := db.OpenPreferenceToken(t.Context(), bad); code(err) != custos.ENOTFOUND {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	// Another installation (another master key) cannot make links here.
	foreign := storetest.Open(t)
	fctx := storetest.Workspace(t, foreign, "shop", custos.RoleAdmin)
	fc := mustContact(t, foreign, fctx, "anna@example.com", nil)
	ftoken, err := foreign.PreferenceToken(fctx, fc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.OpenPreferenceToken(t.Context(), ftoken); code(err) != custos.ENOTFOUND {
		t.Fatalf("foreign token: %v", err)
	}

	// Expiry.
	now := time.Now()
	db.Now = func() time.Time { return now.Add(custos.PreferenceTokenTTL + time.Second) }
	if _, _, err := db.OpenPreferenceToken(t.Context(), token); code(err) != custos.ENOTFOUND {
		t.Fatalf("expired: %v", err)
	}
	db.Now = time.Now

	// Forgetting, or anonymizing, kills every link of the contact.
	otherToken, err := db.PreferenceToken(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, other.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{token, otherToken} {
		if _, _, err := db.OpenPreferenceToken(t.Context(), tok); code(err) != custos.ENOTFOUND {
			t.Fatalf("forgotten contact's link: %v", err)
		}
	}
	if _, err := db.PreferenceToken(ctx, other.ID); code(err) != custos.ECONFLICT {
		t.Fatalf("token for an anonymized contact: %v", err)
	}
	if _, err := db.PreferenceToken(ctx, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("token for an erased contact: %v", err)
	}
	// A contact waiting for its double opt-in has a centre.
	pending := &custos.Contact{Email: "new@example.com", Status: custos.StatusPending}
	if err := pending.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateContact(ctx, pending); err != nil {
		t.Fatal(err)
	}
	pt, err := db.PreferenceToken(ctx, pending.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, id, err := db.OpenPreferenceToken(t.Context(), pt); err != nil || id != pending.ID {
		t.Fatalf("pending contact's link: %d %v", id, err)
	}
	// A contact of another workspace is not found.
	ctx2 := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	c2 := mustContact(t, db, ctx2, "anna@example.com", nil)
	if _, err := db.PreferenceToken(ctx, c2.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("token across workspaces: %v", err)
	}
}

// TestRequestErasureBySubject registers a verified erasure request once,
// however often the person asks, and it can be executed.
func TestRequestErasureBySubject(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a, _ := custos.ActorFrom(ctx)
	c := mustContact(t, db, ctx, "anna@example.com", nil)
	subject := custos.WithActor(t.Context(), custos.SubjectActor(a.WorkspaceID))

	d, err := db.RequestErasureBySubject(subject, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != custos.DSRErasure || d.Status != custos.DSRVerified || d.ContactID == nil || *d.ContactID != c.ID ||
		d.Email != c.Email || d.ActedBy != custos.ActorSubject || d.VerifiedAt == nil {
		t.Fatalf("request: %+v", d)
	}
	last := d.History[len(d.History)-1]
	if last.Event != custos.DSREventVerified || last.By != custos.ActorSubject || !strings.Contains(last.Detail, "preference centre") {
		t.Fatalf("history: %+v", d.History)
	}
	again, err := db.RequestErasureBySubject(subject, c.ID)
	if err != nil || again.ID != d.ID || len(again.History) != len(d.History) {
		t.Fatalf("again: %+v %v", again, err)
	}
	done, err := db.EraseDSRSubject(ctx, d.ID, custos.ForgetErase, false)
	if err != nil || done.Status != custos.DSRCompleted {
		t.Fatalf("execute: %+v %v", done, err)
	}
	if _, err := db.RequestErasureBySubject(subject, c.ID); err == nil {
		t.Fatal("an erasure request for a forgotten contact was made")
	}
}
