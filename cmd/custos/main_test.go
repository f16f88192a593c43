package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testMain is the real program, serving on port 0 over dir.
type testMain struct {
	*Main
	out, errs *syncBuffer
	cancel    context.CancelFunc
	done      chan error
}

// newMain returns the program over cfg: its data directory, and its
// PostgreSQL database and schema when the tests run on PostgreSQL.
func newMain(cfg store.Config) (*Main, *syncBuffer, *syncBuffer) {
	m := NewMain()
	out, errs := &syncBuffer{}, &syncBuffer{}
	m.Stdout, m.Stderr = out, errs
	env := map[string]string{"CUSTOS_DATA_DIR": cfg.DataDir, "CUSTOS_DATABASE_URL": cfg.DatabaseURL, "CUSTOS_DATABASE_SCHEMA": cfg.Schema}
	m.Getenv = func(name string) string { return env[name] }
	return m, out, errs
}

func startServe(t testing.TB, cfg store.Config) *testMain {
	t.Helper()
	m, out, errs := newMain(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	tm := &testMain{Main: m, out: out, errs: errs, cancel: cancel, done: make(chan error, 1)}
	go func() { tm.done <- m.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}) }()
	select {
	case <-m.Ready:
	case err := <-tm.done:
		t.Fatalf("serve stopped: %v\n%s", err, errs)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not become ready")
	}
	return tm
}

// stop shuts the server down as SIGTERM does and waits for it.
func (tm *testMain) stop(t testing.TB) {
	t.Helper()
	tm.cancel()
	if err := <-tm.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
}

