package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
	"github.com/custos/custos/internal/vault"
)

// TestHelperServe is not a test: it is the program itself when another
// test runs this test binary as a child process (so that it can be killed
// with SIGKILL), and it does nothing otherwise.
func TestHelperServe(t *testing.T) {
	if os.Getenv("CUSTOS_TEST_CHILD") != "serve" {
		return
	}
	m := NewMain()
	if err := m.Run(context.Background(), []string{"serve", "--listen", os.Getenv("CUSTOS_TEST_LISTEN")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child is the program running in a child process.
type child struct {
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
}

// startChild runs serve over cfg in a child process with extra
// environment, and waits until it answers.
func startChild(t testing.TB, cfg store.Config, env ...string) *child {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "CUSTOS_TEST_CHILD=serve", "CUSTOS_TEST_LISTEN="+addr, "CUSTOS_DATA_DIR="+cfg.DataDir,
		"CUSTOS_DATABASE_URL="+cfg.DatabaseURL, "CUSTOS_DATABASE_SCHEMA="+cfg.Schema, "CUSTOS_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, addr: addr, out: &syncBuffer{}}
	cmd.Stdout = c.out
	cmd.Stderr = c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Ready when the health check answers; the child's own output says
	// why when it stops instead.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return c
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("the child did not start: %v\n%s", err, c.out)
		}
		time.Sleep(20 * time.Millisecond) // polling a process we do not control
	}
}

// kill stops the child with SIGKILL: no shutdown, nothing flushed.
func (c *child) kill(t testing.TB) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// adminKey returns the admin key the first start printed.
func (c *child) adminKey(t testing.TB) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(c.out.String()))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "cus_") {
			return sc.Text()
		}
	}
	t.Fatalf("no admin key in %s", c.out)
	return ""
}

// apiCall sends a JSON request to addr.
func apiCall(t testing.TB, addr, key, method, path string, body any, want int) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// newSignupForm makes a purpose and a form through the API and returns the
// form's id and the main purpose's.
func newSignupForm(t testing.TB, addr, key string) (form, purpose int64) {
	t.Helper()
	p := apiCall(t, addr, key, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent"}, 201)
	purpose = int64(p["id"].(float64))
	f := apiCall(t, addr, key, "POST", "/api/v1/forms", map[string]any{"name": "Newsletter",
		"fields":             []map[string]any{{"field": "first_name"}},
		"purposes":           []map[string]any{{"purpose_id": purpose, "main": true, "notice": "I want the newsletter."}},
		"information_clause": "The controller is Shop Ltd.", "privacy_policy_url": "https://shop.example/privacy"}, 201)
	return int64(f["id"].(float64)), purpose
}

// loadResult is what a load run measured.
type loadResult struct {
	accepted  []string // the addresses whose submission was answered 202
	latencies []time.Duration
	errors    int64
}

// submitLoad posts sign-ups to the form from workers clients until stop
// closes; it closes reached (when not nil) once signal submissions were
// accepted.
func submitLoad(addr string, form, purpose int64, workers, signal int, reached chan<- struct{}, stop <-chan struct{}) *loadResult {
	client, url := submitter(addr, form, workers)
	var mu sync.Mutex
	res := &loadResult{}
	var seq, accepted atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var lat []time.Duration
			var mine []string
			defer func() {
				mu.Lock()
				res.latencies = append(res.latencies, lat...)
				res.accepted = append(res.accepted, mine...)
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				email, ok := submitOne(client, url, purpose, seq.Add(1))
				if !ok {
					atomic.AddInt64(&res.errors, 1)
					continue
				}
				lat = append(lat, time.Since(start))
				mine = append(mine, email)
				if accepted.Add(1) == int64(signal) && reached != nil {
					once.Do(func() { close(reached) })
				}
			}
		})
	}
	wg.Wait()
	return res
}

// submitter returns a client for workers parallel submissions and the
// JSON submission address of the form.
func submitter(addr string, form int64, workers int) (*http.Client, string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 30 * time.Second}
	return client, "http://" + addr + "/api/public/forms/" + strconv.FormatInt(form, 10) + "/submissions"
}

