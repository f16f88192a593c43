package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custos/custos/internal/custos"
)

// defaultTimeout bounds an SMTP conversation whose context has no deadline.
const defaultTimeout = 30 * time.Second

// heloName is the name the client gives in EHLO, as net/smtp does.
const heloName = "localhost"

// ErrNoSTARTTLS is returned when an smtp:// server does not offer STARTTLS.
// Nothing, credentials least of all, is sent in clear text.
var ErrNoSTARTTLS = errors.New("mail: the SMTP server does not offer STARTTLS; refusing to send credentials or mail without TLS")

// SMTPError is a refusal by the SMTP server. It keeps the reply code and the
// enhanced status code but not the server's text, which may quote an
// address.
type SMTPError struct {
	Stage  string // what was refused: greeting, ehlo, starttls, auth, sender, recipient or data
	Code   int    // the reply code, 4xx or 5xx
	Status string // the enhanced status code ("5.7.8"), or ""
}

// Error implements the error interface.
func (e *SMTPError) Error() string {
	s := fmt.Sprintf("mail: the SMTP server refused %s: %d", stagePhrases[e.Stage], e.Code)
	if e.Status != "" {
		s += " " + e.Status
	}
	return s
}

// Temporary reports whether the refusal is transient (a 4xx reply), so that
// sending again later may succeed.
func (e *SMTPError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

var stagePhrases = map[string]string{
	"greeting":  "the connection",
	"ehlo":      "the greeting (EHLO)",
	"starttls":  "STARTTLS",
	"auth":      "the credentials",
	"sender":    "the sender address",
	"recipient": "the recipient address",
	"data":      "the message",
}

// smtpTransport delivers to one SMTP server.
type smtpTransport struct {
	implicitTLS bool
	host        string // for certificate verification and AUTH
	addr        string // host:port
	user, pass  string
	tls         *tls.Config

	mu   sync.Mutex
	idle []*smtpConn // newest last
}

// parseSMTPURL checks an smtp:// or smtps:// URL. Its errors name the field
// smtp_url and never quote the URL, which may hold the password.
func parseSMTPURL(raw string, base *tls.Config) (*smtpTransport, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The parser's message may quote part of the URL: a password with a
		// stray "/" even ends up in the port.
		return nil, custos.Invalid("smtp_url", "is not a valid URL; expected smtp://user:password@host:port or smtps://user:password@host:port")
	}
	t := &smtpTransport{}
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		t.implicitTLS, port = true, "465"
	default:
		return nil, custos.Invalid("smtp_url", "must start with smtp:// (STARTTLS) or smtps:// (TLS)")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, custos.Invalid("smtp_url", "has no host")
	} else if u.Path != "" && u.Path != "/" {
		return nil, custos.Invalid("smtp_url", "must not have a path")
	} else if u.RawQuery != "" || u.ForceQuery {
		return nil, custos.Invalid("smtp_url", "must not have query parameters; TLS certificates are always verified")
	} else if u.Fragment != "" {
		return nil, custos.Invalid("smtp_url", "must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, custos.Invalid("smtp_url", "has an invalid port; expected 1 to 65535")
		}
		port = p
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, custos.Invalid("smtp_url", "has an empty port")
	}
	t.host = u.Hostname()
	t.addr = net.JoinHostPort(t.host, port)
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
		if t.user == "" || t.pass == "" {
			return nil, custos.Invalid("smtp_url", "must have both a user name and a password, or neither")
		}
	}
	if base != nil {
		if base.InsecureSkipVerify {
			return nil, custos.Invalid("tls_config", "must not skip certificate verification")
		}
		t.tls = base.Clone()
	} else {
		t.tls = &tls.Config{}
	}
	if t.tls.ServerName == "" {
		t.tls.ServerName = t.host
	}
	if t.tls.MinVersion < tls.VersionTLS12 {
		t.tls.MinVersion = tls.VersionTLS12
	}
	return t, nil
}

