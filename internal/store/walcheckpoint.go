package store

import (
	"context"
	"database/sql"
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
		if _, err := d.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			db.log.Error("store: checkpoint", "err", err)
		}
	}
}
