package importer

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// BenchmarkParseXLSX reads a generated workbook of CUSTOS_BENCH_ROWS rows
// (default 300,000) and 10 columns through the parser and reports rows/s,
// the workbook's size, packed and unpacked, and the peak RSS of the parse
// alone (the peak is reset after the file is written). rows/cpu_s counts
// the process's CPU time (user and system) instead of the wall clock, so
// it depends less on what else the machine runs. The sheet streams from
// the file as it decompresses; the strings are inline (as excelize's
// stream writer writes them), so no shared strings table is held. Run it
// once: -benchtime=1x.
func BenchmarkParseXLSX(b *testing.B) {
	n := 300_000
	if s := os.Getenv("CUSTOS_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	path := filepath.Join(b.TempDir(), "contacts.xlsx")
	unpacked := writeBenchXLSX(b, path, n)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		debug.FreeOSMemory()
		resetPeakRSS(b)
		start, cpu := time.Now(), cpuTime()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Open(f)
		if err != nil {
			b.Fatal(err)
		}
		rows := countRows(b, r)
		r.Close()
		f.Close()
		if rows != n {
			b.Fatalf("%d rows read, want %d", rows, n)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/(cpuTime()-cpu).Seconds(), "rows/cpu_s")
		b.ReportMetric(float64(st.Size())/(1<<20), "packed_MiB")
		b.ReportMetric(float64(unpacked)/(1<<20), "unpacked_MiB")
		b.ReportMetric(peakRSS(b), "maxrss_MiB")
	}
}

// writeBenchXLSX writes a workbook of n rows and 10 columns, and returns
// its size unpacked.
func writeBenchXLSX(tb testing.TB, path string, n int) int64 {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		tb.Fatal(err)
	}
	header := []any{"email", "first_name", "last_name", "company", "phone", "city", "score", "vip", "plan", "joined"}
	if err := sw.SetRow("A1", header); err != nil {
		tb.Fatal(err)
	}
	plans := []string{"free", "pro", "team"}
	for i := range n {
		row := []any{fmt.Sprintf("person%d@example.com", i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i),
			fmt.Sprintf("Company %d", i%1000), fmt.Sprintf("+4860%07d", i), fmt.Sprintf("City %d", i%500),
			i % 100, i%2 == 0, plans[i%3], fmt.Sprintf("2024-%02d-%02d", i%12+1, i%28+1)}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		tb.Fatal(err)
	}
	// Unpacked, as the parser's limit counts it: every part of the file.
	z, err := zip.OpenReader(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer z.Close()
	var size int64
	for _, part := range z.File {
		size += int64(part.UncompressedSize64)
	}
	return size
}

// resetPeakRSS resets the process's peak resident set (Linux: clear_refs 5).
func resetPeakRSS(tb testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatal(err)
	}
}

// peakRSS answers the process's peak resident set since the last reset,
// in MiB (VmHWM).
func peakRSS(tb testing.TB) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmHWM in /proc/self/status")
	return 0
}
