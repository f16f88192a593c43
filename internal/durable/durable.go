// Package durable holds what makes a change to files survive a power cut.
package durable

import "os"

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
