package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custos/custos/internal/custos"
	"golang.org/x/net/idna"
)

// MaxSubject is the longest Subject, in characters.
const MaxSubject = 255

// maxAddress is the longest address, once its domain is in ASCII.
const maxAddress = custos.MaxEmail

// build turns m into an RFC 5322 message from the given From field value,
// with Message-IDs in idDomain, and returns the bare recipient address
// with it. It is the one place a message is made, for SMTP and the outbox
// alike. Every header value is checked or encoded here: no input can add a
// line to the header.
func build(from, idDomain string, m *custos.Message, now time.Time) (to string, raw []byte, err error) {
	if to, err = parseTo(m.To); err != nil {
		return "", nil, err
	}
	if m.Subject == "" {
		return "", nil, custos.Invalid("subject", "is required")
	} else if err := checkHeaderText("subject", m.Subject); err != nil {
		return "", nil, err
	} else if utf8.RuneCountInString(m.Subject) > MaxSubject {
		return "", nil, custos.Invalid("subject", "must be at most %d characters", MaxSubject)
	}
	if m.Text == "" {
		return "", nil, custos.Invalid("text", "is required")
	} else if !utf8.ValidString(m.Text) {
		return "", nil, custos.Invalid("text", "is not valid UTF-8")
	} else if !utf8.ValidString(m.HTML) {
		return "", nil, custos.Invalid("html", "is not valid UTF-8")
	}

	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", from)
	header("To", (&mail.Address{Address: to}).String())
	header("Subject", encodeText(m.Subject))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+randomHex(16)+"@"+idDomain+">")
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text)
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n") // SMTP ends the data with a line break anyway
		}
		return to, b.Bytes(), nil
	}
	// Bytes.Buffer does not fail, so neither do the multipart and
	// quoted-printable writers on it.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, p := range []struct{ typ, s string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQP(w, p.s)
	}
	mw.Close()
	b.Write(body.Bytes())
	return to, b.Bytes(), nil
}

// writeQP writes s quoted-printable, its line breaks (CRLF, LF or a lone
// CR) as CRLF.
func writeQP(w io.Writer, s string) {
	// Line breaks are made plain LF first: quotedprintable.Writer loses the
	// LF of "\r=\n", taking it for the end of a CRLF begun two bytes back.
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	qw := quotedprintable.NewWriter(w)
	io.WriteString(qw, s)
	qw.Close()
}

// encodeText returns s as it may stand in an unstructured header field
// (Subject): as it is when it is plain ASCII that reads back the same,
// else as RFC 2047 encoded words. Plain ASCII does not read back the same
// when it looks like an encoded word itself or has spaces at either end,
// which readers drop.
func encodeText(s string) string {
	if isASCII(s) && !strings.Contains(s, "=?") && s == strings.TrimSpace(s) {
		return s
	}
	return qEncode(s)
}

// qEncode returns s (valid UTF-8) as "Q" encoded words (RFC 2047) of at
// most 75 characters, one to a line, never splitting a character. Only
// letters, digits and !*+-/ stand for themselves, so the words are safe in
// any header field.
func qEncode(s string) string {
	const open, closing, maxWord = "=?utf-8?q?", "?=", 75
	var b strings.Builder
	b.WriteString(open)
	n := len(open)
	var buf [3 * utf8.UTFMax]byte
	for _, r := range s {
		enc := buf[:0]
		switch {
		case r == ' ':
			enc = append(enc, '_')
		case r < utf8.RuneSelf && qSafe(byte(r)):
			enc = append(enc, byte(r))
		default:
			var u [utf8.UTFMax]byte
			for _, c := range u[:utf8.EncodeRune(u[:], r)] {
				enc = append(enc, '=', upperHex[c>>4], upperHex[c&15])
			}
		}
		if n+len(enc)+len(closing) > maxWord {
			b.WriteString(closing + "\r\n " + open)
			n = len(open)
		}
		b.Write(enc)
		n += len(enc)
	}
	b.WriteString(closing)
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func qSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
}

// fold breaks a header value between the encoded words net/mail writes for
// a non-ASCII display name. Encoded words hold no spaces, so "?= =?" only
// occurs between two of them, or inside a quoted string, where folding
// white space is allowed as well; unfolding restores the value exactly.
func fold(s string) string {
	return strings.ReplaceAll(s, "?= =?", "?=\r\n =?")
}

// parseTo checks the recipient: one bare address, no name, no list.
func parseTo(s string) (string, error) {
	if s == "" {
		return "", custos.Invalid("to", "is required")
	} else if err := checkHeaderText("to", s); err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" {
		return "", custos.Invalid("to", "must be a single e-mail address without a name")
	}
	return asciiAddress("to", a.Address)
}

// asciiAddress returns addr with an internationalised domain in its ASCII
// (punycode) form. It refuses a local part that is not plain ASCII or
// that needs quoting, which the envelope of net/smtp cannot carry.
func asciiAddress(field, addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", custos.Invalid(field, "is not a valid e-mail address")
	}
	local, domain := addr[:at], addr[at+1:]
	if !isASCII(local) {
		return "", custos.Invalid(field, "must have a plain ASCII part before the @ (internationalised mailboxes are not supported)")
	}
	if !isASCII(domain) {
		d, err := idna.Lookup.ToASCII(domain)
		if err != nil {
			return "", custos.Invalid(field, "has a domain that is not a valid internationalised domain name")
		}
		domain = d
	}
	addr = local + "@" + domain
	if (&mail.Address{Address: addr}).String() != "<"+addr+">" {
		return "", custos.Invalid(field, "must be a plain e-mail address, without a quoted part")
	} else if !isDNSName(domain) {
		return "", custos.Invalid(field, "must have a host name after the @")
	} else if len(addr) > maxAddress {
		return "", custos.Invalid(field, "must be at most %d characters", maxAddress)
	}
	return addr, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkHeaderText refuses what could end or break a header line: invalid
// UTF-8, control characters (CR and LF among them) and the Unicode line and
// paragraph separators.
func checkHeaderText(field, s string) error {
	if !utf8.ValidString(s) {
		return custos.Invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return custos.Invalid(field, "must not contain line breaks or control characters")
		}
	}
	return nil
}

// randomHex returns n random bytes from crypto/rand, in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b)
}

// isDNSName reports whether s is dot-separated labels of letters, digits
// and inner hyphens, each at most 63 long.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
