package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// roleCreate is the body of POST /api/v1/roles.
type roleCreate struct {
	Name        custos.Role         `json:"name"`
	Permissions []custos.Permission `json:"permissions"`
}

// rolePatch is the body of PATCH /api/v1/roles/{name}.
type rolePatch struct {
	Permissions []custos.Permission `json:"permissions"`
}

// listRoles answers the built-in roles and the workspace's own, each with
// its permissions.
func (s *server) listRoles(w http.ResponseWriter, r *http.Request) {
	roles, err := s.svc.FindRoles(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.RoleDef]{Data: orEmpty(roles)})
}

// createRole makes a role of the workspace's own.
func (s *server) createRole(w http.ResponseWriter, r *http.Request) {
	var b roleCreate
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	d := &custos.RoleDef{Name: b.Name, Permissions: b.Permissions}
	if err := s.svc.CreateRole(r.Context(), d); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, d)
}

// getRole answers one role, built-in or own.
func (s *server) getRole(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.FindRole(r.Context(), custos.Role(r.PathValue("name")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// updateRole replaces the permissions of one of the workspace's roles.
func (s *server) updateRole(w http.ResponseWriter, r *http.Request) {
	var b rolePatch
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.UpdateRole(r.Context(), custos.Role(r.PathValue("name")), b.Permissions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// deleteRole removes a role nobody carries.
func (s *server) deleteRole(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteRole(r.Context(), custos.Role(r.PathValue("name"))); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
