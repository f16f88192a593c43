package jobs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/mail"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 with
// STARTTLS. Each RCPT takes the next reply from replies (nil: accept); it
// keeps what it receives.
type smtpServer struct {
	addr  string
	roots *x509.CertPool

	mu      sync.Mutex
	replies []*smtp.SMTPError
	msgs    []string // raw messages
	rcpts   []string
}

func startSMTP(t testing.TB, replies ...*smtp.SMTPError) *smtpServer {
	t.Helper()
	cert, roots := selfSigned(t)
	ts := &smtpServer{roots: roots, replies: replies}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{ts: ts}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ts
}

func (ts *smtpServer) sender(t testing.TB) *mail.Sender {
	t.Helper()
	s, err := mail.New(mail.Config{URL: "smtp://" + ts.addr, From: "Custos <noreply@example.com>", TLSConfig: &tls.Config{RootCAs: ts.roots}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (ts *smtpServer) received() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.msgs...)
}

type session struct {
	ts *smtpServer
	to string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	if len(s.ts.replies) > 0 {
		r := s.ts.replies[0]
		s.ts.replies = s.ts.replies[1:]
		if r != nil {
			return r
		}
	}
	s.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, string(b))
	s.ts.rcpts = append(s.ts.rcpts, s.to)
	s.ts.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.to = "" }
func (s *session) Logout() error { return nil }

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custos test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// clock is a settable time shared by the store and the worker.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fixture is a store with one contact and a clock.
func fixture(t testing.TB, db *store.DB) (context.Context, int64, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db.Now = c.now
	ctx := storetest.Workspace(t, db, "w", custos.RoleAdmin)
	ct := &custos.Contact{Email: "ala@example.com"}
	if err := db.CreateContact(ctx, ct); err != nil {
		t.Fatal(err)
	}
	return ctx, ct.ID, c
}

func queue(t *testing.T, ctx context.Context, db *store.DB, contact int64) {
	t.Helper()
	if err := db.QueueContactMail(ctx, contact, &custos.Message{To: "ala@example.com", Subject: "Confirm", Text: "Press the button."}); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, db *store.DB) store.MailStatus {
	t.Helper()
	st, err := db.MailQueueStatus(context.Background())
	if err != nil || len(st) != 1 {
		t.Fatalf("queue = %+v, %v; want one row", st, err)
	}
	return st[0]
}

