package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/custos/custos/internal/custos"
)

const testFrom = "Custos <noreply@example.com>"

// testNow is a fixed time for built messages.
var testNow = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

// mustBuild builds m from testFrom.
func mustBuild(tb testing.TB, m *custos.Message) []byte {
	tb.Helper()
	from, _, err := parseFrom(testFrom)
	if err != nil {
		tb.Fatal(err)
	}
	_, raw, err := build(from, "example.com", m, testNow)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// part is one decoded body part.
type part struct {
	contentType string // media type and parameters, as sent
	encoding    string // Content-Transfer-Encoding, as sent
	body        string // decoded
}

// parsed is a message read back with net/mail and mime: its header, its
// decoded subject, and its body parts (one, or those of a multipart).
type parsed struct {
	header    mail.Header
	subject   string
	mediaType string
	parts     []part
}

func parseMessage(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("read message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("content type: %v", err)
	}
	p.mediaType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		p.parts = []part{readPart(tb, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)}
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// NextRawPart, not NextPart, which would hide the transfer encoding.
		mp, err := mr.NextRawPart()
		if err == io.EOF {
			break
		} else if err != nil {
			tb.Fatalf("multipart: %v", err)
		}
		p.parts = append(p.parts, readPart(tb, mp.Header.Get("Content-Type"), mp.Header.Get("Content-Transfer-Encoding"), mp))
	}
	return p
}

func readPart(tb testing.TB, typ, enc string, r io.Reader) part {
	tb.Helper()
	if enc != "quoted-printable" {
		tb.Fatalf("part %s: transfer encoding %q", typ, enc)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		tb.Fatalf("part %s: quoted-printable: %v", typ, err)
	}
	return part{contentType: typ, encoding: enc, body: string(b)}
}

// crlf is s with its line breaks as the wire has them.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// checkWire checks what every message must be on the wire: CRLF line
// breaks only, no header line over 78 characters unless it cannot fold,
// and no line over 998.
func checkWire(tb testing.TB, raw []byte) {
	tb.Helper()
	s := string(raw)
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\r") {
		tb.Errorf("bare CR or LF in the message")
	}
	for _, line := range strings.Split(s, "\r\n") {
		if len(line) > 998 {
			tb.Errorf("line of %d characters", len(line))
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			tb.Fatalf("byte %#x at %d: the message is not 7-bit", s[i], i)
		}
	}
}

func TestBuildPlain(t *testing.T) {
	m := &custos.Message{To: "anna@example.org", Subject: "Confirm your address", Text: "Hello,\nclick the link.\n", Ref: "contact-1"}
	raw := mustBuild(t, m)
	checkWire(t, raw)
	p := parseMessage(t, raw)
	for name, want := range map[string]string{
		"From":                      `"Custos" <noreply@example.com>`,
		"To":                        "<anna@example.org>",
		"Subject":                   "Confirm your address",
		"Date":                      "Sun, 01 Mar 2026 12:30:00 +0000",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	id := p.header.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") || len(id) != len("<@example.com>")+32 {
		t.Errorf("Message-ID = %q", id)
	}
	if len(p.parts) != 1 || p.parts[0].body != crlf(m.Text) {
		t.Errorf("body = %+v, want %q", p.parts, crlf(m.Text))
	}
	if again := parseMessage(t, mustBuild(t, m)); again.header.Get("Message-Id") == id {
		t.Error("two messages share a Message-ID")
	}
}

func TestBuildNonASCII(t *testing.T) {
	m := &custos.Message{
		To:      "zofia@żółw.example",
		Subject: "Potwierdź adres — zażółć gęślą jaźń, ZAŻÓŁĆ GĘŚLĄ JAŹŃ; 東京 📧 " + strings.Repeat("ą", 120),
		Text: "Dzień dobry,\nkliknij: https://example.org/c?t=abc&x=1\n" +
			strings.Repeat("długa linia ", 30) + "\nspacja na końcu   \n=?utf-8?q?nie?= słowo\n.\n.kropka\n",
	}
	raw := mustBuild(t, m)
	checkWire(t, raw)
	p := parseMessage(t, raw)
	if p.subject != m.Subject {
		t.Errorf("subject = %q, want %q", p.subject, m.Subject)
	}
	if got := p.header.Get("To"); got != "<zofia@xn--w-uga1v8h.example>" {
		t.Errorf("To = %q, want the punycode domain", got)
	}
	if p.parts[0].body != crlf(m.Text) {
		t.Errorf("body = %q, want %q", p.parts[0].body, crlf(m.Text))
	}
	from, _, err := parseFrom("Zespół Custos <noreply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := (&mail.AddressParser{}).Parse(strings.ReplaceAll(from, "\r\n", "")); err != nil || a.Name != "Zespół Custos" {
		t.Errorf("From %q reads back as %+v, %v", from, a, err)
	}
}