func (tm *testMain) call(t testing.TB, key, method, path string, body any, want int) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+tm.Addr+path, r)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestServeEndToEnd runs the program as a user would: first start with its
// admin key, the API over real HTTP, a second start that prints no key,
// the key file's mode, and no personal value in any file it wrote.
func TestServeEndToEnd(t *testing.T) {
	cfg := storetest.Config(t)
	cfg.DataDir = filepath.Join(cfg.DataDir, "data") // made by the program
	dir := cfg.DataDir
	tm := startServe(t, cfg)
	key := lastLine(tm.out.String())
	if !strings.HasPrefix(key, "cus_") {
		t.Fatalf("first start printed no admin key:\n%s", tm.out)
	}
	resp, err := http.Get("http://" + tm.Addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	// Unique markers in every personal value the core stores.
	markers := map[string]string{
		"email": "zq7marker.email@example.com", "first_name": "Zq7FirstName", "last_name": "Zq7LastName",
		"company": "Zq7Company", "phone": "+48 791 234 567", "city": "Zq7City", "ip": "198.51.100.77", "ua": "Zq7UserAgent/1.0",
		"changed": "Zq7ChangedName", "restrict": "Zq7RestrictReason", "lift": "Zq7LiftReason",
		"note": "Zq7NoteBody", "task": "Zq7TaskTitle", "deal": "Zq7DealTitle", "file_name": "Zq7FileName",
		"file_content": "Zq7FileContent", "event": "Zq7EventProperty", "event_ref": "Zq7MessageRef",
	}
	tm.call(t, key, "POST", "/api/v1/fields", map[string]any{"key": "city", "type": "text", "classification": "personal"}, 201)
	p := tm.call(t, key, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent", "channel": "email"}, 201)
	// Values kept in clear (a tag, the source detail): in the files until
	// the person is forgotten, then nowhere, backups included.
	clearMarkers := map[string]string{"tag": "zq7tagmarker", "source_detail": "Zq7SourceDetail"}
	c := tm.call(t, key, "POST", "/api/v1/contacts", map[string]any{"email": markers["email"], "fields": map[string]any{
		"first_name": markers["first_name"], "last_name": markers["last_name"], "company": markers["company"],
		"phone": markers["phone"], "city": markers["city"]}, "tags": []string{clearMarkers["tag"]},
		"source": map[string]any{"kind": "api", "detail": clearMarkers["source_detail"]}}, 201)
	id := int64(c["id"].(float64))
	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/contacts/%d/consents", id), map[string]any{"purpose_id": p["id"], "action": "grant",
		"notice": "I want the newsletter.", "ip": markers["ip"], "user_agent": markers["ua"]}, 201)
	tm.call(t, key, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", id), map[string]any{"fields": map[string]any{"first_name": markers["changed"]}}, 200)
	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/contacts/%d/restriction", id), map[string]any{"reason": "Disputes: " + markers["restrict"]}, 201)
	tm.call(t, key, "DELETE", fmt.Sprintf("/api/v1/contacts/%d/restriction", id), map[string]any{"reason": "Settled: " + markers["lift"]}, 200)
	// Activities, an attachment and a tracking event, each with a marker.
	acts := fmt.Sprintf("/api/v1/contacts/%d/activities", id)
	tm.call(t, key, "POST", acts, map[string]any{"type": "note", "body": "Said: " + markers["note"]}, 201)
	tm.call(t, key, "POST", acts, map[string]any{"type": "task", "title": markers["task"], "due_at": "2030-01-01T00:00:00Z"}, 201)
	tm.call(t, key, "POST", acts, map[string]any{"type": "deal", "title": markers["deal"], "value": "100", "currency": "EUR"}, 201)
	var upload bytes.Buffer
	mw := multipart.NewWriter(&upload)
	fw, _ := mw.CreateFormFile("file", markers["file_name"]+".txt")
	fw.Write([]byte("Signed by " + markers["file_content"]))
	mw.Close()
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://%s/api/v1/contacts/%d/attachments", tm.Addr, id), &upload)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("upload: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	tp := tm.call(t, key, "POST", "/api/v1/purposes", map[string]any{"name": "Tracking", "legal_basis": "consent", "channel": "tracking"}, 201)
	tm.call(t, key, "POST", fmt.Sprintf("/api/v1/contacts/%d/consents", id), map[string]any{"purpose_id": tp["id"], "action": "grant", "notice": "Track my opens."}, 201)
	if ev := tm.call(t, key, "POST", "/api/v1/events", map[string]any{"contact_id": id, "type": "page_view", "message_ref": markers["event_ref"],
		"properties": map[string]string{"search": markers["event"]}}, 202); ev["stored"] != true {
		t.Fatalf("the tracking event was not stored: %v", ev)
	}
	found := tm.call(t, key, "GET", "/api/v1/contacts?q=zq7last", nil, 200)
	if n := len(found["data"].([]any)); n != 1 {
		t.Fatalf("search found %d contacts", n)
	}
	hist := tm.call(t, key, "GET", fmt.Sprintf("/api/v1/contacts/%d/history", id), nil, 200)
	if n := len(hist["data"].([]any)); n != 3 {
		t.Fatalf("history has %d entries, want the field and two status changes", n)
	}
	// Read the files while the server still runs, so the WAL is there too.
	assertNoMarkers(t, cfg, markers)
	tm.stop(t)
	assertNoMarkers(t, cfg, markers)

	for _, log := range []string{tm.errs.String(), tm.out.String()} {
		for name, v := range markers {
			if strings.Contains(strings.ToLower(log), strings.ToLower(v)) {
				t.Errorf("the %s value appears in the program's output", name)
			}
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi.Mode(), err)
	}

	// A second start prints no key and serves the same data.
	tm = startServe(t, cfg)
	if strings.Contains(tm.out.String(), "cus_") {
		t.Fatalf("second start printed a key:\n%s", tm.out)
	}
	got := tm.call(t, key, "GET", fmt.Sprintf("/api/v1/contacts/%d", id), nil, 200)
	if got["email"] != markers["email"] {
		t.Fatalf("after restart: %v", got)
	}
	tm.stop(t)

	// Export it from the command line, outside the data directory.
	exported := filepath.Join(t.TempDir(), "contact.json")
	m, _, errs := newMain(cfg)
	if err := m.Run(context.Background(), []string{"export", "--id", fmt.Sprint(id), "--out", exported}); err != nil {
		t.Fatalf("export: %v\n%s", err, errs)
	}
	m.Close()
	m, out, errs := newMain(cfg)
	// The first admin key, the fourteen changes made through the API, the
	// three reads of personal data (search, history, the contact after the
	// restart), then the export; the server checkpointed the chain each
	// time it stopped, keeping the latest.
	if err := m.Run(context.Background(), []string{"audit", "verify"}); err != nil || !strings.Contains(out.String(), "intact: 19 entries, held to its checkpoint") {
		t.Fatalf("audit verify after the export: %v\n%s%s", err, out, errs)
	}
	m.Close()
	if b, err := os.ReadFile(exported); err != nil || !strings.Contains(string(b), markers["changed"]) || !strings.Contains(string(b), markers["ip"]) ||
		!strings.Contains(string(b), markers["restrict"]) || !strings.Contains(string(b), markers["lift"]) ||
		!strings.Contains(string(b), markers["note"]) || !strings.Contains(string(b), markers["file_name"]) || !strings.Contains(string(b), markers["event"]) {
		t.Fatalf("the export lacks the contact's values: %v", err)
	}

	// Back up the data and the keys, apart, before the person is forgotten.
	backups := t.TempDir()
	for _, args := range [][]string{{"backup", filepath.Join(backups, "data")}, {"backup", "--keys", filepath.Join(backups, "keys")}} {
		m, out, errs := newMain(cfg)
		if err := m.Run(context.Background(), args); err != nil || !strings.Contains(out.String(), "Backed up the") {
			t.Fatalf("%v: %v\n%s%s", args, err, out, errs)
		}
		m.Close()
	}

	if b, err := os.ReadFile(filepath.Join(backups, "data", backupDataFile(cfg))); err != nil || !bytes.Contains(bytes.ToLower(b), []byte(clearMarkers["tag"])) {
		t.Fatalf("the data backup does not hold the tag before the erasure: %v", err)
	}
	// Forget it from the command line: the next start knows nothing of it.
	m, out, errs = newMain(cfg)
	if err := m.Run(context.Background(), []string{"forget", "--email", strings.ToUpper(markers["email"]), "--mode", "erase", "--request-id", "DSR-1"}); err != nil {
		t.Fatalf("forget: %v\n%s", err, errs)
	}
	m.Close()
	if !strings.Contains(out.String(), "forgotten (erase)") {
		t.Fatalf("forget printed %q", out)
	}
	tm = startServe(t, cfg)
	tm.call(t, key, "GET", fmt.Sprintf("/api/v1/contacts/%d", id), nil, 404)
	if found := tm.call(t, key, "GET", "/api/v1/contacts?q=zq7", nil, 200); len(found["data"].([]any)) != 0 {
		t.Fatalf("search finds the forgotten contact: %v", found)
	}
	tm.stop(t)

	// Restore the backups made before the erasure into a fresh directory:
	// it needs the master key, and then knows nothing of the person.
	fresh := storetest.Config(t)
	restore := func() (string, error) {
		m, out, errs := newMain(fresh)
		defer m.Close()
		err := m.Run(context.Background(), []string{"restore", filepath.Join(backups, "data"), filepath.Join(backups, "keys")})
		return out.String() + errs.String(), err
	}
	if _, err := restore(); err == nil || !strings.Contains(err.Error(), "needs the master key") {
		t.Fatalf("restore without the master key: %v", err)
	}
	masterKey, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh.DataDir, "master.key"), masterKey, 0o600); err != nil {
		t.Fatal(err)
	}
	// The erasure scrubbed the registered data backup and wrote the
	// tombstone into it: there is nothing to write back.
	if out, err := restore(); err != nil || !strings.Contains(out, "Erasures replayed: 0 tombstones written back") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	tm = startServe(t, fresh)
	tm.call(t, key, "GET", fmt.Sprintf("/api/v1/contacts/%d", id), nil, 404)
	if found := tm.call(t, key, "GET", "/api/v1/contacts?q=zq7", nil, 200); len(found["data"].([]any)) != 0 {
		t.Fatalf("search of the restored store finds the forgotten contact: %v", found)
	}
	all := maps.Clone(markers)
	maps.Copy(all, clearMarkers)
	assertNoMarkers(t, fresh, all)
	tm.stop(t)
	assertNoMarkers(t, fresh, all)
	assertNoMarkers(t, cfg, all)
	for _, d := range []string{"data", "keys"} {
		assertNoMarkers(t, store.Config{DataDir: filepath.Join(backups, d)}, all)
	}
}

