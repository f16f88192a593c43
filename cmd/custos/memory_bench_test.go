package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkServeMemory measures the memory of the server with
// CUSTOS_BENCH_CONTACTS contacts (default 1,000,000; budget: ≤ 1 GiB
// RSS). The contacts are made through the store's bulk path, then serve
// runs in a child process, builds its search index, and answers b.N
// rounds from 8 clients: a page of 50, a search by name fragment, a
// contact. It reports the child's peak RSS (VmHWM) and its RSS at the end.
//
//	go test ./cmd/custos -run '^$' -bench ServeMemory -benchtime 2000x -timeout 30m
func BenchmarkServeMemory(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	cfg := storetest.Config(b)
	c := startChild(b, cfg)
	key := c.adminKey(b)
	c.kill(b)

	db := openDataDir(b, cfg)
	bg := context.Background()
	ws, err := db.FindWorkspaceByName(bg, custos.DefaultWorkspace)
	if err != nil {
		b.Fatal(err)
	}
	ctx := custos.WithActor(bg, custos.Actor{WorkspaceID: ws.ID, Kind: custos.ActorCLI, Role: custos.RoleAdmin})
	p := &custos.Purpose{Name: "newsletter", LegalBasis: custos.BasisConsent}
	if err := db.CreatePurpose(ctx, p); err != nil {
		b.Fatal(err)
	}
	consents := []custos.ConsentRequest{{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "I want the newsletter.", Method: custos.MethodImport}}
	var first int64
	const batch = 50_000
	for from := 0; from < n; from += batch {
		cs := make([]*custos.Contact, 0, batch)
		for i := from; i < min(from+batch, n); i++ {
			cs = append(cs, &custos.Contact{Email: fmt.Sprintf("user%d@example.com", i), Tags: []string{"t" + strconv.Itoa(i%10)},
				Fields: map[string]any{"first_name": "Anna" + strconv.Itoa(i%1000), "last_name": "Nowak", "company": "Company " + strconv.Itoa(i%100),
					"phone": fmt.Sprintf("+48600%06d", i)}})
		}
		if err := db.CreateContacts(ctx, cs, consents); err != nil {
			b.Fatal(err)
		}
		if first == 0 {
			first = cs[0].ID
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}

	c = startChild(b, cfg, "CUSTOS_LOG_LEVEL=info")
	start := time.Now()
	for !strings.Contains(c.out.String(), "search index ready") {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("no search index after 10 minutes:\n%s", c.out)
		}
		time.Sleep(100 * time.Millisecond) // polling a process we do not control
	}
	b.Logf("%d contacts; search index ready %v after the start; RSS then %d MiB", n, time.Since(start).Round(time.Second), c.memory(b, "VmRSS"))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func(path string) error {
		req, _ := http.NewRequest("GET", "http://"+c.addr+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		return nil
	}
	b.Run("rounds", func(b *testing.B) {
		rounds := make(chan int)
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		b.ResetTimer()
		for range 8 {
			wg.Go(func() {
				for i := range rounds {
					for _, path := range []string{
						"/contacts?limit=50",
						"/contacts?limit=50&q=anna" + strconv.Itoa(i%1000),
						"/contacts/" + strconv.FormatInt(first+rand.Int64N(int64(n)), 10),
					} {
						if err := get(path); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		for i := range b.N {
			select {
			case rounds <- i:
			case err := <-errs:
				b.Fatal(err)
			}
		}
		close(rounds)
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "req/s")
		b.ReportMetric(float64(c.memory(b, "VmHWM")), "peak-RSS-MiB")
		b.ReportMetric(float64(c.memory(b, "VmRSS")), "RSS-MiB")
	})
}

// memory returns a line of the child's /proc status, in MiB.
func (c *child) memory(tb testing.TB, field string) int64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb >> 10
		}
	}
	tb.Fatalf("no %s in the child's status", field)
	return 0
}
