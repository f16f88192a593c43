package store

import (
	"context"
	"net/netip"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestDeleteUserRemovesPersonalData deletes a user with a session, a
// login history, a TOTP secret, recovery codes and a reset link, and
// reads the rows as stored: nothing personal remains, the id does, and the
// audit chain still verifies.
func TestDeleteUserRemovesPersonalData(t *testing.T) {
	db := openTestDBAt(t, t.TempDir())
	ctx := testActor(t, db)
	a, _ := custos.ActorFrom(ctx)
	u := &custos.User{Email: "leaver@example.com", Role: custos.RoleSales}
	const pw = "violet tractor sings loudly"
	if err := db.CreateUser(ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("198.51.100.7")
	res, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "t", Email: u.Email, Password: pw, IP: ip, UserAgent: "leaver's browser"})
	if err != nil {
		t.Fatal(err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, SessionID: res.Session.ID})
	if _, err := db.BeginTOTP(self); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`INSERT INTO recovery_codes (workspace_id, user_id, code_hash) VALUES (?, ?, ?)`, a.WorkspaceID, u.ID, []byte("hash")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RequestPasswordReset(context.Background(), "t", u.Email, ip, nil); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	var status, hash string
	var totpSet bool
	if err := db.write.QueryRow(`SELECT email_sealed, status, password_hash, totp_sealed IS NOT NULL OR totp_pending IS NOT NULL FROM users WHERE id = ?`, u.ID).
		Scan(&sealed, &status, &hash, &totpSet); err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 0 || status != string(custos.UserDeleted) || hash != "" || totpSet {
		t.Errorf("user row: sealed %d bytes, status %s, hash %q, totp %v", len(sealed), status, hash, totpSet)
	}
	var index []byte
	if err := db.write.QueryRow(`SELECT email_index FROM users WHERE id = ?`, u.ID).Scan(&index); err != nil || string(index) == string(db.emailIndex(a.WorkspaceID, u.Email)) {
		t.Errorf("the address's blind index remains: %v", err)
	}
	for table, want := range map[string]int{"sessions": 0, "recovery_codes": 0, "password_resets": 0, "email_codes": 0, "login_history": 1} {
		var n int
		if err := db.write.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`, u.ID).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
		}
	}
	var ipSealed, uaSealed []byte
	if err := db.write.QueryRow(`SELECT ip_sealed, ua_sealed FROM login_history WHERE user_id = ?`, u.ID).Scan(&ipSealed, &uaSealed); err != nil || len(ipSealed)+len(uaSealed) != 0 {
		t.Errorf("login history keeps %d+%d sealed bytes (%v)", len(ipSealed), len(uaSealed), err)
	}
	if _, err := db.AuthenticateSession(context.Background(), res.Token, ip, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Errorf("the session lives on: %v", err)
	}
	if _, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "t", Email: u.Email, Password: pw, IP: ip}); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Errorf("the deleted user signs in: %v", err)
	}
	if _, err := db.FindUserByID(ctx, u.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("the deleted user is found: %v", err)
	}
	if err := db.DeleteUser(ctx, u.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("deleted twice: %v", err)
	}
	logins, _, err := db.FindLogins(ctx, custos.LoginFilter{})
	if err != nil || len(logins) != 1 || logins[0].IP != "" || logins[0].UserAgent != "" || logins[0].UserID != u.ID {
		t.Errorf("logins %+v %v", logins, err)
	}
	rep, err := db.VerifyAudit(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("verify %+v %v", rep, err)
	}
}
