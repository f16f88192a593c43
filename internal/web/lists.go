package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// listCreate is the body of POST /api/v1/lists.
type listCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	GroupID     *int64 `json:"group_id"`
}

// groupCreate is the body of POST /api/v1/list-groups.
type groupCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// membersBody is the body of the bulk membership routes: either contact
// ids or a filter, exactly one of them.
type membersBody struct {
	ContactIDs *[]int64    `json:"contact_ids"`
	Filter     *filterBody `json:"filter"`
}

// listLists answers every list of the workspace.
func (s *server) listLists(w http.ResponseWriter, r *http.Request) {
	lists, err := s.svc.FindLists(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.List]{Data: orEmpty(lists)})
}

// createList stores a new list.
func (s *server) createList(w http.ResponseWriter, r *http.Request) {
	var body listCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	l := &custos.List{Name: body.Name, Description: body.Description, GroupID: body.GroupID}
	if l.GroupID != nil && *l.GroupID <= 0 {
		s.writeError(w, r, custos.Invalid("group_id", "must be the id of a list group"))
		return
	}
	if err := l.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateList(r.Context(), l); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, l)
}

// getList answers one list with its member count.
func (s *server) getList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.svc.FindList(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, l)
}

// updateList changes a list; group_id 0 takes it out of its group.
func (s *server) updateList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u custos.ListUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.GroupID != nil && *u.GroupID < 0 {
		s.writeError(w, r, custos.Invalid("group_id", "must be the id of a list group, or 0 for none"))
		return
	}
	l, err := s.svc.UpdateList(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, l)
}

// deleteList removes a list and its memberships.
func (s *server) deleteList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteList(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// addMembers subscribes contacts, named or selected by a filter, to a list;
// a filter skips the contacts whose processing is restricted.
func (s *server) addMembers(w http.ResponseWriter, r *http.Request) {
	s.changeMembers(w, r, true)
}

// removeMembers unsubscribes contacts, named or selected by a filter, from
// a list.
func (s *server) removeMembers(w http.ResponseWriter, r *http.Request) {
	s.changeMembers(w, r, false)
}

// changeMembers is the body of addMembers and removeMembers, which differ
// only in the service methods they call.
func (s *server) changeMembers(w http.ResponseWriter, r *http.Request, add bool) {
	id, err := pathID(r, "id", "list")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body membersBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	var n, skipped int64
	switch {
	case body.ContactIDs != nil && body.Filter != nil:
		s.writeError(w, r, custos.Invalid("filter", "give contact_ids or filter, not both"))
		return
	case body.ContactIDs != nil:
		ids := *body.ContactIDs
		if len(ids) > custos.MaxBulkIDs {
			s.writeError(w, r, &custos.Error{Code: custos.ETOOMANY, Field: "contact_ids",
				Message: fmt.Sprintf("at most %d contact ids in one request; use a filter for more", custos.MaxBulkIDs)})
			return
		}
		for _, cid := range ids {
			if cid <= 0 {
				s.writeError(w, r, custos.Invalid("contact_ids", "must hold positive integers"))
				return
			}
		}
		if add {
			n, err = s.svc.AddMembers(r.Context(), id, ids)
		} else {
			n, err = s.svc.RemoveMembers(r.Context(), id, ids)
		}
	case body.Filter != nil:
		f, fErr := body.Filter.contactFilter("filter")
		if fErr != nil {
			s.writeError(w, r, fErr)
			return
		}
		if fErr := s.checkFilterAccess(r.Context(), f, "filter."); fErr != nil {
			s.writeError(w, r, fErr)
			return
		}
		if add {
			n, skipped, err = s.svc.AddMembersByFilter(r.Context(), id, f)
		} else {
			n, err = s.svc.RemoveMembersByFilter(r.Context(), id, f)
		}
	default:
		s.writeError(w, r, custos.Invalid("contact_ids", "give contact_ids or filter"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, affectedBody{Affected: n, Skipped: skipped})
}

// addMember subscribes one contact to a list; it is idempotent.
func (s *server) addMember(w http.ResponseWriter, r *http.Request) {
	s.changeMember(w, r, s.svc.AddMembers)
}

// removeMember unsubscribes one contact from a list; it is idempotent.
func (s *server) removeMember(w http.ResponseWriter, r *http.Request) {
	s.changeMember(w, r, s.svc.RemoveMembers)
}

// changeMember is the body of addMember and removeMember. The contact is
// looked up first so that one of another workspace, or none, is 404 like
// any object in a path.
func (s *server) changeMember(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, listID int64, ids []int64) (int64, error),
) {
	listID, err := pathID(r, "id", "list")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	contactID, err := pathID(r, "contact_id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.svc.FindContactByID(r.Context(), contactID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := change(r.Context(), listID, []int64{contactID}); err != nil {
		if e := custos.AsError(err); e != nil && e.Field == "contact_ids" {
			// The contact is named in the path, not in a body.
			c := *e
			c.Field = "contact_id"
			err = &c
		}
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}

// listListGroups answers every list group of the workspace.
func (s *server) listListGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := s.svc.FindListGroups(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.ListGroup]{Data: orEmpty(groups)})
}

// createListGroup stores a new list group.
func (s *server) createListGroup(w http.ResponseWriter, r *http.Request) {
	var body groupCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	g := &custos.ListGroup{Name: body.Name, Description: body.Description}
	if err := g.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateListGroup(r.Context(), g); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, g)
}

// getListGroup answers one list group.
func (s *server) getListGroup(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list group")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.svc.FindListGroup(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, g)
}

// updateListGroup changes a list group.
func (s *server) updateListGroup(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list group")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u custos.ListGroupUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.svc.UpdateListGroup(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, g)
}

// deleteListGroup removes a list group; its lists stay, ungrouped.
func (s *server) deleteListGroup(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "list group")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteListGroup(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
