package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// purposeCreate is the body of POST /api/v1/purposes.
type purposeCreate struct {
	Name           string               `json:"name"`
	Description    string               `json:"description"`
	LegalBasis     custos.LegalBasis    `json:"legal_basis"`
	RetentionDays  int                  `json:"retention_days"`
	RetentionFrom  custos.RetentionFrom `json:"retention_from"`
	Channel        string               `json:"channel"`
	Unsubscribable bool                 `json:"unsubscribable"`
	Marketing      bool                 `json:"marketing"`
}

// listPurposes answers the current version of every purpose.
func (s *server) listPurposes(w http.ResponseWriter, r *http.Request) {
	purposes, err := s.svc.FindPurposes(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Purpose]{Data: orEmpty(purposes)})
}

// createPurpose stores version 1 of a new purpose.
func (s *server) createPurpose(w http.ResponseWriter, r *http.Request) {
	var body purposeCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := &custos.Purpose{
		Name:           body.Name,
		Description:    body.Description,
		LegalBasis:     body.LegalBasis,
		RetentionDays:  body.RetentionDays,
		RetentionFrom:  body.RetentionFrom,
		Channel:        body.Channel,
		Unsubscribable: body.Unsubscribable,
		Marketing:      body.Marketing,
	}
	if err := p.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreatePurpose(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, p)
}

// getPurpose answers the current version of a purpose.
func (s *server) getPurpose(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "purpose")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.FindPurpose(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

// updatePurpose stores a new version of a purpose and answers it.
func (s *server) updatePurpose(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "purpose")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u custos.PurposeUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.UpdatePurpose(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

// purposeVersions answers every version of a purpose, oldest first.
func (s *server) purposeVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "purpose")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	versions, err := s.svc.PurposeVersions(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Purpose]{Data: orEmpty(versions)})
}
