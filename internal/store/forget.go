package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/custos/custos/internal/custos"
)

// ForgetContact forgets a contact in steps, each committed before the
// next, so that a crash at any point leaves either the contact intact or
// its tombstone, and the next start finishes the rest (finishErasures):
// the tombstone, then the key (crypto-shredding: every ciphertext of the
// contact, in this database and in every backup, becomes noise), then the
// backups, then the rows. Forgetting a contact that has its tombstone
// already runs whatever is unfinished again (each step is idempotent) and
// answers the certificate the purge that removed the rows recorded.
func (db *DB) ForgetContact(ctx context.Context, id int64, r custos.ForgetRequest) (*custos.Tombstone, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var t *custos.Tombstone
	var suppression []byte
	again := false
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if t, err = db.findTombstone(ctx, tx, ws, id); err == nil {
			again = true // forgotten already: finish it, answer its certificate
			return nil
		} else if custos.ErrorCode(err) != custos.ENOTFOUND {
			return err
		}
		row, err := db.lockContact(ctx, tx, ws, id) // no tombstone yet: found above
		if err != nil {
			return err
		}
		t = &custos.Tombstone{ContactID: id, Mode: r.Mode, RequestID: r.RequestID, ErasedAt: db.Now()}
		if r.Suppress {
			// The address is read before its key is shredded.
			c, err := db.openRow(ctx, ws, row)
			if err != nil {
				return err
			}
			if c.Email != "" {
				suppression, t.Suppressed = db.vault.SuppressionHash(ws, c.Email), true
			}
		}
		// Two forgets of one contact at once: the second finds the first's.
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO tombstones (workspace_id, contact_id, mode, request_id, erased_at, suppression) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, contact_id) DO NOTHING`),
			ws, id, string(t.Mode), t.RequestID, micros(t.ErasedAt), suppression)
		if err != nil {
			return err
		}
		detail := "mode=" + string(t.Mode)
		if t.RequestID != "" {
			detail += " request=" + t.RequestID
		}
		return db.audit(ctx, tx, a, custos.AuditContactForget, id, detail)
	})
	if err != nil {
		return nil, err
	}
	if again {
		// A purge that failed or was cut short: run it again, as it was
		// asked the first time.
		var s []byte
		if err := db.write.QueryRowContext(ctx, db.q(`SELECT suppression FROM tombstones WHERE workspace_id = ? AND contact_id = ?`), ws, id).Scan(&s); err != nil {
			return nil, fmt.Errorf("store: find tombstone: %w", err)
		}
		suppression = s
	} else if err := db.crashPoint("tombstone"); err != nil {
		return nil, err
	}
	// The requests that go with the contact, named in the journal so that
	// a restored older database loses them too.
	requests, err := db.contactRequestIDs(ctx, db.write, ws, id)
	if err != nil {
		return nil, err
	}
	if err := db.record(ctx, journalEntry{Workspace: ws, Contact: id, Mode: string(t.Mode), RequestID: t.RequestID,
		ErasedAt: micros(t.ErasedAt), Suppression: suppression, Requests: requests}); err != nil {
		return nil, err
	}
	if err := db.crashPoint("journal"); err != nil {
		return nil, err
	}
	if err := db.purge(ctx, ws, id, t.Mode); err != nil {
		return nil, err
	}
	// The certificate as the purge that did the work recorded it.
	return db.findTombstone(ctx, db.read, ws, id)
}

func (db *DB) findTombstone(ctx context.Context, q querier, ws, id int64) (*custos.Tombstone, error) {
	t := &custos.Tombstone{ContactID: id}
	var mode, removed string
	var at int64
	err := q.QueryRowContext(ctx, db.q(`SELECT mode, request_id, erased_at, suppression IS NOT NULL, removed FROM tombstones WHERE workspace_id = ? AND contact_id = ?`), ws, id).
		Scan(&mode, &t.RequestID, &at, &t.Suppressed, &removed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("tombstone")
	} else if err != nil {
		return nil, fmt.Errorf("store: find tombstone: %w", err)
	}
	t.Mode, t.ErasedAt = custos.ForgetMode(mode), fromMicros(at)
	if err := json.Unmarshal([]byte(removed), &t.Removed); err != nil {
		return nil, fmt.Errorf("store: tombstone %d: %w", id, err)
	}
	return t, nil
}

// purge shreds the contact's key, then removes its rows: all of them to
// erase; to anonymize, all but a contacts row stripped of personal values
// (values of fields classified "none" stay, for statistics). The personal
// data of the contact's data-subject requests goes too (their keys, then
// their sealed columns); the requests themselves stay, as evidence. Each step is
// idempotent. The transaction that removes the rows writes their counts,
// per kind, into the tombstone: the erasure certificate.
func (db *DB) purge(ctx context.Context, ws, id int64, mode custos.ForgetMode) error {
	res, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM contact_keys WHERE workspace_id = ? AND contact_id = ?`), ws, id)
	if err != nil {
		return fmt.Errorf("store: shred key: %w", mapError(err))
	}
	keys, _ := res.RowsAffected()
	if err := db.crashPoint("key"); err != nil {
		return err
	}
	// The contact's data-subject requests, found by link or by its
	// address's blind index while its row still holds it: their keys are
	// shredded next, and their personal data removed with the rows.
	requests, err := db.contactRequestIDs(ctx, db.write, ws, id)
	if err != nil {
		return err
	}
	if err := db.shredRequestKeys(ctx, ws, requests); err != nil {
		return err
	}
	// Before the rows: a crash in between finds the rows and runs this
	// again. A backup out of reach does not stop the purge (scrubBackups).
	db.scrubBackups(ctx, ws, id, requests)
	if err := db.crashPoint("backups"); err != nil {
		return err
	}
	mails, err := db.purgeOutbox(id, requests)
	if err != nil {
		return err
	}
	var signups []int64 // pending sign-ups with the contact's address
	err = db.tx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if db.pg {
			lock = " FOR UPDATE" // writers of this contact wait, then find it gone
		}
		var tagsJSON string
		err := tx.QueryRowContext(ctx, db.q(`SELECT tags FROM contacts WHERE workspace_id = ? AND id = ?`+lock), ws, id).Scan(&tagsJSON)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // purged already
		} else if err != nil {
			return err
		}
		var tags []string
		if err := json.Unmarshal([]byte(tagsJSON), &tags); err != nil {
			return err
		}
		if err := db.deleteTags(ctx, tx, ws, id, tags); err != nil {
			return err
		}
		// Every contact has one key: a resumed purge that finds it gone
		// already (shredded before a crash, or by a replay) counts it too.
		removed := map[string]int64{"data_key": max(keys, 1), "tags": int64(len(tags)), "outbox_messages": mails}
		if removed["dsr_requests"], err = db.eraseRequests(ctx, tx, ws, requests); err != nil {
			return err
		}
		// Mail queued to or about the contact, and its pending sign-ups.
		if n, err := db.forgetMail(ctx, tx, ws, mailSubjectContact, []int64{id}); err != nil {
			return err
		} else if n > 0 {
			removed["queued_mail"] = n
		}
		var emailBidx []byte
		if err := tx.QueryRowContext(ctx, db.q(`SELECT email_bidx FROM contacts WHERE workspace_id = ? AND id = ?`), ws, id).Scan(&emailBidx); err != nil {
			return err
		}
		if emailBidx != nil {
			if signups, err = db.forgetSignups(ctx, tx, ws, emailBidx); err != nil {
				return err
			} else if len(signups) > 0 {
				removed["pending_signups"] = int64(len(signups))
			}
		}
		for _, table := range []string{"list_members", "list_leaves", "consent_state", "consent_events", "contact_changes", "contact_restrictions", "contact_objections",
			"contact_activities", "contact_attachments", "tracking_events"} {
			res, err := tx.ExecContext(ctx, db.q(`DELETE FROM `+table+` WHERE workspace_id = ? AND contact_id = ?`), ws, id)
			if err != nil {
				return fmt.Errorf("purge %s: %w", table, err)
			}
			if removed[table], err = res.RowsAffected(); err != nil {
				return err
			}
		}
		if mode == custos.ForgetErase {
			if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM contacts WHERE workspace_id = ? AND id = ?`), ws, id); err != nil {
				return err
			}
			removed["contacts"] = 1
		} else {
			rev, err := db.bumpRev(ctx, tx, ws)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.q(`UPDATE contacts SET status = ?, email_bidx = NULL, phone_bidx = NULL, sealed = NULL, bidx = ?, tags = ?,
				source_detail = '', rev = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
				string(custos.StatusAnonymized), "{}", "[]", rev, micros(db.Now()), ws, id); err != nil {
				return err
			}
			removed["personal_values"] = 1
		}
		// The certificate of the purge that did the work; a resumed purge
		// finding less keeps the first count.
		_, err = tx.ExecContext(ctx, db.q(`UPDATE tombstones SET removed = ? WHERE workspace_id = ? AND contact_id = ? AND removed = '{}'`), encodeJSON(removed), ws, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: purge contact: %w", err)
	}
	if err := db.crashPoint("rows"); err != nil {
		return err
	}
	if err := db.shredSignups(ctx, ws, signups); err != nil {
		return err
	}
	// Again, for mail about its requests written while the purge ran.
	if _, err := db.purgeOutbox(id, requests); err != nil {
		return err
	}
	db.search.drop(ws, id)
	if !db.pg {
		// Old page images in the WAL still hold the key and the rows;
		// secure_delete has zeroed them in the database files.
		for _, d := range []*sql.DB{db.keys, db.write} {
			if err := db.truncateWAL(ctx, d); err != nil {
				return fmt.Errorf("store: after purge: %w", err)
			}
		}
	}
	return nil
}

