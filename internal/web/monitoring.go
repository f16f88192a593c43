package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// monitoringBody is the body of PUT /api/v1/contacts/{id}/monitoring.
type monitoringBody struct {
	Enabled *bool `json:"enabled"`
}

// setMonitoring switches the contact's monitoring off or on.
func (s *server) setMonitoring(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body monitoringBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Enabled == nil {
		s.writeError(w, r, custos.Invalid("enabled", "is required: true or false"))
		return
	}
	st, err := s.svc.SetMonitoring(r.Context(), id, *body.Enabled)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}
