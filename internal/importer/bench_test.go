package importer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// writeBenchCSV writes a CSV of n rows and 10 columns.
func writeBenchCSV(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "email,first_name,last_name,company,phone,city,score,vip,plan,joined")
	plans := []string{"free", "pro", "team"}
	for i := range n {
		fmt.Fprintf(w, "person%d@example.com,First%d,Last%d,Company %d,+4860%07d,City %d,%d,%t,%s,2024-%02d-%02d\n",
			i, i, i, i%1000, i, i%500, i%100, i%2 == 0, plans[i%3], i%12+1, i%28+1)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// BenchmarkImport imports a generated CSV of CUSTOS_BENCH_ROWS rows (default
// 100,000) with 10 columns under one purpose, on SQLite or, with
// CUSTOS_TEST_POSTGRES, PostgreSQL, and reports contacts/s and the
// process's peak RSS. Run it once: -benchtime=1x.
func BenchmarkImport(b *testing.B) {
	rows := 100000
	if s := os.Getenv("CUSTOS_BENCH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	path := filepath.Join(b.TempDir(), "bench.csv")
	writeBenchCSV(b, path, rows)
	for b.Loop() {
		b.StopTimer()
		db := storetest.Open(b)
		ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
		p := &custos.Purpose{Name: "Service", LegalBasis: custos.BasisLegitimateInterests, Channel: "email"}
		if err := db.CreatePurpose(ctx, p); err != nil {
			b.Fatal(err)
		}
		for _, f := range []*custos.FieldDef{
			{Key: "city", Label: "City", Type: custos.FieldText, Classification: custos.ClassPersonal},
			{Key: "score", Label: "Score", Type: custos.FieldNumber, Classification: custos.ClassNone},
			{Key: "vip", Label: "VIP", Type: custos.FieldBool, Classification: custos.ClassNone},
			{Key: "plan", Label: "Plan", Type: custos.FieldChoice, Classification: custos.ClassNone, Choices: []string{"free", "pro", "team"}},
			{Key: "joined", Label: "Joined", Type: custos.FieldDate, Classification: custos.ClassPersonal},
		} {
			if err := db.CreateField(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		imp, err := db.StartImport(ctx, &custos.Import{Name: "bench.csv", SHA256: fmt.Sprintf("%064x", time.Now().UnixNano()),
			Options: custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisLegitimateInterests}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu := time.Now(), cpuTime()
		imp, err = Run(ctx, db, imp, io.Reader(f), nil)
		took, cpu := time.Since(start), cpuTime()-cpu
		b.StopTimer()
		f.Close()
		if err != nil || imp.Created != int64(rows) {
			b.Fatalf("import: %+v %v", imp, err)
		}
		b.ReportMetric(float64(rows)/took.Seconds(), "contacts/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/contact")
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss_MiB")
		db.Close()
		b.StartTimer()
	}
}

// cpuTime returns the CPU time the process has used (user and system):
// on a machine shared with other work, CPU per row varies less than
// wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// genReader produces a CSV of about size bytes without holding it.
type genReader struct {
	size, done int64
	i          int
	buf        []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.done >= g.size {
			return 0, io.EOF
		}
		if g.i == 0 {
			g.buf = []byte("email;first_name;last_name;note\r\n")
		} else {
			g.buf = fmt.Appendf(g.buf[:0], "person%d@example.com;\"First %d\";Last;\"a note, with \"\"quotes\"\" and a delimiter; %d\"\r\n", g.i, g.i, g.i)
		}
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	g.done += int64(n)
	return n, nil
}

// BenchmarkParse1GB streams a generated CSV of CUSTOS_BENCH_BYTES bytes
// (default 1 GiB) through the parser and reports rows/s and the peak RSS,
// which must not grow with the file. Run it once: -benchtime=1x.
func BenchmarkParse1GB(b *testing.B) {
	size := int64(1 << 30)
	if s := os.Getenv("CUSTOS_BENCH_BYTES"); s != "" {
		size, _ = strconv.ParseInt(s, 10, 64)
	}
	for b.Loop() {
		start := time.Now()
		r, err := Open(&genReader{size: size})
		if err != nil {
			b.Fatal(err)
		}
		rows := countRows(b, r)
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(size)/time.Since(start).Seconds()/(1<<20), "MiB/s")
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss_MiB")
	}
}

// countRows reads r to its end and answers how many rows it gave; a row
// with an error fails the benchmark.
func countRows(tb testing.TB, r Reader) int {
	rows := 0
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows
		} else if err != nil {
			tb.Fatal(err)
		}
		if row.Err != nil {
			tb.Fatal(row.Err)
		}
		rows++
	}
}
