package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/importer"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/web"
)

// serve runs the HTTP server until ctx ends (SIGINT or SIGTERM), then shuts
// down gracefully: it stops accepting, lets requests in flight finish (up to
// 30 seconds) and closes the database.
func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.flagSet("serve")
	listen := fs.String("listen", m.env("CUSTOS_LISTEN", "127.0.0.1:8080"), "address to listen on (env CUSTOS_LISTEN)")
	baseURL := fs.String("base-url", m.env("CUSTOS_BASE_URL", ""), "public address that links in mails point at, such as https://crm.example.com (env CUSTOS_BASE_URL; default http:// and the listen address)")
	proxies := fs.String("trusted-proxies", m.env("CUSTOS_TRUSTED_PROXIES", ""), "comma-separated networks of reverse proxies whose X-Forwarded-For names the client (env CUSTOS_TRUSTED_PROXIES; default none: the client is the socket's peer)")
	// Sign-up forms and double opt-in.
	formRedirects := fs.String("form-redirects", m.env("CUSTOS_FORM_REDIRECTS", ""), "comma-separated addresses a form may send a browser to after a sign-up, each matched exactly (env CUSTOS_FORM_REDIRECTS; default none: our own page)")
	signupTTL := fs.Duration("signup-ttl", envDuration(m, "CUSTOS_SIGNUP_TTL", custos.SignupTokenTTL), "how long a confirmation link works; unconfirmed sign-ups are deleted after it (env CUSTOS_SIGNUP_TTL)")
	signupIPLimit := fs.Int("signup-ip-limit", envInt(m, "CUSTOS_SIGNUP_IP_LIMIT", 5), "form submissions per minute from one IP address, 0 for no limit (env CUSTOS_SIGNUP_IP_LIMIT)")
	signupAddressLimit := fs.Int("signup-address-limit", envInt(m, "CUSTOS_SIGNUP_ADDRESS_LIMIT", 3), "confirmation mails per address per 24 hours (env CUSTOS_SIGNUP_ADDRESS_LIMIT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signupTTL < time.Hour || *signupAddressLimit < 1 || *signupIPLimit < 0 {
		return fmt.Errorf("--signup-ttl must be at least 1h, --signup-address-limit at least 1 and --signup-ip-limit at least 0")
	}
	var redirects []string
	for u := range strings.SplitSeq(*formRedirects, ",") {
		if u = strings.TrimSpace(u); u != "" {
			if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return fmt.Errorf("--form-redirects: %q is not an http:// or https:// address", u)
			}
			redirects = append(redirects, u)
		}
	}
	trusted, err := web.ParseTrustedProxies(*proxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %s", custos.ErrorMessage(err))
	}
	m.Config.Listen, m.Config.BaseURL = *listen, *baseURL
	if m.Config.BaseURL != "" {
		if u, err := url.Parse(m.Config.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--base-url must be an http:// or https:// address, such as https://crm.example.com")
		}
	}
	created, err := m.open(ctx)
	if err != nil {
		return err
	}
	m.DB.SignupTTL = *signupTTL
	m.DB.SignupLimits = custos.SignupLimits{MailsPerAddress: *signupAddressLimit, AddressWindow: 24 * time.Hour}
	if created {
		if err := m.printFirstKey(ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.Addr = ln.Addr().String()
	if m.Config.BaseURL == "" {
		m.Config.BaseURL = "http://" + m.Addr
	}
	// Uploaded imports run in the background from files staged encrypted
	// under <data>/imports; those a stopped server left resume now.
	imports, err := importer.NewBackground(ctx, filepath.Join(m.Config.DataDir, "imports"), m.DB, m.Log)
	if err != nil {
		return fmt.Errorf("imports: %w", err)
	}
	defer imports.Wait()
	running, err := m.DB.RunningImports(ctx)
	if err != nil {
		return err
	}
	for _, r := range running {
		imports.Resume(r.WorkspaceID, r.ID)
	}
	srv := &http.Server{
		Handler: web.NewHandler(m.DB, m.Log, web.WithMailer(m.Mail), web.WithBaseURL(m.Config.BaseURL), web.WithTrustedProxies(trusted),
			web.WithFormRedirects(redirects), web.WithSignupIPLimit(*signupIPLimit, time.Minute), web.WithSignupTTL(*signupTTL), web.WithImporter(imports)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	m.Log.Info("custos is serving", "addr", m.Addr, "dialect", m.DB.Dialect(), "version", Version)
	close(m.Ready)
	go m.warmSearch(ctx)
	swept := make(chan struct{})
	go m.sweepForgotten(ctx, swept)
	defer func() { <-swept }()
	// The outgoing mail queue: sign-up confirmations and the like.
	mailed := make(chan struct{})
	go func() {
		defer close(mailed)
		w := &jobs.MailWorker{Queue: m.DB, Mailer: m.Mail, Log: m.Log, Wake: m.DB.MailQueued}
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("mail queue stopped", "err", err)
		}
	}()
	defer func() { <-mailed }()
	signupsSwept := make(chan struct{})
	go m.sweepSignups(ctx, signupsSwept)
	defer func() { <-signupsSwept }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// The mails the handler sends after answering (preference-centre
	// links) go out before the program ends.
	if w, ok := srv.Handler.(interface{ Wait() }); ok {
		w.Wait()
	}
	return nil
}

// forgottenSweep is how often serve drops from memory what another
// process forgot: the decrypted search text of a contact erased from the
// command line outlives the erasure by at most this long.
const forgottenSweep = 30 * time.Second

// sweepForgotten runs DropForgotten, and checkpoints the audit log, every
// forgottenSweep until ctx ends; it checkpoints once more, then closes
// done.
func (m *Main) sweepForgotten(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(forgottenSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.checkpointAudit(context.WithoutCancel(ctx))
			return
		case <-t.C:
			if err := m.DB.DropForgotten(ctx); err != nil && ctx.Err() == nil {
				m.Log.Error("dropping forgotten contacts from the search index", "err", err)
			}
			m.checkpointAudit(ctx)
		}
	}
}

// checkpointAudit writes checkpoints of the audit chains that moved
// (store.CheckpointFile).
func (m *Main) checkpointAudit(ctx context.Context) {
	if n, err := m.DB.CheckpointAudit(ctx); err != nil && ctx.Err() == nil {
		m.Log.Error("checkpointing the audit log", "err", err)
	} else if n > 0 {
		m.Log.Debug("audit log checkpointed", "workspaces", n)
	}
}

// printFirstKey creates and prints the admin API key of a new install.
func (m *Main) printFirstKey(ctx context.Context) error {
	actx, err := m.actAs(ctx, custos.DefaultWorkspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	token, err := m.DB.CreateAPIKey(actx, &custos.APIKey{Name: "first admin key", Role: custos.RoleAdmin})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created the default workspace. Its admin API key, shown only now:\n%s\n", token)
	return nil
}

// warmSearch builds the default workspace's search index in the
// background, so that the first search does not wait for it.
func (m *Main) warmSearch(ctx context.Context) {
	w, err := m.DB.FindWorkspaceByName(ctx, custos.DefaultWorkspace)
	if err != nil {
		return
	}
	start := time.Now()
	if err := m.DB.WarmSearch(ctx, w.ID); err != nil {
		if ctx.Err() == nil {
			m.Log.Warn("search index", "err", err)
		}
		return
	}
	m.Log.Info("search index ready", "workspace", w.ID, "took", time.Since(start).Round(time.Millisecond))
}

// signupSweep is how often serve deletes the sign-ups left unconfirmed
// past their expiry.
const signupSweep = time.Minute

// sweepSignups runs SweepSignups and SweepMailKeys (the keys of mail to
// staff whose link or code has expired) at start and every signupSweep
// until ctx ends, then closes done.
func (m *Main) sweepSignups(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(signupSweep)
	defer t.Stop()
	for {
		if n, err := m.DB.SweepSignups(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("sweeping expired sign-ups", "err", err)
		} else if n > 0 {
			m.Log.Info("deleted expired sign-ups", "count", n)
		}
		if _, err := m.DB.SweepMailKeys(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("sweeping expired mail keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// envInt reads an integer from the environment, or def when unset or not
// a number (the flag's check then reports it).
func envInt(m *Main, name string, def int) int {
	if v := m.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return -1
	}
	return def
}

// envDuration reads a duration such as 168h from the environment, or def.
func envDuration(m *Main, name string, def time.Duration) time.Duration {
	if v := m.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		return 0
	}
	return def
}
