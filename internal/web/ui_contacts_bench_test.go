package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkContactsPage measures the contacts list page, GET /contacts,
// served by the whole handler (session, permission, the audited read, the
// template) over CUSTOS_BENCH_CONTACTS contacts (default 1,000,000, made
// by the store's bulk path): the first page, a page deep in the list, a
// page filtered by status and tag, and a search. Budget: ≤ 100 ms.
//
//	go test ./internal/web -run '^$' -bench ContactsPage -benchtime 200x -timeout 60m
func BenchmarkContactsPage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	db := storetest.Open(b)
	srv := newServer(db, nil)
	bg := context.Background()
	ws := &custos.Workspace{Name: "bench"}
	must(b, db.CreateWorkspace(bg, ws))
	ctx := custos.WithActor(bg, custos.Actor{WorkspaceID: ws.ID, Kind: custos.ActorCLI, Role: custos.RoleAdmin})
	p := &custos.Purpose{Name: "newsletter", LegalBasis: custos.BasisConsent}
	must(b, db.CreatePurpose(ctx, p))
	f := &custos.FieldDef{Key: "contract_signed", Label: "Contract signed", Type: custos.FieldBool, Classification: custos.ClassNone}
	must(b, f.Validate())
	must(b, db.CreateField(ctx, f))
	consents := []custos.ConsentRequest{{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "I want the newsletter.", Method: custos.MethodImport}}
	start := time.Now()
	const batch = 50_000
	for from := 0; from < n; from += batch {
		cs := make([]*custos.Contact, 0, batch)
		for i := from; i < min(from+batch, n); i++ {
			cs = append(cs, &custos.Contact{Email: fmt.Sprintf("user%d@example.com", i), Tags: []string{"t" + strconv.Itoa(i%10)},
				Fields: map[string]any{"first_name": "Anna" + strconv.Itoa(i%1000), "last_name": "Nowak", "company": "Company " + strconv.Itoa(i%100),
					"contract_signed": i%2 == 0}})
		}
		must(b, db.CreateContacts(ctx, cs, consents))
	}
	b.Logf("%d contacts made in %v", n, time.Since(start).Round(time.Second))
	must(b, db.WarmSearch(ctx, ws.ID))
	u := &custos.User{Email: "bench@example.com", Role: custos.RoleAdmin}
	must(b, db.CreateUser(ctx, u, testPassword))
	login, err := db.Login(bg, custos.LoginAttempt{Workspace: ws.Name, Email: u.Email, Password: testPassword})
	must(b, err)

	cols := "cols=email,name,company,status,tags,created,contract_signed"
	for _, tc := range []struct{ name, query string }{
		{"first", cols},
		{"deep", cols + "&cursor=" + *encodeCursor(int64(n / 2))},
		{"status+tag", cols + "&status=active&tag=t3"},
		{"search", cols + "&q=anna42"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				r := httptest.NewRequest("GET", "/contacts?"+tc.query, nil)
				r.Header.Set("Accept", "text/html")
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: login.Token})
				w := httptest.NewRecorder()
				t0 := time.Now()
				srv.ServeHTTP(w, r)
				times = append(times, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
