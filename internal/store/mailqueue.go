package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/custos/custos/internal/custos"
)

// The subjects a queued message is sealed under: the key of a pending
// sign-up or of a contact. Forgetting either removes the message.
const (
	mailSubjectSignup  = "signup"
	mailSubjectContact = "contact"
)

// mailName is the name a queued message is sealed under.
const mailName = "mail"

// sealer seals under a subject's key.
type sealer interface {
	Seal(name string, plaintext []byte) []byte
}

// queueMail queues m in tx, sealed under the key of its subject, due now.
// It is called in the transaction that causes the mail, so that the mail
// is queued exactly when that commits.
func (db *DB) queueMail(ctx context.Context, tx *sql.Tx, ws int64, kind string, subject int64, k sealer, m *custos.Message, now time.Time) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO mail_queue (workspace_id, subject_kind, subject_id, status, attempts, next_at, sealed, created_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?)`), ws, kind, subject, custos.MailQueued, micros(now), k.Seal(mailName, body), micros(now))
	if err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	return nil
}

// wakeMail tells the mail worker, if one listens, that mail was queued.
func (db *DB) wakeMail() {
	select {
	case db.MailQueued <- struct{}{}:
	default:
	}
}

// QueueContactMail queues a message to a contact of the actor's workspace,
// sealed under the contact's key. ENOTFOUND for a contact not in the
// workspace; EGONE for a forgotten one; ERESTRICTED for a message that is
// not transactional while the contact's processing is restricted.
func (db *DB) QueueContactMail(ctx context.Context, contactID int64, m *custos.Message) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return err
	}
	k, err := db.contactKey(ctx, ws, contactID)
	if err != nil {
		return err
	}
	if m.Ref == "" {
		m.Ref = "contact-" + strconv.FormatInt(contactID, 10)
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.lockContact(ctx, tx, ws, contactID)
		if err != nil {
			return err
		}
		if r.status == string(custos.StatusRestricted) && !m.Transactional {
			return custos.Restricted("contact_id", "only a message the person asked for, or the law requires, may be sent")
		}
		return db.queueMail(ctx, tx, ws, mailSubjectContact, contactID, k, m, db.Now())
	})
	if err == nil {
		db.wakeMail()
	}
	return err
}

// contactMessages returns the messages the queue holds for the contact,
// newest first, opened under its key. One finished before its content was
// kept has no content.
func (db *DB) contactMessages(ctx context.Context, ws, contactID int64) ([]*custos.SentMessage, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, status, created_at, done_at, sealed FROM mail_queue
		WHERE workspace_id = ? AND subject_kind = ? AND subject_id = ? ORDER BY id DESC`), ws, mailSubjectContact, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: contact messages: %w", err)
	}
	defer rows.Close()
	type row struct {
		m      *custos.SentMessage
		sealed []byte
	}
	var found []row
	for rows.Next() {
		var r row
		r.m = &custos.SentMessage{}
		var created int64
		var done sql.NullInt64
		if err := rows.Scan(&r.m.ID, &r.m.Status, &created, &done, &r.sealed); err != nil {
			return nil, fmt.Errorf("store: contact messages: %w", err)
		}
		r.m.QueuedAt = fromMicros(created)
		if done.Valid {
			t := fromMicros(done.Int64)
			r.m.DoneAt = &t
		}
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contact messages: %w", err)
	}
	rows.Close()
	out := make([]*custos.SentMessage, 0, len(found))
	for _, r := range found {
		if r.sealed != nil {
			body, err := db.openMail(ctx, ws, mailSubjectContact, contactID, r.sealed)
			if err != nil {
				return nil, err
			}
			var m custos.Message
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, fmt.Errorf("store: contact message %d: %w", r.m.ID, err)
			}
			r.m.To, r.m.Subject, r.m.Text, r.m.HTML = m.To, m.Subject, m.Text, m.HTML
		}
		out = append(out, r.m)
	}
	return out, nil
}

// RequeueSending puts back every message left "sending" by a process that
// died, so that it is sent again: delivery is at least once. It is called
// once, before a worker starts, by the only process that sends.
func (db *DB) RequeueSending(ctx context.Context) (int64, error) {
	res, err := db.write.ExecContext(ctx, db.q(`UPDATE mail_queue SET status = ? WHERE status = ?`), custos.MailQueued, custos.MailSending)
	if err != nil {
		return 0, fmt.Errorf("store: requeue mail: %w", mapError(err))
	}
	return res.RowsAffected()
}

