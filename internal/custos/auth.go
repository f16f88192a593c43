package custos

import (
	"context"
	"regexp"
	"slices"
	"strconv"
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

// Valid reports whether r is a built-in role.
func (r Role) Valid() bool {
	_, ok := rolePermissions[r]
	return ok
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	return slices.Contains(rolePermissions[r], p)
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
}

// Validate checks the key's role and name.
func (k *APIKey) Validate() error {
	if !k.Role.Valid() {
		return Invalid("role", "unknown role %q", k.Role)
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
)

// Actor is who is acting: an API key, a staff user, the command line or the
// system itself, inside one workspace. Every store method reads it from the
// context and scopes every query to its workspace.
type Actor struct {
	WorkspaceID int64
	Kind        string // one of the Actor… kinds
	ID          int64
	Role        Role
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

// Can reports whether the actor's role grants p.
func (a Actor) Can(p Permission) bool { return a.Role.Can(p) }

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
	// Authenticate returns the live key the token belongs to, or
	// EUNAUTHORIZED. It needs no actor in the context.
	Authenticate(ctx context.Context, token string) (*APIKey, error)
}
