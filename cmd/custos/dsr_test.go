package main

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/store/storetest"
)

// waitOutbox waits, up to half a minute, for files matching pattern to
// appear, and returns them.
func waitOutbox(t *testing.T, pattern string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mails, _ := filepath.Glob(pattern)
		if len(mails) > 0 || time.Now().After(deadline) {
			return mails
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDSREndToEnd runs the register through the real program: a request
// over HTTP, its verification link written to the outbox and followed as
// a browser would, then custos dsr list with its filters.
func TestDSREndToEnd(t *testing.T) {
	cfg := storetest.Config(t)
	tm := startServe(t, cfg)
	key := lastLine(tm.out.String())
	r := tm.call(t, key, "POST", "/api/v1/dsr-requests", map[string]any{"type": "access", "email": "dsr.e2e@example.com"}, 201)
	access := int64(r["id"].(float64))
	r = tm.call(t, key, "POST", "/api/v1/dsr-requests", map[string]any{"type": "erasure", "email": "old@example.com", "received_at": "2020-01-31T09:00:00Z"}, 201)
	old := int64(r["id"].(float64))
	if r["due_at"] != "2020-02-29T09:00:00Z" {
		t.Fatalf("due %v", r["due_at"])
	}
	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/dsr-requests/%d/verification", access), nil, 200)

	// The link is queued; serve's mail worker writes it to the outbox.
	mails := waitOutbox(t, filepath.Join(cfg.DataDir, "outbox", fmt.Sprintf("dsr-%d-*.eml", access)))
	if len(mails) != 1 {
		t.Fatalf("outbox holds %v", mails)
	}
	msg, body := readEML(t, mails[0])
	link := regexp.MustCompile(`http://` + regexp.QuoteMeta(tm.Addr) + `/dsr/verify/[A-Za-z0-9_-]+`).Find(body)
	if to, _ := mail.ParseAddress(msg.Header.Get("To")); link == nil || to == nil || to.Address != "dsr.e2e@example.com" {
		t.Fatalf("mail without the link or address:\n%v\n%s", msg.Header, body)
	}
	resp, err := http.Get(string(link))
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET link: %v %v", resp, err)
	}
	resp.Body.Close()
	// The browser posts the page's form back to the same address.
	resp, err = http.PostForm(string(link), url.Values{})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST link: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := tm.call(t, key, "GET", fmt.Sprintf("/api/v1/dsr-requests/%d", access), nil, 200); got["status"] != "verified" {
		t.Fatalf("after the link: %v", got["status"])
	}
	tm.stop(t)

	run := func(args ...string) (string, error) {
		m, out, errs := newMain(cfg)
		err := m.Run(context.Background(), args)
		m.Close()
		return out.String() + errs.String(), err
	}
	out, err := run("dsr", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], fmt.Sprint(old)) ||
		!strings.Contains(lines[1], "2020-02-29") || !strings.Contains(lines[2], "verified") {
		t.Fatalf("dsr list: %v\n%s", err, out)
	}
	if out, err := run("dsr", "list", "--overdue"); err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "erasure") {
		t.Fatalf("dsr list --overdue: %v\n%s", err, out)
	}
	if out, err := run("dsr", "list", "--due-within", "40"); err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "access") {
		t.Fatalf("dsr list --due-within 40: %v\n%s", err, out)
	}
	if _, err := run("dsr", "list", "--status", "open"); err == nil || !strings.Contains(err.Error(), "--status") {
		t.Fatalf("a bad status: %v", err)
	}
	if _, err := run("serve", "--base-url", "ftp://example.com"); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Fatalf("a bad base URL: %v", err)
	}

	// Forgetting the person removes the verification mail from the outbox:
	// it holds the address in clear.
	tm = startServe(t, cfg)
	tm.call(t, key, "POST", "/api/v1/contacts", map[string]any{"email": "dsr.e2e@example.com"}, 201)
	tm.stop(t)
	if out, err := run("forget", "--email", "dsr.e2e@example.com", "--mode", "erase"); err != nil || !strings.Contains(out, "outbox_messages:1") {
		t.Fatalf("forget: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.DataDir, "outbox", "*.eml")); len(left) != 0 {
		t.Fatalf("the outbox still holds %v", left)
	}
}

// readEML reads a mail the outbox holds: its header, and its body decoded
// from quoted-printable.
func readEML(t *testing.T, path string) (*mail.Message, []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, body
}
