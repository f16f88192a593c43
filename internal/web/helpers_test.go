package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// testEnv is a real store behind the real handler, which mails into mail.
type testEnv struct {
	t    *testing.T
	db   *store.DB
	srv  *server
	mail *recordingMailer
}

// testBaseURL is the public address of the server under test.
const testBaseURL = "https://crm.example.test"

// newEnv opens a fresh store and the handler over it.
func newEnv(t *testing.T) *testEnv {
	t.Helper()
	db := storetest.Open(t)
	mail := newRecordingMailer(db, nil)
	return &testEnv{t: t, db: db, mail: mail, srv: newServer(db, nil, WithMailer(mail), WithBaseURL(testBaseURL+"/"))}
}

// recordingMailer keeps the messages sent, in order; while fail is set,
// sending fails with it. The server queues its mail (the persisted
// queue); last and count first run the mail worker over the queue, as
// serve's would, with this mailer.
type recordingMailer struct {
	mu     sync.Mutex
	sent   []*custos.Message
	fail   error
	worker *jobs.MailWorker
}

// newRecordingMailer returns a recordingMailer whose worker sends the mail
// queued in db, logging into log (nil: nowhere).
func newRecordingMailer(db *store.DB, log *slog.Logger) *recordingMailer {
	m := &recordingMailer{}
	m.worker = &jobs.MailWorker{Queue: db, Mailer: m, Log: log, Concurrency: 1}
	return m
}

