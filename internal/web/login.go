package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

// The cookies of staff sign-in. __Host- makes the browser refuse them
// unless Secure, Path=/ and without Domain, so no sibling host can set them.
const (
	sessionCookie = "__Host-custos_session"
	// pendingCookie carries a sign-in that passed the password and waits
	// for the second factor; it authenticates nothing else.
	pendingCookie = "__Host-custos_pending"
	// backgroundHeader marks a request made by polling, not by the user:
	// it does not extend the session's idle time.
	backgroundHeader = "X-Custos-Background"
	// afterLogin is where a browser goes once signed in: the admin UI.
	afterLogin = "/"
)

//go:embed templates/login.html
var loginFiles embed.FS

// parseLogin parses the sign-in page; a broken template stops the program
// at start.
func parseLogin() *template.Template {
	return template.Must(template.New("login.html").Funcs(template.FuncMap{"t": i18n.T}).ParseFS(loginFiles, "templates/login.html"))
}

// loginView is what the sign-in page shows.
type loginView struct {
	Lang      string // of the page, from the browser's Accept-Language
	Kind      string // "password" or "code"
	Workspace string
	Error     string // in the page's language: see loginText
	Next      string // where to go once signed in: a path of ours
}

// writeLogin renders the sign-in page with the public pages' headers: no
// script at all, no frame, no referrer.
func (s *server) writeLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	if v.Kind == "" {
		v.Kind = "password"
	}
	v.Lang = loginLang(r)
	if v.Workspace == "" {
		v.Workspace = custos.DefaultWorkspace
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	s.renderPublic(w, r, status, pageCSP, func(b *bytes.Buffer) error { return s.login.Execute(b, v) })
}

// loginLang is the language of the sign-in pages: the browser's choice,
// since no one is signed in yet.
func loginLang(r *http.Request) string { return i18n.Negotiate(r.Header.Get("Accept-Language")) }

// loginText returns the message key of the sign-in pages in the
// browser's language.
func loginText(r *http.Request, key string, args ...any) string {
	return i18n.T(loginLang(r), key, args...)
}

// setCookie sets (or, with token "", removes) a sign-in cookie.
func setCookie(w http.ResponseWriter, name, token string, maxAge int) {
	c := &http.Cookie{Name: name, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// loginPage shows the sign-in form. It changes nothing.
func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.writeLogin(w, r, http.StatusOK, loginView{Next: localPath(r.URL.Query().Get("next"))})
}

// localPath returns p when it is a path of this server, where a browser
// may be sent after signing in, and the dashboard otherwise: never
// another site (//evil.example, /\evil.example, https://…).
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		u.Scheme != "" || u.Host != "" || strings.ContainsAny(p, "\\\r\n\t") {
		return afterLogin
	}
	return p
}

// maxFormBytes bounds a sign-in form.
const maxFormBytes = 16 << 10

// readForm parses a form post of at most maxFormBytes, after refusing one a
// browser marks as coming from another site.
func (s *server) readForm(w http.ResponseWriter, r *http.Request) bool {
	if err := s.crossOrigin.Check(r); err != nil {
		s.writeLogin(w, r, http.StatusForbidden, loginView{Error: loginText(r, "login.error.cross_site")})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.writeLogin(w, r, http.StatusBadRequest, loginView{Error: loginText(r, "login.error.unreadable")})
		return false
	}
	return true
}

// loginErrorView turns a sign-in error into a status and a message that
// say nothing of whether the user exists.
func (s *server) loginError(w http.ResponseWriter, r *http.Request, err error, v loginView) {
	status, key := http.StatusInternalServerError, "login.error.internal"
	switch custos.ErrorCode(err) {
	case custos.EUNAUTHORIZED:
		status, key = http.StatusUnauthorized, "login.error.wrong"
	case custos.ERATELIMIT:
		status, key = http.StatusTooManyRequests, "login.error.locked"
	case custos.EFORBIDDEN:
		status, key = http.StatusForbidden, "login.error.network"
	case custos.EINVALID:
		status, key = http.StatusUnauthorized, "login.error.code"
	case custos.EUNAVAILABLE:
		status, key = http.StatusServiceUnavailable, "login.error.busy"
	default:
		s.logFailure(r, err)
	}
	v.Error = loginText(r, key)
	s.writeLogin(w, r, status, v)
}

