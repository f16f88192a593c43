package jobs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/web"
)

const staffPassword = "violet tractor sings loudly"

// staffEnv is a real server over a store, mailing through a real SMTP
// server: the handler only queues, and the test runs the worker.
type staffEnv struct {
	db     *store.DB
	srv    *httptest.Server
	smtp   *smtpServer
	ctx    context.Context // an admin of workspace "w"
	apiKey string
}

func newStaffEnv(t *testing.T, db *store.DB, ts *smtpServer) *staffEnv {
	t.Helper()
	h := web.NewHandler(db, nil, web.WithMailer(ts.sender(t)), web.WithBaseURL("https://crm.example.test"))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &staffEnv{db: db, srv: srv, smtp: ts}
}

// post sends a form or JSON (when body is not url.Values) and returns the
// status.
func (e *staffEnv) post(t *testing.T, path string, body any) int {
	t.Helper()
	var req *http.Request
	if v, ok := body.(url.Values); ok {
		req, _ = http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		b, _ := json.Marshal(body)
		req, _ = http.NewRequest("POST", e.srv.URL+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// deliver runs the worker once and returns what the SMTP server holds.
func (e *staffEnv) deliver(t *testing.T) []string {
	t.Helper()
	w := &jobs.MailWorker{Queue: e.db, Mailer: e.smtp.sender(t)}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.smtp.received()
}

// staffFixture makes workspace "w" with an API key, a staff user with a
// password and codes mailed at sign-in, and a data-subject request.
func staffFixture(t *testing.T, db *store.DB) (ctx context.Context, key string, dsr int64) {
	t.Helper()
	ctx = storetest.Workspace(t, db, "w", custos.RoleAdmin)
	key, err := db.CreateAPIKey(ctx, &custos.APIKey{Name: "admin", Role: custos.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	u := &custos.User{Email: "staff@example.com", Role: custos.RoleAdmin}
	if err := db.CreateUser(ctx, u, staffPassword); err != nil {
		t.Fatal(err)
	}
	self := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: u.WorkspaceID, Kind: custos.ActorUser, ID: u.ID, Role: u.Role})
	if err := db.SetEmail2FA(self, staffPassword, true); err != nil {
		t.Fatal(err)
	}
	r := &custos.DSRRequest{Type: custos.DSRAccess, Email: "subject@example.com"}
	if err := db.CreateDSRRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	return ctx, key, r.ID
}

var (
	resetLinkRE  = regexp.MustCompile(`https://crm\.example\.test/login/reset/csr_[A-Za-z0-9_-]+`)
	codeRE       = regexp.MustCompile(`sign-in code is ([0-9]{6})`)
	verifyLinkRE = regexp.MustCompile(`https://crm\.example\.test/dsr/verify/[A-Za-z0-9_-]+`)
)

// TestStaffMailGoesThroughTheQueue: the reset link, the sign-in code, the
// invitation and the request's verification link are queued by the
// server, not sent: nothing reaches the SMTP server until the worker runs;
// then each arrives, to its recipient, without List-Unsubscribe, and the
// queue keeps none of them readable.
func TestStaffMailGoesThroughTheQueue(t *testing.T) {
	db := storetest.Open(t)
	ts := startSMTP(t)
	e := newStaffEnv(t, db, ts)
	var dsr int64
	e.ctx, e.apiKey, dsr = staffFixture(t, db)

	if s := e.post(t, "/login/reset", url.Values{"workspace": {"w"}, "email": {"staff@example.com"}}); s != http.StatusOK {
		t.Fatalf("reset: %d", s)
	}
	if s := e.post(t, "/login", url.Values{"workspace": {"w"}, "email": {"staff@example.com"}, "password": {staffPassword}}); s != http.StatusSeeOther && s != http.StatusOK {
		t.Fatalf("login: %d", s)
	}
	if s := e.post(t, "/api/v1/users", map[string]any{"email": "invitee@example.com", "role": "viewer"}); s != http.StatusCreated {
		t.Fatalf("invite: %d", s)
	}
	if s := e.post(t, "/api/v1/dsr-requests/"+strconv.FormatInt(dsr, 10)+"/verification", map[string]any{}); s != http.StatusOK {
		t.Fatalf("verification: %d", s)
	}
	if got := ts.received(); len(got) != 0 {
		t.Fatalf("%d messages sent before the worker ran", len(got))
	}
	q, err := db.MailQueueStatus(context.Background())
	if err != nil || len(q) != 4 {
		t.Fatalf("queue %+v, %v; want 4 messages", q, err)
	}
	for _, m := range q {
		if !strings.HasPrefix(m.Subject, "staff-") || m.Status != custos.MailQueued || !m.Sealed {
			t.Fatalf("queued %+v", m)
		}
	}

	got := e.deliver(t)
	if len(got) != 4 {
		t.Fatalf("the SMTP server received %d messages, want 4", len(got))
	}
	ts.mu.Lock()
	rcpts := append([]string(nil), ts.rcpts...)
	ts.mu.Unlock()
	want := map[string]*regexp.Regexp{"staff@example.com": nil, "invitee@example.com": resetLinkRE, "subject@example.com": verifyLinkRE}
	var reset, code bool
	for i, raw := range got {
		if strings.Contains(strings.ToLower(raw), "list-unsubscribe") {
			t.Errorf("message %d has List-Unsubscribe:\n%s", i, raw)
		}
		re, ok := want[rcpts[i]]
		if !ok {
			t.Fatalf("a message to %q", rcpts[i])
		}
		body := strings.ReplaceAll(raw, "=\r\n", "")
		switch {
		case re != nil:
			if !re.MatchString(body) {
				t.Errorf("the message to %s lacks its link:\n%s", rcpts[i], raw)
			}
		case resetLinkRE.MatchString(body):
			reset = true
		case codeRE.MatchString(body):
			code = true
		}
	}
	if !reset || !code {
		t.Errorf("the staff user got reset link %v, sign-in code %v; want both", reset, code)
	}
	q, err = db.MailQueueStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range q {
		if m.Status != custos.MailSent || m.Sealed {
			t.Errorf("after sending %+v; want sent, its content dropped", m)
		}
	}
}

// TestStaffMailSurvivesARestart: a reset link and an invitation queued by
// a server that then stops (its process gone before the worker ran) are
// delivered by the next one.
func TestStaffMailSurvivesARestart(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db, err := store.Open(context.Background(), cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	ts := startSMTP(t)
	e := newStaffEnv(t, db, ts)
	e.ctx, e.apiKey, _ = staffFixture(t, db)
	if s := e.post(t, "/login/reset", url.Values{"workspace": {"w"}, "email": {"staff@example.com"}}); s != http.StatusOK {
		t.Fatalf("reset: %d", s)
	}
	if s := e.post(t, "/api/v1/users", map[string]any{"email": "invitee@example.com", "role": "viewer"}); s != http.StatusCreated {
		t.Fatalf("invite: %d", s)
	}
	// One of them was being sent when the process died.
	if claimed, err := db.ClaimMail(context.Background(), 1); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	e.srv.Close()
	db.Close()

	db = storetest.OpenConfig(t, cfg, v)
	if _, err := db.RequeueSending(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &jobs.MailWorker{Queue: db, Mailer: ts.sender(t)}
	if n, err := w.RunOnce(context.Background()); err != nil || n != 2 {
		t.Fatalf("after the restart the worker handled %d, %v; want 2", n, err)
	}
	got := ts.received()
	if len(got) != 2 {
		t.Fatalf("received %d messages, want 2", len(got))
	}
	for _, raw := range got {
		if !resetLinkRE.MatchString(strings.ReplaceAll(raw, "=\r\n", "")) {
			t.Errorf("a message without its link:\n%s", raw)
		}
	}
}