func TestBuildHTML(t *testing.T) {
	m := &custos.Message{
		To: "anna@example.org", Subject: "Potwierdź",
		Text: "Kliknij: https://example.org/c\n",
		HTML: "<p>Kliknij <a href=\"https://example.org/c?a=1&amp;b=2\">tutaj</a> — dziękujemy.</p>\n",
	}
	raw := mustBuild(t, m)
	checkWire(t, raw)
	p := parseMessage(t, raw)
	if p.mediaType != "multipart/alternative" {
		t.Fatalf("media type = %q", p.mediaType)
	}
	want := []part{
		{contentType: "text/plain; charset=utf-8", encoding: "quoted-printable", body: crlf(m.Text)},
		{contentType: "text/html; charset=utf-8", encoding: "quoted-printable", body: crlf(m.HTML)},
	}
	if len(p.parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(p.parts), len(want))
	}
	for i := range want {
		if p.parts[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, p.parts[i], want[i])
		}
	}
}

func TestBuildInvalid(t *testing.T) {
	ok := custos.Message{To: "anna@example.org", Subject: "Hi", Text: "Body"}
	tests := []struct {
		name  string
		edit  func(m *custos.Message)
		field string
	}{
		{"to missing", func(m *custos.Message) { m.To = "" }, "to"},
		{"to CRLF header", func(m *custos.Message) { m.To = "anna@example.org\r\nBcc: eve@example.net" }, "to"},
		{"to LF", func(m *custos.Message) { m.To = "anna@example.org\nBcc: eve@example.net" }, "to"},
		{"to CR", func(m *custos.Message) { m.To = "anna@example.org\rBcc: eve@example.net" }, "to"},
		{"to NUL", func(m *custos.Message) { m.To = "anna@example.org\x00" }, "to"},
		{"to list", func(m *custos.Message) { m.To = "anna@example.org, eve@example.net" }, "to"},
		{"to group", func(m *custos.Message) { m.To = "friends: anna@example.org, eve@example.net;" }, "to"},
		{"to with name", func(m *custos.Message) { m.To = "Anna <anna@example.org>" }, "to"},
		{"to with comment", func(m *custos.Message) { m.To = "anna@example.org (Anna)" }, "to"},
		{"to quoted", func(m *custos.Message) { m.To = `"anna smith"@example.org` }, "to"},
		{"to literal", func(m *custos.Message) { m.To = "anna@[192.0.2.1]" }, "to"},
		{"to UTF-8 local part", func(m *custos.Message) { m.To = "żaneta@example.org" }, "to"},
		{"to no domain", func(m *custos.Message) { m.To = "anna" }, "to"},
		{"to bad UTF-8", func(m *custos.Message) { m.To = "anna@exa\xffmple.org" }, "to"},
		{"to too long", func(m *custos.Message) { m.To = "a@" + strings.Repeat("b", 250) + ".org" }, "to"},
		{"subject missing", func(m *custos.Message) { m.Subject = "" }, "subject"},
		{"subject CRLF", func(m *custos.Message) { m.Subject = "Hi\r\nBcc: eve@example.net" }, "subject"},
		{"subject LF", func(m *custos.Message) { m.Subject = "Hi\nthere" }, "subject"},
		{"subject tab", func(m *custos.Message) { m.Subject = "Hi\tthere" }, "subject"},
		{"subject NEL", func(m *custos.Message) { m.Subject = "Hi\u0085there" }, "subject"},
		{"subject line separator", func(m *custos.Message) { m.Subject = "Hi\u2028there" }, "subject"},
		{"subject bad UTF-8", func(m *custos.Message) { m.Subject = "Hi \xc3" }, "subject"},
		{"subject too long", func(m *custos.Message) { m.Subject = strings.Repeat("ś", MaxSubject+1) }, "subject"},
		{"text missing", func(m *custos.Message) { m.Text = "" }, "text"},
		{"text bad UTF-8", func(m *custos.Message) { m.Text = "\xff" }, "text"},
		{"html bad UTF-8", func(m *custos.Message) { m.HTML = "<p>\xff</p>" }, "html"},
	}
	from, _, _ := parseFrom(testFrom)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			_, raw, err := build(from, "example.com", &m, testNow)
			wantInvalid(t, err, tt.field)
			if raw != nil {
				t.Errorf("built %d bytes anyway", len(raw))
			}
		})
	}
	if _, _, err := build(from, "example.com", &ok, testNow); err != nil {
		t.Errorf("the valid message: %v", err)
	}
}

