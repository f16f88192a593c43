package store

import (
	"fmt"
	"os"
	"syscall"
)

// withLock runs fn holding an exclusive lock on path+".lock": the files
// that several processes (the server, the command line) append to or
// rewrite — the erasure journals, the list of backups, a key backup — are
// changed by one at a time.
func withLock(path string, fn func() error) error {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: lock %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("store: lock %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
