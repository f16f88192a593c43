package web

// The preference centre: the person's own page, reached without a login
// by the link every mail to them carries (custos.PreferenceLink). The
// token is the credential: it names the workspace and the contact, signed
// under a key derived from the master key, and dies after 30 days or when
// the contact is forgotten. GET shows and changes nothing (mail scanners
// follow links); every change is a form POST to a route under the token,
// refused when the browser marks it cross-site, recorded with method
// preference_centre and actor "subject", and answered with a redirect back
// to the page (POST, redirect, GET), which then says what was done.

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

//go:embed templates/prefs.html
var prefsFiles embed.FS

// prefsState is what the preference centre keeps beside the server: its
// templates, the rate limits and the link mails on their way.
type prefsState struct {
	pages *template.Template
	// byIP and byAddress limit how often links are asked for.
	byIP, byAddress *rateLimit
	// sending counts the link mails being looked up and sent, off the
	// request path; tests wait for it.
	sending chan struct{}
	wg      sync.WaitGroup
}

// newPrefsState parses the pages; a broken template stops the program at
// start.
func newPrefsState() *prefsState {
	return &prefsState{
		pages:     template.Must(template.New("").Funcs(template.FuncMap{"t": i18n.T}).ParseFS(prefsFiles, "templates/prefs.html")),
		byIP:      newRateLimit(prefsPerIP, time.Hour),
		byAddress: newRateLimit(prefsPerAddress, 24*time.Hour),
		sending:   make(chan struct{}, prefsMaxSending),
	}
}

// prefsDone lists what the page may say was done, by the done parameter
// of the redirect after a change; anything else is ignored.
var prefsDone = []string{"withdrawn", "granted", "objected", "joined", "left", "erasure", "stale", "restricted"}

// prefsPage is what the preference-centre template shows.
type prefsPage struct {
	Lang string
	// Kind is page, invalid, error, request (the form asking for a
	// link), sent (asked), limited (too often) or bad_email.
	Kind       string
	Token      string
	Done       string // a member of prefsDone, or empty
	Email      string // masked: the page is reached by a link anyone could forward
	Restricted bool
	// CanObject offers the objection to direct marketing (Art. 21(2)):
	// some purpose marked marketing rests on a basis other than consent,
	// which no withdrawal ends.
	CanObject bool
	Purposes  []prefsPurpose
	Groups    []prefsGroup
	// ErasureDue is when an open erasure request of the person is due
	// (2006-01-02); empty when there is none, and the page offers one.
	ErasureDue string
	Workspace  string // of the request form; empty for the default
	RetryAfter int    // minutes, on the limited page
}

// prefsPurpose is one purpose the person's ledger names.
type prefsPurpose struct {
	ID          int64
	Name        string
	Description string
	// State is granted, withdrawn, basis (processed under another legal
	// basis, Basis) or basis_removed.
	State       string
	Basis       string
	CanWithdraw bool
	// Wording is the text of the last consent given for the purpose; it
	// may be given again from the page, recorded with that notice version.
	Wording    string
	NoticeHash string
	CanGrant   bool
	History    []prefsEvent // newest first
}

// prefsEvent is one ledger event as the person reads it.
type prefsEvent struct {
	At     string
	Action string
	Method string
}

// prefsGroup is a list group with its lists.
type prefsGroup struct {
	Name        string
	Description string
	Lists       []prefsList
}

// prefsList is one list and whether the person is on it.
type prefsList struct {
	ID          int64
	Name        string
	Description string
	Member      bool
}

// prefsLang chooses the language of a public page: the lang the link
// carries, else the browser's Accept-Language.
func prefsLang(r *http.Request) string {
	return i18n.Negotiate(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang"))
}

// writePrefsPage renders a preference-centre page with the headers of
// every public page: no scripts at all, no framing, no referrer (the token
// is in the address), not indexed.
func (s *server) writePrefsPage(w http.ResponseWriter, r *http.Request, status int, p prefsPage) {
	if p.Lang == "" {
		p.Lang = prefsLang(r)
	}
	s.renderPublic(w, r, status, pageCSP, func(b *bytes.Buffer) error { return s.prefs.pages.ExecuteTemplate(b, "prefs.html", p) })
}

// prefsFail renders the page for an error: the same "not valid" page for
// every token that does not work, whatever the reason.
func (s *server) prefsFail(w http.ResponseWriter, r *http.Request, err error) {
	if custos.ErrorCode(err) == custos.ENOTFOUND {
		s.writePrefsPage(w, r, http.StatusNotFound, prefsPage{Kind: "invalid"})
		return
	}
	if custos.ErrorCode(err) != custos.EUNAVAILABLE {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("route", r.Pattern), slog.String("error", err.Error()))
	}
	s.writePrefsPage(w, r, http.StatusInternalServerError, prefsPage{Kind: "error"})
}