// assertNoMarkers fails when any file under the data directory, or on
// PostgreSQL a dump of the data and key schemas, holds a marker in any
// letter case.
func assertNoMarkers(t *testing.T, cfg store.Config, markers map[string]string) {
	t.Helper()
	check := func(where string, b []byte) {
		lower := bytes.ToLower(b)
		for name, v := range markers {
			for _, form := range []string{v, strings.ReplaceAll(strings.ReplaceAll(v, " ", ""), "-", "")} {
				if bytes.Contains(lower, bytes.ToLower([]byte(form))) {
					t.Errorf("%s holds the %s value in plaintext", where, name)
				}
			}
		}
	}
	err := filepath.WalkDir(cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		check(path, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "" {
		dump, err := exec.Command("pg_dump", "--data-only", "--schema="+cfg.Schema, "--schema="+cfg.Schema+"_keys", cfg.DatabaseURL).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		if !bytes.Contains(dump, []byte("contact_keys")) {
			t.Fatal("the dump holds no key store")
		}
		check("the PostgreSQL dump", dump)
	}
}

func TestCommands(t *testing.T) {
	cfg := storetest.Config(t)
	run := func(args ...string) (string, error) {
		m, out, errs := newMain(cfg)
		err := m.Run(context.Background(), args)
		m.Close()
		return out.String() + errs.String(), err
	}
	if out, err := run("version"); err != nil || !strings.Contains(out, Version) {
		t.Fatalf("version: %q %v", out, err)
	}
	if out, err := run("migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	if _, err := run("workspace", "create", "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("workspace", "create", "second"); err == nil {
		t.Fatal("a second workspace of the same name was created")
	}
	out, err := run("apikey", "create", "--workspace", "second", "--role", "viewer")
	if err != nil || !strings.HasPrefix(lastLine(out), "cus_") {
		t.Fatalf("apikey create: %q %v", out, err)
	}
	if _, err := run("apikey", "create", "--workspace", "nope", "--role", "admin"); err == nil {
		t.Fatal("a key for a missing workspace was created")
	}
	if _, err := run("apikey", "create", "--role", "emperor"); err == nil {
		t.Fatal("a key with an unknown role was created")
	}
	// forget, by e-mail: the contact made through the API below is gone.
	if _, err := run("forget", "--email", "x@example.com", "--mode", "erase"); err == nil {
		t.Fatal("forgetting a contact that does not exist succeeded")
	}
	if _, err := run("forget", "--id", "1", "--mode", "shred"); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
	// The key works in its own workspace.
	tm := startServe(t, cfg)
	defer tm.stop(t)
	list := tm.call(t, lastLine(out), "GET", "/api/v1/contacts", nil, 200)
	if len(list["data"].([]any)) != 0 {
		t.Fatalf("a new workspace has contacts: %v", list)
	}
	tm.call(t, lastLine(out), "POST", "/api/v1/contacts", map[string]any{"email": "x@example.com"}, 403)
}

// backupDataFile names the file of a data backup that holds the contacts.
func backupDataFile(cfg store.Config) string {
	if cfg.DatabaseURL != "" {
		return "contacts.copy"
	}
	return store.DataFile
}