// submitOne posts the n-th sign-up and reports its address and whether it
// was accepted (202).
func submitOne(client *http.Client, url string, purpose, n int64) (string, bool) {
	email := fmt.Sprintf("load%d@example.com", n)
	body := fmt.Sprintf(`{"fields":{"email":%q,"first_name":"Load"},"purposes":[%d]}`, email, purpose)
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return email, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return email, resp.StatusCode == http.StatusAccepted
}

// submitAtRate offers sign-ups at a steady rate per second until stop,
// whatever the server's pace (an open loop, as real visitors arrive), from
// up to workers connections. Each latency runs from the moment the
// submission was due, not when a connection was free, so a server that
// falls behind shows it in the percentiles.
func submitAtRate(addr string, form, purpose int64, rate, workers int, stop <-chan struct{}) *loadResult {
	client, url := submitter(addr, form, workers)
	due := make(chan time.Time, workers)
	res := &loadResult{}
	var mu sync.Mutex
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for at := range due {
				email, ok := submitOne(client, url, purpose, seq.Add(1))
				mu.Lock()
				if ok {
					res.latencies = append(res.latencies, time.Since(at))
					res.accepted = append(res.accepted, email)
				} else {
					res.errors++
				}
				mu.Unlock()
			}
		})
	}
	start, interval := time.Now(), time.Second/time.Duration(rate)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		select {
		case <-stop:
			close(due)
			wg.Wait()
			return res
		case <-time.After(time.Until(at)):
		}
		select {
		case <-stop: // behind schedule, the end still comes first
			close(due)
			wg.Wait()
			return res
		default:
		}
		due <- at
	}
}

// TestSubmissionsSurviveKill9 submits sign-ups to a real serve in a child
// process, kills it with SIGKILL while submissions are in flight, opens
// the data again, and checks that every submission answered 202 has its
// pending sign-up and its confirmation mail: sent into the outbox before
// the kill, or queued (a message being sent at the kill is queued again:
// delivery is at least once).
func TestSubmissionsSurviveKill9(t *testing.T) {
	cfg := storetest.Config(t)
	c := startChild(t, cfg, "CUSTOS_SIGNUP_IP_LIMIT=0")
	key := c.adminKey(t)
	form, purpose := newSignupForm(t, c.addr, key)

	const workers = 16
	stop, reached := make(chan struct{}), make(chan struct{})
	done := make(chan *loadResult)
	go func() { done <- submitLoad(c.addr, form, purpose, workers, 300, reached, stop) }()
	<-reached
	c.kill(t) // with the clients still sending
	close(stop)
	res := <-done

	db := openDataDir(t, cfg)
	ctx := context.Background()
	signups, err := db.PendingSignups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mails, err := db.MailQueueStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every accepted submission is a pending sign-up; beyond them only
	// those committed while their answer was cut off by the kill.
	if len(signups) < len(res.accepted) || len(signups) > len(res.accepted)+workers {
		t.Fatalf("%d pending sign-ups for %d accepted submissions", len(signups), len(res.accepted))
	}
	bySubject := map[string]bool{}
	for _, m := range mails {
		bySubject[m.Subject] = true
	}
	for _, s := range signups {
		if !bySubject["signup-"+strconv.FormatInt(s.ID, 10)] {
			t.Errorf("sign-up %d has no confirmation mail", s.ID)
		}
	}
	// Each accepted address has its mail: in the outbox, or in the queue.
	to := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, OutboxDir, "*.eml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\r\n") {
			if a, ok := strings.CutPrefix(line, "To: "); ok {
				to[strings.Trim(a, "<>")] = true
			}
		}
	}
	if _, err := db.RequeueSending(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		q, err := db.ClaimMail(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			break
		}
		for _, m := range q {
			to[m.Message.To] = true
		}
	}
	for _, a := range res.accepted {
		if !to[a] {
			t.Errorf("accepted %s has no confirmation mail", a)
		}
	}
	t.Logf("%d accepted, %d pending sign-ups, %d mails (%d in the outbox)", len(res.accepted), len(signups), len(mails), len(files))
}