// prefsSubject opens the token of the path and returns a context acting
// as its person, in its workspace, and the contact's id.
func (s *server) prefsSubject(r *http.Request) (*http.Request, int64, error) {
	ws, contact, err := s.svc.OpenPreferenceToken(r.Context(), r.PathValue("token"))
	if err != nil {
		return nil, 0, err
	}
	// What the person changes is audited like any change through the API,
	// but without their address: the chained log cannot forget it, and the
	// ledger keeps it sealed under the contact's key already.
	req := s.auditedRequest(r)
	req.ContactID, req.IP = contact, ""
	return r.WithContext(custos.WithRequest(custos.WithActor(r.Context(), custos.SubjectActor(ws)), req)), contact, nil
}

// prefsShow shows the person's consents and lists. It changes nothing.
func (s *server) prefsShow(w http.ResponseWriter, r *http.Request) {
	sr, contact, err := s.prefsSubject(r)
	if err != nil {
		s.prefsFail(w, r, err)
		return
	}
	r = sr
	p, err := s.prefsView(r, contact)
	if err != nil {
		s.prefsFail(w, r, err)
		return
	}
	if d := r.URL.Query().Get("done"); slices.Contains(prefsDone, d) {
		p.Done = d
	}
	s.writePrefsPage(w, r, http.StatusOK, *p)
}

// prefsView gathers what the page shows of the contact.
func (s *server) prefsView(r *http.Request, contactID int64) (*prefsPage, error) {
	ctx := r.Context()
	lang := prefsLang(r)
	c, err := s.svc.FindContactByID(ctx, contactID)
	if err != nil {
		return nil, err
	}
	p := &prefsPage{Lang: lang, Kind: "page", Token: r.PathValue("token"), Email: maskEmail(c.Email),
		Restricted: c.Status == custos.StatusRestricted}
	states, events, err := s.svc.ContactConsents(ctx, contactID)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		pu, err := s.svc.FindPurpose(ctx, st.PurposeID)
		if err != nil {
			return nil, err
		}
		pp := prefsPurpose{ID: pu.ID, Name: pu.Name, Description: pu.Description}
		switch st.Action {
		case custos.ActionGrant:
			pp.State, pp.CanWithdraw = "granted", true
		case custos.ActionWithdraw:
			pp.State = "withdrawn"
		case custos.ActionAssignBasis:
			pp.State, pp.Basis = "basis", i18n.T(lang, "prefs.basis."+string(pu.LegalBasis))
			p.CanObject = p.CanObject || pu.Marketing
		default:
			pp.State = "basis_removed"
		}
		for i := len(events) - 1; i >= 0; i-- {
			e := events[i]
			if e.PurposeID != pu.ID {
				continue
			}
			pp.History = append(pp.History, prefsEvent{At: e.EffectiveFrom.UTC().Format("2006-01-02 15:04 UTC"),
				Action: i18n.T(lang, "prefs.action."+string(e.Action)), Method: i18n.T(lang, "prefs.method."+string(e.Method))})
		}
		if pp.State == "withdrawn" && pu.LegalBasis == custos.BasisConsent && !p.Restricted {
			if hash := lastGrantNotice(events, pu.ID); hash != "" {
				n, err := s.svc.FindNotice(ctx, hash)
				if err != nil {
					return nil, err
				}
				pp.Wording, pp.NoticeHash, pp.CanGrant = n.Body, n.Hash, true
			}
		}
		p.Purposes = append(p.Purposes, pp)
	}
	slices.SortFunc(p.Purposes, func(a, b prefsPurpose) int { return strings.Compare(a.Name, b.Name) })

	erasure := custos.DSRErasure
	requests, _, err := s.svc.FindDSRRequests(ctx, custos.DSRFilter{ContactID: &contactID, Type: &erasure, Limit: custos.MaxLimit})
	if err != nil {
		return nil, err
	}
	for _, d := range requests {
		if d.Status.Open() {
			p.ErasureDue = d.DueAt.UTC().Format(time.DateOnly)
		}
	}

	groups, err := s.svc.FindListGroups(ctx)
	if err != nil {
		return nil, err
	}
	lists, err := s.svc.FindLists(ctx)
	if err != nil {
		return nil, err
	}
	member, err := s.svc.ContactLists(ctx, contactID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		pg := prefsGroup{Name: g.Name, Description: g.Description}
		for _, l := range lists {
			if l.GroupID != nil && *l.GroupID == g.ID {
				pg.Lists = append(pg.Lists, prefsList{ID: l.ID, Name: l.Name, Description: l.Description, Member: slices.Contains(member, l.ID)})
			}
		}
		if len(pg.Lists) > 0 {
			p.Groups = append(p.Groups, pg)
		}
	}
	return p, nil
}

