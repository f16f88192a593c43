package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/store/storetest"
)

// TestImportCommand imports a file through the real program, then runs
// the same command again, which finds the import done.
func TestImportCommand(t *testing.T) {
	cfg := storetest.Config(t)
	tm := startServe(t, cfg)
	key := lastLine(tm.out.String())
	p := tm.call(t, key, "POST", "/api/v1/purposes", map[string]any{"name": "News", "legal_basis": "legitimate_interests", "channel": "email"}, 201)
	l := tm.call(t, key, "POST", "/api/v1/lists", map[string]any{"name": "Customers"}, 201)
	tm.stop(t)

	file := filepath.Join(t.TempDir(), "people.csv")
	data := "Mail;Vorname;Notes\r\nann@example.com;Ann;x\r\nnot-an-address;Bob;y\r\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", file, "--purpose", fmt.Sprint(p["id"]), "--basis", "legitimate_interests", "--list", fmt.Sprint(l["id"]),
		"--map", "Mail=email", "--map", "Vorname=first_name", "--not-from-subject"}
	m, out, errs := newMain(cfg)
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	m.Close()
	if !strings.Contains(errs.String(), "done: 2 rows, 1 created, 0 updated, 1 rejected, 0 skipped") || !strings.Contains(errs.String(), "Columns not imported") ||
		!strings.Contains(errs.String(), "Notes") {
		t.Fatalf("summary:\n%s", errs)
	}
	if strings.TrimSpace(out.String()) != "line 3, column Mail: is not a valid e-mail address" {
		t.Fatalf("rejected rows:\n%s", out)
	}
	if strings.Contains(errs.String()+out.String(), "not-an-address") {
		t.Fatal("the output repeats a rejected value")
	}
	m, _, errs = newMain(cfg)
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("import again: %v\n%s", err, errs)
	}
	m.Close()
	if !strings.Contains(errs.String(), "imported already as import 1") {
		t.Fatalf("second run:\n%s", errs)
	}
	m, _, _ = newMain(cfg)
	if err := m.Run(context.Background(), []string{"import", file, "--purpose", "1"}); err == nil || !strings.Contains(err.Error(), "--basis must be one of") {
		t.Fatalf("missing basis: %v", err)
	}
}
