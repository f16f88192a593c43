// Command custos runs Custos, the GDPR-first CRM, and administers it:
//
//	custos serve | migrate | apikey create | workspace create | export | forget | dsr list | backup | restore | audit verify | import | version
//
// Configuration comes from flags, then CUSTOS_* environment variables
// (secrets also as *_FILE), then defaults that run: data in ./data, SQLite,
// listening on 127.0.0.1:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/mail"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/vault"
)

// Version is the version of this build.
const Version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	} else if err != nil {
		fmt.Fprintln(m.Stderr, "custos:", err)
		os.Exit(1)
	}
}

// Main is the program: its configuration, its output streams and what it
// opened. Tests run it in process, on port 0 with a temporary directory.
type Main struct {
	Config Config
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
	// Stdin is read by commands that take a secret on standard input.
	Stdin io.Reader
	// Ready is closed when serve accepts requests.
	Ready chan struct{}
	// Addr is the address serve listens on, once Ready is closed.
	Addr string

	DB   *store.DB
	Mail *mail.Sender
	Log  *slog.Logger
}

// Config is what the flags and the environment set.
type Config struct {
	Listen      string
	BaseURL     string
	DataDir     string
	DatabaseURL string
	Schema      string
	MasterKey   string
	LogLevel    string
}

// NewMain returns a program writing to the standard streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv, Ready: make(chan struct{})}
}

const usage = `Usage: custos <command> [flags]

Commands:
  serve                 run the server (creates and migrates the data directory when new)
  migrate               create or migrate the database and exit
  apikey create         create an API key: --workspace NAME --role ROLE [--name NAME]
  workspace create NAME create a workspace
  user create           create a staff user: --email E --role ROLE --password-stdin [--workspace W] [--must-change-password]
  export                everything held about a contact: --id ID | --email E [--format json|csv|zip] [--out FILE]
  forget                forget a contact: --id ID | --email E, --mode erase|anonymize [--workspace W] [--request-id R] [--suppress]
  dsr list              the register of data-subject requests: [--workspace W] [--due-within N] [--overdue] [--status S] [--type T]
  backup DIR            back up the data (with the erasure journal) into DIR; --keys backs up the key store instead
  restore DIR...        restore data and/or key backups into the data directory [--replace] [--journal FILE]...
  audit verify          verify the hash chain of a workspace's audit log [--workspace W]
  import FILE           import contacts from CSV or XLSX: --purpose P --basis B [--list L] [--map COL=FIELD]... [--profile overwrite|fill_empty|skip_existing] [--notice TEXT] [--not-from-subject] [--workspace W]
  version               print the version

Run 'custos <command> -h' for a command's flags.
`

// Run runs the command named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "migrate":
		return m.migrate(ctx, args[1:])
	case "apikey":
		return m.apikey(ctx, args[1:])
	case "workspace":
		return m.workspace(ctx, args[1:])
	case "user":
		return m.user(ctx, args[1:])
	case "forget":
		return m.forget(ctx, args[1:])
	case "export":
		return m.export(ctx, args[1:])
	case "dsr":
		return m.dsr(ctx, args[1:])
	case "backup":
		return m.backup(ctx, args[1:])
	case "restore":
		return m.restore(ctx, args[1:])
	case "audit":
		return m.audit(ctx, args[1:])
	case "import":
		return m.importFile(ctx, args[1:])
	case "version":
		fmt.Fprintln(m.Stdout, "custos", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// flagSet returns a flag set with the flags every command that opens the
// data directory shares, defaulted from the environment.
func (m *Main) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&m.Config.DataDir, "data", m.env("CUSTOS_DATA_DIR", "./data"), "data directory (env CUSTOS_DATA_DIR)")
	fs.StringVar(&m.Config.DatabaseURL, "database-url", m.secret("CUSTOS_DATABASE_URL"), "postgres://… to use PostgreSQL; empty for SQLite in the data directory (env CUSTOS_DATABASE_URL or CUSTOS_DATABASE_URL_FILE)")
	fs.StringVar(&m.Config.Schema, "database-schema", m.env("CUSTOS_DATABASE_SCHEMA", "custos"), "PostgreSQL schema of the data; the key store is the schema of this name with _keys appended (env CUSTOS_DATABASE_SCHEMA)")
	fs.StringVar(&m.Config.LogLevel, "log-level", m.env("CUSTOS_LOG_LEVEL", "info"), "debug, info, warn or error (env CUSTOS_LOG_LEVEL)")
	m.Config.MasterKey = m.secret("CUSTOS_MASTER_KEY")
	return fs
}