// loginSubmit checks e-mail and password. On success the browser gets a
// new session cookie, or, when a second factor is due, a pending cookie
// and the code form.
func (s *server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	ws := strings.TrimSpace(r.PostForm.Get("workspace"))
	next := localPath(r.PostForm.Get("next"))
	v := loginView{Workspace: ws, Next: next}
	res, err := s.svc.Login(r.Context(), custos.LoginAttempt{Workspace: ws, Email: r.PostForm.Get("email"),
		Password: r.PostForm.Get("password"), IP: s.clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		s.loginError(w, r, err, v)
		return
	}
	if res.Pending {
		if res.EmailCode != "" {
			s.mailCode(r, res)
		}
		setCookie(w, pendingCookie, res.Token, int(custos.PendingLifetime/time.Second))
		s.writeLogin(w, r, http.StatusOK, loginView{Kind: "code", Next: next})
		return
	}
	s.endOldSession(r)
	setCookie(w, sessionCookie, res.Token, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// endOldSession ends the session a browser that signs in again still
// carries, so that a sign-in leaves one live session, never two.
func (s *server) endOldSession(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.svc.Logout(r.Context(), c.Value); err != nil && custos.ErrorCode(err) != custos.EUNAUTHORIZED {
			s.log.ErrorContext(r.Context(), "end the previous session", slog.String("error", err.Error()))
		}
	}
}

// loginCode completes a pending sign-in with a TOTP or recovery code; the
// browser gets a new session token, never the pending one.
func (s *server) loginCode(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	c, err := r.Cookie(pendingCookie)
	if err != nil || c.Value == "" {
		s.writeLogin(w, r, http.StatusUnauthorized, loginView{Error: loginText(r, "login.error.expired")})
		return
	}
	next := localPath(r.PostForm.Get("next"))
	res, err := s.svc.LoginSecondFactor(r.Context(), c.Value, r.PostForm.Get("code"), s.clientIP(r), r.UserAgent())
	if err != nil {
		if custos.ErrorCode(err) == custos.EUNAUTHORIZED {
			// The pending sign-in is over: start again.
			setCookie(w, pendingCookie, "", 0)
			s.writeLogin(w, r, http.StatusUnauthorized, loginView{Next: next, Error: loginText(r, "login.error.expired")})
			return
		}
		s.loginError(w, r, err, loginView{Kind: "code", Next: next})
		return
	}
	s.endOldSession(r)
	setCookie(w, pendingCookie, "", 0)
	setCookie(w, sessionCookie, res.Token, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// mailCode queues the sign-in code of a pending sign-in for the mail
// worker, sealed under a key of its own that is shredded once it is sent
// or the code has expired.
func (s *server) mailCode(r *http.Request, res *custos.LoginResult) {
	u, code := res.User, res.EmailCode
	if s.mailer == nil {
		s.log.WarnContext(r.Context(), "no mailer for a sign-in code", slog.Int64("user", u.ID))
		return
	}
	ctx := custos.WithActor(r.Context(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorSystem})
	m := &custos.Message{To: u.Email, Subject: "Your Custos sign-in code", Ref: "user-" + strconv.FormatInt(u.ID, 10), Transactional: true,
		Text: "Your sign-in code is " + code + ". It works once, for ten minutes.\n\n" +
			"If you did not just sign in, someone knows your password: change it.\n"}
	if err := s.svc.QueueStaffMail(ctx, m, time.Now().Add(custos.EmailCodeLifetime)); err != nil {
		s.log.WarnContext(ctx, "sign-in code not queued", slog.Int64("user", u.ID),
			slog.String("error", strings.ReplaceAll(err.Error(), u.Email, "<user>")))
	}
}

// logout ends the browser's session and removes its cookies.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.crossOrigin.Check(r); err != nil {
		s.writeLogin(w, r, http.StatusForbidden, loginView{Error: loginText(r, "login.error.cross_site")})
		return
	}
	for _, name := range []string{sessionCookie, pendingCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			if err := s.svc.Logout(r.Context(), c.Value); err != nil && custos.ErrorCode(err) != custos.EUNAUTHORIZED {
				s.log.ErrorContext(r.Context(), "logout", slog.String("error", err.Error()))
			}
		}
		setCookie(w, name, "", 0)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// WithTrustedProxies sets the reverse proxies whose X-Forwarded-For is
// believed. Without any, the client is the socket's peer.
func WithTrustedProxies(nets []netip.Prefix) Option {
	return func(s *server) { s.trusted = nets }
}

// ParseTrustedProxies parses a comma-separated list of CIDR networks or
// addresses, as CUSTOS_TRUSTED_PROXIES holds it.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := custos.ParseNetwork(s)
		if err != nil {
			return nil, custos.Invalid("trusted_proxies", "%q is not a CIDR network or an IP address", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// clientIP returns the address of the client: the socket's peer, unless
// that peer is a trusted proxy; then the right-most address of
// X-Forwarded-For that is not a trusted proxy. X-Real-IP and Forwarded
// are never read, and a malformed X-Forwarded-For gives no address at all,
// which no allowlist admits.
func (s *server) clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if !s.trustedProxy(ip) {
		return ip
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}
		}
		if a = a.Unmap(); !s.trustedProxy(a) {
			return a
		}
	}
	return ip // every hop is a proxy of ours: the request began inside
}

// clientAddr is clientIP as text, as a consent's proof or a rate limit
// records it: empty when the address cannot be known.
func (s *server) clientAddr(r *http.Request) string {
	if ip := s.clientIP(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// limitKey is what a per-client limit counts under: the client's address,
// or for IPv6 its /64, which a single client commonly holds whole, so that
// rotating addresses within it neither escapes a limit nor fills the
// limiter for everyone.
func (s *server) limitKey(r *http.Request) string {
	ip := s.clientIP(r)
	if !ip.IsValid() {
		return ""
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (s *server) trustedProxy(ip netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
