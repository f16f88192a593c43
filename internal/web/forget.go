package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// forgetContact forgets a contact: erase or anonymize (GDPR Art. 17).
func (s *server) forgetContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body custos.ForgetRequest
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := body.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.svc.ForgetContact(r.Context(), id, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, t)
}