// lastGrantNotice returns the notice of the latest consent given for the
// purpose: the wording the page may show to give it again.
func lastGrantNotice(events []*custos.ConsentEvent, purpose int64) string {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.PurposeID == purpose && e.Action == custos.ActionGrant && e.NoticeHash != "" {
			return e.NoticeHash
		}
	}
	return ""
}

// maskEmail shows enough of an address for its owner to recognise it:
// "a…@example.com".
func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "…"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "…@" + domain
}

// prefsChange serves a POST of the page: the cross-origin check, the
// token, the form, then change, and a redirect back to the page saying
// what was done. A change the page no longer offers (the page was out of
// date, or its form was altered) redirects with "stale"; one the
// contact's restriction of processing forbids, with "restricted".
func (s *server) prefsChange(w http.ResponseWriter, r *http.Request, change func(r *http.Request, contact int64) (done string, err error)) {
	if err := s.crossOrigin.Check(r); err != nil {
		s.writePrefsPage(w, r, http.StatusForbidden, prefsPage{Kind: "invalid"})
		return
	}
	sr, contact, err := s.prefsSubject(r)
	if err != nil {
		s.prefsFail(w, r, err)
		return
	}
	r = sr
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.writePrefsPage(w, r, http.StatusBadRequest, prefsPage{Kind: "error"})
		return
	}
	done, err := change(r, contact)
	switch custos.ErrorCode(err) {
	case "":
	case custos.ERESTRICTED:
		done = "restricted"
	case custos.EINVALID, custos.ENOTFOUND, custos.ECONFLICT:
		done = "stale"
	default:
		s.prefsFail(w, r, err)
		return
	}
	if done == "" {
		return // the change wrote its own answer
	}
	to := "/p/" + url.PathEscape(r.PathValue("token")) + "?lang=" + url.QueryEscape(prefsLang(r)) + "&done=" + done
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formID reads a positive id from the form, or EINVALID.
func formID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PostFormValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, custos.Invalid(name, "must be a positive integer")
	}
	return id, nil
}

// prefsConsent withdraws a consent, or gives it again with the wording
// the page showed. Only a purpose the page shows can change, and a grant
// only with the notice version the page showed, which is the latest one
// the person gave consent with.
func (s *server) prefsConsent(w http.ResponseWriter, r *http.Request) {
	s.prefsChange(w, r, func(r *http.Request, contact int64) (string, error) {
		ctx := r.Context()
		purpose, err := formID(r, "purpose_id")
		if err != nil {
			return "", err
		}
		states, events, err := s.svc.ContactConsents(ctx, contact)
		if err != nil {
			return "", err
		}
		i := slices.IndexFunc(states, func(st *custos.ConsentState) bool { return st.PurposeID == purpose })
		if i < 0 {
			return "", custos.Invalid("purpose_id", "is not a purpose of this page")
		}
		req := custos.ConsentRequest{PurposeID: purpose, Method: custos.MethodPreference, IP: s.clientAddr(r), UserAgent: userAgent(r)}
		switch r.PostFormValue("action") {
		case "withdraw":
			if states[i].Action != custos.ActionGrant {
				return "withdrawn", nil // withdrawn already: nothing to record
			}
			req.Action = custos.ActionWithdraw
		case "grant":
			hash := lastGrantNotice(events, purpose)
			if states[i].Action != custos.ActionWithdraw || hash == "" || r.PostFormValue("notice_hash") != hash {
				return "", custos.Invalid("notice_hash", "is not the wording this page shows")
			}
			req.Action, req.NoticeHash = custos.ActionGrant, hash
		default:
			return "", custos.Invalid("action", "must be withdraw or grant")
		}
		if err := req.Validate(time.Now()); err != nil {
			return "", err
		}
		if _, err := s.svc.RecordConsent(ctx, contact, req); err != nil {
			return "", err
		}
		if req.Action == custos.ActionGrant {
			return "granted", nil
		}
		return "withdrawn", nil
	})
}

