package store_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// authenticated checks the token against db as a request would, twice,
// so that the second answer comes from the cache when there is one.
func authenticated(t *testing.T, db *store.DB, token string) (*custos.APIKey, error) {
	t.Helper()
	for range 2 {
		if _, err := db.Authenticate(context.Background(), token); err != nil {
			return nil, err
		}
	}
	return db.Authenticate(context.Background(), token)
}

func mustRefuse(t *testing.T, db *store.DB, token, why string) {
	t.Helper()
	if _, err := db.Authenticate(context.Background(), token); custos.ErrorCode(err) != custos.EUNAUTHORIZED {
		t.Fatalf("%s: the key still authenticates (err %v)", why, err)
	}
}

// A verified key is kept in memory, but revoking it, in this process or
// in another one that opened the same data (as `custos apikey revoke`
// does beside a running server), refuses the very next request.
func TestAuthCacheRevocation(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	key := func() (*custos.APIKey, string) {
		k := &custos.APIKey{Name: "k", Role: custos.RoleSales}
		tok, err := db.CreateAPIKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := authenticated(t, db, tok); err != nil {
			t.Fatal(err)
		}
		return k, tok
	}

	k, tok := key()
	if err := db.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, db, tok, "revoked in process")

	// The other process: a second store on the same data directory and
	// database, as the CLI opens it while the server runs.
	other := storetest.OpenConfig(t, cfg, v)
	k2, tok2 := key()
	other.Close() // the CLI exits after the revocation; open it anew below
	other = storetest.OpenConfig(t, cfg, v)
	if err := other.RevokeAPIKey(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, db, tok2, "revoked by another process")
	// Its cache, too, sees the server's revocation.
	_, tok3 := key()
	if _, err := authenticated(t, other, tok3); err != nil {
		t.Fatal(err)
	}
	keys, err := db.FindAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := db.RevokeAPIKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	mustRefuse(t, other, tok3, "revoked by the server, seen by the other process")
}

// A change of a role's permissions, in this process or another, applies
// to the next request of a key that has the role.
func TestAuthCacheRoleChange(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	if err := db.CreateRole(ctx, &custos.RoleDef{Name: "auditor", Permissions: []custos.Permission{custos.PermAuditRead}}); err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateAPIKey(ctx, &custos.APIKey{Name: "k", Role: "auditor"})
	if err != nil {
		t.Fatal(err)
	}
	perms := func(d *store.DB) []custos.Permission {
		t.Helper()
		k, err := authenticated(t, d, tok)
		if err != nil {
			t.Fatal(err)
		}
		return k.Permissions
	}
	if p := perms(db); !slices.Equal(p, []custos.Permission{custos.PermAuditRead}) {
		t.Fatalf("permissions %v", p)
	}
	want := []custos.Permission{custos.PermAuditRead, custos.PermPersonalDataRead}
	if _, err := db.UpdateRole(ctx, "auditor", want); err != nil {
		t.Fatal(err)
	}
	if p := perms(db); !slices.Contains(p, custos.PermPersonalDataRead) {
		t.Fatalf("after the change in process: permissions %v", p)
	}
	other := storetest.OpenConfig(t, cfg, v)
	if _, err := other.UpdateRole(ctx, "auditor", []custos.Permission{custos.PermAuditRead}); err != nil {
		t.Fatal(err)
	}
	if p := perms(db); slices.Contains(p, custos.PermPersonalDataRead) {
		t.Fatalf("after the change by another process: permissions %v", p)
	}
}

// A workspace's address allowlist, changed by another process, applies
// to the next request of an API key.
func TestAuthCacheAllowedIPs(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	a, _ := custos.ActorFrom(ctx)
	keyCtx := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: custos.ActorAPIKey, ID: 1, Role: custos.RoleAdmin})
	ip := netip.MustParseAddr("192.0.2.7")
	for range 2 {
		if err := db.CheckIP(keyCtx, ip); err != nil {
			t.Fatal(err)
		}
	}
	other := storetest.OpenConfig(t, cfg, v)
	s, err := other.SecuritySettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.AllowedIPs = []string{"198.51.100.0/24"}
	if err := other.UpdateSecuritySettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIP(keyCtx, ip); custos.ErrorCode(err) != custos.EFORBIDDEN {
		t.Fatalf("an address the new allowlist leaves out: err %v", err)
	}
}

// fieldLabel returns the label FindFields gives the field, "" when it
// has none of that key.
func fieldLabel(t *testing.T, db *store.DB, ctx context.Context, key string) string {
	t.Helper()
	fs, err := db.FindFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Key == key {
			return f.Label
		}
	}
	return ""
}

