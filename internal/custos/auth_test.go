package custos

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRoleCan(t *testing.T) {
	tests := []struct {
		name string
		role Role
		perm Permission
		want bool
	}{
		{name: "viewer reads contacts", role: RoleViewer, perm: PermContactsRead, want: true},
		{name: "viewer cannot write contacts", role: RoleViewer, perm: PermContactsWrite, want: false},
		{name: "viewer cannot read personal data", role: RoleViewer, perm: PermPersonalDataRead, want: false},
		{name: "viewer cannot forget", role: RoleViewer, perm: PermForget, want: false},
		{name: "dpo can forget", role: RoleDPO, perm: PermForget, want: true},
		{name: "dpo can export", role: RoleDPO, perm: PermExport, want: true},
		{name: "dpo restricts processing", role: RoleDPO, perm: PermContactsRestrict, want: true},
		{name: "manager restricts processing", role: RoleManager, perm: PermContactsRestrict, want: true},
		{name: "marketer cannot restrict processing", role: RoleMarketer, perm: PermContactsRestrict, want: false},
		{name: "sales cannot restrict processing", role: RoleSales, perm: PermContactsRestrict, want: false},
		{name: "viewer cannot restrict processing", role: RoleViewer, perm: PermContactsRestrict, want: false},
		{name: "dpo reads the audit log", role: RoleDPO, perm: PermAuditRead, want: true},
		{name: "dpo manages requests", role: RoleDPO, perm: PermRequestsManage, want: true},
		{name: "manager cannot manage requests", role: RoleManager, perm: PermRequestsManage, want: false},
		{name: "viewer cannot manage requests", role: RoleViewer, perm: PermRequestsManage, want: false},
		{name: "dpo cannot write contacts", role: RoleDPO, perm: PermContactsWrite, want: false},
		{name: "dpo cannot manage users", role: RoleDPO, perm: PermUsersManage, want: false},
		{name: "manager cannot forget", role: RoleManager, perm: PermForget, want: false},
		{name: "manager cannot manage users", role: RoleManager, perm: PermUsersManage, want: false},
		{name: "manager manages purposes", role: RoleManager, perm: PermPurposesManage, want: true},
		{name: "marketer cannot export", role: RoleMarketer, perm: PermExport, want: false},
		{name: "marketer manages lists", role: RoleMarketer, perm: PermListsManage, want: true},
		{name: "sales writes consents", role: RoleSales, perm: PermConsentsWrite, want: true},
		{name: "sales cannot manage lists", role: RoleSales, perm: PermListsManage, want: false},
		{name: "sales cannot read the audit log", role: RoleSales, perm: PermAuditRead, want: false},
		{name: "unknown role", role: Role("root"), perm: PermContactsRead, want: false},
		{name: "empty role", role: Role(""), perm: PermContactsRead, want: false},
		{name: "unknown permission", role: RoleAdmin, perm: Permission("contacts:*"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.role.Can(tt.perm); got != tt.want {
				t.Errorf("%s.Can(%s) = %v, want %v", tt.role, tt.perm, got, tt.want)
			}
			if got := (Actor{WorkspaceID: 1, Kind: "user", ID: 3, Role: tt.role}).Can(tt.perm); got != tt.want {
				t.Errorf("Actor with role %s: Can(%s) = %v, want %v", tt.role, tt.perm, got, tt.want)
			}
		})
	}
}

func TestRoleAdminCanEverything(t *testing.T) {
	for _, p := range allPermissions {
		if !RoleAdmin.Can(p) {
			t.Errorf("admin cannot %s", p)
		}
	}
}

// Every role that can write contacts can read them, and only the admin and
// the DPO can erase.
func TestRoleInvariants(t *testing.T) {
	for _, r := range []Role{RoleAdmin, RoleManager, RoleMarketer, RoleSales, RoleViewer, RoleDPO} {
		if !r.Builtin() {
			t.Errorf("%s is not Builtin", r)
		}
		if r.Can(PermContactsWrite) && !r.Can(PermContactsRead) {
			t.Errorf("%s writes contacts without reading them", r)
		}
		if r.Can(PermForget) != (r == RoleAdmin || r == RoleDPO) {
			t.Errorf("%s.Can(forget) = %v", r, r.Can(PermForget))
		}
		// Executing a request exports or forgets, and the register shows
		// the subject's address.
		if r.Can(PermRequestsManage) && !(r.Can(PermExport) && r.Can(PermForget) && r.Can(PermPersonalDataRead)) {
			t.Errorf("%s manages requests but cannot export, forget and read personal data", r)
		}
		if r.Can(PermUsersManage) != (r == RoleAdmin) {
			t.Errorf("%s.Can(users:manage) = %v", r, r.Can(PermUsersManage))
		}
	}
	for _, r := range []Role{"", "Admin", "root", "admin "} {
		if r.Builtin() {
			t.Errorf("Role(%q).Builtin() = true", r)
		}
	}
}

