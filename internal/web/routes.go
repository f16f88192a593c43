// Package web is the HTTP face of Custos: the JSON API under /api/v1, on the
// standard library's ServeMux. Every route is in one table, in routes.go;
// each handler parses its input, the table's permission authorises it,
// then it validates, calls the domain and responds.
package web

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/custos/custos/internal/custos"
)

// permPublic marks a route that needs no credentials. A route must say so
// explicitly: a route with no permission at all is refused to everyone.
const permPublic custos.Permission = "public"

// route is one line of the route table.
type route struct {
	method     string
	pattern    string
	permission custos.Permission
	handler    http.HandlerFunc
}

// routes is the route table: every route the server answers.
func (s *server) routes() []route {
	return []route{
		{"GET", "/healthz", permPublic, s.healthz},
		{"GET", "/api/v1/openapi.json", permPublic, s.openAPI},

		{"GET", "/api/v1/fields", custos.PermContactsRead, s.listFields},
		{"POST", "/api/v1/fields", custos.PermFieldsManage, s.createField},
		{"GET", "/api/v1/fields/{key}", custos.PermContactsRead, s.getField},
		{"PATCH", "/api/v1/fields/{key}", custos.PermFieldsManage, s.updateField},
		{"DELETE", "/api/v1/fields/{key}", custos.PermFieldsManage, s.deleteField},

		{"GET", "/api/v1/contacts", custos.PermContactsRead, s.listContacts},
		{"POST", "/api/v1/contacts", custos.PermContactsWrite, s.createContact},
		{"GET", "/api/v1/contacts/export.csv", custos.PermExport, s.exportContactsCSV},
		{"GET", "/api/v1/contacts/{id}", custos.PermContactsRead, s.getContact},
		{"PATCH", "/api/v1/contacts/{id}", custos.PermContactsWrite, s.updateContact},
		{"GET", "/api/v1/contacts/{id}/history", custos.PermPersonalDataRead, s.contactHistory},
		{"GET", "/api/v1/contacts/{id}/lists", custos.PermContactsRead, s.contactLists},
		{"POST", "/api/v1/contacts/{id}/forget", custos.PermForget, s.forgetContact},
		{"GET", "/api/v1/contacts/{id}/export", custos.PermExport, s.exportContact},
		{"POST", "/api/v1/contacts/{id}/restriction", custos.PermContactsRestrict, s.restrictContact},
		{"DELETE", "/api/v1/contacts/{id}/restriction", custos.PermContactsRestrict, s.liftRestriction},
		{"GET", "/api/v1/contacts/{id}/restrictions", custos.PermPersonalDataRead, s.contactRestrictions},

		// Activities, attachments, the timeline, monitoring and tracking.
		{"GET", "/api/v1/contacts/{id}/activities", custos.PermPersonalDataRead, s.listActivities},
		{"POST", "/api/v1/contacts/{id}/activities", custos.PermContactsWrite, s.createActivity},
		{"GET", "/api/v1/contacts/{id}/activities/{activity_id}", custos.PermPersonalDataRead, s.getActivity},
		{"PATCH", "/api/v1/contacts/{id}/activities/{activity_id}", custos.PermContactsWrite, s.updateActivity},
		{"DELETE", "/api/v1/contacts/{id}/activities/{activity_id}", custos.PermContactsWrite, s.deleteActivity},
		{"GET", "/api/v1/contacts/{id}/attachments", custos.PermPersonalDataRead, s.listAttachments},
		{"POST", "/api/v1/contacts/{id}/attachments", custos.PermContactsWrite, s.uploadAttachment},
		{"GET", "/api/v1/contacts/{id}/attachments/{attachment_id}", custos.PermPersonalDataRead, s.downloadAttachment},
		{"DELETE", "/api/v1/contacts/{id}/attachments/{attachment_id}", custos.PermContactsWrite, s.deleteAttachment},
		{"GET", "/api/v1/contacts/{id}/timeline", custos.PermContactsRead, s.contactTimeline},
		{"PUT", "/api/v1/contacts/{id}/monitoring", custos.PermConsentsWrite, s.setMonitoring},
		{"POST", "/api/v1/events", custos.PermContactsWrite, s.recordEvent},
		{"GET", "/api/v1/tracking/stats", custos.PermContactsRead, s.trackingStats},
		// The tracking pixel of e-mail opens: the HMAC-signed token is the
		// credential; it only records, and always answers the same GIF.
		{"GET", "/t/{token}", permPublic, s.trackingPixel},

		{"GET", "/api/v1/contacts/{id}/consents", custos.PermContactsRead, s.contactConsents},
		{"POST", "/api/v1/contacts/{id}/consents", custos.PermConsentsWrite, s.recordConsent},
		{"GET", "/api/v1/contacts/{id}/permissions", custos.PermContactsRead, s.contactPermission},
		{"POST", "/api/v1/contacts/{id}/objection", custos.PermConsentsWrite, s.objectToMarketing},
		{"POST", "/api/v1/consents/bulk", custos.PermConsentsWrite, s.recordConsentBulk},

		{"GET", "/api/v1/lists", custos.PermContactsRead, s.listLists},
		{"POST", "/api/v1/lists", custos.PermListsManage, s.createList},
		{"GET", "/api/v1/lists/{id}", custos.PermContactsRead, s.getList},
		{"PATCH", "/api/v1/lists/{id}", custos.PermListsManage, s.updateList},
		{"DELETE", "/api/v1/lists/{id}", custos.PermListsManage, s.deleteList},
		{"POST", "/api/v1/lists/{id}/members", custos.PermListsManage, s.addMembers},
		{"POST", "/api/v1/lists/{id}/members/remove", custos.PermListsManage, s.removeMembers},
		{"PUT", "/api/v1/lists/{id}/members/{contact_id}", custos.PermListsManage, s.addMember},
		{"DELETE", "/api/v1/lists/{id}/members/{contact_id}", custos.PermListsManage, s.removeMember},

		{"GET", "/api/v1/list-groups", custos.PermContactsRead, s.listListGroups},
		{"POST", "/api/v1/list-groups", custos.PermListsManage, s.createListGroup},
		{"GET", "/api/v1/list-groups/{id}", custos.PermContactsRead, s.getListGroup},
		{"PATCH", "/api/v1/list-groups/{id}", custos.PermListsManage, s.updateListGroup},
		{"DELETE", "/api/v1/list-groups/{id}", custos.PermListsManage, s.deleteListGroup},

		{"GET", "/api/v1/purposes", custos.PermContactsRead, s.listPurposes},
		{"POST", "/api/v1/purposes", custos.PermPurposesManage, s.createPurpose},
		{"GET", "/api/v1/purposes/{id}", custos.PermContactsRead, s.getPurpose},
		{"PATCH", "/api/v1/purposes/{id}", custos.PermPurposesManage, s.updatePurpose},
		{"GET", "/api/v1/purposes/{id}/versions", custos.PermContactsRead, s.purposeVersions},

		{"GET", "/api/v1/notices", custos.PermContactsRead, s.listNotices},
		{"POST", "/api/v1/notices", custos.PermPurposesManage, s.createNotice},
		{"GET", "/api/v1/notices/{hash}", custos.PermContactsRead, s.getNotice},

		{"GET", "/api/v1/processors", custos.PermContactsRead, s.listProcessors},
		{"POST", "/api/v1/processors", custos.PermSettingsManage, s.createProcessor},
		{"GET", "/api/v1/processors/{id}", custos.PermContactsRead, s.getProcessor},
		{"PATCH", "/api/v1/processors/{id}", custos.PermSettingsManage, s.updateProcessor},
		{"DELETE", "/api/v1/processors/{id}", custos.PermSettingsManage, s.deleteProcessor},

		{"GET", "/api/v1/audit", custos.PermAuditRead, s.listAudit},
		{"GET", "/api/v1/audit/verify", custos.PermAuditRead, s.verifyAudit},

		{"GET", "/api/v1/dsr-requests", custos.PermRequestsManage, s.listDSRRequests},
		{"POST", "/api/v1/dsr-requests", custos.PermRequestsManage, s.createDSRRequest},
		{"GET", "/api/v1/dsr-requests/{id}", custos.PermRequestsManage, s.getDSRRequest},
		{"POST", "/api/v1/dsr-requests/{id}/extension", custos.PermRequestsManage, s.extendDSRRequest},
		{"POST", "/api/v1/dsr-requests/{id}/notes", custos.PermRequestsManage, s.addDSRNote},
		{"POST", "/api/v1/dsr-requests/{id}/verification", custos.PermRequestsManage, s.sendDSRVerification},
		{"POST", "/api/v1/dsr-requests/{id}/execute", custos.PermRequestsManage, s.executeDSRRequest},
		{"GET", "/api/v1/dsr-requests/{id}/answer", custos.PermRequestsManage, s.dsrAnswer},
		{"POST", "/api/v1/dsr-requests/{id}/complete", custos.PermRequestsManage, s.completeDSRRequest},
		{"POST", "/api/v1/dsr-requests/{id}/reject", custos.PermRequestsManage, s.rejectDSRRequest},

		{"GET", "/api/v1/imports", custos.PermContactsRead, s.listImports},
		{"POST", "/api/v1/imports", custos.PermImport, s.createImport},
		{"GET", "/api/v1/imports/{id}", custos.PermContactsRead, s.getImport},

		// Public pages: the subject confirms a request from the link mailed
		// to them. The token is the credential; GET changes nothing.
		{"GET", "/dsr/verify/{token}", permPublic, s.dsrVerifyPage},
		{"POST", "/dsr/verify/{token}", permPublic, s.dsrVerifyConfirm},

		// The preference centre (prefs.go): the person's own page, by the
		// link every mail to them carries. The token is the credential; GET
		// changes nothing; every change is a form POST under the token.
		{"GET", "/p/request", permPublic, s.prefsRequestForm},
		{"POST", "/p/request", permPublic, s.prefsRequestLink},
		{"GET", "/p/{token}", permPublic, s.prefsShow},
		{"POST", "/p/{token}/consents", permPublic, s.prefsConsent},
		{"POST", "/p/{token}/objection", permPublic, s.prefsObjection},
		{"POST", "/p/{token}/lists", permPublic, s.prefsList},
		{"POST", "/p/{token}/export", permPublic, s.prefsExport},
		{"POST", "/p/{token}/erasure", permPublic, s.prefsErasure},
		// Staff sign-in. The pages are public: the form is the credential.
		// The /api/v1/me routes act on the caller's own account.
		{"GET", "/login", permPublic, s.loginPage},
		{"POST", "/login", permPublic, s.loginSubmit},
		{"POST", "/login/2fa", permPublic, s.loginCode},
		{"POST", "/logout", permPublic, s.logout},
		{"GET", "/login/reset", permPublic, s.resetRequestPage},
		{"POST", "/login/reset", permPublic, s.resetRequest},
		{"GET", "/login/reset/{token}", permPublic, s.resetPage},
		{"POST", "/login/reset/{token}", permPublic, s.resetSubmit},
		{"GET", "/api/v1/me", permSignedIn, s.getMe},
		{"POST", "/api/v1/me/password", permSignedIn, s.changePassword},
		{"GET", "/api/v1/me/logins", permSignedIn, s.myLogins},
		{"GET", "/api/v1/me/sessions", permSignedIn, s.mySessions},
		{"DELETE", "/api/v1/me/sessions/{id}", permSignedIn, s.endMySession},
		{"POST", "/api/v1/me/totp", permSignedIn, s.beginTOTP},
		{"POST", "/api/v1/me/totp/confirm", permSignedIn, s.confirmTOTP},
		{"POST", "/api/v1/me/totp/disable", permSignedIn, s.disableTOTP},
		{"PUT", "/api/v1/me/email-2fa", permSignedIn, s.setEmail2FA},
		{"GET", "/api/v1/users", custos.PermUsersManage, s.listUsers},
		{"POST", "/api/v1/users", custos.PermUsersManage, s.createUser},
		{"GET", "/api/v1/users/{id}", custos.PermUsersManage, s.getUser},
		{"PATCH", "/api/v1/users/{id}", custos.PermUsersManage, s.updateUser},
		{"POST", "/api/v1/users/{id}/invitation", custos.PermUsersManage, s.inviteUser},
		{"GET", "/api/v1/users/{id}/sessions", custos.PermUsersManage, s.userSessions},
		{"DELETE", "/api/v1/users/{id}/sessions", custos.PermUsersManage, s.endUserSessions},
		{"DELETE", "/api/v1/users/{id}", custos.PermUsersManage, s.deleteUser},
		{"GET", "/api/v1/roles", custos.PermUsersManage, s.listRoles},
		{"POST", "/api/v1/roles", custos.PermUsersManage, s.createRole},
		{"GET", "/api/v1/roles/{name}", custos.PermUsersManage, s.getRole},
		{"PATCH", "/api/v1/roles/{name}", custos.PermUsersManage, s.updateRole},
		{"DELETE", "/api/v1/roles/{name}", custos.PermUsersManage, s.deleteRole},
		{"GET", "/api/v1/api-keys", custos.PermUsersManage, s.listAPIKeys},
		{"POST", "/api/v1/api-keys", custos.PermUsersManage, s.createAPIKey},
		{"DELETE", "/api/v1/api-keys/{id}", custos.PermUsersManage, s.revokeAPIKey},
		{"GET", "/api/v1/logins", custos.PermAuditRead, s.listLogins},
		{"GET", "/api/v1/settings/security", custos.PermSettingsManage, s.getSecuritySettings},
		{"PUT", "/api/v1/settings/security", custos.PermSettingsManage, s.putSecuritySettings},
		// Sign-up forms and double opt-in. The public routes take no
		// credentials: a submission makes only a pending sign-up, and the
		// confirmation link's token is the credential; GET changes nothing.
		{"GET", "/api/v1/forms", custos.PermFormsManage, s.listForms},
		{"POST", "/api/v1/forms", custos.PermFormsManage, s.createForm},
		{"GET", "/api/v1/forms/{id}", custos.PermFormsManage, s.getForm},
		{"PATCH", "/api/v1/forms/{id}", custos.PermFormsManage, s.updateForm},
		{"DELETE", "/api/v1/forms/{id}", custos.PermFormsManage, s.archiveForm},
		{"GET", "/api/v1/forms/{id}/versions", custos.PermFormsManage, s.formVersions},
		{"GET", "/api/v1/forms/{id}/embed", custos.PermFormsManage, s.formEmbed},
		{"GET", "/f/{form}", permPublic, s.showForm},
		{"POST", "/f/{form}", permPublic, s.submitFormHTML},
		{"POST", "/api/public/forms/{form}/submissions", permPublic, s.submitFormJSON},
		{"GET", "/confirm/{token}", permPublic, s.confirmPage},
		{"POST", "/confirm/{token}", permPublic, s.confirmSignup},
		{"GET", "/api/v1/overview", custos.PermContactsRead, s.getOverview},
		{"PUT", "/api/v1/me/language", permSignedIn, s.setLanguage},
		// Each caller's own saved filters of the contacts list.
		{"GET", "/api/v1/saved-filters", custos.PermContactsRead, s.listSavedFilters},
		{"POST", "/api/v1/saved-filters", custos.PermContactsRead, s.createSavedFilter},
		{"DELETE", "/api/v1/saved-filters/{id}", custos.PermContactsRead, s.deleteSavedFilter},

		// The admin pages (ui.go): every GET route outside /api/ that needs
		// credentials. They change nothing; their forms call the API.
		{"GET", "/assets/{file...}", permPublic, s.assets},
		// The contact card (ui_card.go), and the form of a new contact.
		{"GET", "/contacts/new", custos.PermContactsWrite, s.newContactPage},
		{"GET", "/contacts/{id}", custos.PermContactsRead, s.contactPage},
		{"GET", "/{$}", permSignedIn, s.dashboardPage},
		{"GET", "/account", permSignedIn, s.accountPage},
		// Configuration pages (ui_config.go).
		{"GET", "/fields", custos.PermContactsRead, s.fieldsPage},
		{"GET", "/purposes", custos.PermContactsRead, s.purposesPage},
		{"GET", "/purposes/{id}", custos.PermContactsRead, s.purposePage},
		{"GET", "/lists", custos.PermContactsRead, s.listsPage},
		{"GET", "/notices", custos.PermContactsRead, s.noticesPage},
		{"GET", "/notices/{hash}", custos.PermContactsRead, s.noticePage},
		{"GET", "/imports", custos.PermContactsRead, s.importsPage},
		{"GET", "/imports/{id}", custos.PermContactsRead, s.importPage},
		{"GET", "/forms", custos.PermFormsManage, s.formsPage},
		{"GET", "/forms/{id}", custos.PermFormsManage, s.formPage},
		{"GET", "/contacts", custos.PermContactsRead, s.contactsPage},
		{"GET", "/requests", custos.PermRequestsManage, s.requestsPage},
		{"GET", "/requests/{id}", custos.PermRequestsManage, s.requestPage},
		{"GET", "/audit", custos.PermAuditRead, s.auditPage},
		{"GET", "/logins", custos.PermAuditRead, s.loginsPage},
		{"GET", "/users", custos.PermUsersManage, s.usersPage},
		{"GET", "/users/{id}", custos.PermUsersManage, s.userPage},
		{"GET", "/settings/security", custos.PermSettingsManage, s.securityPage},
		{"GET", "/roles", custos.PermUsersManage, s.rolesPage},
		{"GET", "/api-keys", custos.PermUsersManage, s.apiKeysPage},
	}
}

