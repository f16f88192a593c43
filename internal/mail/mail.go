// Package mail delivers Custos's messages: it builds an RFC 5322 message
// from a custos.Message and hands it to an SMTP server (STARTTLS or
// implicit TLS, certificates always verified), or, when no server is
// configured, writes it into an outbox directory for development. It can
// sign messages with DKIM.
//
// Nothing here logs, and no error carries an address, a subject or a body:
// errors say "the recipient address", never the address itself.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/emersion/go-msgauth/dkim"
)

// Config says how mail leaves Custos.
type Config struct {
	// URL is the SMTP server, smtp://user:password@host:port (STARTTLS,
	// default port 587) or smtps://user:password@host:port (implicit TLS,
	// default port 465); the user and password are URL-encoded and
	// optional. Empty means the outbox.
	URL string
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	From string
	// OutboxDir receives one .eml file per message when URL is empty. It is
	// created with mode 0700 when missing.
	OutboxDir string
	// TLSConfig, when set, is the base of the TLS configuration (tests set
	// RootCAs). It may not switch off certificate verification.
	TLSConfig *tls.Config
	// DKIM, when set, signs every message.
	DKIM *DKIMConfig
}

// DKIMConfig says how messages are signed with DKIM.
type DKIMConfig struct {
	// Domain is the signing domain (d=): the domain of From or a parent.
	Domain string
	// Selector names the key under Domain (s=): the public key is published
	// at <Selector>._domainkey.<Domain>.
	Selector string
	// KeyFile is a PEM file holding an RSA (at least 1024 bits) or Ed25519
	// private key, PKCS #8 or PKCS #1; others may not read it.
	KeyFile string
}

// Sender sends messages over SMTP or into the outbox. It implements
// custos.Mailer and is safe for concurrent use.
type Sender struct {
	from     string // the From header field value, encoded and folded
	envFrom  string // the bare sender address, for MAIL FROM
	idDomain string // the domain of Message-IDs
	outbox   *outbox
	smtp     *smtpTransport
	dkim     *dkim.SignOptions
}

var _ custos.Mailer = (*Sender)(nil)

