package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/mail"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/totp"
)

// syncBuffer is a buffer the server's logger writes into from several
// goroutines (mails are sent in the background).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLoggedEnv is newEnv with the server logging as serve does (text,
// here from the debug level) into the buffer returned.
func newLoggedEnv(t *testing.T) (*testEnv, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	db := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mail := newRecordingMailer(db, log)
	return &testEnv{t: t, db: db, mail: mail, srv: newServer(db, log, WithMailer(mail), WithBaseURL(testBaseURL))}, buf
}

// TestNoSecretsInLogs runs the main flows with marker values (a contact's
// address and fields, passwords right and wrong, a reset link, an API key,
// TOTP enrolment and sign-in, failed mails) and finds none of them, nor
// any secret the flows made, in the server's log.
func TestNoSecretsInLogs(t *testing.T) {
	e, logs := newLoggedEnv(t)
	a := e.newWorkspace("a")
	now := e.setClock()
	markers := []string{"marker-contact@example.com", "Markerfirstname", "Markercompany", "marker-changed@example.com",
		"marker staff password one", "marker wrong password two", "marker-staff@example.com", "marker new password three", a.token, a.session}

	var c custos.Contact
	e.call(a.token, "POST", "/api/v1/contacts", map[string]any{"email": "marker-contact@example.com",
		"fields": map[string]any{"first_name": "Markerfirstname", "company": "Markercompany"}}, http.StatusCreated, &c)
	contact := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)
	e.call(a.token, "PATCH", contact, map[string]any{"email": "marker-changed@example.com"}, http.StatusOK, nil)
	// Errors that echo input: a duplicate and a bad value.
	e.call(a.token, "POST", "/api/v1/contacts", map[string]any{"email": "marker-changed@example.com"}, http.StatusConflict, nil)
	e.call(a.token, "PATCH", contact, map[string]any{"fields": map[string]any{"first_name": 12}}, http.StatusBadRequest, nil)

	// An API key made over the API, and used.
	var k struct{ Token string }
	e.call(a.token, "POST", "/api/v1/api-keys", map[string]any{"name": "marker key", "role": "sales"}, http.StatusCreated, &k)
	e.call(k.Token, "GET", contact, nil, http.StatusOK, nil)
	markers = append(markers, k.Token)

	// A user, signed in with a wrong password, then the right one.
	e.call(a.token, "POST", "/api/v1/users", map[string]any{"email": "marker-staff@example.com", "role": "admin", "password": "marker staff password one"}, http.StatusCreated, nil)
	e.loginForm("a", "marker-staff@example.com", "marker wrong password two", nil)
	session := e.loginForm("a", "marker-staff@example.com", "marker staff password one", nil).cookie(t, sessionCookie).Value
	markers = append(markers, session)

	// TOTP: enrol, then sign in with the code.
	var enr custos.TOTPEnrolment
	e.call(session, "POST", "/api/v1/me/totp", nil, http.StatusCreated, &enr)
	secret, err := totp.Decode(enr.Secret)
	must(t, err)
	var rec recoveryBody
	e.call(session, "POST", "/api/v1/me/totp/confirm", map[string]any{"code": totp.Code(secret, totp.Step(*now))}, http.StatusOK, &rec)
	markers = append(markers, enr.Secret, enr.URI)
	markers = append(markers, rec.RecoveryCodes...)
	pending := e.loginForm("a", "marker-staff@example.com", "marker staff password one", nil).cookie(t, pendingCookie).Value
	markers = append(markers, pending)
	e.do(request{method: "POST", path: "/login/2fa", body: url.Values{"code": {rec.RecoveryCodes[0]}}.Encode(), contentType: formType,
		header: map[string]string{"Cookie": pendingCookie + "=" + pending}})

	// A reset link, used.
	e.do(request{method: "POST", path: "/login/reset", body: url.Values{"workspace": {"a"}, "email": {"marker-staff@example.com"}}.Encode(), contentType: formType})
	e.srv.mails.Wait()
	m := e.mail.last(t)
	i := strings.Index(m.Text, testBaseURL+"/login/reset/")
	if i < 0 {
		t.Fatalf("no reset link: %s", m.Text)
	}
	link := strings.Fields(m.Text[i+len(testBaseURL):])[0]
	markers = append(markers, strings.TrimPrefix(link, "/login/reset/"))
	e.do(request{method: "POST", path: link, body: url.Values{"password": {"marker new password three"}}.Encode(), contentType: formType})

	// Mail that fails with the address in the error, as SMTP servers say.
	e.mail.mu.Lock()
	e.mail.fail = fmt.Errorf("%w: mailbox unavailable: <marker-invitee@example.com>", &mail.SMTPError{Stage: "recipient", Code: 550})
	e.mail.mu.Unlock()
	markers = append(markers, "marker-invitee@example.com")
	e.do(request{method: "POST", path: "/api/v1/users", token: a.token, body: map[string]any{"email": "marker-invitee@example.com", "role": "viewer"}})
	e.do(request{method: "POST", path: "/login/reset", body: url.Values{"workspace": {"a"}, "email": {"marker-changed@example.com"}}.Encode(), contentType: formType})
	e.mail.deliver(t) // the worker, as serve runs it, with the server's log

	out := logs.String()
	if !strings.Contains(out, "mail failed") {
		t.Fatalf("the failed invitation was not logged; the test reads the wrong log?\n%s", out)
	}
	for _, v := range markers {
		if v != "" && strings.Contains(out, v) {
			t.Errorf("the log holds %q", v)
		}
	}
}

// TestLogLinesCannotBeForged sends newlines (\n, \r, U+2028) in a path,
// a header and values that end up in logged errors: every line of the log
// must still be one whole record of the text handler serve uses.
func TestLogLinesCannotBeForged(t *testing.T) {
	e, logs := newLoggedEnv(t)
	a := e.newWorkspace("a")
	forged := []string{"\nlevel=ERROR msg=forged", "\r\nlevel=ERROR msg=forged", "\u2028level=ERROR msg=forged"}
	for _, f := range forged {
		e.do(request{method: "GET", path: "/api/v1/contacts/" + url.PathEscape("1"+f), token: a.token})
		e.do(request{method: "GET", path: "/no/such/" + url.PathEscape(f), token: a.token, header: map[string]string{"X-Custos-Background": f, "User-Agent": f}})
		e.loginForm("a", "a-staff@example.com"+f, "x"+f, map[string]string{"User-Agent": f})
		e.mail.mu.Lock()
		e.mail.fail = fmt.Errorf("%w: refused"+f, &mail.SMTPError{Stage: "recipient", Code: 550})
		e.mail.mu.Unlock()
		e.do(request{method: "POST", path: "/api/v1/users", token: a.token, body: map[string]any{"email": "invitee" + strconv.Itoa(len(f)) + "@example.com", "role": "viewer"}})
		e.mail.deliver(t)
	}
	out := logs.String()
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		n++
		if !strings.HasPrefix(line, "time=") || strings.Contains(line, "\r") || strings.Contains(line, "\u2028") {
			t.Errorf("a log line that is no record: %q", line)
		}
		// The forged text may only appear quoted, inside a value.
		if i := strings.Index(line, "level=ERROR msg=forged"); i > 0 && line[i-1] == ' ' {
			t.Errorf("a record with a forged attribute: %q", line)
		}
	}
	if n < len(forged) {
		t.Fatalf("only %d log lines; the test logged nothing?\n%s", n, out)
	}
}
