package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// testMessage is a message with non-ASCII in its subject and body.
func testMessage() *custos.Message {
	return &custos.Message{
		To:      "anna@example.org",
		Subject: "Potwierdź swój adres — zażółć gęślą jaźń",
		Text:    "Dzień dobry,\nkliknij, aby potwierdzić: https://example.org/c?t=abc&x=1\n.\nDziękujemy — Zespół\n",
		Ref:     "contact-1",
	}
}

// wantDelivered checks that ts received exactly m, over TLS.
func wantDelivered(t *testing.T, ts *testServer, m *custos.Message) {
	t.Helper()
	msgs := ts.received()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	r := msgs[0]
	if r.from != "noreply@example.com" || r.to != "anna@example.org" || !r.tls {
		t.Errorf("envelope from %q to %q, TLS %v", r.from, r.to, r.tls)
	}
	checkWire(t, r.data)
	p := parseMessage(t, r.data)
	if p.subject != m.Subject {
		t.Errorf("subject %q, want %q", p.subject, m.Subject)
	}
	if got := p.header.Get("To"); got != "<anna@example.org>" {
		t.Errorf("To %q", got)
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if len(p.parts) != 1 || p.parts[0].body != crlf(m.Text) {
		t.Errorf("body %+v, want %q", p.parts, crlf(m.Text))
	}
}

func TestSMTPStartTLS(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	s := ts.sender(t, ts.url("smtp", testUser, testPass))
	m := testMessage()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	wantDelivered(t, ts, m)
	if all, overTLS := ts.authAttempts(); all != 1 || overTLS != 1 {
		t.Errorf("%d AUTH commands, %d of them over TLS; want 1, 1", all, overTLS)
	}
	conv := ts.conversation()
	if i, j := strings.Index(conv, "220 2.0.0 Ready to start TLS"), strings.Index(conv, "\nAUTH PLAIN"); i < 0 || j < i {
		t.Errorf("TLS ready at %d, AUTH at %d in:\n%s", i, j, conv)
	}
	if n, err := s.Purge("contact-1"); n != 0 || err != nil {
		t.Errorf("Purge over SMTP = %d, %v; want 0, nil", n, err)
	}
}

// TestSMTPReusesConnections: messages sent one after another go over
// one connection, greeted, secured and authenticated once.
func TestSMTPReusesConnections(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	s := ts.sender(t, ts.url("smtp", testUser, testPass))
	defer s.Close()
	for range 5 {
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(ts.received()); got != 5 {
		t.Fatalf("server received %d messages, want 5", got)
	}
	if all, _ := ts.authAttempts(); all != 1 {
		t.Errorf("%d AUTH commands, want 1", all)
	}
	if n := strings.Count(ts.conversation(), "Ready to start TLS"); n != 1 {
		t.Errorf("TLS started %d times, want 1", n)
	}
}

// TestSMTPReconnectsWhenTheServerHungUp: the server closes the connection
// kept between two messages; the second goes on a new one, once.
func TestSMTPReconnectsWhenTheServerHungUp(t *testing.T) {
	for _, mode := range []serverMode{modeSTARTTLS, modeImplicit} {
		ts := startServer(t, mode)
		scheme := map[serverMode]string{modeSTARTTLS: "smtp", modeImplicit: "smtps"}[mode]
		s := ts.sender(t, ts.url(scheme, testUser, testPass))
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		ts.hangUp()
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatalf("%s: after the server hung up: %v", scheme, err)
		}
		if got := len(ts.received()); got != 2 {
			t.Errorf("%s: server received %d messages, want 2", scheme, got)
		}
		if all, _ := ts.authAttempts(); all != 2 {
			t.Errorf("%s: %d AUTH commands, want 2 (one a connection)", scheme, all)
		}
		s.Close()
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	ts := startServer(t, modeImplicit)
	s := ts.sender(t, ts.url("smtps", testUser, testPass))
	m := testMessage()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	wantDelivered(t, ts, m)
}

func TestSMTPHTML(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	s := ts.sender(t, ts.url("smtp", testUser, testPass))
	m := testMessage()
	m.HTML = "<p>Kliknij <a href=\"https://example.org/c\">tutaj</a>, żeby potwierdzić.</p>\n<p>.</p>\n"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := ts.received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	p := parseMessage(t, msgs[0].data)
	if p.mediaType != "multipart/alternative" || len(p.parts) != 2 {
		t.Fatalf("%s with %d parts", p.mediaType, len(p.parts))
	}
	if p.parts[0].contentType != "text/plain; charset=utf-8" || p.parts[0].body != crlf(m.Text) {
		t.Errorf("text part %+v", p.parts[0])
	}
	if p.parts[1].contentType != "text/html; charset=utf-8" || p.parts[1].body != crlf(m.HTML) {
		t.Errorf("HTML part %+v", p.parts[1])
	}
}

func TestSMTPRequiresSTARTTLS(t *testing.T) {
	ts := startServer(t, modePlain)
	s := ts.sender(t, ts.url("smtp", testUser, testPass))
	err := s.Send(context.Background(), testMessage())
	if !errors.Is(err, ErrNoSTARTTLS) {
		t.Fatalf("error %v, want ErrNoSTARTTLS", err)
	}
	if n, _ := ts.authAttempts(); n != 0 {
		t.Errorf("%d AUTH attempts without TLS", n)
	}
	conv := ts.conversation()
	if !strings.Contains(conv, "250-AUTH PLAIN") {
		t.Errorf("the server did not offer AUTH, so the test proves nothing:\n%s", conv)
	}
	if regexp.MustCompile(`(?m)^(AUTH|MAIL|RCPT|DATA)`).MatchString(conv) {
		t.Errorf("the client sent more than EHLO in clear text:\n%s", conv)
	}
	if len(ts.received()) != 0 {
		t.Error("mail delivered without TLS")
	}
	// The same holds without credentials: no mail in clear text either.
	s = ts.sender(t, ts.url("smtp", "", ""))
	if err := s.Send(context.Background(), testMessage()); !errors.Is(err, ErrNoSTARTTLS) {
		t.Errorf("without credentials: error %v, want ErrNoSTARTTLS", err)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	const wrong = "wr0ng-Pa55word"
	s := ts.sender(t, ts.url("smtp", testUser, wrong))
	err := s.Send(context.Background(), testMessage())
	var se *SMTPError
	if !errors.As(err, &se) || se.Stage != "auth" || se.Code != 535 || se.Status != "5.7.8" || se.Temporary() {
		t.Fatalf("error %#v (%v), want a permanent auth refusal 535 5.7.8", err, err)
	}
	for _, secret := range []string{wrong, url.QueryEscape(wrong), testUser, "anna@example.org"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds %q", err, secret)
		}
	}
	if len(ts.received()) != 0 {
		t.Error("delivered with a wrong password")
	}
}

func TestSMTPRefusal(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	// The server wants AUTH before MAIL; a URL without credentials is refused
	// at the sender address, and the error keeps the codes, not the text.
	s := ts.sender(t, ts.url("smtp", "", ""))
	err := s.Send(context.Background(), testMessage())
	var se *SMTPError
	if !errors.As(err, &se) || se.Stage != "sender" || se.Code != 502 || se.Status != "5.7.0" {
		t.Fatalf("error %v, want a refusal of the sender", err)
	}
	if want := "mail: the SMTP server refused the sender address: 502 5.7.0"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	for _, mode := range []serverMode{modeSTARTTLS, modeImplicit} {
		ts := startServer(t, mode)
		scheme := map[serverMode]string{modeSTARTTLS: "smtp", modeImplicit: "smtps"}[mode]
		s, err := New(Config{URL: ts.url(scheme, testUser, testPass), From: testFrom})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), testMessage())
		var ue x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want an unknown authority", scheme, err)
		}
		if n, _ := ts.authAttempts(); n != 0 || len(ts.received()) != 0 {
			t.Errorf("%s: authenticated or delivered over an unverified connection", scheme)
		}
	}
}

