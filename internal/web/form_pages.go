package web

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

//go:embed templates/form.html
var formFiles embed.FS

// parseFormPages parses the pages of forms and double opt-in; a broken
// template stops the program at start.
func parseFormPages() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"t": i18n.T}).ParseFS(formFiles, "templates/form.html"))
}

// WithFormRedirects sets the addresses a form may send a browser to after
// a submission, each matched exactly; any other is refused.
func WithFormRedirects(urls []string) Option {
	return func(s *server) { s.formRedirects = urls }
}

// WithSignupIPLimit sets how many form submissions one IP address may make
// per window; n 0 switches the limit off.
func WithSignupIPLimit(n int, window time.Duration) Option {
	return func(s *server) { s.signupIPs = newRateLimit(n, window) }
}

// WithSignupTTL says how long confirmation links work, as the store was
// told, so that the mail says so.
func WithSignupTTL(d time.Duration) Option {
	return func(s *server) { s.signupTTL = d }
}

// formPage is what the form and confirmation pages show.
type formPage struct {
	Lang, Kind  string // Kind: form, thanks, confirm, confirmed, invalid, expired, notfound, limited, error
	Name        string
	Action      string
	Fields      []pageField
	Purposes    []pagePurpose
	Information string
	PrivacyURL  string
	Error       string
	// csp is the page's Content-Security-Policy when it differs from
	// pageCSP: a form may redirect to an allow-listed address.
	csp string
}

type pageField struct {
	Key, Label, Input string
	Required          bool
	Choices           []string
}

type pagePurpose struct {
	ID     int64
	Notice string
	Main   bool // the box must be ticked to sign up
}

// formPageOf renders the form in lang from its current version.
func (s *server) formPageOf(pf *custos.PublicForm, lang string) formPage {
	f := pf.Form
	p := formPage{Lang: lang, Kind: "form", Name: f.Name, Action: "/f/" + strconv.FormatInt(f.ID, 10),
		Information: f.InformationClause, PrivacyURL: f.PrivacyPolicyURL}
	for _, ff := range f.Fields {
		pfld := pageField{Key: ff.Field, Required: ff.Required, Input: "text", Label: pf.Labels[ff.Field], Choices: pf.Choices[ff.Field]}
		if t := "form.field." + ff.Field; i18n.T(lang, t) != t {
			pfld.Label = i18n.T(lang, t) // a built-in field, in the page's language
		}
		switch {
		case ff.Field == custos.FieldEmail:
			pfld.Input = "email"
		case pf.Types[ff.Field] == custos.FieldDate:
			pfld.Input = "date"
		}
		p.Fields = append(p.Fields, pfld)
	}
	for _, fp := range f.Purposes {
		p.Purposes = append(p.Purposes, pagePurpose{ID: fp.PurposeID, Notice: fp.Notice, Main: fp.Main})
	}
	return p
}

// writeFormPage renders a form or confirmation page with the headers every
// public page carries.
func (s *server) writeFormPage(w http.ResponseWriter, r *http.Request, status int, p formPage) {
	if p.Lang == "" {
		p.Lang = i18n.Negotiate(r.Header.Get("Accept-Language"))
	}
	csp := p.csp
	if csp == "" {
		csp = pageCSP
	}
	s.renderPublic(w, r, status, csp, func(b *bytes.Buffer) error { return s.formPages.ExecuteTemplate(b, "form.html", p) })
}

// publicFormID reads the {form} path value.
func publicFormID(r *http.Request) (int64, error) {
	return pathID(r, "form", "form")
}

// showForm renders the hosted page of a form.
func (s *server) showForm(w http.ResponseWriter, r *http.Request) {
	id, err := publicFormID(r)
	if err == nil {
		var pf *custos.PublicForm
		if pf, err = s.svc.PublicForm(r.Context(), id); err == nil {
			// The admin pages show the form in a frame, as its preview; no
			// other site may frame it.
			p := s.formPageWithCSP(pf, r)
			p.csp = strings.Replace(cmp.Or(p.csp, pageCSP), "frame-ancestors 'none'", "frame-ancestors 'self'", 1)
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
			s.writeFormPage(w, r, http.StatusOK, p)
			return
		}
	}
	s.writeFormError(w, r, err, nil)
}

// formPageWithCSP is the page of the form, whose CSP lets it post to
// itself and follow the redirect to its allow-listed page.
func (s *server) formPageWithCSP(pf *custos.PublicForm, r *http.Request) formPage {
	p := s.formPageOf(pf, i18n.Negotiate(r.Header.Get("Accept-Language"), pf.Form.Language))
	if u := s.redirectOf(pf.Form); u != "" {
		if parsed, err := url.Parse(u); err == nil {
			p.csp = strings.Replace(pageCSP, "form-action 'self'", "form-action 'self' "+parsed.Scheme+"://"+parsed.Host, 1)
		}
	}
	return p
}

