package mail

import (
	"bytes"
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
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Credentials the test server accepts.
const (
	testUser = "custos@example.com"
	testPass = "s3cret p@ss/word"
)

// serverMode says how the test server offers TLS.
type serverMode int

const (
	modeSTARTTLS serverMode = iota // TLS after STARTTLS
	modeImplicit                   // TLS from the first byte
	modePlain                      // no TLS at all, AUTH offered anyway
)

// testServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 with a
// certificate made for the test. It keeps what it receives.
type testServer struct {
	addr  string
	roots *x509.CertPool // trusts the server's certificate

	mu       sync.Mutex
	msgs     []received
	auths    int // AUTH attempts
	tlsAuths int // AUTH attempts over TLS
	sessions int
	conns    []*smtp.Conn // every connection, to hang up on
	debug    bytes.Buffer // the conversation, both ways
}

// received is one delivered message.
type received struct {
	from, to string
	data     []byte
	tls      bool
}

func startServer(tb testing.TB, mode serverMode) *testServer {
	tb.Helper()
	cert, roots := selfSignedCert(tb)
	ts := &testServer{roots: roots}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.conns = append(ts.conns, c)
		ts.mu.Unlock()
		return &session{ts: ts, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.Debug = lockedWriter{&ts.mu, &ts.debug}
	s.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up are expected
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	switch mode {
	case modeSTARTTLS:
		s.TLSConfig = tlsCfg
	case modeImplicit:
		l = tls.NewListener(l, tlsCfg)
	case modePlain:
		s.AllowInsecureAuth = true
	}
	ts.addr = l.Addr().String()
	go s.Serve(l)
	tb.Cleanup(func() { s.Close() })
	return ts
}

// url returns the URL of the server with the given credentials.
func (ts *testServer) url(scheme, user, pass string) string {
	u := &url.URL{Scheme: scheme, Host: ts.addr}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// sender returns a Sender for the server, trusting its certificate.
func (ts *testServer) sender(tb testing.TB, rawURL string) *Sender {
	tb.Helper()
	s, err := New(Config{URL: rawURL, From: "Custos <noreply@example.com>", TLSConfig: &tls.Config{RootCAs: ts.roots}})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// authAttempts returns the number of AUTH commands, and how many of them
// came over TLS.
func (ts *testServer) authAttempts() (all, overTLS int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.auths, ts.tlsAuths
}

// hangUp closes every connection the server has, as a server does with
// a client idle too long.
func (ts *testServer) hangUp() {
	ts.mu.Lock()
	conns := ts.conns
	ts.conns = nil
	ts.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (ts *testServer) conversation() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.debug.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// session is one SMTP connection to the test server.
type session struct {
	ts     *testServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	_, isTLS := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	s.ts.auths++
	if isTLS {
		s.ts.tlsAuths++
	}
	s.ts.mu.Unlock()
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != testUser || pass != testPass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.to != "" {
		return errors.New("one recipient only")
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, received{from: s.from, to: s.to, data: b, tls: isTLS})
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and localhost, and a
// pool that trusts it.
func selfSignedCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "custos test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
