package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// Benchmarks. Run them with
//
//	go test ./internal/store -run '^$' -bench . -benchtime 1000000x   # bulk create: 1M contacts
//	CUSTOS_BENCH_CONTACTS=1000000 go test ./internal/store -run '^$' -bench FindContacts
//
// and add CUSTOS_TEST_POSTGRES=postgres://… for PostgreSQL.

var firstNames = []string{"Anna", "Jan", "Łukasz", "Zofia", "Piotr", "Kateřina", "Jiří", "Małgorzata", "Tomáš", "Ewa"}
var lastNames = []string{"Kowalska", "Nowak", "Wiśniewski", "Dvořák", "Novotná", "Zieliński", "Svoboda", "Wójcik", "Černý", "Kamiński"}
var companies = []string{"Alfa sp. z o.o.", "Beta s.r.o.", "Gamma SA", "Delta a.s.", "Epsilon", "Zeta Bank", "Eta Logistics", "Theta IT"}

// benchContact returns the i-th synthetic contact of run.
func benchContact(run string, i int) *custos.Contact {
	return &custos.Contact{
		Email: fmt.Sprintf("user%d.%s@example.com", i, run),
		Tags:  []string{"t" + strconv.Itoa(i%10)},
		Fields: map[string]any{
			"first_name": firstNames[i%len(firstNames)], "last_name": lastNames[(i/10)%len(lastNames)] + strconv.Itoa(i%1000),
			"company": companies[i%len(companies)], "phone": fmt.Sprintf("+48600%06d", i%1000000),
		},
	}
}

// fill creates n contacts with one consent each through the bulk path.
func fill(tb testing.TB, db *store.DB, ctx context.Context, run string, n int, purpose int64) {
	const batch = 50000
	consents := []custos.ConsentRequest{{PurposeID: purpose, Action: custos.ActionGrant, Notice: "Chcę otrzymywać newsletter.", Method: custos.MethodImport}}
	for start := 0; start < n; start += batch {
		cs := make([]*custos.Contact, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			cs = append(cs, benchContact(run, i))
		}
		if err := db.CreateContacts(ctx, cs, consents); err != nil {
			tb.Fatal(err)
		}
	}
}

// heapInUse returns the live heap after a collection, in bytes.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// cpuTime returns the CPU time the process has used (user and system):
// on a machine shared with other work, CPU per item varies less than
// wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // KiB → MiB on Linux
}