// redirectOf returns the form's page after submission if the server still
// allows it, else "" (our own page).
func (s *server) redirectOf(f *custos.Form) string {
	if f.RedirectURL != "" && s.checkRedirect(f.RedirectURL) == nil {
		return f.RedirectURL
	}
	return ""
}

// submissionBody is the body of POST /api/public/forms/{form}/submissions.
type submissionBody struct {
	Fields   map[string]string `json:"fields"`
	Purposes []int64           `json:"purposes"`
	Website  string            `json:"website"`
}

// submit is the one path every submission takes, from the HTML form and
// from JSON alike: the honeypot, the per-IP limit, then the store's checks
// and the per-address limit. A filled honeypot is answered as a success,
// and nothing is stored or sent.
func (s *server) submit(r *http.Request, id int64, sub custos.Submission) (*custos.PublicForm, error) {
	ctx := r.Context()
	pf, err := s.svc.PublicForm(ctx, id)
	if err != nil {
		return nil, err
	}
	if sub.Website != "" {
		return pf, nil
	}
	ip := s.clientAddr(r)
	if ok, wait := s.signupIPs.allow(s.limitKey(r)); !ok {
		return pf, rateLimited(wait)
	}
	if s.baseURL == "" {
		return pf, custos.Errorf(custos.EUNAVAILABLE, "Mail is not configured on this server, so no confirmation link can be sent.")
	}
	sub.IP, sub.UserAgent = ip, r.UserAgent()
	err = s.svc.SubmitForm(ctx, id, sub, func(to, token, lang string) (*custos.Message, string) {
		subject := i18n.T(lang, "doi.mail.subject")
		days := int(custos.SignupTokenTTL.Hours() / 24)
		if s.signupTTL > 0 {
			days = max(1, int(s.signupTTL.Hours()/24))
		}
		// Our words and the link only: nothing the person typed is
		// repeated, so the form cannot mail a stranger a text of one's
		// choosing. The wording without the link is the notice version.
		m := &custos.Message{To: to, Subject: subject, Text: i18n.T(lang, "doi.mail.body", s.baseURL+"/confirm/"+token, days)}
		return m, subject + "\n\n" + i18n.T(lang, "doi.mail.body", "{link}", days)
	})
	return pf, err
}

// rateLimitedError carries how long to wait; the answer's Retry-After
// says so.
type rateLimitedError struct {
	err  *custos.Error
	wait time.Duration
}

func (e *rateLimitedError) Error() string { return e.err.Error() }
func (e *rateLimitedError) Unwrap() error { return e.err }

func rateLimited(wait time.Duration) error {
	return &rateLimitedError{err: custos.Errorf(custos.ERATELIMIT, "Too many sign-ups from this address; try again later."), wait: wait}
}

