package web

import (
	"net/http"
	"slices"

	"github.com/custos/custos/internal/custos"
)

// The pages of roles and API keys. Neither shows personal data.

// roleRow is a role with every permission marked granted or not, as the
// page's table and forms show it.
type roleRow struct {
	*custos.RoleDef
	Grants []permGrant
}

// permGrant is one permission and whether a role grants it.
type permGrant struct {
	Perm    custos.Permission
	Granted bool
}

// rolesView is what the roles page shows.
type rolesView struct {
	Roles []roleRow
	All   []custos.Permission
}

// rolesPage renders the built-in roles and the workspace's own with their
// permissions, and the forms that make, change and remove its own.
func (s *server) rolesPage(w http.ResponseWriter, r *http.Request) {
	roles, err := s.svc.FindRoles(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := rolesView{All: custos.AllPermissions()}
	for _, d := range roles {
		row := roleRow{RoleDef: d}
		for _, p := range v.All {
			row.Grants = append(row.Grants, permGrant{p, slices.Contains(d.Permissions, p)})
		}
		v.Roles = append(v.Roles, row)
	}
	s.renderPage(w, r, "roles", "ui.admin.nav.roles", v)
}

// apiKeysView is what the API keys page shows.
type apiKeysView struct {
	Keys  []*custos.APIKey
	Roles []*custos.RoleDef
}

// apiKeysPage renders the workspace's live API keys, never a secret, and
// the forms that make one (its secret shown once) and revoke one.
func (s *server) apiKeysPage(w http.ResponseWriter, r *http.Request) {
	var v apiKeysView
	var err error
	if v.Keys, err = s.svc.FindAPIKeys(r.Context()); err == nil {
		v.Roles, err = s.svc.FindRoles(r.Context())
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "apikeys", "ui.admin.nav.api_keys", v)
}