// New checks cfg and returns a sender. Errors name the field at fault:
// smtp_url, from, outbox_dir, tls_config, dkim.domain, dkim.selector or
// dkim.key_file. They never hold the SMTP password.
func New(cfg Config) (*Sender, error) {
	s := &Sender{}
	var err error
	if s.from, s.envFrom, err = parseFrom(cfg.From); err != nil {
		return nil, err
	}
	s.idDomain = s.envFrom[strings.LastIndexByte(s.envFrom, '@')+1:]
	// The outbox is kept with SMTP too, when named: mail written there
	// before SMTP was configured is still purged when its contact is
	// forgotten.
	if cfg.URL == "" || cfg.OutboxDir != "" {
		if s.outbox, err = newOutbox(cfg.OutboxDir); err != nil {
			return nil, err
		}
	}
	if cfg.URL != "" {
		if s.smtp, err = parseSMTPURL(cfg.URL, cfg.TLSConfig); err != nil {
			return nil, err
		}
	}
	if cfg.DKIM != nil {
		if s.dkim, err = loadDKIM(cfg.DKIM, s.idDomain); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Send builds m and delivers it: to the SMTP server, or into a new file in
// the outbox. A message that is not fit to send (a header with a line
// break, a list of recipients, a bad Ref) is an EINVALID error naming the
// field, and nothing is sent or written. Send honours ctx; without a
// deadline, an SMTP conversation is cut off after 30 seconds.
func (s *Sender) Send(ctx context.Context, m *custos.Message) error {
	if m == nil {
		return errors.New("mail: send: no message")
	}
	ref, err := checkRef(m.Ref, "none")
	if err != nil {
		return err
	}
	to, raw, err := s.compose(m, time.Now())
	if err != nil {
		return err
	}
	if s.smtp != nil {
		return s.smtp.send(ctx, s.envFrom, to, raw)
	}
	return s.outbox.write(ctx, ref, raw)
}

// SendBatch delivers many messages, reporting each one's error, when that
// costs less than sending them one by one: into the outbox, whose files it
// syncs together (and the directory once). With SMTP it sends nothing and
// reports false; the caller sends each with Send.
func (s *Sender) SendBatch(ctx context.Context, ms []*custos.Message) ([]error, bool) {
	if s.smtp != nil {
		return nil, false
	}
	errs := make([]error, len(ms))
	var idx []int
	var refs []string
	var raws [][]byte
	now := time.Now()
	for i, m := range ms {
		if m == nil {
			errs[i] = errors.New("mail: send: no message")
			continue
		}
		ref, err := checkRef(m.Ref, "none")
		if err != nil {
			errs[i] = err
			continue
		}
		_, raw, err := s.compose(m, now)
		if err != nil {
			errs[i] = err
			continue
		}
		idx, refs, raws = append(idx, i), append(refs, ref), append(raws, raw)
	}
	for j, err := range s.outbox.writeAll(ctx, refs, raws) {
		errs[idx[j]] = err
	}
	return errs, true
}

// Close ends the SMTP connections kept open between messages (see
// smtpIdle). The sender may still be used: it opens new ones.
func (s *Sender) Close() error {
	if s.smtp != nil {
		s.smtp.close()
	}
	return nil
}

// Purge deletes every message about ref from the outbox, including the
// remains of an interrupted write, and returns how many files it removed.
// It is called when a contact is forgotten. Mail handed to an SMTP server
// is out of reach; with SMTP, Purge still cleans the outbox directory when
// one was configured, for mail written there before.
func (s *Sender) Purge(ref string) (int, error) {
	ref, err := checkRef(ref, "")
	if err != nil {
		return 0, err
	}
	if s.outbox == nil {
		return 0, nil
	}
	return s.outbox.purge(ref)
}

// PurgeAll is Purge for many refs, in one pass over the outbox: the store
// calls it for the sign-ups it sweeps.
func (s *Sender) PurgeAll(refs []string) (int, error) {
	set := make(map[string]bool, len(refs))
	for _, r := range refs {
		r, err := checkRef(r, "")
		if err != nil {
			return 0, err
		}
		set[r] = true
	}
	if s.outbox == nil || len(set) == 0 {
		return 0, nil
	}
	return s.outbox.purgeSet(set)
}

// compose builds m and signs it when DKIM is configured. It returns the
// bare recipient address for the envelope.
func (s *Sender) compose(m *custos.Message, now time.Time) (string, []byte, error) {
	to, raw, err := build(s.from, s.idDomain, m, now)
	if err != nil {
		return "", nil, err
	}
	if s.dkim != nil {
		if raw, err = sign(raw, s.dkim); err != nil {
			return "", nil, err
		}
	}
	return to, raw, nil
}

// maxRef is the longest Ref.
const maxRef = 64

// checkRef checks that ref is 1 to 64 of a–z, 0–9 and "-", so that it can
// start a file name. An empty ref becomes def, or is an error when def is
// empty too.
func checkRef(ref, def string) (string, error) {
	if ref == "" {
		if def == "" {
			return "", custos.Invalid("ref", "is required")
		}
		return def, nil
	}
	if !validRef(ref) {
		return "", custos.Invalid("ref", "must be 1 to %d of a-z, 0-9 and -", maxRef)
	}
	return ref, nil
}

func validRef(ref string) bool {
	if len(ref) == 0 || len(ref) > maxRef {
		return false
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// maxFromName is the longest display name of From, in characters.
const maxFromName = 100

// parseFrom checks the sender and returns the From header field value and
// the bare address.
func parseFrom(s string) (header, addr string, err error) {
	if s == "" {
		return "", "", custos.Invalid("from", "is required")
	}
	if err := checkHeaderText("from", s); err != nil {
		return "", "", err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", "", custos.Invalid("from", `must be an address or "Name <address>"`)
	}
	if addr, err = asciiAddress("from", a.Address); err != nil {
		return "", "", err
	}
	if len([]rune(a.Name)) > maxFromName {
		return "", "", custos.Invalid("from", "the name must be at most %d characters", maxFromName)
	}
	return fold((&mail.Address{Name: a.Name, Address: addr}).String()), addr, nil
}
