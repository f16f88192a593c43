package web

import (
	"net"
	"net/http"
	"strconv"
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
		req := auditedRequest(r)
		r = r.WithContext(custos.WithRequest(custos.WithActor(r.Context(), actor), req))
		if p, personal := personalReads[rt.method+" "+rt.pattern]; personal && (p == "" || actor.Can(p)) {
			s.auditRead(w, r, req, rt.handler)
			return
		}
		rt.handler(w, r)
	})
}

// personalReads are the routes whose answers hold personal data, each
// with the permission without which the data is masked ("": always
// personal). A successful read is audited before it is answered.
var personalReads = map[string]custos.Permission{
	"GET /api/v1/contacts":                                  custos.PermPersonalDataRead,
	"GET /api/v1/contacts/{id}":                             custos.PermPersonalDataRead,
	"GET /api/v1/contacts/{id}/history":                     "",
	"GET /api/v1/contacts/{id}/restrictions":                "",
	"GET /api/v1/contacts/{id}/consents":                    custos.PermPersonalDataRead,
	"GET /api/v1/contacts/{id}/export":                      "", // audited by the export itself
	"GET /api/v1/contacts/{id}/activities":                  "",
	"GET /api/v1/contacts/{id}/activities/{activity_id}":    "",
	"GET /api/v1/contacts/{id}/attachments":                 "",
	"GET /api/v1/contacts/{id}/attachments/{attachment_id}": "",
	"GET /api/v1/contacts/{id}/timeline":                    custos.PermPersonalDataRead,
	"GET /api/v1/dsr-requests":                              "",
	"GET /api/v1/dsr-requests/{id}":                         "",
	"GET /api/v1/dsr-requests/{id}/answer":                  "",
}

// auditRead serves a read of personal data into a buffer and answers it
// only once the read is audited; a failed read is not audited, and an
// audit entry that cannot be written fails the read.
func (s *server) auditRead(w http.ResponseWriter, r *http.Request, req *custos.Request, h http.HandlerFunc) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h(rec, r)
	if rec.status < 300 && !req.Audited() {
		if err := s.svc.AuditRead(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// auditedRequest describes r for the audit log: method, route pattern,
// client address and the contact its path names. The store writes it
// with every change the request makes.
func auditedRequest(r *http.Request) *custos.Request {
	req := &custos.Request{Method: r.Method, Route: r.Pattern[strings.IndexByte(r.Pattern, ' ')+1:], IP: r.RemoteAddr}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.IP = host
	}
	contact := r.PathValue("contact_id")
	if contact == "" && strings.HasPrefix(req.Route, "/api/v1/contacts/{id}") {
		contact = r.PathValue("id")
	}
	if id, err := strconv.ParseInt(contact, 10, 64); err == nil && id > 0 {
		req.ContactID = id
	}
	return req
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