// prefsObjection records the person's objection to direct marketing
// (Art. 21(2)): every consent and basis of a purpose marked marketing
// ends, each event with method objection and actor subject. It works
// while the contact's processing is restricted.
func (s *server) prefsObjection(w http.ResponseWriter, r *http.Request) {
	s.prefsChange(w, r, func(r *http.Request, contact int64) (string, error) {
		if _, err := s.svc.ObjectToMarketing(r.Context(), contact); err != nil {
			return "", err
		}
		return "objected", nil
	})
}

// prefsList joins or leaves a list of a list group: the lists the page
// shows. Leaving works while the contact's processing is restricted;
// joining does not.
func (s *server) prefsList(w http.ResponseWriter, r *http.Request) {
	s.prefsChange(w, r, func(r *http.Request, contact int64) (string, error) {
		ctx := r.Context()
		id, err := formID(r, "list_id")
		if err != nil {
			return "", err
		}
		l, err := s.svc.FindList(ctx, id)
		if err != nil {
			return "", err
		}
		if l.GroupID == nil {
			return "", custos.Invalid("list_id", "is not a list of this page")
		}
		switch r.PostFormValue("action") {
		case "join":
			_, err = s.svc.AddMembers(ctx, id, []int64{contact})
			return "joined", err
		case "leave":
			_, err = s.svc.RemoveMembers(ctx, id, []int64{contact})
			return "left", err
		}
		return "", custos.Invalid("action", "must be join or leave")
	})
}

// prefsExport downloads everything held about the person (Art. 15), as
// JSON or as a zip with a summary they can read. The export is written to
// the audit log, by "subject".
func (s *server) prefsExport(w http.ResponseWriter, r *http.Request) {
	s.prefsChange(w, r, func(r *http.Request, contact int64) (string, error) {
		format := r.PostFormValue("format")
		if format != "json" && format != "zip" {
			return "", custos.Invalid("format", "must be json or zip")
		}
		x, err := s.svc.ExportContact(r.Context(), contact)
		if err != nil {
			return "", err
		}
		var file bytes.Buffer
		if err := s.exporter.Write(&file, x, format); err != nil {
			return "", err
		}
		w.Header().Set("Content-Type", exportTypes[format])
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="my-data.%s"`, format))
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(file.Bytes()); err != nil {
			s.log.DebugContext(r.Context(), "write response", slog.String("error", err.Error()))
		}
		return "", nil
	})
}

// prefsErasure asks for the erasure of the person's data: a verified
// erasure request in the register, which staff execute.
func (s *server) prefsErasure(w http.ResponseWriter, r *http.Request) {
	s.prefsChange(w, r, func(r *http.Request, contact int64) (string, error) {
		if _, err := s.svc.RequestErasureBySubject(r.Context(), contact); err != nil {
			return "", err
		}
		return "erasure", nil
	})
}

// userAgent returns the request's user agent, cut to what the ledger
// keeps.
func userAgent(r *http.Request) string {
	ua := strings.ToValidUTF8(strings.ReplaceAll(r.UserAgent(), "\x00", ""), "")
	for len(ua) > 1000 {
		_, n := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-n]
	}
	return ua
}

// LinkDays is how many days a preference-centre link works, as the pages
// say it.
func (prefsPage) LinkDays() int { return int(custos.PreferenceTokenTTL.Hours() / 24) }
