package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/custos/custos/internal/vault"
)

// CheckpointFile holds checkpoints of the audit log: each workspace's
// latest chain head (position and hash), one line of JSON each with a MAC
// under a key derived from the master key. It lives in the data directory,
// outside the database, so that someone who can write to the database, but
// has neither the master key nor this file, cannot rewrite the chain or
// cut its end off unnoticed: VerifyAudit holds the chain to every
// checkpoint. Only the latest checkpoint of a workspace is kept: the chain
// links every entry before it, so older ones would prove nothing more, and
// the file stays as small as the number of workspaces.
const CheckpointFile = "audit.checkpoints"

// checkpoint is one line of the checkpoint file.
type checkpoint struct {
	Workspace int64  `json:"workspace_id"`
	Seq       int64  `json:"seq"`
	Hash      []byte `json:"hash"`
	At        int64  `json:"at"` // Unix microseconds
	MAC       []byte `json:"mac,omitempty"`
}

// line returns the checkpoint as a line of the file, MAC included.
func (c checkpoint) line(v *vault.Vault) []byte {
	c.MAC = nil
	body, _ := json.Marshal(c)
	c.MAC = v.CheckpointMAC(body)
	line, _ := json.Marshal(c)
	return append(line, '\n')
}

// readCheckpoints returns the checkpoints of the file at path, by
// workspace, in the order written. A line that does not parse or whose MAC
// does not match fails the read.
func readCheckpoints(path string, v *vault.Vault) (map[int64][]checkpoint, error) {
	out := map[int64][]checkpoint{}
	err := readLines(path, func(n int, line []byte) error {
		var c checkpoint
		if err := json.Unmarshal(line, &c); err != nil || c.Workspace <= 0 || c.Seq < 0 || c.MAC == nil ||
			!hmac.Equal(bytes.TrimSuffix(c.line(v), []byte{'\n'}), line) {
			return fmt.Errorf("audit checkpoints %s, line %d: altered, or written under another master key", filepath.Base(path), n)
		}
		out[c.Workspace] = append(out[c.Workspace], c)
		return nil
	})
	return out, err
}

// CheckpointAudit checkpoints every workspace's audit chain whose head
// moved since its last checkpoint, replacing that one, and returns how
// many. The file is replaced atomically. The server calls it periodically
// and when it stops.
func (db *DB) CheckpointAudit(ctx context.Context) (int, error) {
	path := filepath.Join(db.dir, CheckpointFile)
	n := 0
	err := withLock(path, func() error {
		known, err := readCheckpoints(path, db.vault)
		if err != nil {
			return err
		}
		heads, err := db.auditHeads(ctx)
		if err != nil {
			return err
		}
		latest := map[int64]checkpoint{}
		for ws, cs := range known {
			latest[ws] = cs[len(cs)-1]
		}
		now := micros(db.Now())
		for _, h := range heads {
			if c, ok := latest[h.Workspace]; ok && c.Seq == h.Seq && bytes.Equal(c.Hash, h.Hash) {
				continue
			}
			h.At = now
			latest[h.Workspace] = h
			n++
		}
		if n == 0 && len(latest) == len(known) && !compactable(known) {
			return nil
		}
		var lines []byte
		for _, ws := range slices.Sorted(maps.Keys(latest)) {
			lines = append(lines, latest[ws].line(db.vault)...)
		}
		return writeFile(path, lines)
	})
	return n, err
}

// compactable reports whether a file read holds more than the latest
// checkpoint of some workspace, as files written before compaction do.
func compactable(known map[int64][]checkpoint) bool {
	for _, cs := range known {
		if len(cs) > 1 {
			return true
		}
	}
	return false
}

// auditHeads returns every workspace's chain head, once it is durable:
// the audit entries of reads are committed without waiting for the disk
// (lazyTx), and a checkpoint must not name an entry that a power loss
// could still take back. So the heads are read in a transaction that
// rewrites them unchanged and commits synchronously, which makes every
// commit before it durable too.
func (db *DB) auditHeads(ctx context.Context) ([]checkpoint, error) {
	var heads []checkpoint
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE audit_heads SET seq = seq`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT workspace_id, seq, hash FROM audit_heads ORDER BY workspace_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c checkpoint
			if err := rows.Scan(&c.Workspace, &c.Seq, &c.Hash); err != nil {
				return err
			}
			heads = append(heads, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit heads: %w", err)
	}
	return heads, nil
}