// server holds what the handlers share.
type server struct {
	svc      custos.Service
	log      *slog.Logger
	mux      *http.ServeMux
	exporter *Exporter
	pages    *template.Template
	// crossOrigin guards the public pages' forms.
	crossOrigin *http.CrossOriginProtection
	// mailer sends verification links; nil refuses to send them.
	mailer custos.Mailer
	// baseURL is the public address links in mails point at.
	baseURL string
	// prefs is what the preference centre keeps (prefs.go).
	prefs *prefsState
	// login is the staff sign-in page.
	login *template.Template
	// trusted are the reverse proxies whose X-Forwarded-For is believed.
	trusted []netip.Prefix
	// mails are the password reset mails on their way.
	mails sync.WaitGroup
	// Sign-up forms: their page templates, the addresses a form may send
	// a browser to after submitting, the per-IP limit of submissions and
	// how long a confirmation link works.
	formPages     *template.Template
	formRedirects []string
	signupIPs     *rateLimit
	signupTTL     time.Duration
	// importer runs uploaded imports; nil refuses uploads.
	importer Importer
	// The admin pages: their templates by name, their menu and their
	// static files.
	ui         map[string]*template.Template
	nav        []navItem
	assetFiles http.Handler
}

// Option configures the server beyond its service and logger.
type Option func(*server)

