package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/custos/custos/internal/vault"
)

// CheckpointFile holds checkpoints of the audit log: from time to time,
// each workspace's chain head (position and hash), one line of JSON each
// with a MAC under a key derived from the master key. It lives in the data
// directory, outside the database, so that someone who can write to the
// database, but has neither the master key nor this file, cannot rewrite
// the chain or cut its end off unnoticed: VerifyAudit holds the chain to
// every checkpoint.
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

// CheckpointAudit writes a checkpoint of every workspace's audit chain
// whose head moved since its last checkpoint, and returns how many. The
// server calls it periodically and when it stops.
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
		var lines []byte
		now := micros(db.Now())
		for _, h := range heads {
			if cs := known[h.Workspace]; len(cs) > 0 && cs[len(cs)-1].Seq == h.Seq && bytes.Equal(cs[len(cs)-1].Hash, h.Hash) {
				continue
			}
			h.At = now
			lines = append(lines, h.line(db.vault)...)
			n++
		}
		if len(lines) == 0 {
			return nil
		}
		return appendLines(path, lines)
	})
	return n, err
}

// auditHeads returns every workspace's chain head.
func (db *DB) auditHeads(ctx context.Context) ([]checkpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT workspace_id, seq, hash FROM audit_heads ORDER BY workspace_id`)
	if err != nil {
		return nil, fmt.Errorf("store: audit heads: %w", err)
	}
	defer rows.Close()
	var heads []checkpoint
	for rows.Next() {
		var c checkpoint
		if err := rows.Scan(&c.Workspace, &c.Seq, &c.Hash); err != nil {
			return nil, err
		}
		heads = append(heads, c)
	}
	return heads, rows.Err()
}