// purgeOutbox removes the stored mail to the contact and about its
// data-subject requests, and returns how many messages it removed.
func (db *DB) purgeOutbox(id int64, requests []int64) (int64, error) {
	if db.outbox == nil {
		return 0, nil
	}
	refs := []string{"contact-" + strconv.FormatInt(id, 10)}
	for _, r := range requests {
		refs = append(refs, "dsr-"+strconv.FormatInt(r, 10))
	}
	var n int64
	for _, ref := range refs {
		k, err := db.outbox.Purge(ref)
		if err != nil {
			return n, fmt.Errorf("store: purge the outbox: %w", err)
		}
		n += int64(k)
	}
	return n, nil
}

// finishErasures completes every erasure a crash interrupted: a tombstone
// whose contact still has its rows or personal values.
func (db *DB) finishErasures(ctx context.Context) error {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT t.workspace_id, t.contact_id, t.mode FROM tombstones t
		JOIN contacts c ON c.workspace_id = t.workspace_id AND c.id = t.contact_id
		WHERE t.mode = ? OR c.status <> ? OR c.sealed IS NOT NULL`), string(custos.ForgetErase), string(custos.StatusAnonymized))
	if err != nil {
		return fmt.Errorf("store: unfinished erasures: %w", err)
	}
	type pending struct {
		ws, id int64
		mode   custos.ForgetMode
	}
	var todo []pending
	for rows.Next() {
		var p pending
		var mode string
		if err := rows.Scan(&p.ws, &p.id, &mode); err != nil {
			rows.Close()
			return err
		}
		p.mode = custos.ForgetMode(mode)
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range todo {
		if err := db.purge(ctx, p.ws, p.id, p.mode); err != nil {
			return err
		}
	}
	return nil
}

// checkSuppressed fails with ECONFLICT naming the field when one of the
// addresses belongs to a person erased with suppression.
func (db *DB) checkSuppressed(ctx context.Context, q querier, ws int64, field string, emails []string) error {
	hashes := make([][]byte, len(emails))
	for i, e := range emails {
		hashes[i] = db.vault.SuppressionHash(ws, e)
	}
	return db.checkSuppressedHashes(ctx, q, ws, field, hashes, len(emails) > 1)
}

// checkSuppressedHashes is checkSuppressed of the addresses' suppression
// hashes; many says the request has more than one address.
func (db *DB) checkSuppressedHashes(ctx context.Context, q querier, ws int64, field string, hashes [][]byte, many bool) error {
	const batch = 500
	for start := 0; start < len(hashes); start += batch {
		end := min(start+batch, len(hashes))
		args := make([]any, 0, end-start+1)
		args = append(args, ws)
		for _, h := range hashes[start:end] {
			args = append(args, h)
		}
		var n int
		if err := q.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM tombstones WHERE workspace_id = ? AND suppression IN (`+placeholders(end-start)+`)`), args...).Scan(&n); err != nil {
			return fmt.Errorf("store: suppression: %w", err)
		}
		if n > 0 {
			msg := "this address belongs to a person erased at their request, who asked not to be added again"
			if many {
				msg = "an address in the request belongs to a person erased at their request, who asked not to be added again"
			}
			return &custos.Error{Code: custos.ECONFLICT, Field: field, Message: msg}
		}
	}
	return nil
}