// BenchmarkCreateContacts measures the bulk path: one op is one contact
// with its data key, encrypted fields, blind indexes and one consent event.
func BenchmarkCreateContacts(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	p := mustPurpose(b, db, ctx, custos.BasisConsent)
	b.ResetTimer()
	cpu := cpuTime()
	fill(b, db, ctx, "c", b.N, p.ID)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/contact")
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

// BenchmarkDecide measures the permission decision in process, from a
// contact's loaded state.
func BenchmarkDecide(b *testing.B) {
	p := &custos.Purpose{LegalBasis: custos.BasisConsent, RetentionDays: 730, RetentionFrom: custos.RetentionFromConsent}
	now := time.Now()
	s := &custos.ConsentState{Action: custos.ActionGrant, EventID: 1, Since: now.Add(-time.Hour)}
	b.ReportAllocs()
	allowed := 0
	for b.Loop() {
		if custos.Decide(custos.StatusActive, p, s, now, now).Allowed {
			allowed++
		}
	}
	if allowed == 0 {
		b.Fatal("never allowed")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// bigStore is a store with CUSTOS_BENCH_CONTACTS contacts (default
// 100,000), made once per benchmark run.
var bigStore struct {
	once     sync.Once
	db       *store.DB
	ctx      context.Context
	purpose  int64
	list     int64
	n        int
	cfg      store.Config
	fill     time.Duration
	indexMiB float64
	warm     time.Duration
}

func openBig(b *testing.B) {
	bigStore.once.Do(func() {
		n := 100000
		if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_CONTACTS")); err == nil && v > 0 {
			n = v
		}
		// Not b's temporary directory: it outlives this benchmark.
		dir, err := os.MkdirTemp("", "custos-bench-")
		if err != nil {
			b.Fatal(err)
		}
		cfg := store.Config{DataDir: dir, DatabaseURL: os.Getenv("CUSTOS_TEST_POSTGRES")}
		if cfg.DatabaseURL != "" {
			cfg.Schema = "bench_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
		}
		db, err := store.Open(context.Background(), cfg, storetest.Vault(b))
		if err != nil {
			b.Fatal(err)
		}
		w := &custos.Workspace{Name: "big"}
		if err := db.CreateWorkspace(context.Background(), w); err != nil {
			b.Fatal(err)
		}
		ctx := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: w.ID, Kind: "bench", Role: custos.RoleAdmin})
		p := mustPurpose(b, db, ctx, custos.BasisConsent)
		start := time.Now()
		fill(b, db, ctx, "big", n, p.ID)
		bigStore.fill = time.Since(start)
		l := &custos.List{Name: "half"}
		if err := db.CreateList(ctx, l); err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.AddMembersByFilter(ctx, l.ID, custos.ContactFilter{Tag: ptr("t1")}); err != nil {
			b.Fatal(err)
		}
		heapBefore := heapInUse()
		start = time.Now()
		if err := db.WarmSearch(ctx, w.ID); err != nil {
			b.Fatal(err)
		}
		bigStore.warm = time.Since(start)
		bigStore.indexMiB = float64(heapInUse()-heapBefore) / (1 << 20)
		bigStore.db, bigStore.ctx, bigStore.purpose, bigStore.list, bigStore.n, bigStore.cfg = db, ctx, p.ID, l.ID, n, cfg
	})
}

// TestMain drops the PostgreSQL schemas of the shared benchmark store,
// which outlives any one benchmark.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigStore.db != nil {
		bigStore.db.Close()
		if bigStore.cfg.DatabaseURL != "" {
			if d, err := sql.Open("pgx", bigStore.cfg.DatabaseURL); err == nil {
				d.Exec(`DROP SCHEMA IF EXISTS ` + bigStore.cfg.Schema + ` CASCADE`)
				d.Exec(`DROP SCHEMA IF EXISTS ` + bigStore.cfg.Schema + `_keys CASCADE`)
				d.Close()
			}
		}
		os.RemoveAll(bigStore.cfg.DataDir)
	}
	os.Exit(code)
}

// BenchmarkFindContacts measures a page of 50 contacts at scale: a plain
// page, a filtered page, a search and a search within a list. It reports
// the 95th percentile of the page time.
func BenchmarkFindContacts(b *testing.B) {
	openBig(b)
	b.Logf("%d contacts: filled in %v (%.0f contacts/s), search index built in %v, holding %.0f MiB of heap", bigStore.n, bigStore.fill.Round(time.Millisecond),
		float64(bigStore.n)/bigStore.fill.Seconds(), bigStore.warm.Round(time.Millisecond), bigStore.indexMiB)
	restricted := custos.StatusActive
	for _, tc := range []struct {
		name string
		f    func(i int) custos.ContactFilter
	}{
		{"page", func(int) custos.ContactFilter { return custos.ContactFilter{} }},
		{"status+tag", func(int) custos.ContactFilter { return custos.ContactFilter{Status: &restricted, Tag: ptr("t3")} }},
		{"search-name", func(i int) custos.ContactFilter {
			return custos.ContactFilter{Search: lastNames[i%len(lastNames)][:4] + strconv.Itoa(i%1000)}
		}},
		{"search-email", func(i int) custos.ContactFilter {
			return custos.ContactFilter{Search: fmt.Sprintf("user%d.", i*7919%bigStore.n)}
		}},
		{"search+list", func(i int) custos.ContactFilter { return custos.ContactFilter{Search: "beta", ListID: &bigStore.list} }},
		{"email-exact", func(i int) custos.ContactFilter {
			return custos.ContactFilter{Email: ptr(fmt.Sprintf("user%d.big@example.com", i*7919%bigStore.n))}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var times []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, _, err := bigStore.db.FindContacts(bigStore.ctx, tc.f(i)); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
				i++
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(peakRSS(), "peak-RSS-MiB")
		})
	}
}

