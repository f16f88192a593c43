package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// TestPasswordReset makes single-use links that expire in ten minutes and
// die with the password they were made for; a reset ends every session.
func TestPasswordReset(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)
	bg := context.Background()

	if _, err := db.RequestPasswordReset(bg, "shop", "nobody@example.com", clientIP, nil); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := db.RequestPasswordReset(bg, "nowhere", u.Email, clientIP, nil); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("unknown workspace: %v", err)
	}
	first, err := db.RequestPasswordReset(bg, "shop", "A@Example.com", clientIP, nil)
	if err != nil || first.UserID != u.ID || first.Email != u.Email || !first.ExpiresAt.Equal(clk.now.Add(10*time.Minute)) {
		t.Fatalf("request %+v %v", first, err)
	}
	second, err := db.RequestPasswordReset(bg, "shop", u.Email, clientIP, nil)
	if err != nil || second.Token == first.Token {
		t.Fatalf("second %+v %v", second, err)
	}
	session, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckPasswordReset(bg, first.Token); err != nil {
		t.Fatal(err)
	}
	if err := db.ResetPassword(bg, first.Token, "short", clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("weak password: %v", err)
	}
	if err := db.ResetPassword(bg, first.Token, "a completely new passphrase", clientIP, "ua"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateSession(ctx, session.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("session survived the reset: %v", err)
	}
	if _, err := login(db, "shop", u.Email, "a completely new passphrase"); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"used": first.Token, "made before the reset": second.Token, "garbage": "csr_nothing", "no prefix": "abc"} {
		if err := db.ResetPassword(bg, tok, "yet another passphrase", clientIP, "ua"); custos.ErrorCode(err) != custos.ENOTFOUND {
			t.Fatalf("%s: %v", name, err)
		}
	}
	third, err := db.RequestPasswordReset(bg, "shop", u.Email, clientIP, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(10 * time.Minute)
	if err := db.CheckPasswordReset(bg, third.Token); custos.ErrorCode(err) != custos.EGONE {
		t.Fatalf("expired: %v", err)
	}
	// Bound to the password version: a change by other means kills it.
	fourth, err := db.RequestPasswordReset(bg, "shop", u.Email, clientIP, nil)
	if err != nil {
		t.Fatal(err)
	}
	self := custos.WithActor(bg, custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role})
	if err := db.ChangePassword(self, "a completely new passphrase", "the passphrase after that"); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckPasswordReset(bg, fourth.Token); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("after a change: %v", err)
	}
	// Four links within the hour: the next waits.
	if _, err := db.RequestPasswordReset(bg, "shop", u.Email, clientIP, nil); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("fifth request: %v", err)
	}
	clk.add(time.Hour)
	if _, err := db.RequestPasswordReset(bg, "shop", u.Email, clientIP, nil); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	entries, _, err := db.FindAudit(ctx, custos.AuditFilter{Action: ptr(custos.AuditPasswordReset)})
	if err != nil || len(entries) != 1 || entries[0].Actor != "user:"+itoa(u.ID) {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

// TestInviteUser makes a set-password link for a user without one, good
// for 72 hours; a new invitation replaces the old; a user with a password
// is not invited.
func TestInviteUser(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	bg := context.Background()
	u := &custos.User{Email: "new@example.com", Role: custos.RoleSales}
	if err := db.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	old, err := db.InviteUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := db.InviteUser(ctx, u.ID)
	if err != nil || inv.Email != u.Email || !inv.ExpiresAt.Equal(clk.now.Add(72*time.Hour)) {
		t.Fatalf("invite %+v %v", inv, err)
	}
	if err := db.CheckPasswordReset(bg, old.Token); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("replaced link: %v", err)
	}
	clk.add(71 * time.Hour)
	if err := db.ResetPassword(bg, inv.Token, "my very first passphrase", clientIP, "ua"); err != nil {
		t.Fatal(err)
	}
	if _, err := login(db, "shop", u.Email, "my very first passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InviteUser(ctx, u.ID); custos.ErrorCode(err) != custos.ECONFLICT {
		t.Fatalf("invite with a password: %v", err)
	}
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.InviteUser(other, u.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace: %v", err)
	}
}
