//go:build !linux

package mail

import (
	"os"
	"sync"
)

// syncFiles makes files durable and returns each one's error. They are
// synced side by side: the file system commits their blocks together,
// where syncing one after another would commit (and flush the disk) once
// a file.
func syncFiles(files []*os.File) []error {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(syncers, len(files)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = files[i].Sync()
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// syncers is how many files are synced at once.
const syncers = 16
