package store_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/totp"
)

const goodPassword = "violet tractor sings loudly"

// clock is a settable time for the store.
type clock struct{ now time.Time }

func (c *clock) set(db *store.DB) *clock {
	c.now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return c.now }
	return c
}

func (c *clock) add(d time.Duration) { c.now = c.now.Add(d) }

var clientIP = netip.MustParseAddr("192.0.2.10")

func mustUser(t *testing.T, db *store.DB, ctx context.Context, email string, role custos.Role) *custos.User {
	t.Helper()
	u := &custos.User{Email: email, Role: role}
	if err := db.CreateUser(ctx, u, goodPassword); err != nil {
		t.Fatal(err)
	}
	return u
}

func login(db *store.DB, ws, email, pw string) (*custos.LoginResult, error) {
	return db.Login(context.Background(), custos.LoginAttempt{Workspace: ws, Email: email, Password: pw, IP: clientIP, UserAgent: "test browser"})
}

// TestUserCreate stores a user with a sealed address and a hashed
// password, refuses bad input and a taken address, and writes nothing of
// the address or password in clear into the data directory.
func TestUserCreate(t *testing.T) {
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, " Staff.Member@Example.COM ", custos.RoleSales)
	if u.Email != "staff.member@example.com" || u.Status != custos.UserActive || !u.HasPassword {
		t.Fatalf("created %+v", u)
	}
	got, err := db.FindUserByID(ctx, u.ID)
	if err != nil || got.Email != u.Email || got.Role != custos.RoleSales {
		t.Fatalf("found %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name, email, pw, field, code string
		role                         custos.Role
	}{
		{"taken", "STAFF.member@example.com", goodPassword, "email", custos.ECONFLICT, custos.RoleViewer},
		{"bad address", "not an address", goodPassword, "email", custos.EINVALID, custos.RoleViewer},
		{"bad role", "x@example.com", goodPassword, "role", custos.EINVALID, "root"},
		{"short password", "x@example.com", "short pass", "password", custos.EINVALID, custos.RoleViewer},
		{"common password", "x@example.com", "password123456", "password", custos.EINVALID, custos.RoleViewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.CreateUser(ctx, &custos.User{Email: tc.email, Role: tc.role}, tc.pw)
			if e := custos.AsError(err); e == nil || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("err %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	users, _, err := db.FindUsers(ctx, custos.UserFilter{})
	if err != nil || len(users) != 1 {
		t.Fatalf("users %v, %v", users, err)
	}
	// Another workspace neither sees the user nor clashes with the address.
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.FindUserByID(other, u.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace: %v", err)
	}
	mustUser(t, db, other, u.Email, custos.RoleAdmin)
	if _, err := login(db, "shop", u.Email, goodPassword); err != nil {
		t.Fatal(err)
	}
	if db.Dialect() == "sqlite" {
		db.Close()
		assertNotInDir(t, cfg.DataDir, "staff.member", goodPassword, clientIP.String(), "test browser")
	}
}

// assertNotInDir fails when any file under dir holds one of the values.
func assertNotInDir(t *testing.T, dir string, values ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds %q in clear", path, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoginSessions signs in, authenticates the session, and ends it by
// idle time, by the absolute limit and by logging out; background requests
// do not keep it alive.
func TestLoginSessions(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)

	res, err := login(db, "shop", "A@example.com", goodPassword)
	if err != nil || res.Pending || len(res.Token) < 40 || res.User.ID != u.ID {
		t.Fatalf("login %+v, %v", res, err)
	}
	auth, err := db.AuthenticateSession(ctx, res.Token, clientIP, true)
	if err != nil || auth.User.ID != u.ID || auth.User.Role != custos.RoleManager || auth.Restricted != "" {
		t.Fatalf("authenticate %+v, %v", auth, err)
	}
	// A second login is a second session with another token.
	res2, err := login(db, "shop", "a@example.com", goodPassword)
	if err != nil || res2.Token == res.Token || res2.Session.ID == res.Session.ID {
		t.Fatalf("second login %+v, %v", res2, err)
	}

	t.Run("idle", func(t *testing.T) {
		clk.add(20 * time.Minute)
		if _, err := db.AuthenticateSession(ctx, res.Token, clientIP, true); err != nil {
			t.Fatal(err)
		}
		// Background polling does not extend the idle time.
		clk.add(20 * time.Minute)
		if _, err := db.AuthenticateSession(ctx, res.Token, clientIP, false); err != nil {
			t.Fatal(err)
		}
		clk.add(11 * time.Minute)
		if _, err := db.AuthenticateSession(ctx, res.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			t.Fatalf("after 31 idle minutes: %v", err)
		}
		// res2 was idle all along.
		if _, err := db.AuthenticateSession(ctx, res2.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			t.Fatalf("other session: %v", err)
		}
	})
	t.Run("idle time of the workspace", func(t *testing.T) {
		s := custos.DefaultSecuritySettings()
		s.IdleTimeoutMinutes = 60
		if err := db.UpdateSecuritySettings(ctx, &s); err != nil {
			t.Fatal(err)
		}
		r, err := login(db, "shop", "a@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(50 * time.Minute)
		if _, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); err != nil {
			t.Fatalf("50 minutes under a 60-minute idle time: %v", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		r, err := login(db, "shop", "a@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		for range 24 {
			clk.add(29 * time.Minute)
			if _, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); err != nil {
				t.Fatalf("kept busy: %v", err)
			}
		}
		clk.add(29 * time.Minute) // 12 h 5 min after sign-in
		if _, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			t.Fatalf("past 12 hours: %v", err)
		}
	})
	t.Run("logout", func(t *testing.T) {
		r, err := login(db, "shop", "a@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Logout(context.Background(), r.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			t.Fatalf("after logout: %v", err)
		}
	})
}

// TestLoginNoEnumeration gets the same answer for an unknown user, a wrong
// password, a disabled user and an unknown workspace.
func TestLoginNoEnumeration(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)
	mustUser(t, db, ctx, "off@example.com", custos.RoleManager)
	off := true
	users, _, _ := db.FindUsers(ctx, custos.UserFilter{})
	if _, err := db.UpdateUser(ctx, users[1].ID, custos.UserUpdate{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	invited := &custos.User{Email: "invited@example.com", Role: custos.RoleViewer}
	if err := db.CreateUser(ctx, invited, ""); err != nil {
		t.Fatal(err)
	}
	var want *custos.Error
	for _, tc := range []struct{ name, ws, email, pw string }{
		{"wrong password", "shop", u.Email, "wrong password!"},
		{"unknown user", "shop", "nobody@example.com", "wrong password!"},
		{"disabled user, right password", "shop", "off@example.com", goodPassword},
		{"invited user without password", "shop", "invited@example.com", ""},
		{"unknown workspace", "nowhere", u.Email, goodPassword},
		{"not an address", "shop", "@@", goodPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := login(db, tc.ws, tc.email, tc.pw)
			e := custos.AsError(err)
			if e == nil || e.Code != custos.EUNAUTHORIZED {
				t.Fatalf("err %v", err)
			}
			if want == nil {
				want = e
			} else if *e != *want {
				t.Fatalf("answer %+v differs from %+v", e, want)
			}
		})
	}
}

// TestLoginLockout locks an account after repeated failures with growing
// delays, refuses even the right password while locked, treats an unknown
// address alike, and lets the owner in once the window has passed.
func TestLoginLockout(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)

	for _, email := range []string{u.Email, "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			tries := 0
			for i := 1; i <= 10; i++ {
				_, err := login(db, "shop", email, "wrong password!")
				tries++
				if custos.ErrorCode(err) != custos.EUNAUTHORIZED {
					t.Fatalf("failure %d: %v", i, err)
				}
				if i <= 5 {
					continue
				}
				// From the sixth failure on, the account waits: 2, 4, 8, 16 s.
				if _, err := login(db, "shop", email, goodPassword); custos.ErrorCode(err) != custos.ERATELIMIT {
					t.Fatalf("right after failure %d: %v", i, err)
				}
				if i < 10 {
					clk.add(time.Second << (i - 5))
				}
			}
			// Locked for the rest of the hour, right password or not.
			clk.add(30 * time.Minute)
			if _, err := login(db, "shop", email, goodPassword); custos.ErrorCode(err) != custos.ERATELIMIT {
				t.Fatalf("within the hour: %v", err)
			}
			if tries > 100 {
				t.Fatalf("%d tries", tries)
			}
			clk.add(30 * time.Minute)
			_, err := login(db, "shop", email, goodPassword)
			if email == u.Email && err != nil {
				t.Fatalf("after the window: %v", err)
			} else if email != u.Email && custos.ErrorCode(err) != custos.EUNAUTHORIZED {
				t.Fatalf("unknown after the window: %v", err)
			}
		})
	}
	logins, _, err := db.FindLogins(ctx, custos.LoginFilter{UserID: &u.ID})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]int{}
	for _, l := range logins {
		results[l.Result]++
		if l.IP != clientIP.String() || l.UserAgent != "test browser" {
			t.Fatalf("record %+v", l)
		}
	}
	if results[custos.LoginBadPassword] != 10 || results[custos.LoginLocked] != 6 || results[custos.LoginSuccess] != 1 {
		t.Fatalf("history %v", results)
	}
}

