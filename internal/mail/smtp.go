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

func (t *smtpTransport) converse(ctx context.Context, from, to string, raw []byte) error {
	conn, err := t.dial(ctx)
	if err != nil {
		return fmt.Errorf("mail: connect to the SMTP server: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// A cancelled context cuts a reply short: an expired deadline fails
	// every read and write on the connection.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, t.host)
	if err != nil {
		return smtpFail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(heloName); err != nil {
		return smtpFail("ehlo", err)
	}
	if !t.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}
		if err := c.StartTLS(t.tls); err != nil {
			return smtpFail("starttls", err)
		}
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return ErrNoSTARTTLS // cannot happen; checked lest it ever does
	}
	if t.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("mail: the SMTP server does not offer AUTH, but the SMTP URL has credentials")
		}
		if err := c.Auth(smtp.PlainAuth("", t.user, t.pass, t.host)); err != nil {
			return smtpFail("auth", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpFail("sender", err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpFail("recipient", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpFail("data", err)
	}
	if _, err := w.Write(raw); err != nil {
		return smtpFail("data", err)
	}
	if err := w.Close(); err != nil {
		return smtpFail("data", err)
	}
	// The server has taken the message. A failed QUIT must not report the
	// send as failed, or a retry would deliver it twice.
	c.Quit()
	return nil
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