// ClaimMail marks up to limit messages that are due as sending and returns
// them, opened. A message whose subject's key is gone (the person was
// forgotten meanwhile) is deleted instead. The claim rides in the sign-up
// writer's transaction (writeJob), so that it never holds up a sign-up.
func (db *DB) ClaimMail(ctx context.Context, limit int) ([]*custos.QueuedMail, error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []claimedMail
	err := db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows = rows[:0]
		r, err := tx.QueryContext(ctx, db.q(`UPDATE mail_queue SET status = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM mail_queue WHERE status = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`+lock+`)
			RETURNING id, workspace_id, subject_kind, subject_id, attempts, sealed`),
			custos.MailSending, custos.MailQueued, micros(db.Now()), limit)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var c claimedMail
			if err := r.Scan(&c.id, &c.ws, &c.kind, &c.subject, &c.attempts, &c.sealed); err != nil {
				return err
			}
			rows = append(rows, c)
		}
		return r.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim mail: %w", err)
	}
	// RETURNING promises no order.
	slices.SortFunc(rows, func(a, b claimedMail) int { return cmp.Compare(a.id, b.id) })
	keys, err := db.mailKeys(ctx, rows)
	if err != nil && ctx.Err() != nil {
		// The worker is stopping: the batch stays "sending" and is queued
		// again, due at once, when the next one starts (RequeueSending).
		return nil, fmt.Errorf("store: claim mail: %w", ctx.Err())
	}
	if err != nil {
		// The key store cannot be read just now: the batch waits a minute.
		db.log.Warn("queued mail not opened", "err", err.Error())
		for _, c := range rows {
			if err := db.MailRetry(ctx, c.id, db.Now().Add(time.Minute), "not opened"); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	out := make([]*custos.QueuedMail, 0, len(rows))
	var gone []int64
	for _, c := range rows {
		k := keys[mailSubject{c.ws, c.kind, c.subject}]
		if k == nil || c.sealed == nil {
			gone = append(gone, c.id)
			continue
		}
		body, err := k.Open(mailName, c.sealed)
		if err != nil {
			// This one waits a minute; the others of the batch go on.
			db.log.Warn("queued mail not opened", "id", c.id, "err", err.Error())
			if err := db.MailRetry(ctx, c.id, db.Now().Add(time.Minute), "not opened"); err != nil {
				return nil, err
			}
			continue
		}
		q := &custos.QueuedMail{ID: c.id, Attempts: c.attempts}
		if err := json.Unmarshal(body, &q.Message); err != nil {
			// It will never read better: failed, and the others go on.
			if err := db.MailFailed(ctx, c.id, "the stored message is unreadable"); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, q)
	}
	if len(gone) > 0 {
		if err := db.dropMail(ctx, gone); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// claimedMail is a row of the queue as claimed.
type claimedMail struct {
	id, ws, subject int64
	kind            string
	attempts        int
	sealed          []byte
}

// mailSubject names the key a message is sealed under.
type mailSubject struct {
	ws   int64
	kind string
	id   int64
}

// mailKeys reads the keys of the claimed messages' subjects, one query per
// workspace and kind; a subject whose key is gone is missing.
func (db *DB) mailKeys(ctx context.Context, rows []claimedMail) (map[mailSubject]opener, error) {
	ids := map[mailSubject][]int64{} // id 0: the group's ids
	for _, c := range rows {
		g := mailSubject{c.ws, c.kind, 0}
		ids[g] = append(ids[g], c.subject)
	}
	out := map[mailSubject]opener{}
	for g, list := range ids {
		slices.Sort(list)
		list = slices.Compact(list)
		switch g.kind {
		case mailSubjectContact:
			keys, err := db.contactKeys(ctx, g.ws, list)
			if err != nil {
				return nil, err
			}
			for id, k := range keys {
				out[mailSubject{g.ws, g.kind, id}] = k
			}
		case mailSubjectSignup:
			keys, err := db.signupKeys(ctx, g.ws, list)
			if err != nil {
				return nil, err
			}
			for id, k := range keys {
				out[mailSubject{g.ws, g.kind, id}] = k
			}
		case mailSubjectStaff:
			keys, err := db.mailKeysFor(ctx, g.ws, list)
			if err != nil {
				return nil, err
			}
			for id, k := range keys {
				out[mailSubject{g.ws, g.kind, id}] = k
			}
		default:
			return nil, fmt.Errorf("store: queued mail of unknown subject %q", g.kind)
		}
	}
	return out, nil
}

// opener opens what a subject's key sealed.
type opener interface {
	Open(name string, sealed []byte) ([]byte, error)
}

// dropMail deletes messages whose subject was forgotten.
func (db *DB) dropMail(ctx context.Context, ids []int64) error {
	return db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM mail_queue WHERE id IN (`+placeholders(len(ids))+`)`), args...); err != nil {
			return fmt.Errorf("store: drop mail of a forgotten subject: %w", err)
		}
		return nil
	})
}

// openMail opens a queued message under its subject's key; EGONE when the
// key is gone.
func (db *DB) openMail(ctx context.Context, ws int64, kind string, subject int64, sealed []byte) ([]byte, error) {
	gone := custos.Errorf(custos.EGONE, "the key of the mail's subject is gone")
	if sealed == nil {
		return nil, gone
	}
	keys, err := db.mailKeys(ctx, []claimedMail{{ws: ws, kind: kind, subject: subject}})
	if err != nil {
		return nil, err
	}
	k := keys[mailSubject{ws, kind, subject}]
	if k == nil {
		return nil, gone
	}
	return k.Open(mailName, sealed)
}

// keepSealed is the sealed content a finished message keeps: a message to
// a contact stays, under the contact's key, for the contact's export (it
// goes when the contact is forgotten); any other goes.
const keepSealed = `CASE WHEN subject_kind = '` + mailSubjectContact + `' THEN sealed ELSE NULL END`

// MailSent records that messages were delivered, dropping the content of
// those not to a contact, in one transaction: the sign-up writer's next
// (writeJob). The keys of those to staff are shredded then.
func (db *DB) MailSent(ctx context.Context, ids ...int64) error {
	now := micros(db.Now())
	var shred map[int64][]int64
	err := db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if shred, err = db.mailKeysOf(ctx, tx, ids); err != nil {
			return fmt.Errorf("store: mail sent: %w", err)
		}
		for start := 0; start < len(ids); start += 500 {
			batch := ids[start:min(start+500, len(ids))]
			args := []any{custos.MailSent, now}
			for _, id := range batch {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, db.q(`UPDATE mail_queue SET status = ?, sealed = `+keepSealed+`, last_error = '', done_at = ? WHERE id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
				return fmt.Errorf("store: mail sent: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return db.shredMailKeys(ctx, shred)
}

// MailFailed records that a message was refused for good, with a reason
// that holds no personal data, dropping its content unless it was to a
// contact.
func (db *DB) MailFailed(ctx context.Context, id int64, reason string) error {
	return db.finishMail(ctx, id, custos.MailFailed, reason)
}

func (db *DB) finishMail(ctx context.Context, id int64, status, reason string) error {
	now := micros(db.Now())
	var shred map[int64][]int64
	err := db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if shred, err = db.mailKeysOf(ctx, tx, []int64{id}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE mail_queue SET status = ?, sealed = `+keepSealed+`, last_error = ?, done_at = ? WHERE id = ?`), status, reason, now, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mail %s: %w", status, mapError(err))
	}
	return db.shredMailKeys(ctx, shred)
}

// MailRetry queues a message again for at, with the reason the last
// attempt failed (no personal data).
func (db *DB) MailRetry(ctx context.Context, id int64, at time.Time, reason string) error {
	err := db.writeJob(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`UPDATE mail_queue SET status = ?, next_at = ?, last_error = ? WHERE id = ? AND status = ?`),
			custos.MailQueued, micros(at), reason, id, custos.MailSending)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: retry mail: %w", mapError(err))
	}
	return nil
}

// MailStatus is one row of the queue as the worker's tests and the
// operator see it: no content.
type MailStatus struct {
	ID        int64
	Subject   string // "signup-3", "contact-12"
	Status    string
	Attempts  int
	NextAt    time.Time
	LastError string
	Sealed    bool // the content is still held
}

// MailQueueStatus returns every row of the queue, oldest first.
func (db *DB) MailQueueStatus(ctx context.Context) ([]MailStatus, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, subject_kind, subject_id, status, attempts, next_at, last_error, sealed IS NOT NULL FROM mail_queue ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: mail queue: %w", err)
	}
	defer rows.Close()
	var out []MailStatus
	for rows.Next() {
		var s MailStatus
		var kind string
		var subject, next int64
		if err := rows.Scan(&s.ID, &kind, &subject, &s.Status, &s.Attempts, &next, &s.LastError, &s.Sealed); err != nil {
			return nil, err
		}
		s.Subject, s.NextAt = kind+"-"+strconv.FormatInt(subject, 10), fromMicros(next)
		out = append(out, s)
	}
	return out, rows.Err()
}

// forgetMail removes, in tx, the mail queued about the subjects.
func (db *DB) forgetMail(ctx context.Context, tx *sql.Tx, ws int64, kind string, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{ws, kind}
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := tx.ExecContext(ctx, db.q(`DELETE FROM mail_queue WHERE workspace_id = ? AND subject_kind = ? AND subject_id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return 0, fmt.Errorf("forget queued mail: %w", err)
	}
	return res.RowsAffected()
}