func TestSMTPInjectionRefused(t *testing.T) {
	ts := startServer(t, modeSTARTTLS)
	s := ts.sender(t, ts.url("smtp", testUser, testPass))
	for _, m := range []*custos.Message{
		{To: "anna@example.org\r\nRCPT TO:<eve@example.net>", Subject: "Hi", Text: "x"},
		{To: "anna@example.org>\r\nRCPT TO:<eve@example.net", Subject: "Hi", Text: "x"},
		{To: "anna@example.org", Subject: "Hi\r\nBcc: eve@example.net", Text: "x"},
		{To: "anna@example.org", Subject: "Hi\nBcc: eve@example.net", Text: "x"},
		{To: "anna@example.org, eve@example.net", Subject: "Hi", Text: "x"},
	} {
		if err := custos.AsError(s.Send(context.Background(), m)); err == nil || err.Code != custos.EINVALID {
			t.Errorf("%q / %q: error %v, want invalid", m.To, m.Subject, err)
		}
	}
	ts.mu.Lock()
	sessions := ts.sessions
	ts.mu.Unlock()
	if sessions != 0 || len(ts.received()) != 0 {
		t.Errorf("%d sessions, %d messages: refused mail reached the server", sessions, len(ts.received()))
	}
}

// silentServer accepts connections and never answers, like a stuck relay.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestSMTPContext(t *testing.T) {
	addr := silentServer(t)
	s, err := New(Config{URL: "smtp://" + addr, From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, testMessage())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v past a 200 ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if err := s.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want cancellation", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after cancellation", d)
	}
}

