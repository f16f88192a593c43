package mail

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// outboxSender returns a Sender writing into a new directory under a
// temporary one, so that New has to create it.
func outboxSender(tb testing.TB) (*Sender, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "data", "outbox")
	s, err := New(Config{From: testFrom, OutboxDir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	return s, dir
}

// outboxFiles returns the names in dir, sorted.
func outboxFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

var outboxName = regexp.MustCompile(`^([a-z0-9-]{1,64})-[0-9]+-[0-9a-f]{16}\.eml$`)

func TestOutboxSend(t *testing.T) {
	s, dir := outboxSender(t)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	m := &custos.Message{To: "anna@example.org", Subject: "Potwierdź adres", Text: "Kliknij link.\n", HTML: "<p>Kliknij</p>", Ref: "contact-7"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), &custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	names := outboxFiles(t, dir)
	if len(names) != 2 {
		t.Fatalf("outbox holds %q, want two messages", names)
	}
	refs := map[string]string{}
	for _, name := range names {
		sub := outboxName.FindStringSubmatch(name)
		if sub == nil {
			t.Fatalf("file name %q does not match %v", name, outboxName)
		}
		refs[sub[1]] = name
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if refs["contact-7"] == "" || refs["none"] == "" {
		t.Fatalf("refs of %q: want contact-7 and none", names)
	}
	raw, err := os.ReadFile(filepath.Join(dir, refs["contact-7"]))
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, raw)
	p := parseMessage(t, raw)
	if p.subject != m.Subject || p.header.Get("To") != "<anna@example.org>" || p.header.Get("From") != `"Custos" <noreply@example.com>` {
		t.Errorf("stored header %v, subject %q", p.header, p.subject)
	}
	if len(p.parts) != 2 || p.parts[0].body != crlf(m.Text) || p.parts[1].body != m.HTML {
		t.Errorf("stored parts %+v", p.parts)
	}
}

func TestOutboxRefusals(t *testing.T) {
	s, dir := outboxSender(t)
	tests := []struct {
		name  string
		m     custos.Message
		field string
	}{
		{"ref upper case", custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x", Ref: "Contact-1"}, "ref"},
		{"ref path", custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x", Ref: "../contact-1"}, "ref"},
		{"ref too long", custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x", Ref: strings.Repeat("a", 65)}, "ref"},
		{"to injection", custos.Message{To: "anna@example.org\r\nBcc: eve@example.net", Subject: "Hi", Text: "x"}, "to"},
		{"subject injection", custos.Message{To: "anna@example.org", Subject: "Hi\r\nBcc: eve@example.net", Text: "x"}, "subject"},
		{"to list", custos.Message{To: "anna@example.org, eve@example.net", Subject: "Hi", Text: "x"}, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, s.Send(context.Background(), &tt.m), tt.field)
		})
	}
	if names := outboxFiles(t, dir); len(names) != 0 {
		t.Errorf("refused messages left %q", names)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, &custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x"}); err == nil {
		t.Error("sent with a cancelled context")
	}
	if names := outboxFiles(t, dir); len(names) != 0 {
		t.Errorf("a cancelled send left %q", names)
	}
}

func TestPurge(t *testing.T) {
	s, dir := outboxSender(t)
	send := func(ref string) {
		t.Helper()
		if err := s.Send(context.Background(), &custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x", Ref: ref}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ref := range []string{"contact-1", "contact-1", "contact-12", "contact-1-2", "contact", "dsr-1", "none", "x-contact-1"} {
		send(ref)
	}
	// The remains of a write that never finished, and files the outbox
	// did not write.
	strays := []string{
		".contact-1-1700000000000000000-0123456789abcdef.eml.tmp",
		".contact-12-1700000000000000000-0123456789abcdef.eml.tmp",
		"contact-1-notes.txt",
		"contact-1-1-2.eml",
		"contact-1-17-0123456789ABCDEF.eml",
	}
	for _, name := range strays {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	n, err := s.Purge("contact-1")
	if err != nil || n != 3 {
		t.Fatalf("Purge(contact-1) = %d, %v; want 3 (two messages, one unfinished)", n, err)
	}
	var left []string
	for _, name := range outboxFiles(t, dir) {
		if r, ok := refOf(name); ok {
			left = append(left, r)
		} else {
			left = append(left, name)
		}
	}
	slices.Sort(left)
	want := []string{"contact", "contact-1-17-0123456789ABCDEF.eml", "contact-1-1-2.eml", "contact-1-2", "contact-1-notes.txt", "contact-12", "contact-12", "dsr-1", "none", "x-contact-1"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %q\nwant %q", left, want)
	}
	if n, err := s.Purge("contact-1"); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0", n, err)
	}
	if n, err := s.Purge("contact-12"); err != nil || n != 2 {
		t.Errorf("Purge(contact-12) = %d, %v; want 2", n, err)
	}
	for _, ref := range []string{"", "Contact-1", "../x", "contact-1.eml"} {
		_, err := s.Purge(ref)
		wantInvalid(t, err, "ref")
	}
}

func TestRefOf(t *testing.T) {
	tests := []struct {
		name, file, ref string
	}{
		{"message", "contact-1-1700000000000000000-0123456789abcdef.eml", "contact-1"},
		{"dashed ref", "contact-1-2-17-0123456789abcdef.eml", "contact-1-2"},
		{"digit ref", "12-17-0123456789abcdef.eml", "12"},
		{"unfinished", ".dsr-3-17-0123456789abcdef.eml.tmp", "dsr-3"},
		{"short hex", "contact-1-17-0123456789abcde.eml", ""},
		{"upper hex", "contact-1-17-0123456789ABCDEF.eml", ""},
		{"no nanos", "contact-1-0123456789abcdef.eml", "contact"},
		{"empty nanos", "contact--0123456789abcdef.eml", ""},
		{"no ref", "-17-0123456789abcdef.eml", ""},
		{"bad ref", "Contact-17-0123456789abcdef.eml", ""},
		{"other suffix", "contact-1-17-0123456789abcdef.txt", ""},
		{"hidden finished", ".contact-1-17-0123456789abcdef.eml", ""},
		{"tmp unhidden", "contact-1-17-0123456789abcdef.eml.tmp", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, ok := refOf(tt.file)
			if ok != (tt.ref != "") || ref != tt.ref {
				t.Errorf("refOf(%q) = %q, %v; want %q", tt.file, ref, ok, tt.ref)
			}
		})
	}
}

func TestNewOutbox(t *testing.T) {
	_, err := New(Config{From: testFrom})
	wantInvalid(t, err, "outbox_dir")
	_, err = New(Config{OutboxDir: t.TempDir()})
	wantInvalid(t, err, "from")
	_, err = New(Config{From: "noreply@example.com\r\nBcc: eve@example.net", OutboxDir: t.TempDir()})
	wantInvalid(t, err, "from")
}

// TestPurgeAfterSwitchingToSMTP writes mail into the outbox, then
// configures SMTP over the same directory: the old copies are still found
// and removed when their contact is forgotten, and new mail does not go
// there.
func TestPurgeAfterSwitchingToSMTP(t *testing.T) {
	before, dir := outboxSender(t)
	msg := &custos.Message{To: "ada@example.com", Subject: "Confirm", Text: "Hello.", Ref: "contact-7"}
	if err := before.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	after, err := New(Config{URL: "smtp://127.0.0.1:1", From: testFrom, OutboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := after.Send(ctx, msg); err == nil {
		t.Fatal("mail to a closed SMTP port was delivered")
	}
	if n, err := after.Purge("contact-7"); err != nil || n != 1 {
		t.Fatalf("purge with SMTP configured: %d %v", n, err)
	}
	if files := outboxFiles(t, dir); len(files) != 0 {
		t.Fatalf("the outbox still holds %v", files)
	}
}

func TestPurgeAll(t *testing.T) {
	s, dir := outboxSender(t)
	for _, ref := range []string{"signup-1", "signup-1", "signup-12", "signup-2", "contact-1"} {
		if err := s.Send(context.Background(), &custos.Message{To: "anna@example.org", Subject: "Hi", Text: "x", Ref: ref}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PurgeAll([]string{"signup-1", "signup-2", "signup-99"})
	if err != nil || n != 3 {
		t.Fatalf("purged %d, %v; want 3", n, err)
	}
	left := outboxFiles(t, dir)
	if len(left) != 2 || !strings.HasPrefix(left[0], "contact-1-") || !strings.HasPrefix(left[1], "signup-12-") {
		t.Fatalf("left %v", left)
	}
	if _, err := s.PurgeAll([]string{"Bad/Ref"}); custos.ErrorCode(err) != custos.EINVALID {
		t.Fatalf("a bad ref: %v", err)
	}
}

// TestOutboxSendBatch: a batch writes one file per fit message, each whole
// and named after its ref, leaves no temporary file, and reports the unfit
// one alone; with SMTP it sends nothing and says so.
func TestOutboxSendBatch(t *testing.T) {
	s, dir := outboxSender(t)
	ms := []*custos.Message{
		{To: "a@example.org", Subject: "One", Text: "first", Ref: "signup-1"},
		{To: "b@example.org\r\nBcc: x@example.org", Subject: "Bad", Text: "x", Ref: "signup-2"},
		{To: "c@example.org", Subject: "Three", Text: "third", Ref: "signup-3"},
	}
	errs, ok := s.SendBatch(context.Background(), ms)
	if !ok || len(errs) != 3 || errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("SendBatch = %v, %v", errs, ok)
	}
	names := outboxFiles(t, dir)
	if len(names) != 2 {
		t.Fatalf("outbox holds %v, want 2 files", names)
	}
	for i, want := range []string{"signup-1", "signup-3"} {
		m := outboxName.FindStringSubmatch(names[i])
		if m == nil || m[1] != want {
			t.Fatalf("file %q, want one about %s", names[i], want)
		}
		b, err := os.ReadFile(filepath.Join(dir, names[i]))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), []string{"first", "third"}[i]) {
			t.Errorf("file %s lacks its body", names[i])
		}
	}
	smtpSender, err := New(Config{URL: "smtp://127.0.0.1:1", From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	if errs, ok := smtpSender.SendBatch(context.Background(), ms); ok || errs != nil {
		t.Fatalf("SendBatch over SMTP = %v, %v; want nothing sent", errs, ok)
	}
}