// deliver runs the worker over the mail due now.
func (m *recordingMailer) deliver(t *testing.T) {
	t.Helper()
	if m.worker == nil {
		return
	}
	if _, err := m.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// count delivers the mail due, then returns how many messages were sent.
func (m *recordingMailer) count(t *testing.T) int {
	t.Helper()
	m.deliver(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// Send records m, or fails.
func (m *recordingMailer) Send(_ context.Context, msg *custos.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	c := *msg
	m.sent = append(m.sent, &c)
	return nil
}

// last returns the last message sent, failing the test when none was.
func (m *recordingMailer) last(t *testing.T) *custos.Message {
	t.Helper()
	m.deliver(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		t.Fatal("no message was sent")
	}
	return m.sent[len(m.sent)-1]
}

// workspace is one tenant of a test, with the objects the tests address.
type workspace struct {
	name      string
	ctx       context.Context // an admin actor of the command line
	id        int64
	token     string // an admin API key
	contact   int64
	email     string
	list      int64
	group     int64
	purpose   int64
	field     string // a custom field classified none
	notice    string // a notice hash
	event     int64  // a consent event of contact
	processor int64
	request   int64       // an access request by the contact's address, with a note
	activity  int64       // a note on contact
	attach    int64       // a text file attached to contact
	form      int64       // a sign-up form asking consent for purpose, joining list
	imp       int64       // an import, with a rejected row
	role      custos.Role // a role of the workspace's own, which nobody carries
	apiKey    int64       // a viewer key, besides token, named "key of <name>"
	saved     int64       // a saved filter of the admin API key (token)

	// Staff sign-in.
	user      int64  // an admin staff user, signed in
	session   string // the user's session token, sent as the session cookie
	sessionID int64
}

// testPassword is the password of the staff users tests make.
const testPassword = "violet tractor sings loudly"

// credential returns what a test sends to reach pattern as w's admin: the
// session of w's user for the routes about oneself and the admin pages,
// the key otherwise.
func (w *workspace) credential(pattern, key string) string {
	if strings.HasPrefix(pattern, "/api/v1/me") || !strings.HasPrefix(pattern, "/api/") {
		return w.session
	}
	return key
}

// newWorkspace makes a workspace and, through the store, one object of
// every kind, each named after the workspace so that a leak is visible.
func (e *testEnv) newWorkspace(name string) *workspace {
	t := e.t
	t.Helper()
	bg := context.Background()
	ws := &custos.Workspace{Name: name}
	must(t, e.db.CreateWorkspace(bg, ws))
	w := &workspace{name: name, id: ws.ID, field: name + "_only", email: name + "-person@example.com"}
	w.ctx = custos.WithActor(bg, custos.Actor{WorkspaceID: ws.ID, Kind: "cli", Role: custos.RoleAdmin})
	adminKey := &custos.APIKey{Name: string(custos.RoleAdmin), Role: custos.RoleAdmin}
	token, err := e.db.CreateAPIKey(w.ctx, adminKey)
	must(t, err)
	w.token = token
	sf := &custos.SavedFilter{Name: "saved of " + name, Query: "tag=tag-" + name}
	must(t, e.db.CreateSavedFilter(custos.WithActor(bg, custos.Actor{WorkspaceID: ws.ID, Kind: custos.ActorAPIKey, ID: adminKey.ID, Role: custos.RoleAdmin}), sf))
	w.saved = sf.ID

	// Direct marketing: an objection that wrongly reached it would add to
	// its ledger, which checkUntouched counts.
	p := &custos.Purpose{Name: "purpose of " + name, LegalBasis: custos.BasisConsent, Marketing: true}
	must(t, e.db.CreatePurpose(w.ctx, p))
	w.purpose = p.ID

	f := &custos.FieldDef{Key: w.field, Label: "only in " + name, Type: custos.FieldText, Classification: custos.ClassNone}
	must(t, f.Validate())
	must(t, e.db.CreateField(w.ctx, f))

	n := &custos.Notice{Body: "I agree to the newsletter of " + name + "."}
	must(t, n.Validate())
	must(t, e.db.CreateNotice(w.ctx, n))
	w.notice = n.Hash

	g := &custos.ListGroup{Name: "group of " + name}
	must(t, e.db.CreateListGroup(w.ctx, g))
	w.group = g.ID

	l := &custos.List{Name: "list of " + name, GroupID: &g.ID}
	must(t, e.db.CreateList(w.ctx, l))
	w.list = l.ID

	c := &custos.Contact{Email: w.email, Tags: []string{"tag-" + name},
		Fields: map[string]any{custos.FieldFirstName: "First" + name, w.field: "value of " + name}}
	must(t, c.Validate())
	must(t, e.db.CreateContact(w.ctx, c))
	w.contact = c.ID

	_, err = e.db.AddMembers(w.ctx, w.list, []int64{w.contact})
	must(t, err)

	req := custos.ConsentRequest{PurposeID: w.purpose, Action: custos.ActionGrant, NoticeHash: w.notice,
		IP: "192.0.2.1", UserAgent: "test agent", Method: custos.MethodManual}
	ev, err := e.db.RecordConsent(w.ctx, w.contact, req)
	must(t, err)
	w.event = ev.ID

	dsr := &custos.DSRRequest{Type: custos.DSRAccess, Email: w.email}
	must(t, e.db.CreateDSRRequest(w.ctx, dsr))
	_, err = e.db.AddDSRNote(w.ctx, dsr.ID, "called by the person of "+name)
	must(t, err)

	sum := sha256.Sum256([]byte(name))
	imp, err := e.db.StartImport(w.ctx, &custos.Import{Name: "import of " + name + ".csv", SHA256: hex.EncodeToString(sum[:]),
		Options: custos.ImportOptions{PurposeID: w.purpose, Basis: custos.BasisConsent, Notice: "I agree, " + name}})
	must(t, err)
	_, err = e.db.ImportChunk(w.ctx, imp.ID, nil, []custos.ImportRejection{{Line: 2, Column: "email", Reason: "rejected of " + name}}, 2, nil)
	must(t, err)
	w.imp = imp.ID
	w.request = dsr.ID
	proc := &custos.Processor{Name: "processor of " + name, Country: "PL", Service: "mail delivery"}
	must(t, e.db.CreateProcessor(w.ctx, proc))
	w.processor = proc.ID

	form := &custos.Form{Name: "form of " + name, Fields: []custos.FormField{{Field: custos.FieldFirstName}},
		Purposes:          []custos.FormPurpose{{PurposeID: w.purpose, Main: true, Notice: "I want the newsletter of " + name + "."}},
		InformationClause: "The controller is the company of " + name + ".", PrivacyPolicyURL: "https://" + name + ".example/privacy",
		ListIDs: []int64{w.list}}
	must(t, e.db.CreateForm(w.ctx, form))
	w.form = form.ID

	_, err = e.db.ExportContact(w.ctx, w.contact) // an audit entry
	must(t, err)

	act := &custos.Activity{Type: custos.ActivityNote, Body: "note of " + name}
	must(t, e.db.CreateActivity(w.ctx, w.contact, act))
	w.activity = act.ID
	att := &custos.Attachment{Name: "file of " + name + ".txt"}
	must(t, e.db.CreateAttachment(w.ctx, w.contact, att, []byte("content of "+name), nil))
	w.attach = att.ID
	w.role = custos.Role("role-" + name)
	must(t, e.db.CreateRole(w.ctx, &custos.RoleDef{Name: w.role, Permissions: []custos.Permission{custos.PermContactsRead}}))
	k := &custos.APIKey{Name: "key of " + name, Role: custos.RoleViewer}
	_, err = e.db.CreateAPIKey(w.ctx, k)
	must(t, err)
	w.apiKey = k.ID
	u := &custos.User{Email: name + "-staff@example.com", Role: custos.RoleAdmin}
	must(t, e.db.CreateUser(w.ctx, u, testPassword))
	res, err := e.db.Login(bg, custos.LoginAttempt{Workspace: name, Email: u.Email, Password: testPassword})
	must(t, err)
	w.user, w.session, w.sessionID = u.ID, res.Token, res.Session.ID
	return w
}

// key makes an API key of the role in w and returns its token.
func (e *testEnv) key(w *workspace, role custos.Role) string {
	e.t.Helper()
	token, err := e.db.CreateAPIKey(w.ctx, &custos.APIKey{Name: string(role), Role: role})
	must(e.t, err)
	return token
}

// countContacts counts w's contacts through the store.
func (e *testEnv) countContacts(w *workspace) int {
	e.t.Helper()
	n, after := 0, int64(0)
	for {
		cs, next, err := e.db.FindContacts(w.ctx, custos.ContactFilter{After: after, Limit: custos.MaxLimit})
		must(e.t, err)
		n += len(cs)
		if next == 0 {
			return n
		}
		after = next
	}
}

// response is an answer of the handler.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request is what a test sends. A body that is a string or []byte is sent
// as it is; anything else is marshalled to JSON.
type request struct {
	method      string
	path        string
	token       string
	body        any
	contentType string // "application/json" when empty and a body is given
	header      map[string]string
}

// do serves one request.
func (e *testEnv) do(r request) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		must(e.t, err)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(r.method, r.path, rd)
	if strings.HasPrefix(r.token, "css_") {
		// A session token goes as the browser sends it: in the cookie.
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: r.token})
	} else if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			req.Header.Set("Content-Type", ct)
		}
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// call serves a request and fails the test unless the status is want; it
// decodes the body into out when out is not nil.
func (e *testEnv) call(token, method, path string, body any, want int, out any) *response {
	e.t.Helper()
	res := e.do(request{method: method, path: path, token: token, body: body})
	if res.status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.status, want, res.body)
	}
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, res.body, err)
		}
	}
	return res
}

// apiError is the decoded error of an answer.
type apiError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field"`
	ExistingID int64  `json:"existing_id"`
}

// apiError decodes the answer as an error, failing the test if it is not
// one in the documented shape.
func (r *response) apiError(t *testing.T) apiError {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, body %s", ct, r.body)
	}
	var body struct {
		Error *apiError `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("not an error body: %s (%v)", r.body, err)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error without code or message: %s", r.body)
	}
	return *body.Error
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// staffSeq numbers the staff users staffSession makes, so that their
// addresses differ.
var staffSeq atomic.Int64

// staffSession makes a staff user of the role in w, signs them in through
// the store and returns their session token.
func (e *testEnv) staffSession(w *workspace, role custos.Role) string {
	e.t.Helper()
	u := &custos.User{Email: string(role) + "-" + strconv.FormatInt(staffSeq.Add(1), 10) + "@" + w.name + ".example", Role: role}
	must(e.t, e.db.CreateUser(w.ctx, u, testPassword))
	res, err := e.db.Login(context.Background(), custos.LoginAttempt{Workspace: w.name, Email: u.Email, Password: testPassword})
	must(e.t, err)
	return res.Token
}