func (m *Main) env(name, def string) string {
	if v := m.Getenv(name); v != "" {
		return v
	}
	return def
}

// secret reads name, or the file that name_FILE points at.
func (m *Main) secret(name string) string {
	if v := m.Getenv(name); v != "" {
		return v
	}
	if path := m.Getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(m.Stderr, "custos: %s_FILE: %v\n", name, err)
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return ""
}

// open opens the data directory, creating and migrating it when new, and
// makes sure the default workspace exists. It reports whether it created
// the default workspace.
func (m *Main) open(ctx context.Context) (created bool, err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.Config.LogLevel)); err != nil {
		return false, fmt.Errorf("log level: %w", err)
	}
	m.Log = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	v, err := m.vault()
	if err != nil {
		return false, err
	}
	if m.Mail, err = m.mailer(); err != nil {
		return false, fmt.Errorf("mail: %s", custos.ErrorMessage(err))
	}
	cfg := m.storeConfig()
	cfg.Outbox, cfg.Log = m.Mail, m.Log
	m.DB, err = store.Open(ctx, cfg, v)
	if err != nil {
		return false, err
	}
	if m.DB.Replayed > 0 || m.DB.ReplayedKeys > 0 {
		m.Log.Info("erasures replayed from the journal", "tombstones", m.DB.Replayed, "keys_shredded", m.DB.ReplayedKeys)
	}
	_, err = m.DB.FindWorkspaceByName(ctx, custos.DefaultWorkspace)
	if custos.ErrorCode(err) == custos.ENOTFOUND {
		err = m.DB.CreateWorkspace(ctx, &custos.Workspace{Name: custos.DefaultWorkspace})
		if custos.ErrorCode(err) == custos.ECONFLICT {
			return false, nil // another process made it just now
		}
		return err == nil, err
	}
	return false, err
}

// vault loads the master key (creating the key file in a new data
// directory) and returns the vault over it.
func (m *Main) vault() (*vault.Vault, error) {
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	key, err := vault.LoadMasterKey(m.Config.MasterKey, filepath.Join(m.Config.DataDir, vault.MasterKeyFile))
	if err != nil {
		return nil, err
	}
	return vault.New(key)
}

func (m *Main) storeConfig() store.Config {
	return store.Config{DataDir: m.Config.DataDir, DatabaseURL: m.Config.DatabaseURL, Schema: m.Config.Schema,
		AuthRecheck: store.DefaultAuthRecheck}
}

// actAs returns a context acting for the command line in the named
// workspace with the role.
func (m *Main) actAs(ctx context.Context, workspace string, role custos.Role) (context.Context, error) {
	w, err := m.DB.FindWorkspaceByName(ctx, workspace)
	if err != nil {
		return nil, fmt.Errorf("workspace %q: %s", workspace, custos.ErrorMessage(err))
	}
	return custos.WithActor(ctx, custos.Actor{WorkspaceID: w.ID, Kind: custos.ActorCLI, Role: role}), nil
}

// Close closes what Run opened.
func (m *Main) Close() error {
	if m.Mail != nil {
		m.Mail.Close()
	}
	if m.DB != nil {
		return m.DB.Close()
	}
	return nil
}
