package custos

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Workspace is a tenant. Every object belongs to exactly one, and no query
// ever crosses from one to another.
type Workspace struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

var workspaceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks the workspace name: lower-case letters, digits, '-' and
// '_', at most 63 characters.
func (w *Workspace) Validate() error {
	if !workspaceNameRE.MatchString(w.Name) {
		return Invalid("name", "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	return nil
}

// DefaultWorkspace is the name of the workspace made on first start.
const DefaultWorkspace = "default"

// Permission is one thing a role allows.
type Permission string

// The permissions. A route names the one it needs; deny is the default.
const (
	PermContactsRead     Permission = "contacts:read"
	PermContactsWrite    Permission = "contacts:write"
	PermPersonalDataRead Permission = "personal_data:read"
	PermConsentsWrite    Permission = "consents:write"
	PermContactsRestrict Permission = "contacts:restrict" // restrict a contact's processing (Art. 18) and lift it
	PermExport           Permission = "export"
	PermForget           Permission = "forget"
	PermFieldsManage     Permission = "fields:manage"
	PermListsManage      Permission = "lists:manage"
	PermPurposesManage   Permission = "purposes:manage"
	PermFormsManage      Permission = "forms:manage"
	PermUsersManage      Permission = "users:manage"
	PermAuditRead        Permission = "audit:read"
	PermSettingsManage   Permission = "settings:manage"
	PermRequestsManage   Permission = "requests:manage"
	PermImport           Permission = "import" // import files of contacts, with their consents
)

// Role is a named set of permissions carried by a user or an API key.
type Role string

// The built-in roles.
const (
	RoleAdmin    Role = "admin"
	RoleManager  Role = "manager"
	RoleMarketer Role = "marketer"
	RoleSales    Role = "sales"
	RoleViewer   Role = "viewer"
	RoleDPO      Role = "dpo"
)

// rolePermissions is the permission table of the built-in roles.
var rolePermissions = map[Role][]Permission{
	RoleAdmin: {PermContactsRead, PermContactsWrite, PermPersonalDataRead, PermConsentsWrite, PermContactsRestrict,
		PermExport, PermForget, PermFieldsManage, PermListsManage, PermPurposesManage,
		PermFormsManage, PermUsersManage, PermAuditRead, PermSettingsManage, PermRequestsManage, PermImport},
	RoleManager: {PermContactsRead, PermContactsWrite, PermPersonalDataRead, PermConsentsWrite, PermContactsRestrict,
		PermExport, PermFieldsManage, PermListsManage, PermPurposesManage, PermFormsManage, PermImport},
	RoleMarketer: {PermContactsRead, PermContactsWrite, PermPersonalDataRead, PermConsentsWrite,
		PermListsManage, PermFormsManage, PermImport},
	RoleSales:  {PermContactsRead, PermContactsWrite, PermPersonalDataRead, PermConsentsWrite},
	RoleViewer: {PermContactsRead},
	RoleDPO: {PermContactsRead, PermPersonalDataRead, PermConsentsWrite, PermContactsRestrict, PermExport, PermForget,
		PermPurposesManage, PermAuditRead, PermRequestsManage},
}

// allPermissions are the known permissions, in the order listings show
// them.
var allPermissions = []Permission{
	PermContactsRead, PermContactsWrite, PermPersonalDataRead, PermConsentsWrite, PermContactsRestrict,
	PermExport, PermForget, PermFieldsManage, PermListsManage, PermPurposesManage,
	PermFormsManage, PermUsersManage, PermAuditRead, PermSettingsManage, PermRequestsManage, PermImport,
}

// AllPermissions returns every known permission.
func AllPermissions() []Permission { return slices.Clone(allPermissions) }

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool { return slices.Contains(allPermissions, p) }

// Builtin reports whether r is a built-in role. Any other role is a
// workspace's own (RoleDef), resolved by the store.
func (r Role) Builtin() bool {
	_, ok := rolePermissions[r]
	return ok
}

// Can reports whether the built-in role grants p; false for any other
// role, whose permissions only the store knows (see Actor.Can).
func (r Role) Can(p Permission) bool {
	return slices.Contains(rolePermissions[r], p)
}

// Permissions returns the built-in role's permissions (nil for any other
// role).
func (r Role) Permissions() []Permission { return slices.Clone(rolePermissions[r]) }

var roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// CheckRoleName checks the form of a role's name: 1-40 lower-case letters,
// digits, '-' or '_', starting with a letter. Whether such a role exists
// is the store's to say.
func CheckRoleName(field string, r Role) error {
	if !roleNameRE.MatchString(string(r)) {
		return Invalid(field, "must be a role: 1-40 lower-case letters, digits, '-' or '_', starting with a letter")
	}
	return nil
}

// RoleDef is a role with its permissions: a built-in one, or one a
// workspace made of the known permissions.
type RoleDef struct {
	Name        Role         `json:"name"`
	Permissions []Permission `json:"permissions"`
	// Builtin is true for the built-in roles, which cannot be changed.
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// BuiltinRoles returns the built-in roles with their permissions.
func BuiltinRoles() []*RoleDef {
	var out []*RoleDef
	for _, r := range []Role{RoleAdmin, RoleManager, RoleMarketer, RoleSales, RoleViewer, RoleDPO} {
		out = append(out, &RoleDef{Name: r, Permissions: r.Permissions(), Builtin: true})
	}
	return out
}

// Validate checks a workspace's own role: a free name that is no built-in
// role's, and at least one known permission. It puts the permissions in
// their canonical order, without repeats.
func (d *RoleDef) Validate() error {
	if err := CheckRoleName("name", d.Name); err != nil {
		return err
	}
	if d.Name.Builtin() {
		return Invalid("name", "%q is a built-in role; choose another name", d.Name)
	}
	return d.checkPermissions()
}

func (d *RoleDef) checkPermissions() error {
	if len(d.Permissions) == 0 {
		return Invalid("permissions", "must name at least one permission")
	}
	for i, p := range d.Permissions {
		if !p.Valid() {
			return Invalid("permissions", "item %d is not a known permission (one of %s)", i, strings.Join(permStrings(allPermissions), ", "))
		}
	}
	var out []Permission
	for _, p := range allPermissions {
		if slices.Contains(d.Permissions, p) {
			out = append(out, p)
		}
	}
	// The register shows each subject's address, and a request's answer
	// is the contact's whole export: managing requests reads personal
	// data, as every built-in role that manages them may.
	if slices.Contains(out, PermRequestsManage) && !slices.Contains(out, PermPersonalDataRead) {
		return Invalid("permissions", "%s needs %s too: requests show the subject's address and answers hold their data",
			PermRequestsManage, PermPersonalDataRead)
	}
	d.Permissions = out
	return nil
}

// ValidatePermissions checks new permissions for a role, as Validate
// does, leaving the name alone.
func (d *RoleDef) ValidatePermissions() error { return d.checkPermissions() }

func permStrings(ps []Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// RoleService manages a workspace's own roles. Users and API keys may
// carry them like built-in roles.
type RoleService interface {
	// FindRoles returns the built-in roles, then the workspace's own, by
	// name.
	FindRoles(ctx context.Context) ([]*RoleDef, error)
	// FindRole returns a built-in or own role, or ENOTFOUND.
	FindRole(ctx context.Context, name Role) (*RoleDef, error)
	// CreateRole stores a new role of the workspace. EINVALID for a bad or
	// built-in name or an unknown permission, ECONFLICT when the name is
	// taken, EFORBIDDEN for a permission the actor lacks.
	CreateRole(ctx context.Context, d *RoleDef) error
	// UpdateRole replaces the role's permissions; it takes effect on the
	// next request of its users and keys. EINVALID for a built-in role.
	UpdateRole(ctx context.Context, name Role, perms []Permission) (*RoleDef, error)
	// DeleteRole removes a role no user or live key carries; ECONFLICT,
	// saying how many do, otherwise.
	DeleteRole(ctx context.Context, name Role) error
}

// APIKey is a credential for machines. The secret itself is shown once, at
// creation, and stored only as a hash.
type APIKey struct {
	ID          int64      `json:"id"`
	WorkspaceID int64      `json:"workspace_id"`
	Name        string     `json:"name"`
	Role        Role       `json:"role"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	// Permissions are those of a workspace's own role, resolved when the
	// key authenticates; nil for a built-in role.
	Permissions []Permission `json:"-"`
}

// Validate checks the key's name and the form of its role's name.
func (k *APIKey) Validate() error {
	if err := CheckRoleName("role", k.Role); err != nil {
		return err
	} else if len(k.Name) > 100 {
		return Invalid("name", "must be at most 100 characters")
	}
	if err := CheckText("name", k.Name); err != nil {
		return err
	}
	return nil
}

// The kinds of actor.
const (
	ActorAPIKey = "apikey"
	ActorUser   = "user"
	ActorCLI    = "cli"
	ActorSystem = "system"
	// ActorAnonymous is who failed to sign in as no known user.
	ActorAnonymous = "anonymous"
)

// Actor is who is acting: an API key, a staff user, the command line or the
// system itself, inside one workspace. Every store method reads it from the
// context and scopes every query to its workspace.
type Actor struct {
	WorkspaceID int64
	Kind        string // one of the Actor… kinds
	ID          int64
	Role        Role
	// Permissions are those of a workspace's own role, resolved when the
	// actor was authenticated; nil for a built-in role.
	Permissions []Permission
	// SessionID is the session a user actor signed in with; 0 otherwise.
	SessionID int64
}

// String returns the actor as recorded in ledgers and histories, such as
// "apikey:12" or "cli".
func (a Actor) String() string {
	if a.ID == 0 {
		return a.Kind
	}
	return a.Kind + ":" + strconv.FormatInt(a.ID, 10)
}

// Can reports whether the actor's role grants p: a built-in role by its
// table, a workspace's own by the permissions resolved with the actor.
func (a Actor) Can(p Permission) bool {
	if a.Role.Builtin() {
		return a.Role.Can(p)
	}
	return slices.Contains(a.Permissions, p)
}

// Lacks returns the first of perms the actor lacks, and whether there is
// one: an actor may hand out no permission it does not hold itself.
func (a Actor) Lacks(perms []Permission) (Permission, bool) {
	for _, p := range perms {
		if !a.Can(p) {
			return p, true
		}
	}
	return "", false
}

type actorKey struct{}

// WithActor returns a context that carries a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor the context carries, and whether it carries one.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && a.WorkspaceID != 0
}

// WorkspaceService manages workspaces. It is used by the command line and at
// start-up, never by a workspace's own credentials.
type WorkspaceService interface {
	// CreateWorkspace creates w. ECONFLICT if the name is taken, EINVALID
	// for a bad name.
	CreateWorkspace(ctx context.Context, w *Workspace) error
	// FindWorkspaceByName returns the workspace, or ENOTFOUND.
	FindWorkspaceByName(ctx context.Context, name string) (*Workspace, error)
}

// APIKeyService manages API keys within the actor's workspace.
type APIKeyService interface {
	// CreateAPIKey stores k and returns the secret token, shown only now.
	CreateAPIKey(ctx context.Context, k *APIKey) (token string, err error)
	// Authenticate returns the live key the token belongs to, with the
	// permissions of its role when that is a workspace's own, or
	// EUNAUTHORIZED. It needs no actor in the context.
	Authenticate(ctx context.Context, token string) (*APIKey, error)
	// FindAPIKeys returns the workspace's live keys, by id, without
	// their secrets.
	FindAPIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey revokes the key at once; ENOTFOUND when there is no
	// such live key.
	RevokeAPIKey(ctx context.Context, id int64) error
}
