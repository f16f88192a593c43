package web

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

// Limits on asking for a preference-centre link: per client address, and
// per e-mail address (whether or not it is known, so that the answer
// tells nothing), each in a window of its own.
const (
	prefsPerIP      = 10 // per hour
	prefsPerAddress = 3  // per 24 hours
	// prefsMaxSending is how many link mails may be on their way at once;
	// beyond it a request is answered the same and dropped, logged.
	prefsMaxSending = 64
	// prefsSendTimeout bounds the lookup and sending of one link mail.
	prefsSendTimeout = 30 * time.Second
)

// prefsRequest is the body of POST /p/request, as JSON or a form: the
// address to mail a fresh link to, the workspace (its name; default the
// default workspace) and the language of the mail (default from
// Accept-Language).
type prefsRequest struct {
	Email     string `json:"email"`
	Workspace string `json:"workspace"`
	Lang      string `json:"lang"`
}

// prefsRequestForm shows the form that asks for a link. It changes
// nothing.
func (s *server) prefsRequestForm(w http.ResponseWriter, r *http.Request) {
	s.writePrefsPage(w, r, http.StatusOK, prefsPage{Kind: "request", Workspace: r.URL.Query().Get("workspace")})
}

// prefsRequestLink mails a fresh link to the address if it is a contact's
// in the workspace. The answer is the same whether it is or not, and
// whether the workspace exists: the lookup and the mail happen off the
// request path, after the answer.
func (s *server) prefsRequestLink(w http.ResponseWriter, r *http.Request) {
	isJSON := false
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		isJSON = true
	}
	// A post a browser marks as coming from another site is refused.
	if err := s.crossOrigin.Check(r); err != nil {
		if isJSON {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "Cross-origin requests are refused."))
		} else {
			s.writePrefsPage(w, r, http.StatusForbidden, prefsPage{Kind: "invalid"})
		}
		return
	}
	var body prefsRequest
	if isJSON {
		if err := decodeJSON(w, r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.writePrefsPage(w, r, http.StatusBadRequest, prefsPage{Kind: "bad_email"})
			return
		}
		body = prefsRequest{Email: r.PostFormValue("email"), Workspace: r.PostFormValue("workspace"), Lang: r.PostFormValue("lang")}
	}
	lang := i18n.Negotiate(r.Header.Get("Accept-Language"), body.Lang, r.URL.Query().Get("lang"))
	email, err := custos.NormalizeEmail("email", body.Email)
	if err == nil {
		err = custos.CheckText("workspace", body.Workspace)
	}
	if err != nil {
		if isJSON {
			s.writeError(w, r, err)
		} else {
			s.writePrefsPage(w, r, http.StatusBadRequest, prefsPage{Lang: lang, Kind: "bad_email", Workspace: body.Workspace})
		}
		return
	}
	workspace := body.Workspace
	if workspace == "" {
		workspace = custos.DefaultWorkspace
	}
	ok, wait := s.prefs.byIP.allow(s.limitKey(r))
	if ok {
		sum := sha256.Sum256([]byte(workspace + "\x00" + email)) // nothing in memory names the person
		ok, wait = s.prefs.byAddress.allow(string(sum[:]))
	}
	if !ok {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if isJSON {
			s.writeJSON(w, r, http.StatusTooManyRequests, errorBody{Error: errorDetail{Code: custos.ERATELIMIT,
				Message: "Too many links were asked for; try again later."}})
		} else {
			s.writePrefsPage(w, r, http.StatusTooManyRequests, prefsPage{Lang: lang, Kind: "limited", RetryAfter: (secs + 59) / 60})
		}
		return
	}
	select {
	case s.prefs.sending <- struct{}{}:
		s.prefs.wg.Add(1)
		go func() {
			defer func() { <-s.prefs.sending; s.prefs.wg.Done() }()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), prefsSendTimeout)
			defer cancel()
			s.sendPrefsLink(ctx, workspace, email, lang)
		}()
	default:
		s.log.WarnContext(r.Context(), "preference link not sent: too many on their way")
	}
	if isJSON {
		s.writeJSON(w, r, http.StatusAccepted, map[string]string{"status": "accepted"})
	} else {
		s.writePrefsPage(w, r, http.StatusAccepted, prefsPage{Lang: lang, Kind: "sent"})
	}
}

