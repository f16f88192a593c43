package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/importer"
	"github.com/custos/custos/internal/web"
)

// serve runs the HTTP server until ctx ends (SIGINT or SIGTERM), then shuts
// down gracefully: it stops accepting, lets requests in flight finish (up to
// 30 seconds) and closes the database.
func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.flagSet("serve")
	listen := fs.String("listen", m.env("CUSTOS_LISTEN", "127.0.0.1:8080"), "address to listen on (env CUSTOS_LISTEN)")
	baseURL := fs.String("base-url", m.env("CUSTOS_BASE_URL", ""), "public address that links in mails point at, such as https://crm.example.com (env CUSTOS_BASE_URL; default http:// and the listen address)")
	if err := fs.Parse(args); err != nil {
		return err
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
		Handler:           web.NewHandler(m.DB, m.Log, web.WithMailer(m.Mail), web.WithBaseURL(m.Config.BaseURL), web.WithImporter(imports)),
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
	return nil
}

// forgottenSweep is how often serve drops from memory what another
// process forgot: the decrypted search text of a contact erased from the
// command line outlives the erasure by at most this long.
const forgottenSweep = 30 * time.Second

// sweepForgotten runs DropForgotten every forgottenSweep until ctx ends,
// then closes done.
func (m *Main) sweepForgotten(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(forgottenSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.DB.DropForgotten(ctx); err != nil && ctx.Err() == nil {
				m.Log.Error("dropping forgotten contacts from the search index", "err", err)
			}
		}
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