// BenchmarkFormSubmissions posts sign-ups (JSON) to a real serve on
// loopback for CUSTOS_BENCH_SECONDS (default 30), and reports accepted
// submissions per second and the latency percentiles: "saturated" from 64
// clients as fast as the server answers (its capacity, with the queueing
// that costs), "rate-1000" offered at a steady 1,000 a second (the goal:
// that rate with p99 ≤ 100 ms). The mail worker runs meanwhile, writing
// the confirmations to the outbox.
// Run it alone: go test ./cmd/custos -run '^$' -bench FormSubmissions -benchtime 1x
func BenchmarkFormSubmissions(b *testing.B) {
	secs := 30
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	for _, mode := range []string{"saturated", "rate-1000"} {
		b.Run(mode, func(b *testing.B) {
			// A fresh server each: no backlog of mail or data from the
			// other mode.
			tm := startServeEnv(b, storetest.Config(b), map[string]string{"CUSTOS_SIGNUP_IP_LIMIT": "0", "CUSTOS_LOG_LEVEL": "warn"})
			defer tm.stop(b)
			key := lastLine(tm.out.String())
			form, purpose := newSignupForm(b, tm.Addr, key)
			b.ResetTimer()
			for range b.N {
				stop := make(chan struct{})
				timer := time.AfterFunc(time.Duration(secs)*time.Second, func() { close(stop) })
				start := time.Now()
				var res *loadResult
				if mode == "saturated" {
					res = submitLoad(tm.Addr, form, purpose, 64, 0, nil, stop)
				} else {
					res = submitAtRate(tm.Addr, form, purpose, 1000, 256, stop)
				}
				elapsed := time.Since(start)
				timer.Stop()
				reportLoad(b, res, elapsed)
				// Mail the worker had not sent when the load ended: it
				// must keep up, not leave the confirmations for later.
				q, err := tm.DB.MailQueueStatus(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				backlog := 0
				for _, m := range q {
					if m.Status == custos.MailQueued || m.Status == custos.MailSending {
						backlog++
					}
				}
				b.ReportMetric(float64(backlog), "mails_unsent")
			}
		})
	}
}

// reportLoad reports a load's accepted rate, latency percentiles and
// errors.
func reportLoad(b *testing.B, res *loadResult, elapsed time.Duration) {
	slices.Sort(res.latencies)
	pct := func(p float64) float64 {
		if len(res.latencies) == 0 {
			return 0
		}
		return float64(res.latencies[int(p*float64(len(res.latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(res.accepted))/elapsed.Seconds(), "submissions/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(res.errors), "errors")
}

// startServeEnv is startServe with extra environment.
func startServeEnv(t testing.TB, cfg store.Config, extra map[string]string) *testMain {
	t.Helper()
	m, out, errs := newMain(cfg)
	base := m.Getenv
	m.Getenv = func(name string) string {
		if v, ok := extra[name]; ok {
			return v
		}
		return base(name)
	}
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

// TestServeSignupFlags: bad sign-up settings stop serve before it opens
// anything.
func TestServeSignupFlags(t *testing.T) {
	cfg := storetest.Config(t)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"short ttl", []string{"--signup-ttl", "1m"}, nil},
		{"zero address limit", []string{"--signup-address-limit", "0"}, nil},
		{"negative IP limit", []string{"--signup-ip-limit", "-1"}, nil},
		{"IP limit not a number", nil, map[string]string{"CUSTOS_SIGNUP_IP_LIMIT": "many"}},
		{"ttl not a duration", nil, map[string]string{"CUSTOS_SIGNUP_TTL": "a week"}},
		{"redirect not http", []string{"--form-redirects", "https://ok.example/thanks, ftp://x.example/"}, nil},
		{"proxy not an address", []string{"--trusted-proxies", "10.0.0.1, proxy.example"}, nil},
		{"proxy range malformed", nil, map[string]string{"CUSTOS_TRUSTED_PROXIES": "10.0.0.0/33"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, errs := newMain(cfg)
			base := m.Getenv
			m.Getenv = func(name string) string {
				if v, ok := tc.env[name]; ok {
					return v
				}
				return base(name)
			}
			err := m.Run(context.Background(), append([]string{"serve", "--listen", "127.0.0.1:0"}, tc.args...))
			m.Close()
			if err == nil || m.DB != nil {
				t.Fatalf("serve started: %v %s", err, errs)
			}
		})
	}
}

// openDataDir opens the store of the data directory cfg names, with its
// master key, as a command does.
func openDataDir(t testing.TB, cfg store.Config) *store.DB {
	t.Helper()
	key, err := vault.LoadMasterKey("", filepath.Join(cfg.DataDir, vault.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return storetest.OpenConfig(t, cfg, v)
}
