package main

import (
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/store/storetest"
)

// TestPreferenceCentreEndToEnd runs the preference centre through the real
// program: a link asked for over HTTP, mailed into the outbox before the
// server stops, followed and used as a browser would after a restart, and
// dead once the person is forgotten.
func TestPreferenceCentreEndToEnd(t *testing.T) {
	cfg := storetest.Config(t)
	tm := startServe(t, cfg)
	key := lastLine(tm.out.String())
	p := tm.call(t, key, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent"}, 201)
	c := tm.call(t, key, "POST", "/api/v1/contacts", map[string]any{"email": "prefs.e2e@example.com"}, 201)
	id := int64(c["id"].(float64))
	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/contacts/%d/consents", id), map[string]any{"purpose_id": p["id"], "action": "grant",
		"notice": "Chcę dostawać newsletter."}, 201)

	for _, email := range []string{"prefs.e2e@example.com", "stranger@example.com"} {
		resp, err := http.Post("http://"+tm.Addr+"/p/request", "application/json", strings.NewReader(`{"email": "`+email+`", "lang": "pl"}`))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /p/request: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	// The link is in the persisted queue: whether or not the worker sent
	// it before the server stopped, it is delivered, once, by the next.
	tm.stop(t)
	tm = startServe(t, cfg)
	var mails []string
	for deadline := time.Now().Add(10 * time.Second); len(mails) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mails, _ = filepath.Glob(filepath.Join(cfg.DataDir, "outbox", "*.eml"))
	}
	if len(mails) != 1 || !strings.HasPrefix(filepath.Base(mails[0]), fmt.Sprintf("contact-%d-", id)) {
		t.Fatalf("outbox holds %v", mails)
	}
	msg, body := readEML(t, mails[0])
	found := regexp.MustCompile(`/p/[A-Za-z0-9_-]+\?lang=pl`).Find(body)
	if to, _ := mail.ParseAddress(msg.Header.Get("To")); found == nil || to == nil || to.Address != "prefs.e2e@example.com" {
		t.Fatalf("mail without the link or address:\n%v\n%s", msg.Header, body)
	}
	link := string(found)

	base := "http://" + tm.Addr
	resp, err := http.Get(base + link)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET link: %v %v", resp, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Newsletter") || !strings.Contains(string(page), "Wycofuję zgodę") {
		t.Fatalf("page:\n%s", page)
	}
	// The browser posts the withdraw form and follows the redirect back.
	path, _, _ := strings.Cut(link, "?")
	resp, err = http.PostForm(base+path+"/consents?lang=pl", url.Values{"purpose_id": {fmt.Sprint(p["id"])}, "action": {"withdraw"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST withdraw: %v %v", resp, err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Twoja zgoda została wycofana.") {
		t.Fatalf("page after withdrawing:\n%s", page)
	}
	got := tm.call(t, key, "GET", fmt.Sprintf("/api/v1/contacts/%d/consents", id), nil, 200)
	events := got["history"].([]any)
	if last := events[len(events)-1].(map[string]any); last["method"] != "preference_centre" || last["action"] != "withdraw" || last["actor"] != "subject" {
		t.Fatalf("ledger: %v", last)
	}

	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/contacts/%d/forget", id), map[string]any{"mode": "erase"}, 200)
	resp, err = http.Get(base + link)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET link after forget: %v %v", resp, err)
	}
	resp.Body.Close()
	tm.stop(t)
	if left, _ := filepath.Glob(filepath.Join(cfg.DataDir, "outbox", "*.eml")); len(left) != 0 {
		t.Fatalf("the outbox still holds %v", left)
	}
}
