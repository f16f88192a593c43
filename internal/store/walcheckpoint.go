package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// walCheckpointEvery is how often the checkpointer copies the write-ahead
// log of an SQLite file into the file.
const walCheckpointEvery = 200 * time.Millisecond

// walRestartFrames is how long, in frames of a page each (about 512 MiB),
// the write-ahead log of an SQLite file may grow before its writer
// restarts it (restartWAL). A passive checkpoint copies the log into the
// file but never starts it again from the beginning: only a write
// transaction that begins after a checkpoint caught up with the whole log
// does, and under writes without a pause (an import) the next transaction
// always began before the checkpoint of the last one was done. The log
// grew by all that was written: 28 GB in the first five minutes of
// importing a 1 GB file. (Atomic: tests lower it.)
var walRestartFrames atomic.Int64

func init() { walRestartFrames.Store(131072) }

// checkpointWAL copies, every walCheckpointEvery until the store closes,
// what the write-ahead log of an SQLite database holds into the database,
// on a connection of its own, d. SQLite's automatic checkpoint (off on
// the writers, wal_autocheckpoint=0) would run in the commit that crosses
// its threshold, and every sign-up waiting for that commit would wait for
// the checkpoint's writes and fsync too. A passive checkpoint takes no
// lock a writer needs: the writer goes on appending meanwhile. It sets
// long when the log has grown past walRestartFrames.
func (db *DB) checkpointWAL(d *sql.DB, long *atomic.Bool) {
	t := time.NewTicker(walCheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
		}
		var busy, frames, done int
		db.walMu.Lock()
		err := d.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
		db.walMu.Unlock()
		if err != nil {
			db.log.Error("store: checkpoint", "err", err)
		} else if int64(frames) > walRestartFrames.Load() {
			long.Store(true)
		}
	}
}

// restartWAL, after a commit on the SQLite writer w, restarts its log
// when the checkpointer found it long: a checkpoint on the writer itself,
// which waits for the readers still reading the log, so that its next
// transaction writes the log from the beginning (and cuts the file back
// to journal_size_limit). Only sustained writing pays for it, in the
// commit that finds the flag.
func (db *DB) restartWAL(w *sql.DB) {
	long := db.walLong[w]
	if long == nil || !long.Load() {
		return
	}
	busy, err := db.checkpointOn(context.Background(), w, "RESTART")
	if err != nil {
		db.log.Error("store: checkpoint", "err", err)
	} else if !busy {
		long.Store(false)
	}
}

// checkpointOn runs a checkpoint of mode on the SQLite writer w and
// reports whether SQLite found the log busy and gave up. It takes the
// writer's connection before walMu: a writer in a transaction may wait
// for a commit on the other file, whose writer may want walMu.
func (db *DB) checkpointOn(ctx context.Context, w *sql.DB, mode string) (bool, error) {
	conn, err := w.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: checkpoint: %w", err)
	}
	defer conn.Close()
	db.walMu.Lock()
	defer db.walMu.Unlock()
	var busy, frames, done int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &done); err != nil {
		return false, fmt.Errorf("store: checkpoint: %w", err)
	}
	return busy != 0, nil
}

// truncateWAL copies the write-ahead log of the SQLite database d into
// the database and empties it, so that no old page image (of a shredded
// key, of purged rows) is left in it. A checkpoint running elsewhere (in
// another process) makes SQLite give up at once, without an error: it is
// tried again until it is done, for up to ten seconds.
func (db *DB) truncateWAL(ctx context.Context, d *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy, err := db.checkpointOn(ctx, d, "TRUNCATE")
		if err != nil || !busy {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("store: checkpoint: the write-ahead log could not be emptied")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