func runOnce(t *testing.T, w *jobs.MailWorker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMailQueueRetriesA4xxThenSends(t *testing.T) {
	db := storetest.Open(t)
	ctx, contact, clk := fixture(t, db)
	ts := startSMTP(t, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later ala@example.com"})
	w := &jobs.MailWorker{Queue: db, Mailer: ts.sender(t), Now: clk.now}
	queue(t, ctx, db, contact)

	if n := runOnce(t, w); n != 1 {
		t.Fatalf("first run handled %d, want 1", n)
	}
	st := status(t, db)
	if st.Status != custos.MailQueued || st.Attempts != 1 || !st.NextAt.Equal(clk.t.Add(jobs.BaseBackoff)) || !st.Sealed {
		t.Fatalf("after a 451: %+v", st)
	}
	if !strings.Contains(st.LastError, "451") || strings.Contains(st.LastError, "ala@") {
		t.Fatalf("last error %q: want the code and no address", st.LastError)
	}
	if n := runOnce(t, w); n != 0 || len(ts.received()) != 0 {
		t.Fatalf("before its time the message was tried again (%d)", n)
	}
	clk.t = clk.t.Add(jobs.BaseBackoff)
	if n := runOnce(t, w); n != 1 {
		t.Fatalf("second run handled %d, want 1", n)
	}
	msgs := ts.received()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Press the button.") {
		t.Fatalf("received %q", msgs)
	}
	if strings.Contains(strings.ToLower(msgs[0]), "list-unsubscribe") {
		t.Fatal("transactional mail carries a List-Unsubscribe header")
	}
	// A message to a contact stays, sealed under the contact's key, for
	// the contact's export (TestExportHoldsMessagesSent).
	if st := status(t, db); st.Status != custos.MailSent || st.Attempts != 2 || !st.Sealed {
		t.Fatalf("after delivery: %+v", st)
	}
}

func TestMailQueueFailsOn5xx(t *testing.T) {
	db := storetest.Open(t)
	ctx, contact, clk := fixture(t, db)
	ts := startSMTP(t, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	w := &jobs.MailWorker{Queue: db, Mailer: ts.sender(t), Now: clk.now}
	queue(t, ctx, db, contact)
	runOnce(t, w)
	if st := status(t, db); st.Status != custos.MailFailed || !st.Sealed || !strings.Contains(st.LastError, "550") {
		t.Fatalf("after a 550: %+v", st)
	}
	clk.t = clk.t.Add(jobs.MaxBackoff * 2)
	if n := runOnce(t, w); n != 0 || len(ts.received()) != 0 {
		t.Fatal("a failed message was tried again")
	}
}

func TestMailQueueRetriesWhenTheServerIsDown(t *testing.T) {
	db := storetest.Open(t)
	ctx, contact, clk := fixture(t, db)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s, err := mail.New(mail.Config{URL: "smtp://" + addr, From: "noreply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	w := &jobs.MailWorker{Queue: db, Mailer: s, Now: clk.now}
	queue(t, ctx, db, contact)
	runOnce(t, w)
	if st := status(t, db); st.Status != custos.MailQueued || st.Attempts != 1 || !st.Sealed {
		t.Fatalf("after a refused connection: %+v", st)
	}
	// The backoff doubles per attempt up to its cap.
	for i, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 20: jobs.MaxBackoff} {
		if got := jobs.Backoff(i); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestMailQueueSurvivesACrash: a message claimed by a process that died
// before recording the outcome is sent when the next process starts.
func TestMailQueueSurvivesACrash(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db, err := store.Open(context.Background(), cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, contact, _ := fixture(t, db)
	queue(t, ctx, db, contact)
	queue(t, ctx, db, contact)
	claimed, err := db.ClaimMail(context.Background(), 1) // in flight when the process dies
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	db.Close()

	db = storetest.OpenConfig(t, cfg, v)
	ts := startSMTP(t)
	w := &jobs.MailWorker{Queue: db, Mailer: ts.sender(t)}
	if n, err := db.RequeueSending(context.Background()); err != nil || n != 1 {
		t.Fatalf("requeued %d, %v; want 1", n, err)
	}
	if n := runOnce(t, w); n != 2 {
		t.Fatalf("after the restart %d sent, want 2", n)
	}
	if got := len(ts.received()); got != 2 {
		t.Fatalf("received %d messages, want 2", got)
	}
}

func TestMailQueueForget(t *testing.T) {
	db := storetest.Open(t)
	ctx, contact, _ := fixture(t, db)
	queue(t, ctx, db, contact)
	if _, err := db.ForgetContact(ctx, contact, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if st, err := db.MailQueueStatus(context.Background()); err != nil || len(st) != 0 {
		t.Fatalf("after forget the queue holds %+v, %v", st, err)
	}
}

// stopDuring is a real sender whose Send the process is told to stop
// during, after the server accepted the message: the moment a stop cannot
// otherwise be made to arrive at.
type stopDuring struct {
	*mail.Sender
	stop context.CancelFunc
}

func (s stopDuring) Send(ctx context.Context, m *custos.Message) error {
	err := s.Sender.Send(ctx, m)
	s.stop()
	return err
}

// TestMailQueueStopDuringDelivery: a message the SMTP server accepted is
// recorded sent even though the worker was stopped before the record, so
// the next start does not send it again.
func TestMailQueueStopDuringDelivery(t *testing.T) {
	db := storetest.Open(t)
	ctx, contact, _ := fixture(t, db)
	queue(t, ctx, db, contact)
	ts := startSMTP(t)
	run, stop := context.WithCancel(context.Background())
	w := &jobs.MailWorker{Queue: db, Mailer: stopDuring{ts.sender(t), stop}}
	if n, err := w.RunOnce(run); !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("handled %d, %v; want 1, stopped", n, err)
	}
	if st := status(t, db); st.Status != custos.MailSent {
		t.Fatalf("the delivered message is %s, want sent", st.Status)
	}
	if n, err := db.RequeueSending(context.Background()); err != nil || n != 0 {
		t.Fatalf("requeued %d, %v; want nothing to send again", n, err)
	}
}