// TestLoginThrottlePerAddress locks a client address that tries many
// accounts.
func TestLoginThrottlePerAddress(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)
	for i := range 20 {
		if _, err := login(db, "shop", "user"+string(rune('a'+i))+"@example.com", "wrong password!"); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if _, err := login(db, "shop", "other@example.com", "wrong password!"); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("21st try: %v", err)
	}
	if _, err := login(db, "shop", u.Email, goodPassword); custos.ErrorCode(err) != custos.ERATELIMIT {
		t.Fatalf("address not slowed down: %v", err)
	}
	// Another address is not held up.
	if _, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "shop", Email: u.Email, Password: goodPassword, IP: netip.MustParseAddr("2001:db8::1")}); err != nil {
		t.Fatal(err)
	}
	clk.add(3 * time.Second)
	if _, err := login(db, "shop", u.Email, goodPassword); err != nil {
		t.Fatal(err)
	}
}

// TestPasswordChangeAndUserUpdate ends the other sessions on a password
// change, and all sessions on a new role or a disabling; a forced change
// restricts the session until it is made.
func TestPasswordChangeAndUserUpdate(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleManager)
	must := true
	if _, err := db.UpdateUser(ctx, u.ID, custos.UserUpdate{MustChangePassword: &must}); err != nil {
		t.Fatal(err)
	}
	r1, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := db.AuthenticateSession(ctx, r1.Token, clientIP, true)
	if err != nil || auth.Restricted != custos.RestrictPasswordChange {
		t.Fatalf("auth %+v, %v", auth, err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, SessionID: r1.Session.ID})
	if err := db.ChangePassword(self, "wrong password!", "a brand new passphrase"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("wrong current: %v", err)
	}
	if err := db.ChangePassword(self, goodPassword, "qwertyuiop1234"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("common new: %v", err)
	}
	if err := db.ChangePassword(self, goodPassword, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if auth, err := db.AuthenticateSession(ctx, r1.Token, clientIP, true); err != nil || auth.Restricted != "" {
		t.Fatalf("own session: %+v, %v", auth, err)
	}
	if _, err := db.AuthenticateSession(ctx, r2.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("other session: %v", err)
	}
	if _, err := login(db, "shop", u.Email, goodPassword); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("old password: %v", err)
	}
	sessions, err := db.FindSessions(self, u.ID)
	if err != nil || len(sessions) != 1 || !sessions[0].Current || sessions[0].IP != clientIP.String() {
		t.Fatalf("sessions %+v, %v", sessions, err)
	}

	viewer := custos.RoleViewer
	if _, err := db.UpdateUser(ctx, u.ID, custos.UserUpdate{Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateSession(ctx, r1.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("after role change: %v", err)
	}
	r3, err := login(db, "shop", u.Email, "a brand new passphrase")
	if err != nil || r3.User.Role != custos.RoleViewer {
		t.Fatalf("login %+v %v", r3, err)
	}
	off := true
	if _, err := db.UpdateUser(ctx, u.ID, custos.UserUpdate{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateSession(ctx, r3.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("after disabling: %v", err)
	}
	entries, _, err := db.FindAudit(ctx, custos.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
		if bytes.Contains([]byte(e.Detail), []byte("example.com")) {
			t.Errorf("audit detail holds an address: %s", e.Detail)
		}
	}
	if actions[custos.AuditLogin] != 3 || actions[custos.AuditPasswordChange] != 1 || actions[custos.AuditUserUpdate] != 3 || actions[custos.AuditUserCreate] != 1 {
		t.Fatalf("audit %v", actions)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

// TestTOTP enrols a user, signs in in two steps with a fresh token after
// the second, never accepts a code twice, and accepts each recovery code
// once.
func TestTOTP(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleAdmin)
	r, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, SessionID: r.Session.ID})
	if _, err := db.BeginTOTP(ctx); custos.ErrorCode(err) != custos.EFORBIDDEN {
		t.Fatalf("begin as a non-user: %v", err)
	}
	enr, err := db.BeginTOTP(self)
	if err != nil {
		t.Fatal(err)
	}
	secret := decodeSecret(t, enr.Secret)
	if _, err := db.ConfirmTOTP(self, "000000"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("wrong code: %v", err)
	}
	codes, err := db.ConfirmTOTP(self, totp.Code(secret, totp.Step(clk.now)))
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm %v %v", codes, err)
	}

	first, err := login(db, "shop", u.Email, goodPassword)
	if err != nil || !first.Pending {
		t.Fatalf("login %+v %v", first, err)
	}
	if _, err := db.AuthenticateSession(ctx, first.Token, clientIP, true); err != nil {
		t.Fatal(err)
	}
	// The code that enrolled is used up.
	if _, err := db.LoginSecondFactor(ctx, first.Token, totp.Code(secret, totp.Step(clk.now)), clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("reused code: %v", err)
	}
	clk.add(totp.Period)
	code := totp.Code(secret, totp.Step(clk.now))
	full, err := db.LoginSecondFactor(ctx, first.Token, code, clientIP, "ua")
	if err != nil || full.Pending || full.Token == first.Token || full.Session.TwoFactor != "totp" {
		t.Fatalf("second factor %+v %v", full, err)
	}
	if _, err := db.AuthenticateSession(ctx, first.Token, clientIP, true); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("pending token still works: %v", err)
	}
	// The same code at once in another sign-in: refused.
	again, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoginSecondFactor(ctx, again.Token, code, clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("code accepted twice: %v", err)
	}
	rec, err := db.LoginSecondFactor(ctx, again.Token, codes[3], clientIP, "ua")
	if err != nil || rec.Session.TwoFactor != "recovery" {
		t.Fatalf("recovery %+v %v", rec, err)
	}
	third, _ := login(db, "shop", u.Email, goodPassword)
	if _, err := db.LoginSecondFactor(ctx, third.Token, codes[3], clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("recovery code used twice: %v", err)
	}
	// A pending sign-in expires.
	clk.add(custos.PendingLifetime)
	if _, err := db.LoginSecondFactor(ctx, third.Token, codes[4], clientIP, "ua"); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("expired pending: %v", err)
	}
	logins, _, _ := db.FindLogins(ctx, custos.LoginFilter{UserID: &u.ID})
	reused := 0
	for _, l := range logins {
		if l.Result == custos.LoginCodeReused {
			reused++
		}
	}
	if reused != 2 {
		t.Fatalf("%d reuses logged, want 2", reused)
	}
	// Required for admins: a user without it may only enrol.
	s := custos.DefaultSecuritySettings()
	s.Require2FA = custos.Require2FAAdmins
	if err := db.UpdateSecuritySettings(ctx, &s); err != nil {
		t.Fatal(err)
	}
	a2 := mustUser(t, db, ctx, "b@example.com", custos.RoleAdmin)
	r2, err := login(db, "shop", a2.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if auth, err := db.AuthenticateSession(ctx, r2.Token, clientIP, true); err != nil || auth.Restricted != custos.RestrictEnrol2FA {
		t.Fatalf("auth %+v %v", auth, err)
	}
}

func decodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	b, err := totp.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIPAllowlist refuses sign-in and requests from networks outside the
// workspace's and the user's lists.
func TestIPAllowlist(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleAdmin)
	s := custos.DefaultSecuritySettings()
	s.AllowedIPs = []string{"192.0.2.0/24", "2001:db8::/32"}
	if err := db.UpdateSecuritySettings(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ip   string
		ok   bool
	}{
		{"v4 in", "192.0.2.77", true}, {"v4 out", "198.51.100.1", false},
		{"v6 in", "2001:db8::5", true}, {"v6 out", "2001:db9::5", false},
		{"v4-mapped in", "::ffff:192.0.2.8", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			err := db.CheckIP(ctx, ip)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckIP %v", err)
			}
			_, err = db.Login(context.Background(), custos.LoginAttempt{Workspace: "shop", Email: u.Email, Password: goodPassword, IP: ip})
			// Refused as a wrong password is: nothing shows the password was right.
			if tc.ok && err != nil || !tc.ok && custos.ErrorCode(err) != custos.EUNAUTHORIZED {
				t.Fatalf("login %v", err)
			}
		})
	}
	if err := db.CheckIP(ctx, netip.Addr{}); custos.ErrorCode(err) != custos.EFORBIDDEN {
		t.Fatalf("no address: %v", err)
	}
	nets := []string{"192.0.2.77"}
	if _, err := db.UpdateUser(ctx, u.ID, custos.UserUpdate{AllowedIPs: &nets}); err != nil {
		t.Fatal(err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role})
	if err := db.CheckIP(self, netip.MustParseAddr("192.0.2.78")); custos.ErrorCode(err) != custos.EFORBIDDEN {
		t.Fatalf("user list: %v", err)
	}
	if err := db.CheckIP(self, netip.MustParseAddr("192.0.2.77")); err != nil {
		t.Fatal(err)
	}
	// A session is checked on every request, with the user's list too.
	r, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "shop", Email: u.Email, Password: goodPassword, IP: netip.MustParseAddr("192.0.2.77")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateSession(ctx, r.Token, netip.MustParseAddr("192.0.2.77"), true); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"192.0.2.78", "198.51.100.1"} {
		if _, err := db.AuthenticateSession(ctx, r.Token, netip.MustParseAddr(ip), true); custos.ErrorCode(err) != custos.EFORBIDDEN {
			t.Fatalf("session from %s: %v", ip, err)
		}
	}
	bad := []string{"192.0.2.0/33"}
	if _, err := db.UpdateUser(ctx, u.ID, custos.UserUpdate{AllowedIPs: &bad}); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("bad network: %v", err)
	}
}

