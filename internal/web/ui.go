package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

// The admin pages: server-rendered HTML over the same service as the API.
// A page is a GET route outside /api/ in the route table, with the
// permission it needs; it renders ui/pages/NAME.html inside
// ui/layout.html. Pages change nothing: their forms are sent by
// ui/assets/app.js to the JSON API, whose routes validate, authorise and
// audit every change, so there is one way to change each thing.

//go:embed ui
var uiFiles embed.FS

// uiCSP allows the admin pages their own script and style files and
// nothing inline, so a value that slipped past escaping still cannot run.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// parseUI parses every admin page with the layout; a broken template stops
// the program at start.
func parseUI() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").ParseFS(uiFiles, "ui/layout.html"))
	files, err := fs.Glob(uiFiles, "ui/pages/*.html")
	if err != nil {
		panic(err)
	}
	pages := make(map[string]*template.Template, len(files))
	for _, f := range files {
		pages[strings.TrimSuffix(path.Base(f), ".html")] = template.Must(template.Must(layout.Clone()).ParseFS(uiFiles, f))
	}
	return pages
}

// isPage reports whether a route of the table is an admin page: every
// route that needs credentials and is not under /api/.
func isPage(rt route) bool {
	return rt.permission != permPublic && !strings.HasPrefix(rt.pattern, "/api/")
}

// navItem is an entry of the pages' menu, shown to whoever has its
// permission ("": everyone signed in).
type navItem struct {
	Href, Key  string
	permission custos.Permission
}

// navigation is the menu, in order. An entry whose page is not in the
// route table is left out (see newServer).
var navigation = []navItem{
	{"/", "ui.nav.dashboard", ""},
	{"/contacts", "ui.nav.contacts", custos.PermContactsRead},
	{"/requests", "ui.nav.requests", custos.PermRequestsManage},
	{"/imports", "ui.nav.imports", custos.PermContactsRead},
	{"/forms", "ui.nav.forms", custos.PermFormsManage},
	{"/fields", "ui.nav.fields", custos.PermContactsRead},
	{"/purposes", "ui.nav.purposes", custos.PermContactsRead},
	{"/lists", "ui.nav.lists", custos.PermContactsRead},
	{"/notices", "ui.nav.notices", custos.PermContactsRead},
	{"/users", "ui.nav.users", custos.PermUsersManage},
	{"/roles", "ui.admin.nav.roles", custos.PermUsersManage},
	{"/api-keys", "ui.admin.nav.api_keys", custos.PermUsersManage},
	{"/audit", "ui.nav.audit", custos.PermAuditRead},
	{"/logins", "ui.admin.nav.logins", custos.PermAuditRead},
	{"/settings/security", "ui.nav.security", custos.PermSettingsManage},
	{"/account", "ui.nav.account", ""},
}

// page is what every admin page's template gets: $.Data is the page's
// own; $.T, $.Can and $.Time serve the templates.
type page struct {
	Lang  string
	Title string
	Path  string
	User  *custos.User // nil when no one is signed in (an error page)
	Nav   []navItem
	Data  any
	actor custos.Actor
}

// T returns the message key in the page's language.
func (p *page) T(key string, args ...any) string { return i18n.T(p.Lang, key, args...) }

// Can reports whether the signed-in actor has the permission, so a page
// offers only what its reader may do (the API refuses the rest anyway).
func (p *page) Can(perm string) bool {
	return p.User != nil && p.actor.Can(custos.Permission(perm))
}

// Current reports whether the menu entry href holds the page shown.
func (p *page) Current(href string) bool {
	if href == "/" {
		return p.Path == "/"
	}
	return p.Path == href || strings.HasPrefix(p.Path, href+"/")
}

// Time formats a time for a page, in UTC; the zero time is empty.
func (p *page) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Date formats the day of a time, in UTC.
func (p *page) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// newPage returns the page frame of the request: its reader, language and
// menu. The title is a catalog key.
func (s *server) newPage(r *http.Request, title string, data any) *page {
	p := &page{Lang: i18n.Negotiate(r.Header.Get("Accept-Language")), Path: r.URL.Path, Data: data}
	if a, ok := custos.ActorFrom(r.Context()); ok {
		p.actor = a
		if a.Kind == custos.ActorUser {
			if u, err := s.svc.FindUserByID(r.Context(), a.ID); err == nil {
				p.User = u
				if i18n.Supported(u.Language) {
					p.Lang = u.Language
				}
			}
		}
		if p.User == nil {
			// An API key reading a page: it has no name to show.
			p.User = &custos.User{Role: a.Role}
		}
		for _, n := range s.nav {
			if n.permission == "" || a.Can(n.permission) {
				p.Nav = append(p.Nav, n)
			}
		}
	}
	p.Title = p.T(title)
	return p
}

// renderPage answers the admin page name with data, titled by the catalog
// key title.
func (s *server) renderPage(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	s.writeUI(w, r, http.StatusOK, name, s.newPage(r, title, data))
}

// writeUI renders a page with the admin pages' headers.
func (s *server) writeUI(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := s.ui[name]
	s.renderPublic(w, r, status, uiCSP, func(b *bytes.Buffer) error { return t.ExecuteTemplate(b, "layout.html", p) })
}

// pageError answers a page's failure: a caller not signed in goes to the
// sign-in page, one who must first change the password or enrol a second
// factor to their account page, anyone else gets the error in a page. A
// client that does not ask for HTML gets the API's JSON error.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.writeError(w, r, err)
		return
	}
	e := custos.AsError(err)
	switch {
	case e != nil && e.Code == custos.EUNAUTHORIZED:
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case e != nil && e.Code == custos.EFORBIDDEN && (e.Field == custos.RestrictPasswordChange || e.Field == custos.RestrictEnrol2FA):
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	status, msg := http.StatusInternalServerError, "Internal error."
	if e != nil && e.Code != custos.EINTERNAL {
		if st, ok := statusByCode[e.Code]; ok {
			status, msg = st, e.Message
		}
	}
	if status == http.StatusInternalServerError {
		s.logFailure(r, err)
	}
	p := s.newPage(r, "ui.error.title", errorView{Status: status, Message: msg})
	s.writeUI(w, r, status, "error", p)
}

// errorView is what the error page shows.
type errorView struct {
	Status  int
	Message string
}

// assets serves the pages' script, style and images, embedded in the
// binary.
func (s *server) assets(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	s.assetFiles.ServeHTTP(w, r)
}

// assetHandler serves ui/assets under /assets/.
func assetHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui/assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}
