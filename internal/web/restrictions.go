package web

import (
	"context"
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// reasonBody is the body of POST and DELETE
// /api/v1/contacts/{id}/restriction: why the contact's processing is
// restricted, or why the restriction is lifted.
type reasonBody struct {
	Reason string `json:"reason"`
}

// restrictContact restricts the contact's processing (GDPR Art. 18).
func (s *server) restrictContact(w http.ResponseWriter, r *http.Request) {
	s.changeRestriction(w, r, http.StatusCreated, s.svc.RestrictContact)
}

// liftRestriction lifts the contact's restriction of processing.
func (s *server) liftRestriction(w http.ResponseWriter, r *http.Request) {
	s.changeRestriction(w, r, http.StatusOK, s.svc.LiftRestriction)
}

// changeRestriction is the body of restrictContact and liftRestriction,
// which differ only in the service method they call and the status of
// their answer.
func (s *server) changeRestriction(w http.ResponseWriter, r *http.Request, status int,
	change func(ctx context.Context, id int64, reason string) (*custos.Restriction, error),
) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body reasonBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	reason, err := custos.NormalizeReason(body.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := change(r.Context(), id, reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, status, res)
}

// contactRestrictions answers the contact's restrictions, newest first.
func (s *server) contactRestrictions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, err := s.svc.ContactRestrictions(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Restriction]{Data: orEmpty(rs)})
}
