package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// apiKeyCreate is the body of POST /api/v1/api-keys.
type apiKeyCreate struct {
	Name string      `json:"name"`
	Role custos.Role `json:"role"`
}

// apiKeyCreated answers a new key with its secret, shown only now.
type apiKeyCreated struct {
	*custos.APIKey
	Token string `json:"token"`
}

// listAPIKeys answers the workspace's live keys, never their secrets.
func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.svc.FindAPIKeys(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.APIKey]{Data: orEmpty(keys)})
}

// createAPIKey makes a key of a role that grants nothing the caller
// lacks, and answers its secret once.
func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var b apiKeyCreate
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	k := &custos.APIKey{Name: b.Name, Role: b.Role}
	token, err := s.svc.CreateAPIKey(r.Context(), k)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, apiKeyCreated{APIKey: k, Token: token})
}

// revokeAPIKey revokes a key at once.
func (s *server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.RevokeAPIKey(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
