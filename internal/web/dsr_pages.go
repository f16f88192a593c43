package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

//go:embed templates/dsr_verify.html
var pageFiles embed.FS

// parsePages parses the public pages; a broken template stops the
// program at start.
func parsePages() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"t": i18n.T}).ParseFS(pageFiles, "templates/dsr_verify.html"))
}

// pageCSP allows the public pages nothing but their inline style and a
// form posting to themselves, in no frame.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// verifyPage is what the verification page shows.
type verifyPage struct {
	Lang string // of the page: see i18n.Negotiate
	Kind string // confirm, done, invalid, expired, error
	What string // what the request asks for, in our words
}

// writePage renders the verification page with the headers every public
// page carries. The token is in the address, so no referrer is sent on.
func (s *server) writePage(w http.ResponseWriter, r *http.Request, status int, p verifyPage) {
	p.Lang = i18n.Negotiate(r.Header.Get("Accept-Language"))
	if p.What != "" {
		p.What = i18n.T(p.Lang, "dsr.what."+p.What)
	}
	s.renderPublic(w, r, status, pageCSP, func(b *bytes.Buffer) error { return s.pages.ExecuteTemplate(b, "dsr_verify.html", p) })
}

// renderPublic answers a public page rendered by render, with the headers
// every public page carries: the csp given, no framing, no referrer (a
// token may be in the address), not indexed. A page that fails to render
// is a 500 with a plain text.
func (s *server) renderPublic(w http.ResponseWriter, r *http.Request, status int, csp string, render func(*bytes.Buffer) error) {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		s.log.ErrorContext(r.Context(), "render page", slog.String("error", err.Error()))
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("Internal error.\n")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	if h.Get("X-Frame-Options") == "" {
		// (A page that may be framed by our own pages says so first.)
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeTokenError renders the page for a token that does not work, which
// says nothing of whether, or which, request it was for.
func (s *server) writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	status, kind := s.tokenFailure(r, err)
	s.writePage(w, r, status, verifyPage{Kind: kind})
}

// tokenFailure is the status and the kind of page (invalid, expired,
// error) that answer a link whose token does not work; an unexpected
// failure is logged.
func (s *server) tokenFailure(r *http.Request, err error) (int, string) {
	switch custos.ErrorCode(err) {
	case custos.ENOTFOUND:
		return http.StatusNotFound, "invalid"
	case custos.EGONE:
		return http.StatusGone, "expired"
	case custos.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "error"
	}
	s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
		slog.String("route", r.Pattern), slog.String("error", err.Error()))
	return http.StatusInternalServerError, "error"
}

// dsrVerifyPage shows the subject a Confirm button. It changes nothing:
// mail scanners follow links.
func (s *server) dsrVerifyPage(w http.ResponseWriter, r *http.Request) {
	typ, err := s.svc.CheckDSRToken(r.Context(), r.PathValue("token"))
	if err != nil {
		s.writeTokenError(w, r, err)
		return
	}
	s.writePage(w, r, http.StatusOK, verifyPage{Kind: "confirm", What: string(typ)})
}

// dsrVerifyConfirm verifies the request of the token and uses the token up.
func (s *server) dsrVerifyConfirm(w http.ResponseWriter, r *http.Request) {
	// A form post a browser marks as coming from another site is refused.
	if err := s.crossOrigin.Check(r); err != nil {
		s.writePage(w, r, http.StatusForbidden, verifyPage{Kind: "invalid"})
		return
	}
	typ, err := s.svc.VerifyDSRToken(r.Context(), r.PathValue("token"))
	if err != nil {
		s.writeTokenError(w, r, err)
		return
	}
	s.writePage(w, r, http.StatusOK, verifyPage{Kind: "done", What: string(typ)})
}
