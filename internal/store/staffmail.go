package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// mailSubjectStaff marks a queued message sealed under a key of its own
// (key store table mail_keys): a message to a member of staff (a reset
// link, a sign-in code, an invitation) or to the subject of a request (a
// verification link). It is no contact's, and it holds a secret, so its key
// is shredded once it is sent, failed or no longer works (expires).
const mailSubjectStaff = "staff"

// mailKey is a new key of a queued message, committed to the key store.
type mailKey struct {
	ws, id int64
	k      *vault.MailKey
}

// newMailKey makes the key of a message about ref, and commits it to the
// key store before the message is queued: a crash in between leaves a key
// without a message, which the sweep shreds once expires passes, never a
// message without its key.
func (db *DB) newMailKey(ctx context.Context, ws int64, ref string, expires time.Time) (*mailKey, error) {
	var b [8]byte
	rand.Read(b[:])
	id := int64(binary.BigEndian.Uint64(b[:]) >> 2) // positive, and exact in every driver
	k, wrapped := db.vault.NewMailKey(ws, id)
	_, err := db.keys.ExecContext(ctx, db.q(`INSERT INTO mail_keys (workspace_id, mail_key_id, ref, wrapped, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		ws, id, ref, wrapped, micros(expires), micros(db.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: mail key: %w", mapError(err))
	}
	return &mailKey{ws: ws, id: id, k: k}, nil
}

// QueueStaffMail queues m, to a member of staff of the actor's workspace or
// to the subject of one of its requests, sealed under a key of its own that
// is shredded once the message is sent or fails, or when expires passes
// (then the link or code it holds no longer works, and a message not sent
// by then is not sent). It is transactional: no List-Unsubscribe.
func (db *DB) QueueStaffMail(ctx context.Context, m *custos.Message, expires time.Time) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	m.Transactional = true
	k, err := db.newMailKey(ctx, a.WorkspaceID, m.Ref, expires)
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		return db.queueStaffMail(ctx, tx, k, m)
	})
	if err == nil {
		db.wakeMail()
	}
	return err
}

// queueStaffMail queues m in tx under k.
func (db *DB) queueStaffMail(ctx context.Context, tx *sql.Tx, k *mailKey, m *custos.Message) error {
	m.Transactional = true
	return db.queueMail(ctx, tx, k.ws, mailSubjectStaff, k.id, k.k, m, db.Now())
}

// mailKeysOf returns the keys of the messages to staff among ids, read in
// tx: the ones to shred once their outcome commits.
func (db *DB) mailKeysOf(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		args := []any{mailSubjectStaff}
		for _, id := range batch {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, db.q(`SELECT workspace_id, subject_id FROM mail_queue WHERE subject_kind = ? AND id IN (`+placeholders(len(batch))+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ws, id int64
			if err := rows.Scan(&ws, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[ws] = append(out[ws], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// shredMailKeys deletes keys of messages, per workspace.
func (db *DB) shredMailKeys(ctx context.Context, keys map[int64][]int64) error {
	if len(keys) == 0 {
		return nil
	}
	return db.txOn(ctx, db.keys, func(tx *sql.Tx) error {
		for ws, ids := range keys {
			for start := 0; start < len(ids); start += 500 {
				batch := ids[start:min(start+500, len(ids))]
				args := []any{ws}
				for _, id := range batch {
					args = append(args, id)
				}
				if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM mail_keys WHERE workspace_id = ? AND mail_key_id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
					return fmt.Errorf("store: shred mail keys: %w", err)
				}
			}
		}
		return nil
	})
}

// mailKeysFor returns the unwrapped keys of messages to staff; a key that
// is gone is missing.
func (db *DB) mailKeysFor(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.MailKey, error) {
	return readKeys(ctx, db, "mail_keys", "mail_key_id", ws, ids, func(id int64, wrapped []byte) (*vault.MailKey, error) {
		return db.vault.UnwrapMailKey(ws, id, wrapped)
	})
}

// SweepMailKeys ends the messages to staff whose link or code no longer
// works: one still queued is marked failed ("expired") and its content
// dropped, and every expired key is shredded, with those a crash left
// without a message. It returns how many keys it shredded.
func (db *DB) SweepMailKeys(ctx context.Context) (int64, error) {
	now := db.Now()
	rows, err := db.keysRead.QueryContext(ctx, db.q(`SELECT workspace_id, mail_key_id FROM mail_keys WHERE expires_at <= ? LIMIT 10000`), micros(now))
	if err != nil {
		return 0, fmt.Errorf("store: sweep mail keys: %w", err)
	}
	expired := map[int64][]int64{}
	var n int64
	for rows.Next() {
		var ws, id int64
		if err := rows.Scan(&ws, &id); err != nil {
			rows.Close()
			return 0, err
		}
		expired[ws] = append(expired[ws], id)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	err = db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for ws, ids := range expired {
			for start := 0; start < len(ids); start += 500 {
				batch := ids[start:min(start+500, len(ids))]
				args := []any{custos.MailFailed, micros(now), ws, mailSubjectStaff, custos.MailQueued}
				for _, id := range batch {
					args = append(args, id)
				}
				if _, err := tx.ExecContext(ctx, db.q(`UPDATE mail_queue SET status = ?, sealed = NULL, last_error = 'expired', done_at = ?
					WHERE workspace_id = ? AND subject_kind = ? AND status = ? AND subject_id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
					return fmt.Errorf("store: sweep mail keys: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, db.shredMailKeys(ctx, expired)
}

// shredUserMail shreds the keys of the messages queued to a user: what is
// still queued can no longer be opened, and is dropped when the worker
// comes to it.
func (db *DB) shredUserMail(ctx context.Context, ws, user int64) error {
	_, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM mail_keys WHERE workspace_id = ? AND ref = ?`), ws, "user-"+strconv.FormatInt(user, 10))
	if err != nil {
		return fmt.Errorf("store: shred the user's mail: %w", mapError(err))
	}
	return nil
}