// DropForgotten removes from the search index the text of contacts that
// another process (the command line) forgot since the last call: serve
// calls it periodically, so that no decrypted copy outlives an erasure by
// more than that period. Searches never return such a contact meanwhile;
// each candidate is checked against the database.
func (db *DB) DropForgotten(ctx context.Context) error {
	s := db.search
	s.mu.Lock()
	wss := make(map[int64]*wsIndex, len(s.wss))
	maps.Copy(wss, s.wss)
	s.mu.Unlock()
	for ws, w := range wss {
		w.mu.RLock()
		since := w.erasedSince
		w.mu.RUnlock()
		rows, err := db.read.QueryContext(ctx, db.q(`SELECT contact_id, erased_at FROM tombstones WHERE workspace_id = ? AND erased_at >= ?`), ws, since)
		if err != nil {
			return fmt.Errorf("store: forgotten contacts: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return err
			}
			ids, since = append(ids, id), max(since, at)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			s.drop(ws, id)
		}
		w.mu.Lock()
		w.erasedSince = since
		w.mu.Unlock()
	}
	return nil
}

// drop removes a contact's text from the search index at once.
func (s *searchIndex) drop(ws, id int64) {
	w := s.workspace(ws)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.text.has(id) {
		w.text.put(id, "")
	}
}

// has reports whether the index holds an entry for id.
func (t *textIndex) has(id int64) bool {
	for _, b := range t.blocks {
		if len(b.ids) > 0 && b.ids[0] <= id && id <= b.ids[len(b.ids)-1] {
			_, found := slices.BinarySearch(b.ids, id)
			return found
		}
	}
	return false
}

// crashPoint returns the error the test hook gives at a step of an
// erasure: a crash there, as the next start sees it (every step before
// is committed, none after has run). Without a hook it does nothing.
func (db *DB) crashPoint(step string) error {
	if db.crashAt == nil {
		return nil
	}
	return db.crashAt(step)
}