// setRetryAfter sets Retry-After from a rate-limit error that carries its
// wait, in whole seconds, at least one.
func setRetryAfter(w http.ResponseWriter, err error) {
	if custos.ErrorCode(err) != custos.ERATELIMIT {
		return
	}
	wait := 24 * time.Hour // the per-address window
	var rl *rateLimitedError
	if errors.As(err, &rl) {
		wait = rl.wait
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
}

// maxFormBody is the largest form post read.
const maxFormBody = 64 << 10

// submitFormHTML takes a post of the hosted page or an embedded form.
func (s *server) submitFormHTML(w http.ResponseWriter, r *http.Request) {
	id, err := publicFormID(r)
	if err != nil {
		s.writeFormError(w, r, err, nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.writeFormError(w, r, custos.Errorf(custos.EINVALID, "The form could not be read."), nil)
		return
	}
	sub := custos.Submission{Fields: map[string]string{}, Website: r.PostForm.Get("website")}
	for k, vs := range r.PostForm {
		if key, ok := strings.CutPrefix(k, "field."); ok && len(vs) > 0 {
			sub.Fields[key] = vs[0]
		}
	}
	for _, v := range r.PostForm["purpose"] {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.writeFormError(w, r, custos.Invalid("purposes", "must be purpose ids"), nil)
			return
		}
		sub.Purposes = append(sub.Purposes, p)
	}
	pf, err := s.submit(r, id, sub)
	if err != nil {
		s.writeFormError(w, r, err, pf)
		return
	}
	if u := s.redirectOf(pf.Form); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	s.writeFormPage(w, r, http.StatusOK, formPage{Kind: "thanks", Lang: i18n.Negotiate(r.Header.Get("Accept-Language"), pf.Form.Language)})
}

// writeFormError renders the page for a submission that failed: the form
// again with what to fix, or a page that says why it cannot be shown.
func (s *server) writeFormError(w http.ResponseWriter, r *http.Request, err error, pf *custos.PublicForm) {
	setRetryAfter(w, err)
	var lang string
	if pf != nil {
		lang = i18n.Negotiate(r.Header.Get("Accept-Language"), pf.Form.Language)
	}
	switch code := custos.ErrorCode(err); code {
	case custos.ENOTFOUND:
		s.writeFormPage(w, r, http.StatusNotFound, formPage{Lang: lang, Kind: "notfound"})
	case custos.ERATELIMIT:
		s.writeFormPage(w, r, http.StatusTooManyRequests, formPage{Lang: lang, Kind: "limited"})
	case custos.EINVALID:
		if pf == nil {
			s.writeFormPage(w, r, http.StatusBadRequest, formPage{Lang: lang, Kind: "error"})
			return
		}
		p := s.formPageWithCSP(pf, r)
		p.Error = i18n.T(p.Lang, "page.error.body")
		if e := custos.AsError(err); e != nil {
			if key, ok := strings.CutPrefix(e.Field, "fields."); ok {
				label := key
				for _, f := range p.Fields {
					if f.Key == key {
						label = f.Label
					}
				}
				p.Error = i18n.T(p.Lang, "form.error.field", label)
			} else if e.Field == "purposes" {
				p.Error = i18n.T(p.Lang, "form.error.purpose")
			}
		}
		s.writeFormPage(w, r, http.StatusBadRequest, p)
	default:
		if code != custos.EUNAVAILABLE {
			s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
				slog.String("route", r.Pattern), slog.String("error", err.Error()))
		}
		s.writeFormPage(w, r, http.StatusInternalServerError, formPage{Lang: lang, Kind: "error"})
	}
}

// submitFormJSON takes a submission as JSON, through the same path as the
// HTML form.
func (s *server) submitFormJSON(w http.ResponseWriter, r *http.Request) {
	id, err := publicFormID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b submissionBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Fields == nil {
		s.writeError(w, r, custos.Invalid("fields", "is required"))
		return
	}
	if _, err := s.submit(r, id, custos.Submission{Fields: b.Fields, Purposes: b.Purposes, Website: b.Website}); err != nil {
		setRetryAfter(w, err)
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusAccepted, map[string]string{"status": "pending_confirmation"})
}

// writeSignupTokenError renders the page for a confirmation link that does
// not work.
func (s *server) writeSignupTokenError(w http.ResponseWriter, r *http.Request, err error) {
	switch custos.ErrorCode(err) {
	case custos.ECONFLICT, custos.ERESTRICTED:
		// The address's contact is restricted (Art. 18), or was erased
		// with suppression since: nothing is recorded, and the page says
		// no more than that it did not work.
		s.writeFormPage(w, r, http.StatusConflict, formPage{Kind: "error"})
	default:
		status, kind := s.tokenFailure(r, err)
		s.writeFormPage(w, r, status, formPage{Kind: kind})
	}
}

// confirmPage shows the person a Confirm button. It changes nothing: mail
// scanners follow links.
func (s *server) confirmPage(w http.ResponseWriter, r *http.Request) {
	lang, err := s.svc.CheckSignupToken(r.Context(), r.PathValue("token"))
	if err != nil {
		s.writeSignupTokenError(w, r, err)
		return
	}
	s.writeFormPage(w, r, http.StatusOK, formPage{Kind: "confirm", Lang: i18n.Negotiate(r.Header.Get("Accept-Language"), lang)})
}

// confirmSignup confirms the sign-up of the token and uses it up.
func (s *server) confirmSignup(w http.ResponseWriter, r *http.Request) {
	// A form post a browser marks as coming from another site is refused.
	if err := s.crossOrigin.Check(r); err != nil {
		s.writeFormPage(w, r, http.StatusForbidden, formPage{Kind: "invalid"})
		return
	}
	c, err := s.svc.ConfirmSignup(r.Context(), r.PathValue("token"), s.clientAddr(r), r.UserAgent())
	if err != nil {
		s.writeSignupTokenError(w, r, err)
		return
	}
	s.writeFormPage(w, r, http.StatusOK, formPage{Kind: "confirmed", Lang: i18n.Negotiate(r.Header.Get("Accept-Language"), c.Language)})
}