// BenchmarkLogin measures a whole sign-in: throttle checks, argon2id at
// the default parameters, the session and the history written.
func BenchmarkLogin(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "shop", custos.RoleAdmin)
	if err := db.CreateUser(ctx, &custos.User{Email: "a@example.com", Role: custos.RoleAdmin}, goodPassword); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "shop", Email: "a@example.com", Password: goodPassword, IP: clientIP}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEmail2FA turns mailed codes on, signs in with one, and refuses a
// code after five wrong tries, a reused one and another session's.
func TestEmail2FA(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleAdmin)
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role})
	if err := db.SetEmail2FA(self, "wrong password!", true); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("wrong password: %v", err)
	}
	if err := db.SetEmail2FA(self, goodPassword, true); err != nil {
		t.Fatal(err)
	}
	first, err := login(db, "shop", u.Email, goodPassword)
	if err != nil || !first.Pending || len(first.EmailCode) != 6 {
		t.Fatalf("login %+v %v", first, err)
	}
	second, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	// One session's code does not complete another.
	if first.EmailCode != second.EmailCode {
		if _, err := db.LoginSecondFactor(ctx, second.Token, first.EmailCode, clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
			t.Fatalf("other session's code: %v", err)
		}
	}
	full, err := db.LoginSecondFactor(ctx, first.Token, first.EmailCode, clientIP, "ua")
	if err != nil || full.Session.TwoFactor != "email" || full.Token == first.Token {
		t.Fatalf("second step %+v %v", full, err)
	}
	clk.add(3 * time.Second)
	third, _ := login(db, "shop", u.Email, goodPassword)
	wrong := "000000"
	if third.EmailCode == wrong {
		wrong = "111111"
	}
	for i := range custos.EmailCodeTries - 1 {
		if _, err := db.LoginSecondFactor(ctx, third.Token, wrong, clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if _, err := db.LoginSecondFactor(ctx, second.Token, wrong, clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("fifth wrong: %v", err)
	}
	clk.add(3 * time.Second)
	if _, err := db.LoginSecondFactor(ctx, third.Token, wrong, clientIP, "ua"); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("fifth try: %v", err)
	}
	clk.add(time.Minute)
	if _, err := db.LoginSecondFactor(ctx, third.Token, third.EmailCode, clientIP, "ua"); err == nil {
		t.Fatal("the right code worked after five wrong tries")
	}
	// A pending sign-in, and its code, expire.
	clk.add(time.Hour)
	fourth, _ := login(db, "shop", u.Email, goodPassword)
	clk.add(custos.PendingLifetime)
	if _, err := db.LoginSecondFactor(ctx, fourth.Token, fourth.EmailCode, clientIP, "ua"); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("expired: %v", err)
	}
	if err := db.SetEmail2FA(self, goodPassword, false); err != nil {
		t.Fatal(err)
	}
	if r, err := login(db, "shop", u.Email, goodPassword); err != nil || r.Pending {
		t.Fatalf("after turning it off: %+v %v", r, err)
	}
}