func TestWorkspaceValidate(t *testing.T) {
	tests := []struct {
		name  string
		wsn   string
		valid bool
	}{
		{name: "default", wsn: "default", valid: true},
		{name: "digits dashes underscores", wsn: "acme-2_eu", valid: true},
		{name: "63 characters", wsn: "a" + strings.Repeat("b", 62), valid: true},
		{name: "64 characters", wsn: "ab" + strings.Repeat("b", 62), valid: false},
		{name: "empty", wsn: "", valid: false},
		{name: "upper case", wsn: "Acme", valid: false},
		{name: "leading dash", wsn: "-acme", valid: false},
		{name: "space", wsn: "acme corp", valid: false},
		{name: "newline", wsn: "acme\n", valid: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Workspace{Name: tt.wsn}).Validate()
			if tt.valid {
				if err != nil {
					t.Fatalf("Validate(%q) = %v", tt.wsn, err)
				}
				return
			}
			wantInvalid(t, err, "name")
		})
	}
}

func TestAPIKeyValidate(t *testing.T) {
	if err := (&APIKey{Name: "ci", Role: RoleViewer}).Validate(); err != nil {
		t.Fatalf("valid key: %v", err)
	}
	wantInvalid(t, (&APIKey{Name: "ci", Role: "Root!"}).Validate(), "role") // a role of that name could exist: the store checks
	if err := (&APIKey{Name: strings.Repeat("k", 100), Role: RoleAdmin}).Validate(); err != nil {
		t.Fatalf("100-character name: %v", err)
	}
	wantInvalid(t, (&APIKey{Name: strings.Repeat("k", 101), Role: RoleAdmin}).Validate(), "name")
}

func TestActor(t *testing.T) {
	if got := (Actor{Kind: "apikey", ID: 12}).String(); got != "apikey:12" {
		t.Errorf("String() = %q, want apikey:12", got)
	}
	if got := (Actor{Kind: "cli"}).String(); got != "cli" {
		t.Errorf("String() = %q, want cli", got)
	}
	ctx := context.Background()
	if _, ok := ActorFrom(ctx); ok {
		t.Error("ActorFrom(empty context) reports an actor")
	}
	if _, ok := ActorFrom(WithActor(ctx, Actor{Kind: "user", ID: 1, Role: RoleAdmin})); ok {
		t.Error("ActorFrom reports an actor without a workspace")
	}
	want := Actor{WorkspaceID: 4, Kind: "user", ID: 1, Role: RoleSales}
	if got, ok := ActorFrom(WithActor(ctx, want)); !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("ActorFrom = %+v, %v; want %+v, true", got, ok, want)
	}
}

// TestCustomRoleActor checks that an actor of a workspace's own role can
// do exactly what the permissions resolved with it say, and that naming a
// built-in role ignores any such list.
func TestCustomRoleActor(t *testing.T) {
	a := Actor{WorkspaceID: 1, Kind: "apikey", ID: 2, Role: "exporter", Permissions: []Permission{PermExport}}
	for _, p := range allPermissions {
		if got := a.Can(p); got != (p == PermExport) {
			t.Errorf("exporter.Can(%s) = %v", p, got)
		}
	}
	if p, lacks := a.Lacks([]Permission{PermExport, PermContactsRead}); !lacks || p != PermContactsRead {
		t.Errorf("Lacks = %s, %v", p, lacks)
	}
	if _, lacks := a.Lacks([]Permission{PermExport}); lacks {
		t.Error("exporter lacks export")
	}
	// A built-in role's table wins over a list carried with it.
	v := Actor{WorkspaceID: 1, Kind: "apikey", ID: 2, Role: RoleViewer, Permissions: []Permission{PermForget}}
	if v.Can(PermForget) {
		t.Error("a viewer with a forged permission list can forget")
	}
	if (Actor{WorkspaceID: 1, Role: "exporter"}).Can(PermExport) {
		t.Error("a custom role without resolved permissions can export")
	}
}

func TestRoleDefValidate(t *testing.T) {
	tests := []struct {
		name  string
		def   RoleDef
		field string // "" when valid
	}{
		{name: "valid", def: RoleDef{Name: "exporter", Permissions: []Permission{PermExport}}},
		{name: "digits and dashes", def: RoleDef{Name: "team-2_eu", Permissions: []Permission{PermContactsRead}}},
		{name: "built-in name", def: RoleDef{Name: RoleAdmin, Permissions: []Permission{PermExport}}, field: "name"},
		{name: "upper case", def: RoleDef{Name: "Exporter", Permissions: []Permission{PermExport}}, field: "name"},
		{name: "empty name", def: RoleDef{Permissions: []Permission{PermExport}}, field: "name"},
		{name: "newline in name", def: RoleDef{Name: "x\nadmin", Permissions: []Permission{PermExport}}, field: "name"},
		{name: "41 characters", def: RoleDef{Name: Role("a" + strings.Repeat("b", 40)), Permissions: []Permission{PermExport}}, field: "name"},
		{name: "no permission", def: RoleDef{Name: "empty"}, field: "permissions"},
		{name: "unknown permission", def: RoleDef{Name: "x", Permissions: []Permission{"contacts:*"}}, field: "permissions"},
		{name: "the route-only marker", def: RoleDef{Name: "x", Permissions: []Permission{"signed_in"}}, field: "permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.def.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			wantInvalid(t, err, tt.field)
		})
	}
	d := RoleDef{Name: "x", Permissions: []Permission{PermImport, PermContactsRead, PermImport}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Permissions, []Permission{PermContactsRead, PermImport}) {
		t.Errorf("permissions not canonical: %v", d.Permissions)
	}
}