func TestNewSMTPURL(t *testing.T) {
	const pass = "Sup3r/Secr3t%40"
	tests := []struct {
		name, url string
		addr      string // "" when invalid
		implicit  bool
		user      string
	}{
		{"starttls", "smtp://u%40example.com:p%2Fw@mail.example.com:2525", "mail.example.com:2525", false, "u@example.com"},
		{"starttls default port", "smtp://mail.example.com", "mail.example.com:587", false, ""},
		{"implicit default port", "smtps://u:p@mail.example.com", "mail.example.com:465", true, "u"},
		{"trailing slash", "smtps://mail.example.com:465/", "mail.example.com:465", true, ""},
		{"IPv6", "smtp://[::1]:25", "[::1]:25", false, ""},
		{"ftp", "ftp://u:" + pass + "@mail.example.com", "", false, ""},
		{"http", "http://mail.example.com", "", false, ""},
		{"no scheme", "mail.example.com:587", "", false, ""},
		{"missing host", "smtp://u:" + pass + "@:587", "", false, ""},
		{"empty authority", "smtp:///", "", false, ""},
		{"opaque", "smtp:mail.example.com", "", false, ""},
		{"bad port", "smtp://u:" + pass + "@mail.example.com:smtp", "", false, ""},
		{"port zero", "smtp://mail.example.com:0", "", false, ""},
		{"port too big", "smtp://mail.example.com:65536", "", false, ""},
		{"empty port", "smtp://mail.example.com:", "", false, ""},
		{"slash in password", "smtp://u:Sup3r/Secr3t@mail.example.com", "", false, ""},
		{"bad escape in password", "smtp://u:Sup3r%zzSecr3t@mail.example.com", "", false, ""},
		{"skip verify", "smtp://u:" + pass + "@mail.example.com?insecure_skip_verify=1", "", false, ""},
		{"empty query", "smtp://mail.example.com?", "", false, ""},
		{"path", "smtp://mail.example.com/relay", "", false, ""},
		{"fragment", "smtp://mail.example.com#x", "", false, ""},
		{"user without password", "smtp://u@mail.example.com", "", false, ""},
		{"password without user", "smtp://:" + pass + "@mail.example.com", "", false, ""},
		{"control character", "smtp://mail.example.com\r\n", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{URL: tt.url, From: testFrom})
			if tt.addr == "" {
				wantInvalid(t, err, "smtp_url")
				for _, secret := range []string{pass, "Sup3r", "Secr3t"} {
					if err != nil && strings.Contains(err.Error(), secret) {
						t.Errorf("error %q holds the password", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.smtp.addr != tt.addr || s.smtp.implicitTLS != tt.implicit || s.smtp.user != tt.user {
				t.Errorf("transport %+v", s.smtp)
			}
		})
	}
	_, err := New(Config{URL: "smtp://mail.example.com", From: testFrom, TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	wantInvalid(t, err, "tls_config")
	s, err := New(Config{URL: "smtp://u:p%2Fw@mail.example.com", From: testFrom, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS10}})
	if err != nil {
		t.Fatal(err)
	}
	if s.smtp.pass != "p/w" || s.smtp.tls.MinVersion != tls.VersionTLS12 || s.smtp.tls.ServerName != "mail.example.com" {
		t.Errorf("password %q, TLS minimum %x, server name %q", s.smtp.pass, s.smtp.tls.MinVersion, s.smtp.tls.ServerName)
	}
}

func TestEnhancedStatus(t *testing.T) {
	for msg, want := range map[string]string{
		"5.7.8 Authentication failed":  "5.7.8",
		"4.2.1 Mailbox busy":           "4.2.1",
		"2.0.0 OK":                     "2.0.0",
		"5.1.100 x":                    "5.1.100",
		"Authentication failed":        "",
		"5.7 half":                     "",
		"6.0.0 no such class":          "",
		"5.1.1000 too long":            "",
		"5.x.1 letters":                "",
		"<anna@example.org> not known": "",
	} {
		if got := enhancedStatus(msg); got != want {
			t.Errorf("enhancedStatus(%q) = %q, want %q", msg, got, want)
		}
	}
}
