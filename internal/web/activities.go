package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// activityCreate is the body of POST /api/v1/contacts/{id}/activities.
type activityCreate struct {
	Type     string  `json:"type"`
	Title    string  `json:"title"`
	Body     string  `json:"body"`
	DueAt    *string `json:"due_at"`
	Done     bool    `json:"done"`
	Value    string  `json:"value"`
	Currency string  `json:"currency"`
	Stage    string  `json:"stage"`
}

// activityPatch is the body of PATCH /api/v1/contacts/{id}/activities/{activity_id}.
type activityPatch struct {
	Title    *string `json:"title"`
	Body     *string `json:"body"`
	DueAt    *string `json:"due_at"`
	Done     *bool   `json:"done"`
	Value    *string `json:"value"`
	Currency *string `json:"currency"`
	Stage    *string `json:"stage"`
}

// activityPath reads the contact and activity ids of the path.
func activityPath(r *http.Request) (contactID, id int64, err error) {
	if contactID, err = pathID(r, "id", "contact"); err != nil {
		return 0, 0, err
	}
	id, err = pathID(r, "activity_id", "activity")
	return contactID, id, err
}

// listActivities answers a page of the contact's activities, newest first.
func (s *server) listActivities(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	before, limit, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acts, next, err := s.svc.ContactActivities(r.Context(), id, before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.Activity]{Data: orEmpty(acts), NextCursor: encodeCursor(next)})
}

// createActivity stores a new activity of the contact.
func (s *server) createActivity(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body activityCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	a := &custos.Activity{Type: body.Type, Title: body.Title, Body: body.Body, Done: body.Done,
		Value: body.Value, Currency: body.Currency, Stage: body.Stage}
	if a.DueAt, err = parseTime("due_at", body.DueAt); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := a.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateActivity(r.Context(), id, a); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, a)
}

// getActivity answers one activity of the contact.
func (s *server) getActivity(w http.ResponseWriter, r *http.Request) {
	contactID, id, err := activityPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.svc.FindActivity(r.Context(), contactID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, a)
}

// updateActivity changes what the body names, such as marking a task done.
func (s *server) updateActivity(w http.ResponseWriter, r *http.Request) {
	contactID, id, err := activityPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body activityPatch
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := custos.ActivityUpdate{Title: body.Title, Body: body.Body, Done: body.Done, Value: body.Value, Currency: body.Currency, Stage: body.Stage}
	if u.DueAt, err = parseTime("due_at", body.DueAt); err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.Empty() {
		s.writeError(w, r, custos.Errorf(custos.EINVALID, "The body names nothing to change."))
		return
	}
	a, err := s.svc.UpdateActivity(r.Context(), contactID, id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, a)
}

// deleteActivity removes an activity of the contact.
func (s *server) deleteActivity(w http.ResponseWriter, r *http.Request) {
	contactID, id, err := activityPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteActivity(r.Context(), contactID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
