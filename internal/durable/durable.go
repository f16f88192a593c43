// Package durable holds what makes a change to files survive a power cut.
package durable

import (
	"os"
	"path/filepath"
)

// SyncDir makes what was created, renamed or removed in dir durable: until
// the directory is synced, a power cut can undo a rename (bring back the
// file it replaced, or lose the one it put in place) even though the
// file's own content was synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Rename renames from to to (on one file system) and syncs the directory
// of to, so that the rename survives a power cut.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(to))
}
