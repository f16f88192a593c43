package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/vault"
)

// backup backs up the data store, or with --keys the key store, into a
// new directory. The two are meant to be kept apart.
func (m *Main) backup(ctx context.Context, args []string) error {
	fs := m.flagSet("backup")
	keys := fs.Bool("keys", false, "back up the key store instead of the data (keep the two backups apart)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("backup needs one directory, new or empty")
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	kind := store.BackupData
	if *keys {
		kind = store.BackupKeys
	}
	man, err := m.DB.Backup(ctx, fs.Arg(0), kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Backed up the %s (%s, migration %d) into %s.\n", kindName(man.Kind), man.Dialect, man.Migration, fs.Arg(0))
	if kind == store.BackupData {
		fmt.Fprintln(m.Stdout, "The key store is not in it: back it up with --keys, and keep the two apart.")
	}
	warnPendingScrubs(m)
	return nil
}

// warnPendingScrubs says which earlier backups erasures have not reached
// (removed from them) yet.
func warnPendingScrubs(m *Main) {
	pending, err := m.DB.PendingBackupScrubs()
	if err != nil {
		fmt.Fprintf(m.Stderr, "Warning: %v\n", err)
	}
	for _, dir := range pending {
		fmt.Fprintf(m.Stderr, "Warning: erasures have not reached the backup in %s yet (it could not be changed); they are retried at every start and erasure, and restoring it replays them.\n", dir)
	}
}

// restore restores backups into the data directory (or the PostgreSQL
// schemas), then opens it, which replays every erasure the journals hold.
func (m *Main) restore(ctx context.Context, args []string) error {
	flags := m.flagSet("restore")
	replace := flags.Bool("replace", false, "overwrite a store that holds data (stop the server first)")
	var journals multiFlag
	flags.Var(&journals, "journal", "another erasure journal to replay (such as the live data directory's "+store.JournalFile+"); repeatable")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() == 0 {
		return errors.New("restore needs the directory of a data backup, of a key backup, or of both")
	}
	// The backup is useless under another key, and so is its journal: a
	// new key must not be made here.
	if m.Config.MasterKey == "" {
		if _, err := os.Stat(filepath.Join(m.Config.DataDir, vault.MasterKeyFile)); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore needs the master key the backups were made under: put it in %s (mode 0600) or set CUSTOS_MASTER_KEY",
				filepath.Join(m.Config.DataDir, vault.MasterKeyFile))
		}
	}
	v, err := m.vault()
	if err != nil {
		return err
	}
	for _, dir := range flags.Args() {
		man, err := store.Restore(ctx, m.storeConfig(), v, dir, *replace, journals...)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Restored the %s backed up at %s.\n", kindName(man.Kind), man.CreatedAt.Format("2006-01-02 15:04:05 MST"))
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Erasures replayed: %d tombstones written back, %d keys of forgotten contacts shredded.\n", m.DB.Replayed, m.DB.ReplayedKeys)
	return nil
}

func kindName(k store.BackupKind) string {
	if k == store.BackupKeys {
		return "key store"
	}
	return "data"
}

// multiFlag is a flag that may be given more than once.
type multiFlag []string

func (f *multiFlag) String() string { return strings.Join(*f, ",") }

func (f *multiFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}

var _ flag.Value = (*multiFlag)(nil)
