package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// walCheckpointEvery is how often the checkpointer copies the write-ahead
// log of an SQLite file into the file.
const walCheckpointEvery = 200 * time.Millisecond

// checkpointWAL copies, every walCheckpointEvery until the store closes,
// what the write-ahead log of the SQLite database d holds into the
// database, on a connection of its own. SQLite's automatic checkpoint
// (off on the writers, wal_autocheckpoint=0) would run in the commit that
// crosses its threshold, and every sign-up waiting for that commit would
// wait for the checkpoint's writes and fsync too. A passive checkpoint
// takes no lock a writer needs: the writer goes on appending meanwhile.
func (db *DB) checkpointWAL(d *sql.DB) {
	t := time.NewTicker(walCheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
		}
		db.walMu.Lock()
		_, err := d.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		db.walMu.Unlock()
		if err != nil {
			db.log.Error("store: checkpoint", "err", err)
		}
	}
}

// truncateWAL copies the write-ahead log of the SQLite database d into
// the database and empties it, so that no old page image (of a shredded
// key, of purged rows) is left in it. A checkpoint running elsewhere (in
// another process) makes SQLite give up at once, without an error: it is
// tried again until it is done, for up to ten seconds.
func (db *DB) truncateWAL(ctx context.Context, d *sql.DB) error {
	db.walMu.Lock()
	defer db.walMu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var busy, log, done int
		if err := d.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("store: checkpoint: the write-ahead log could not be emptied")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
