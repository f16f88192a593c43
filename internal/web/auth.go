package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// permSignedIn marks a route for any authenticated caller, about
// themselves (/api/v1/me…): the handler refuses an actor that is no user.
const permSignedIn custos.Permission = "signed_in"

// restrictedRoutes are what a session may reach while its user must first
// change the password or enrol a second factor.
var restrictedRoutes = map[string][]string{
	custos.RestrictPasswordChange: {"GET /api/v1/me", "POST /api/v1/me/password", "GET /account"},
	custos.RestrictEnrol2FA: {"GET /api/v1/me", "POST /api/v1/me/totp", "POST /api/v1/me/totp/confirm", "PUT /api/v1/me/email-2fa",
		"POST /api/v1/me/password", "GET /account"},
}

// guard wraps a route's handler with its authentication and authorisation:
// a Bearer API key, or a browser's session cookie (whose requests must pass
// the cross-origin check), from an address the allowlists admit, with a
// role that grants the route's permission. A route without a permission is
// refused to every caller.
func (s *server) guard(rt route) http.Handler {
	if rt.permission == permPublic {
		return rt.handler
	}
	op := rt.method + " " + rt.pattern
	fail := s.writeError
	if isPage(rt) {
		fail = s.pageError
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, restricted, err := s.authenticate(r)
		if err != nil {
			if custos.ErrorCode(err) == custos.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos"`)
			}
			fail(w, r, err)
			return
		}
		ctx := custos.WithActor(r.Context(), actor)
		// A session's address was checked with the session.
		if actor.Kind != custos.ActorUser {
			if err := s.svc.CheckIP(ctx, s.clientIP(r)); err != nil {
				fail(w, r, err)
				return
			}
		}
		if restricted != "" && !slices.Contains(restrictedRoutes[restricted], op) {
			msg := "You must change your password before anything else."
			if restricted == custos.RestrictEnrol2FA {
				msg = "This workspace requires two-factor sign-in: enrol an authenticator before anything else."
			}
			fail(w, r, &custos.Error{Code: custos.EFORBIDDEN, Field: restricted, Message: msg})
			return
		}
		if rt.permission == permSignedIn && actor.Kind != custos.ActorUser {
			fail(w, r, custos.Errorf(custos.EFORBIDDEN, "This route is for a signed-in user, not an API key."))
			return
		}
		if rt.permission == "" || rt.permission != permSignedIn && !actor.Can(rt.permission) {
			fail(w, r, custos.Errorf(custos.EFORBIDDEN,
				"This role (%s) lacks the %s permission this route needs.", actor.Role, rt.permission))
			return
		}
		req := s.auditedRequest(r)
		r = r.WithContext(custos.WithRequest(ctx, req))
		if p, personal := personalReads[op]; personal && (p == "" || actor.Can(p)) {
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
	"GET /api/v1/contacts/export.csv":                       "",
	"GET /contacts":                                         custos.PermPersonalDataRead,
	"GET /api/v1/contacts/{id}/activities":                  "",
	"GET /api/v1/contacts/{id}/activities/{activity_id}":    "",
	"GET /api/v1/contacts/{id}/attachments":                 "",
	"GET /api/v1/contacts/{id}/attachments/{attachment_id}": "",
	"GET /api/v1/contacts/{id}/timeline":                    custos.PermPersonalDataRead,
	// The contact card, which shows what those routes show.
	"GET /contacts/{id}": custos.PermPersonalDataRead,
	// The audit log opens its entries' sealed diffs for those who may
	// read personal data.
	"GET /api/v1/audit": custos.PermPersonalDataRead,
	"GET /audit":        custos.PermPersonalDataRead,
	// Staff users' data, read by an administrator (one's own, under
	// /api/v1/me, is not audited).
	"GET /api/v1/users":                    "",
	"GET /api/v1/users/{id}":               "",
	"GET /api/v1/users/{id}/sessions":      "",
	"GET /api/v1/logins":                   "",
	"GET /api/v1/dsr-requests":             "",
	"GET /api/v1/dsr-requests/{id}":        "",
	"GET /api/v1/dsr-requests/{id}/answer": "",
	// Admin pages that show the same.
	"GET /requests":      "",
	"GET /requests/{id}": "",
	"GET /logins":        "",
	"GET /users":         "",
	"GET /users/{id}":    "",
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
func (s *server) auditedRequest(r *http.Request) *custos.Request {
	req := &custos.Request{Method: r.Method, Route: r.Pattern[strings.IndexByte(r.Pattern, ' ')+1:], IP: s.clientAddr(r)}
	contact := r.PathValue("contact_id")
	if contact == "" && strings.HasPrefix(req.Route, "/api/v1/contacts/{id}") {
		contact = r.PathValue("id")
	}
	if id, err := strconv.ParseInt(contact, 10, 64); err == nil && id > 0 {
		req.ContactID = id
	}
	return req
}

// authenticate returns the actor of the request's Bearer token or session
// cookie, and what a session is restricted to ("" for none).
func (s *server) authenticate(r *http.Request) (custos.Actor, string, error) {
	if r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			return s.authenticateSession(r, c.Value)
		}
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return custos.Actor{}, "", custos.Errorf(custos.EUNAUTHORIZED, "An API key is required: send Authorization: Bearer <key>, or sign in.")
	}
	key, err := s.svc.Authenticate(r.Context(), token)
	switch custos.ErrorCode(err) {
	case "":
	case custos.EUNAUTHORIZED, custos.ENOTFOUND, custos.EINVALID:
		// Whatever the store thinks of a bad token, the caller learns only
		// that it is not valid.
		return custos.Actor{}, "", custos.Errorf(custos.EUNAUTHORIZED, "The API key is not valid.")
	default:
		return custos.Actor{}, "", err
	}
	if key == nil {
		return custos.Actor{}, "", custos.Errorf(custos.EINTERNAL, "web: authenticate returned no key")
	}
	return custos.Actor{WorkspaceID: key.WorkspaceID, Kind: custos.ActorAPIKey, ID: key.ID, Role: key.Role, Permissions: key.Permissions}, "", nil
}

// authenticateSession returns the actor of a session cookie. The browser
// sends the cookie by itself, so a request another site makes it send is
// refused first (http.CrossOriginProtection). A request marked as
// background polling does not extend the session's idle time.
func (s *server) authenticateSession(r *http.Request, token string) (custos.Actor, string, error) {
	if err := s.crossOrigin.Check(r); err != nil {
		return custos.Actor{}, "", custos.Errorf(custos.EFORBIDDEN, "A cross-site request cannot use the session.")
	}
	auth, err := s.svc.AuthenticateSession(r.Context(), token, s.clientIP(r), r.Header.Get(backgroundHeader) == "")
	if err != nil {
		return custos.Actor{}, "", err
	}
	if auth.Pending {
		return custos.Actor{}, "", custos.Errorf(custos.EUNAUTHORIZED, "The sign-in is not complete.")
	}
	u := auth.User
	return custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role, Permissions: auth.Permissions,
		SessionID: auth.Session.ID}, auth.Restricted, nil
}