// WithMailer sets what sends the mails the server sends (verification
// links of data-subject requests). Without one, sending answers 503.
func WithMailer(m custos.Mailer) Option { return func(s *server) { s.mailer = m } }

// WithBaseURL sets the public address, such as https://crm.example.com,
// that links in mails point at. It is configured, never taken from a
// request's Host header, which a client chooses.
func WithBaseURL(u string) Option {
	return func(s *server) { s.baseURL = strings.TrimRight(u, "/") }
}

// NewHandler returns the HTTP handler of the whole server.
func NewHandler(svc custos.Service, log *slog.Logger, opts ...Option) http.Handler {
	return newServer(svc, log, opts...)
}

// newServer builds the server and registers the route table on its mux.
func newServer(svc custos.Service, log *slog.Logger, opts ...Option) *server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{svc: svc, log: log, mux: http.NewServeMux(), exporter: NewExporter(), pages: parsePages(),
		crossOrigin: http.NewCrossOriginProtection(), login: parseLogin(),
		formPages: parseFormPages(), signupIPs: newRateLimit(5, time.Minute)}
	s.prefs = newPrefsState()
	s.ui, s.assetFiles = parseUI(), assetHandler()
	for _, o := range opts {
		o(s)
	}
	pages := map[string]bool{}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.guard(rt))
		if isPage(rt) {
			pages[strings.TrimSuffix(rt.pattern, "{$}")] = true
		}
	}
	for _, n := range navigation {
		if pages[n.Href] {
			s.nav = append(s.nav, n)
		}
	}
	return s
}

// ServeHTTP sets the headers every answer carries and serves the request
// from the mux, answering in JSON where the mux itself would answer a
// request no route takes (404, 405) in plain text.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")

	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No route matched, so the mux would answer itself: catch what it
	// would say and put it in our words.
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		s.writeError(w, r, custos.Errorf(custos.ENOTFOUND, "No such route: %s %s.", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Get("Allow"); allow != "" {
			h.Set("Allow", allow)
		}
		s.writeError(w, r, custos.Errorf(custos.ENOTALLOWED, "The method %s is not allowed on %s.", r.Method, r.URL.Path))
	default:
		// A redirect to the canonical path, or the like: pass it on.
		for k, v := range rec.header {
			h[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// recorder is a ResponseWriter that keeps what the mux answers by itself.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header returns the header map of the recorded answer.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader records the status.
func (r *recorder) WriteHeader(status int) { r.status = status }

// Write records the body.
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// healthz answers that the server is up.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}