// BenchmarkPermission measures "may I?" through the store: one contact,
// one purpose, from the database.
func BenchmarkPermission(b *testing.B) {
	openBig(b)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			d, err := bigStore.db.Permission(bigStore.ctx, int64(1+i*7919%bigStore.n), bigStore.purpose, nil)
			if err != nil || !d.Allowed {
				b.Fatalf("%+v %v", d, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkForget measures forgetting one contact that holds values, a
// tag, a list membership, a consent and a history entry: tombstone, key
// shredded, rows purged.
func BenchmarkForget(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	p := mustPurpose(b, db, ctx, custos.BasisConsent)
	l := &custos.List{Name: "news"}
	if err := db.CreateList(ctx, l); err != nil {
		b.Fatal(err)
	}
	cs := make([]*custos.Contact, b.N)
	for i := range cs {
		cs[i] = benchContact("f", i)
	}
	if err := db.CreateContacts(ctx, cs, []custos.ConsentRequest{{PurposeID: p.ID, Action: custos.ActionGrant, Notice: "Yes.", Method: custos.MethodImport}}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := db.AddMembersByFilter(ctx, l.ID, custos.ContactFilter{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := db.ForgetContact(ctx, cs[i].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/forget")
}

// BenchmarkForgetWithBackup measures forgetting a contact that a
// registered SQLite or PostgreSQL data backup of CUSTOS_BENCH_CONTACTS
// contacts (default 100,000) holds: the erasure scrubs the backup too.
func BenchmarkForgetWithBackup(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	p := mustPurpose(b, db, ctx, custos.BasisConsent)
	fill(b, db, ctx, "backed", n, p.ID)
	cs, _, err := db.FindContacts(ctx, custos.ContactFilter{Limit: b.N})
	if err != nil || len(cs) < b.N {
		b.Fatalf("found %d contacts: %v", len(cs), err)
	}
	data, _ := backUp(b, db)
	var size int64
	filepath.WalkDir(data, func(_ string, d fs.DirEntry, _ error) error {
		if info, err := d.Info(); err == nil && !d.IsDir() {
			size += info.Size()
		}
		return nil
	})
	b.ResetTimer()
	for i := range b.N {
		if _, err := db.ForgetContact(ctx, cs[i].ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/forget")
	b.ReportMetric(float64(size)/(1<<20), "backup-MiB")
}

// BenchmarkExport measures the export of a contact with 1,000 consent
// events and 100 history entries.
func BenchmarkExport(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	p := mustPurpose(b, db, ctx, custos.BasisConsent)
	c := mustContact(b, db, ctx, "busy@example.com", map[string]any{"first_name": "Busy"})
	for i := range 1000 {
		action := custos.ActionGrant
		if i%2 == 1 {
			action = custos.ActionWithdraw
		}
		if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: p.ID, Action: action, Notice: "Yes.", IP: "192.0.2.1", UserAgent: "UA"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100 {
		if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"last_name": fmt.Sprint("Name", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		x, err := db.ExportContact(ctx, c.ID)
		if err != nil || len(x.Ledger) != 1000 {
			b.Fatalf("%v %v", len(x.Ledger), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/export")
}

// BenchmarkVerifyAudit verifies a workspace's audit chain of
// CUSTOS_BENCH_AUDIT entries (default 1,000,000); one op is one whole
// verification. Budget: 1M entries in 60 s.
//
//	go test ./internal/store -run '^$' -bench VerifyAudit -benchtime 3x
func BenchmarkVerifyAudit(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("CUSTOS_BENCH_AUDIT"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "audited", custos.RoleAdmin)
	a, _ := custos.ActorFrom(ctx)
	if err := db.FillAudit(ctx, a.WorkspaceID, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.CheckpointAudit(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := db.VerifyAudit(ctx)
		if err != nil || !rep.OK || rep.Entries != int64(n) {
			b.Fatalf("verify: %+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N), "entries/s")
}
