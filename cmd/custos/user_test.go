package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/mail"
	"github.com/custos/custos/internal/store/storetest"
)

// TestUserCreateCommand creates a staff user with the password from
// standard input, who can then sign in, and refuses a weak password and a
// missing --password-stdin.
func TestUserCreateCommand(t *testing.T) {
	cfg := storetest.Config(t)
	run := func(stdin string, args ...string) (string, error) {
		m, out, errs := newMain(cfg)
		m.Stdin = strings.NewReader(stdin)
		err := m.Run(context.Background(), args)
		m.Close()
		return out.String() + errs.String(), err
	}
	pw := "  spaces count in a passphrase  "
	out, err := run(pw+"\n", "user", "create", "--email", "Boss@Example.com", "--role", "admin", "--password-stdin")
	if err != nil || !strings.Contains(out, "Created user 1 (admin)") {
		t.Fatalf("user create: %q %v", out, err)
	}
	if strings.Contains(out, "Boss") || strings.Contains(out, pw) {
		t.Fatalf("output shows the address or password: %q", out)
	}
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"common password", "password1234567\n", []string{"--email", "b@example.com", "--role", "admin", "--password-stdin"}, "too common"},
		{"invitation without a base URL", "", []string{"--email", "b@example.com", "--role", "admin"}, "CUSTOS_BASE_URL"},
		{"taken", pw + "\n", []string{"--email", "boss@example.com", "--role", "viewer", "--password-stdin"}, "exists"},
		{"bad role", pw + "\n", []string{"--email", "c@example.com", "--role", "king", "--password-stdin"}, "--role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(tc.stdin, append([]string{"user", "create"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// Without a password, with the public address known: an invitation
	// is queued, and the mail worker (serve's) delivers it to the outbox.
	m, out2, _ := newMain(cfg)
	env := m.Getenv
	m.Getenv = func(name string) string {
		if name == "CUSTOS_BASE_URL" {
			return "https://crm.example.test"
		}
		return env(name)
	}
	err = m.Run(context.Background(), []string{"user", "create", "--email", "invitee@example.com", "--role", "viewer"})
	m.Close()
	if err != nil || !strings.Contains(out2.String(), "queued an invitation") {
		t.Fatalf("invite: %q %v", out2.String(), err)
	}

	db := openDataDir(t, cfg)
	sender, err := mail.New(mail.Config{From: "Custos <custos@localhost>", OutboxDir: filepath.Join(cfg.DataDir, OutboxDir)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := (&jobs.MailWorker{Queue: db, Mailer: sender}).RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("the worker sent %d, %v; want the invitation", n, err)
	}
	mails, _ := filepath.Glob(filepath.Join(cfg.DataDir, OutboxDir, "*"))
	found := false
	for _, f := range mails {
		b, _ := os.ReadFile(f)
		found = found || strings.Contains(string(b), "https://crm.example.test/login/reset/csr_")
	}
	if !found {
		t.Fatalf("no invitation in the outbox: %v", mails)
	}
	res, err := db.Login(context.Background(), custos.LoginAttempt{Email: "boss@example.com", Password: pw})
	if err != nil || res.User.Role != custos.RoleAdmin {
		t.Fatalf("login %+v %v", res, err)
	}
}