// Wait waits for the work the handler does after answering, the mails on
// their way (preference links, password resets, sign-in codes), to end;
// serve calls it after shutting the server down.
func (s *server) Wait() {
	s.prefs.wg.Wait()
	s.mails.Wait()
}

// sendPrefsLink mails a fresh preference-centre link to the contact with
// the address in the workspace, if there is one. What it finds is logged
// without the address.
func (s *server) sendPrefsLink(ctx context.Context, workspace, email, lang string) {
	ws, err := s.svc.FindWorkspaceByName(ctx, workspace)
	if err != nil {
		if custos.ErrorCode(err) != custos.ENOTFOUND {
			s.log.WarnContext(ctx, "preference link: find workspace", slog.String("error", err.Error()))
		}
		return
	}
	ctx = custos.WithActor(ctx, custos.Actor{WorkspaceID: ws.ID, Kind: custos.ActorSystem})
	cs, _, err := s.svc.FindContacts(ctx, custos.ContactFilter{Email: &email, Limit: 1})
	if err != nil {
		s.log.WarnContext(ctx, "preference link: find contact", slog.String("error", err.Error()))
		return
	} else if len(cs) == 0 || cs[0].Status == custos.StatusPending {
		// Unknown, or not confirmed yet: a contact waiting for its double
		// opt-in is mailed nothing else.
		return
	}
	c := cs[0]
	if s.baseURL == "" {
		s.log.WarnContext(ctx, "preference link not sent: no public address configured", slog.Int64("contact", c.ID))
		return
	}
	link, err := custos.PreferenceLink(ctx, s.svc, s.baseURL, c.ID, lang)
	if err != nil {
		// Forgotten or anonymized meanwhile: no centre.
		return
	}
	m := &custos.Message{
		To:      c.Email,
		Subject: i18n.T(lang, "prefs.mail.subject"),
		Text:    i18n.T(lang, "prefs.mail.body", link, int(custos.PreferenceTokenTTL.Hours()/24)),
		Ref:     "contact-" + strconv.FormatInt(c.ID, 10),
		// The person asked for it: it goes even while their processing
		// is restricted.
		Transactional: true,
	}
	// The persisted queue delivers it, retried, surviving a crash; the
	// worker's errors never name the address.
	if err := s.svc.QueueContactMail(ctx, c.ID, m); err != nil {
		s.log.WarnContext(ctx, "preference link not queued", slog.Int64("contact", c.ID),
			slog.String("error", strings.ReplaceAll(err.Error(), c.Email, "<subject>")))
	}
}

// rateLimit counts events per key (a client, an address) in fixed
// windows, in memory: a restart forgets it. A limit of 0 or less allows
// everything.
type rateLimit struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	seen   map[string]*rateWindow
	now    func() time.Time
}

// rateWindow is one key's window: when it began and how many events it
// has counted.
type rateWindow struct {
	start time.Time
	n     int
}

// rateLimitKeys bounds the keys a limit remembers. Should more keys than
// this be live at once (a flood from many addresses), every new key is
// refused until windows end.
const rateLimitKeys = 100_000

func newRateLimit(max int, window time.Duration) *rateLimit {
	return &rateLimit{max: max, window: window, seen: map[string]*rateWindow{}, now: time.Now}
}

// allow counts an event of key and reports whether it is within the
// limit; if not, how long until it would be.
func (l *rateLimit) allow(key string) (bool, time.Duration) {
	if l.max <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.seen[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if w == nil && len(l.seen) >= rateLimitKeys {
			for k, o := range l.seen {
				if now.Sub(o.start) >= l.window {
					delete(l.seen, k)
				}
			}
			if len(l.seen) >= rateLimitKeys {
				return false, l.window
			}
		}
		w = &rateWindow{start: now}
		l.seen[key] = w
	}
	if w.n >= l.max {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return true, 0
}