// TestPasswordExpiry restricts the sessions of a user whose password is
// older than the workspace allows, until it is changed.
func TestPasswordExpiry(t *testing.T) {
	db := storetest.Open(t)
	clk := (&clock{}).set(db)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	u := mustUser(t, db, ctx, "a@example.com", custos.RoleSales)
	s := custos.DefaultSecuritySettings()
	s.PasswordMaxAgeDays = 30
	if err := db.UpdateSecuritySettings(ctx, &s); err != nil {
		t.Fatal(err)
	}
	clk.add(29 * 24 * time.Hour)
	r, err := login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if auth, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); err != nil || auth.Restricted != "" {
		t.Fatalf("day 29: %+v %v", auth, err)
	}
	clk.add(24 * time.Hour)
	r, err = login(db, "shop", u.Email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if auth, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); err != nil || auth.Restricted != custos.RestrictPasswordChange {
		t.Fatalf("day 30: %+v %v", auth, err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, SessionID: r.Session.ID})
	if err := db.ChangePassword(self, goodPassword, "a fresh passphrase now"); err != nil {
		t.Fatal(err)
	}
	if auth, err := db.AuthenticateSession(ctx, r.Token, clientIP, true); err != nil || auth.Restricted != "" {
		t.Fatalf("after the change: %+v %v", auth, err)
	}
	got, err := db.SecuritySettings(ctx)
	if err != nil || got.PasswordMaxAgeDays != 30 {
		t.Fatalf("settings %+v %v", got, err)
	}
}