func TestParseFrom(t *testing.T) {
	tests := []struct {
		name, from string
		header     string // "" when invalid
	}{
		{"bare", "noreply@example.com", "<noreply@example.com>"},
		{"named", "Custos <noreply@example.com>", `"Custos" <noreply@example.com>`},
		{"quoted name", `"Custos, Inc." <noreply@example.com>`, `"Custos, Inc." <noreply@example.com>`},
		{"non-ASCII name", "Zespół <noreply@example.com>", "=?utf-8?q?Zesp=C3=B3=C5=82?= <noreply@example.com>"},
		{"IDN domain", "noreply@żółw.example", "<noreply@xn--w-uga1v8h.example>"},
		{"empty", "", ""},
		{"CRLF", "noreply@example.com\r\nBcc: eve@example.net", ""},
		{"LF in name", "Cus\ntos <noreply@example.com>", ""},
		{"list", "a@example.com, b@example.com", ""},
		{"no address", "Custos", ""},
		{"name too long", strings.Repeat("n", maxFromName+1) + " <noreply@example.com>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, _, err := parseFrom(tt.from)
			if tt.header == "" {
				wantInvalid(t, err, "from")
				return
			}
			if err != nil || header != tt.header {
				t.Errorf("parseFrom(%q) = %q, %v; want %q", tt.from, header, err, tt.header)
			}
		})
	}
	// A long non-ASCII name folds between its encoded words; only the last
	// line, which has the address, is longer than 78 characters.
	header, _, err := parseFrom(strings.Repeat("Ż", maxFromName) + " <noreply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(header, "\r\n")
	for _, line := range lines {
		if len(line) > 100 {
			t.Errorf("From line of %d characters", len(line))
		}
	}
	if len(lines) < 5 {
		t.Errorf("From is %d lines, want it folded", len(lines))
	}
}

// wantInvalid fails unless err is an EINVALID error naming field.
func wantInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	e := custos.AsError(err)
	if e == nil || e.Code != custos.EINVALID || e.Field != field {
		tb.Errorf("error = %v, want %s invalid", err, field)
	}
}

// FuzzBuild builds messages from any input: build must not panic, must
// refuse with a field-named error or produce a message whose header holds
// exactly the fields build writes, each reading back as given.
func FuzzBuild(f *testing.F) {
	for _, s := range [][4]string{
		{"anna@example.org", "Hi", "Body", ""},
		{"anna@example.org\r\nBcc: eve@example.net", "Hi", "Body", ""},
		{"anna@example.org", "Hi\r\nBcc: eve@example.net", "Body\r\n.\r\n", "<p>x</p>"},
		{"anna@example.org", "Zażółć =?utf-8?q?x?= ?= =?", "Body\n\nBcc: eve@example.net", "<p>ą</p>"},
		{"zofia@żółw.example", strings.Repeat("東", 100), strings.Repeat("x", 200), "\r\n--boundary\r\n"},
		{"<anna@example.org>", "Hi\u2028", "", ""},
		{"anna@example.org", `"quoted" subject: with; specials <x@y>`, "=\r\n=3D", "\x00"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	from, _, err := parseFrom(testFrom)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, to, subject, text, html string) {
		m := &custos.Message{To: to, Subject: subject, Text: text, HTML: html}
		addr, raw, err := build(from, "example.com", m, testNow)
		if err != nil {
			e := custos.AsError(err)
			if e == nil || e.Code != custos.EINVALID || e.Field == "" {
				t.Fatalf("error %v is not a field-named EINVALID", err)
			}
			return
		}
		checkWire(t, raw)
		head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
		if !ok {
			t.Fatal("no end of header")
		}
		var names []string
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.HasPrefix(line, " ") {
				continue // a folded line
			}
			name, _, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("header line %q is no field", line)
			}
			names = append(names, name)
		}
		want := "From To Subject Date Message-ID MIME-Version Content-Type"
		if html == "" {
			want += " Content-Transfer-Encoding"
		}
		if got := strings.Join(names, " "); got != want {
			t.Fatalf("header fields %q, want %q", got, want)
		}
		p := parseMessage(t, raw)
		if p.subject != subject {
			t.Errorf("subject reads back as %q, want %q", p.subject, subject)
		}
		if a, err := mail.ParseAddress(p.header.Get("To")); err != nil || a.Address != addr || a.Name != "" {
			t.Errorf("To reads back as %+v, %v; want %q", a, err, addr)
		}
		bodies := []string{text}
		if html != "" {
			bodies = append(bodies, html)
		}
		if len(p.parts) != len(bodies) {
			t.Fatalf("%d parts, want %d", len(p.parts), len(bodies))
		}
		for i, b := range bodies {
			if got, want := p.parts[i].body, normalizeBreaks(b); got != want && got != want+"\r\n" {
				t.Errorf("part %d reads back as %q, want %q", i, got, want)
			}
		}
	})
}

// normalizeBreaks turns CRLF, CR and LF into CRLF, as quoted-printable
// text does.
func normalizeBreaks(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
