package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkContactRead measures what authentication, the permission check
// and the audit entry of a read of personal data cost on GET
// /api/v1/contacts/{id}, in process, 8 clients at a time: "bare" calls the
// route's handler with the actor already in the context; "guarded" serves
// the request as the server does (API key, permission, audited read);
// "guarded-masked" is a viewer's read, authorised but not audited, as it
// holds no personal data, and "bare-masked" its handler alone, with a
// viewer in the context. Budget: guarded ≤ 1.1 × bare (and guarded-masked
// ≤ 1.1 × bare-masked).
//
//	go test ./internal/web -run '^$' -bench 'ContactRead$' -benchtime 10000x
func BenchmarkContactRead(b *testing.B) {
	benchContactRead(b, false)
}

// BenchmarkContactReadLoopback is BenchmarkContactRead as users see it:
// an API request over loopback HTTP, to a real net/http server on
// 127.0.0.1, from 8 clients that keep their connections alive. "bare"
// serves the route's handler alone behind the server; "guarded" and
// "guarded-masked" the whole server. The CPU time per read counts the
// clients' too, as they run in the same process.
//
//	go test ./internal/web -run '^$' -bench 'ContactReadLoopback$' -benchtime 10000x
func BenchmarkContactReadLoopback(b *testing.B) {
	benchContactRead(b, true)
}

func benchContactRead(b *testing.B, loopback bool) {
	// The store as the server opens it.
	cfg := storetest.Config(b)
	cfg.AuthRecheck = store.DefaultAuthRecheck
	db := storetest.OpenConfig(b, cfg, storetest.Vault(b))
	srv := newServer(db, nil)
	bg := context.Background()
	ws := &custos.Workspace{Name: "bench"}
	if err := db.CreateWorkspace(bg, ws); err != nil {
		b.Fatal(err)
	}
	actor := custos.Actor{WorkspaceID: ws.ID, Kind: custos.ActorCLI, Role: custos.RoleAdmin}
	ctx := custos.WithActor(bg, actor)
	c := &custos.Contact{Email: "bench@example.com", Fields: map[string]any{"first_name": "Anna", "last_name": "Nowak", "phone": "+48600700800"}}
	if err := db.CreateContact(ctx, c); err != nil {
		b.Fatal(err)
	}
	token := func(role custos.Role) string {
		tok, err := db.CreateAPIKey(ctx, &custos.APIKey{Name: "bench", Role: role})
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	admin, viewer := token(custos.RoleAdmin), token(custos.RoleViewer)
	path := fmt.Sprintf("/api/v1/contacts/%d", c.ID)
	run := func(b *testing.B, serve http.HandlerFunc, key string) {
		b.SetParallelism(4) // 8 clients on 2 cores
		read := func() {
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set("Authorization", "Bearer "+key)
			w := httptest.NewRecorder()
			serve(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		if loopback {
			ts := httptest.NewServer(serve)
			defer ts.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			defer client.CloseIdleConnections()
			url := ts.URL + path
			read = func() {
				r, err := http.NewRequest("GET", url, nil)
				if err != nil {
					b.Fatal(err)
				}
				r.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("status %d: %s (%v)", resp.StatusCode, body, err)
				}
			}
		}
		cpu := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				read()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		// The process's CPU time per read, its background writers
		// included: steadier than the rate on a shared machine. (On
		// PostgreSQL the server's share is not in it.)
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/read")
	}
	bare := func(actor custos.Actor) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			r.SetPathValue("id", fmt.Sprint(c.ID))
			srv.getContact(w, r.WithContext(custos.WithActor(r.Context(), actor)))
		}
	}
	viewerActor := actor
	viewerActor.Role = custos.RoleViewer
	b.Run("bare", func(b *testing.B) { run(b, bare(actor), "") })
	b.Run("guarded", func(b *testing.B) { run(b, srv.ServeHTTP, admin) })
	b.Run("bare-masked", func(b *testing.B) { run(b, bare(viewerActor), "") })
	b.Run("guarded-masked", func(b *testing.B) { run(b, srv.ServeHTTP, viewer) })
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
