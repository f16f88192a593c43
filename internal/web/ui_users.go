package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// The staff pages: the users of the workspace, one user with their
// sessions. They show staff e-mail addresses, so both are personal reads.

// usersView is what the users page shows.
type usersView struct {
	Users []*custos.User
	Next  string
	Roles []*custos.RoleDef
}

// usersPage renders a page of the workspace's users and the form that
// invites one.
func (s *server) usersPage(w http.ResponseWriter, r *http.Request) {
	q := pageForm(r)
	c, limit, err := readPage(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	users, next, err := s.svc.FindUsers(r.Context(), custos.UserFilter{After: c, Limit: limit})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	roles, err := s.svc.FindRoles(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "users", "ui.nav.users", usersView{Users: users, Next: nextQuery(q, next), Roles: roles})
}

// userView is what a user's page shows.
type userView struct {
	*custos.User
	Roles    []*custos.RoleDef
	Sessions []*custos.Session
	// Networks is the user's allowlist as the form edits it.
	Networks string
	Self     bool
	// Manageable is whether the reader may change the user: only when
	// the user's role grants nothing the reader's lacks (the store
	// refuses the rest). Roles lists only the roles the reader may give.
	Manageable bool
}

// userPage renders one user with the forms that change them and their
// live sessions.
func (s *server) userPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	u, err := s.svc.FindUserByID(ctx, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := userView{User: u, Networks: strings.Join(u.AllowedIPs, ", ")}
	if v.Roles, err = s.svc.FindRoles(ctx); err == nil {
		v.Sessions, err = s.svc.FindSessions(ctx, id)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a, _ := custos.ActorFrom(ctx)
	v.Self = a.Kind == custos.ActorUser && a.ID == id
	mayGive := func(d *custos.RoleDef) bool {
		return !slices.ContainsFunc(d.Permissions, func(p custos.Permission) bool { return !a.Can(p) })
	}
	v.Roles = slices.DeleteFunc(v.Roles, func(d *custos.RoleDef) bool {
		if d.Name == u.Role {
			v.Manageable = mayGive(d)
		}
		return !mayGive(d)
	})
	s.renderPage(w, r, "user", "ui.admin.users.user", v)
}