// Field definitions are kept in memory too, but a field created, changed
// or deleted, in this process or another one, is seen by the next read;
// and what a caller does to the definitions it got changes nothing kept.
func TestFieldCache(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	if l := fieldLabel(t, db, ctx, "plan"); l != "" {
		t.Fatalf("a field not made yet: %q", l)
	}
	if err := db.CreateField(ctx, &custos.FieldDef{Key: "plan", Label: "Plan", Type: custos.FieldChoice, Classification: custos.ClassNone, Choices: []string{"free", "pro"}}); err != nil {
		t.Fatal(err)
	}
	if l := fieldLabel(t, db, ctx, "plan"); l != "Plan" {
		t.Fatalf("created in process: label %q", l)
	}
	fs, err := db.FindFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		f.Label, f.Classification = "changed", custos.ClassSpecial
		if len(f.Choices) > 0 {
			f.Choices[0] = "changed"
		}
	}
	fs, err = db.FindFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Label == "changed" || f.Classification == custos.ClassSpecial || slices.Contains(f.Choices, "changed") {
			t.Fatalf("a caller's change of its copy reached the cache: %+v", f)
		}
	}
	other := storetest.OpenConfig(t, cfg, v)
	if _, err := other.UpdateField(ctx, "plan", custos.FieldUpdate{Label: ptr("Tier")}); err != nil {
		t.Fatal(err)
	}
	if l := fieldLabel(t, db, ctx, "plan"); l != "Tier" {
		t.Fatalf("changed by another process: label %q", l)
	}
	if err := other.DeleteField(ctx, "plan"); err != nil {
		t.Fatal(err)
	}
	if l := fieldLabel(t, db, ctx, "plan"); l != "" {
		t.Fatalf("deleted by another process: label %q", l)
	}
}

// With AuthRecheck, as the server runs, a change this process makes
// counts for the very next request, and one another process makes for
// every request that begins AuthRecheck after it.
func TestAuthRecheck(t *testing.T) {
	const recheck = 300 * time.Millisecond
	cfg, v := storetest.Config(t), storetest.Vault(t)
	cfg.AuthRecheck = recheck
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	otherCfg := cfg
	otherCfg.AuthRecheck = 0
	other := storetest.OpenConfig(t, otherCfg, v)
	key := func(d *store.DB, role custos.Role) (*custos.APIKey, string) {
		k := &custos.APIKey{Name: "k", Role: role}
		tok, err := d.CreateAPIKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := authenticated(t, db, tok); err != nil {
			t.Fatal(err)
		}
		return k, tok
	}

	// This process: at once, whatever the interval.
	k, tok := key(db, custos.RoleSales)
	if err := db.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, db, tok, "revoked in process")
	if err := db.CreateRole(ctx, &custos.RoleDef{Name: "auditor", Permissions: []custos.Permission{custos.PermAuditRead}}); err != nil {
		t.Fatal(err)
	}
	_, tok = key(db, "auditor")
	if _, err := db.UpdateRole(ctx, "auditor", []custos.Permission{custos.PermAuditRead, custos.PermPersonalDataRead}); err != nil {
		t.Fatal(err)
	}
	if k, err := db.Authenticate(context.Background(), tok); err != nil || !slices.Contains(k.Permissions, custos.PermPersonalDataRead) {
		t.Fatalf("role changed in process: %v, %v", k, err)
	}
	a, _ := custos.ActorFrom(ctx)
	keyCtx := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: custos.ActorAPIKey, ID: 1, Role: custos.RoleAdmin})
	ip := netip.MustParseAddr("192.0.2.7")
	if err := db.CheckIP(keyCtx, ip); err != nil {
		t.Fatal(err)
	}
	s, err := db.SecuritySettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.AllowedIPs = []string{"198.51.100.0/24"}
	if err := db.UpdateSecuritySettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIP(keyCtx, ip); custos.ErrorCode(err) != custos.EFORBIDDEN {
		t.Fatalf("allowlist changed in process: err %v", err)
	}
	if err := db.CreateField(ctx, &custos.FieldDef{Key: "plan", Label: "Plan", Type: custos.FieldText, Classification: custos.ClassNone}); err != nil {
		t.Fatal(err)
	}
	if l := fieldLabel(t, db, ctx, "plan"); l != "Plan" {
		t.Fatalf("field created in process: label %q", l)
	}

	// Another process: for every request that begins the interval after
	// the change.
	k, tok = key(db, custos.RoleSales)
	if _, err := authenticated(t, db, tok); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpdateField(ctx, "plan", custos.FieldUpdate{Label: ptr("Tier")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(recheck)
	mustRefuse(t, db, tok, "revoked by another process, the interval after")
	if l := fieldLabel(t, db, ctx, "plan"); l != "Tier" {
		t.Fatalf("field changed by another process, the interval after: label %q", l)
	}
}