// send delivers raw from one address to another. The whole conversation,
// dial included, ends at ctx's deadline or after defaultTimeout.
func (t *smtpTransport) send(ctx context.Context, from, to string, raw []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	err := t.converse(ctx, from, to, raw)
	if err == nil {
		return nil
	}
	// The deadline or cancellation is the cause; the network error it
	// provoked says less. The connection's deadline may strike a moment
	// before the context's.
	if ctx.Err() != nil {
		return fmt.Errorf("mail: send over SMTP: %w (%w)", context.Cause(ctx), err)
	} else if deadline, _ := ctx.Deadline(); !time.Now().Before(deadline) {
		return fmt.Errorf("mail: send over SMTP: %w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

// A connection is kept open after a message, for the next: the worker
// sends a few messages at once, each on a connection of its own, and the
// handshake (TCP, STARTTLS, AUTH) costs more than a message. At most
// smtpMaxIdle are kept, each for smtpIdle at most; one the server closed
// meanwhile fails at MAIL FROM, before any of the message went, and the
// message goes on a new connection.
const (
	smtpMaxIdle = 8
	smtpIdle    = 20 * time.Second
)

// smtpConn is a connection to the server, past its greeting, STARTTLS and
// AUTH, between messages.
type smtpConn struct {
	conn      net.Conn
	c         *smtp.Client
	idleSince time.Time
}

func (t *smtpTransport) converse(ctx context.Context, from, to string, raw []byte) error {
	if sc := t.takeIdle(); sc != nil {
		again, err := t.deliver(ctx, sc, from, to, raw)
		if err == nil || !again || ctx.Err() != nil {
			return err
		}
	}
	sc, err := t.open(ctx)
	if err != nil {
		return err
	}
	_, err = t.deliver(ctx, sc, from, to, raw)
	return err
}

// watch makes ctx's deadline and cancellation cut short what is read or
// written on conn: an expired deadline fails every read and write. The
// function it returns ends that, and reports whether ctx left conn fit for
// more.
func watch(ctx context.Context, conn net.Conn) func() bool {
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// open connects to the server and takes the conversation up to the first
// message: greeting, EHLO, STARTTLS (required), AUTH.
func (t *smtpTransport) open(ctx context.Context) (*smtpConn, error) {
	conn, err := t.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("mail: connect to the SMTP server: %w", err)
	}
	stop := watch(ctx, conn)
	defer stop()
	c, err := t.handshake(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &smtpConn{conn: conn, c: c}, nil
}

func (t *smtpTransport) handshake(conn net.Conn) (*smtp.Client, error) {
	c, err := smtp.NewClient(conn, t.host)
	if err != nil {
		return nil, smtpFail("greeting", err)
	}
	if err := c.Hello(heloName); err != nil {
		return nil, smtpFail("ehlo", err)
	}
	if !t.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, ErrNoSTARTTLS
		}
		if err := c.StartTLS(t.tls); err != nil {
			return nil, smtpFail("starttls", err)
		}
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return nil, ErrNoSTARTTLS // cannot happen; checked lest it ever does
	}
	if t.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, errors.New("mail: the SMTP server does not offer AUTH, but the SMTP URL has credentials")
		}
		if err := c.Auth(smtp.PlainAuth("", t.user, t.pass, t.host)); err != nil {
			return nil, smtpFail("auth", err)
		}
	}
	return c, nil
}

// deliver sends one message on sc, then keeps sc for the next message, or
// closes it after a failure. again reports a failure at MAIL FROM that a
// new connection may not meet: the server closed this one (no reply, or
// 421), and nothing of the message was sent.
func (t *smtpTransport) deliver(ctx context.Context, sc *smtpConn, from, to string, raw []byte) (again bool, err error) {
	stop := watch(ctx, sc.conn)
	defer func() {
		if stop() && err == nil {
			sc.conn.SetDeadline(time.Time{})
			t.putIdle(sc)
		} else {
			sc.c.Close()
		}
	}()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := sc.c.Mail(from); err != nil {
		var te *textproto.Error
		return !errors.As(err, &te) || te.Code == 421, smtpFail("sender", err)
	}
	if err := sc.c.Rcpt(to); err != nil {
		return false, smtpFail("recipient", err)
	}
	w, err := sc.c.Data()
	if err != nil {
		return false, smtpFail("data", err)
	}
	if _, err := w.Write(raw); err != nil {
		return false, smtpFail("data", err)
	}
	// Once this succeeds the server has taken the message: nothing after
	// it may report the send as failed, or a retry would deliver it twice.
	if err := w.Close(); err != nil {
		return false, smtpFail("data", err)
	}
	return false, nil
}

// takeIdle returns the connection kept last, if it has not been idle too
// long; those that have are closed.
func (t *smtpTransport) takeIdle() *smtpConn {
	t.mu.Lock()
	var sc *smtpConn
	var old []*smtpConn
	for sc == nil && len(t.idle) > 0 {
		last := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if time.Since(last.idleSince) < smtpIdle {
			sc = last
		} else {
			old = append(old, last)
		}
	}
	t.mu.Unlock()
	for _, o := range old {
		o.c.Close()
	}
	return sc
}

// putIdle keeps sc for the next message, or says goodbye when enough are
// kept.
func (t *smtpTransport) putIdle(sc *smtpConn) {
	sc.idleSince = time.Now()
	t.mu.Lock()
	kept := len(t.idle) < smtpMaxIdle
	if kept {
		t.idle = append(t.idle, sc)
	}
	t.mu.Unlock()
	if !kept {
		go sc.quit() // the sender does not wait for the goodbye
	}
}

// quit ends the conversation politely, waiting a moment at most.
func (sc *smtpConn) quit() {
	sc.conn.SetDeadline(time.Now().Add(5 * time.Second))
	sc.c.Quit()
	sc.c.Close()
}

// close says goodbye on every connection kept, on all at once: a server
// that does not answer holds it up for 5 s at most.
func (t *smtpTransport) close() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, sc := range idle {
		wg.Go(sc.quit)
	}
	wg.Wait()
}

func (t *smtpTransport) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if t.implicitTLS {
		td := &tls.Dialer{NetDialer: d, Config: t.tls}
		return td.DialContext(ctx, "tcp", t.addr)
	}
	return d.DialContext(ctx, "tcp", t.addr)
}

// smtpFail turns a server's reply into an *SMTPError without its text, and
// wraps any other error with the stage.
func smtpFail(stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &SMTPError{Stage: stage, Code: te.Code, Status: enhancedStatus(te.Msg)}
	}
	return fmt.Errorf("mail: smtp %s: %w", stage, err)
}

// enhancedStatus returns the RFC 3463 status code that starts a reply
// text ("5.1.1 User unknown"), or "".
func enhancedStatus(msg string) string {
	code, _, _ := strings.Cut(msg, " ")
	parts := strings.Split(code, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || !isDigits(p) {
			return ""
		}
	}
	return code
}
