package web

import (
	"net/http"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// guard wraps a route's handler with its authentication and authorisation:
// the Bearer API key must be live and its role must grant the route's
// permission. A route without a permission is refused to every caller.
func (s *server) guard(rt route) http.Handler {
	if rt.permission == permPublic {
		return rt.handler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.authenticate(r)
		if err != nil {
			if custos.ErrorCode(err) == custos.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos"`)
			}
			s.writeError(w, r, err)
			return
		}
		if rt.permission == "" || !actor.Can(rt.permission) {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN,
				"This API key's role (%s) lacks the %s permission this route needs.", actor.Role, rt.permission))
			return
		}
		rt.handler(w, r.WithContext(custos.WithActor(r.Context(), actor)))
	})
}

// authenticate returns the actor of the request's Bearer token.
func (s *server) authenticate(r *http.Request) (custos.Actor, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return custos.Actor{}, custos.Errorf(custos.EUNAUTHORIZED, "An API key is required: send Authorization: Bearer <key>.")
	}
	key, err := s.svc.Authenticate(r.Context(), token)
	switch custos.ErrorCode(err) {
	case "":
	case custos.EUNAUTHORIZED, custos.ENOTFOUND, custos.EINVALID:
		// Whatever the store thinks of a bad token, the caller learns only
		// that it is not valid.
		return custos.Actor{}, custos.Errorf(custos.EUNAUTHORIZED, "The API key is not valid.")
	default:
		return custos.Actor{}, err
	}
	if key == nil {
		return custos.Actor{}, custos.Errorf(custos.EINTERNAL, "web: authenticate returned no key")
	}
	return custos.Actor{WorkspaceID: key.WorkspaceID, Kind: custos.ActorAPIKey, ID: key.ID, Role: key.Role}, nil
}
