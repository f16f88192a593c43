package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// The names a request's personal data is sealed under, each bound with
// the workspace and the request id.
const (
	dsrSealedName = "request" // the subject's address
	dsrNoteName   = "note"    // a note's text
	dsrAnswerName = "answer"  // a completion note or rejection reason
	dsrExportName = "export"  // the stored export file
)

// dsrPersonal is the plaintext of a request's sealed column.
type dsrPersonal struct {
	Email string `json:"email,omitempty"`
}

// openStatuses is the SQL list of the statuses that await an answer.
const openStatuses = `('received', 'verification_sent', 'verified')`

// dsrRow is a dsr_requests row as stored, without the export file.
type dsrRow struct {
	id                        int64
	typ, status               string
	contact                   sql.NullInt64
	sealed, answerNote        []byte
	received, due             int64
	extMonths                 int
	extReason, extBy, actedBy string
	extAt, sentAt, verifiedAt sql.NullInt64
	completedAt, erasedAt     sql.NullInt64
	answer                    sql.NullString
}

const dsrColumns = `id, type, status, contact_id, sealed, answer_note, received_at, due_at, extension_months, extension_reason, extended_by,
	acted_by, extended_at, verification_sent_at, verified_at, completed_at, erased_at, answer`

func scanDSRRow(row interface{ Scan(...any) error }) (*dsrRow, error) {
	r := &dsrRow{}
	err := row.Scan(&r.id, &r.typ, &r.status, &r.contact, &r.sealed, &r.answerNote, &r.received, &r.due, &r.extMonths, &r.extReason, &r.extBy,
		&r.actedBy, &r.extAt, &r.sentAt, &r.verifiedAt, &r.completedAt, &r.erasedAt, &r.answer)
	return r, err
}

// open turns the row into a request, its personal data opened with k. A
// row whose key is gone (its subject forgotten) opens without it.
func (r *dsrRow) open(k *vault.RequestKey) (*custos.DSRRequest, error) {
	d := &custos.DSRRequest{
		ID: r.id, Type: custos.DSRType(r.typ), Status: custos.DSRStatus(r.status), ActedBy: r.actedBy,
		ReceivedAt: fromMicros(r.received), DueAt: fromMicros(r.due),
		VerificationSentAt: nullMicros(r.sentAt), VerifiedAt: nullMicros(r.verifiedAt),
		CompletedAt: nullMicros(r.completedAt), PersonalDataErasedAt: nullMicros(r.erasedAt),
	}
	if r.contact.Valid {
		d.ContactID = &r.contact.Int64
	}
	if r.extMonths > 0 {
		d.Extension = &custos.DSRExtension{Months: r.extMonths, Reason: r.extReason, By: r.extBy, At: fromMicros(r.extAt.Int64)}
	}
	if r.answer.Valid {
		d.Answer = &custos.DSRAnswer{}
		if err := json.Unmarshal([]byte(r.answer.String), d.Answer); err != nil {
			return nil, fmt.Errorf("request %d answer: %w", r.id, err)
		}
	}
	if k == nil {
		return d, nil
	}
	if len(r.sealed) > 0 {
		plain, err := k.Open(dsrSealedName, r.sealed)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", r.id, err)
		}
		var p dsrPersonal
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("request %d: %w", r.id, err)
		}
		d.Email = p.Email
	}
	if len(r.answerNote) > 0 && d.Answer != nil {
		plain, err := k.Open(dsrAnswerName, r.answerNote)
		if err != nil {
			return nil, fmt.Errorf("request %d answer: %w", r.id, err)
		}
		d.Answer.Note = string(plain)
	}
	return d, nil
}

// requestKeys returns the unwrapped data keys of the requests. A request
// whose key is gone (shredded with its subject) is missing from the map.
func (db *DB) requestKeys(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.RequestKey, error) {
	return readKeys(ctx, db, "request_keys", "request_id", ws, ids, func(id int64, wrapped []byte) (*vault.RequestKey, error) {
		return db.vault.UnwrapRequestKey(ws, id, wrapped)
	})
}

// requestKey returns the request's data key, making a new one when the
// old was shredded with the subject: what staff write after the erasure
// (a note, the completion note) is still kept sealed, never in clear.
func (db *DB) requestKey(ctx context.Context, ws, id int64) (*vault.RequestKey, error) {
	keys, err := db.requestKeys(ctx, ws, []int64{id})
	if err != nil {
		return nil, err
	}
	if k := keys[id]; k != nil {
		return k, nil
	}
	k, wrapped := db.vault.NewRequestKey(ws, id)
	if err := db.putRequestKey(ctx, ws, id, wrapped); err != nil {
		return nil, err
	}
	return k, nil
}

// putRequestKey stores a request's wrapped key in the key store and
// commits it, before the rows it encrypts are committed.
func (db *DB) putRequestKey(ctx context.Context, ws, id int64, wrapped []byte) error {
	return db.txOn(ctx, db.keys, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO request_keys (workspace_id, request_id, wrapped, created_at) VALUES (?, ?, ?, ?)`),
			ws, id, wrapped, micros(db.Now()))
		return err
	})
}

// dsrEvent appends a step to the request's history.
func (db *DB) dsrEvent(ctx context.Context, tx *sql.Tx, ws, id int64, at time.Time, actor, event, detail string, sealed []byte) error {
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO dsr_events (workspace_id, request_id, at, actor, event, detail, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		ws, id, micros(at), actor, event, detail, sealed)
	if err != nil {
		return fmt.Errorf("store: request history: %w", err)
	}
	return nil
}

// CreateDSRRequest registers a request.
func (db *DB) CreateDSRRequest(ctx context.Context, r *custos.DSRRequest) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	ws, now := a.WorkspaceID, db.Now()
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = now
	} else if r.ReceivedAt.After(now.Add(time.Minute)) {
		return custos.Invalid("received_at", "must not be in the future")
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
	var bidx []byte
	if r.Email != "" {
		bidx = db.vault.BlindIndex(ws, custos.FieldEmail, r.Email)
	}
	// The id first: it is bound into the request's ciphertexts.
	var id int64
	if err := db.tx(ctx, func(tx *sql.Tx) error {
		ids, err := db.allocIDs(ctx, tx, "dsr_requests", 1)
		if err == nil {
			id = ids[0]
		}
		return err
	}); err != nil {
		return err
	}
	k, wrapped := db.vault.NewRequestKey(ws, id)
	var sealed []byte
	if r.Email != "" {
		sealed = k.Seal(dsrSealedName, []byte(encodeJSON(dsrPersonal{Email: r.Email})))
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if r.ContactID != nil {
			// The lock orders this after or before a forget of the contact,
			// whose purge then finds this request.
			_, err := db.lockContact(ctx, tx, ws, *r.ContactID)
			switch custos.ErrorCode(err) {
			case "":
			case custos.ENOTFOUND:
				return custos.Invalid("contact_id", "no such contact in this workspace")
			case custos.ECONFLICT:
				return &custos.Error{Code: custos.ECONFLICT, Field: "contact_id", Message: "the contact has been forgotten"}
			default:
				return err
			}
			// The verification link goes to the request's address, and the
			// answer is the contact's data: the two must be the same person.
			if bidx != nil {
				var have []byte
				if err := tx.QueryRowContext(ctx, db.q(`SELECT email_bidx FROM contacts WHERE workspace_id = ? AND id = ?`), ws, *r.ContactID).Scan(&have); err != nil {
					return err
				}
				if !bytes.Equal(have, bidx) {
					return custos.Invalid("email", "is not the address of the contact given in contact_id: give one of the two, or both of the same person")
				}
			}
		} else if bidx != nil {
			var cid int64
			err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM contacts WHERE workspace_id = ? AND email_bidx = ?`), ws, bidx).Scan(&cid)
			if err == nil {
				// A contact being forgotten is not linked; its purge finds
				// the request by the address's blind index anyway.
				if _, err := db.lockContact(ctx, tx, ws, cid); err == nil {
					r.ContactID = &cid
				} else if custos.ErrorCode(err) != custos.ECONFLICT {
					return err
				}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		r.ID, r.DueAt = id, custos.DSRDueAt(r.ReceivedAt, 0)
		r.Status, r.ActedBy = custos.DSRReceived, a.String()
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO dsr_requests (workspace_id, id, type, contact_id, email_bidx, sealed, received_at, due_at, status, acted_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ws, id, string(r.Type), r.ContactID, bidx, sealed, micros(r.ReceivedAt), micros(r.DueAt), string(r.Status), r.ActedBy); err != nil {
			return fmt.Errorf("store: create request: %w", err)
		}
		if err := db.dsrEvent(ctx, tx, ws, id, now, r.ActedBy, custos.DSREventReceived, string(r.Type), nil); err != nil {
			return err
		}
		// The key commits before the row that it encrypts.
		return db.putRequestKey(ctx, ws, id, wrapped)
	})
	if err != nil {
		r.ID = 0
		return err
	}
	r.Notes, r.History = []custos.DSRNote{}, []custos.DSREvent{{At: now, By: r.ActedBy, Event: custos.DSREventReceived, Detail: string(r.Type)}}
	return nil
}

// FindDSRRequest returns the request with its notes and history.
func (db *DB) FindDSRRequest(ctx context.Context, id int64) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findDSRRequest(ctx, a.WorkspaceID, id)
}

func (db *DB) findDSRRequest(ctx context.Context, ws, id int64) (*custos.DSRRequest, error) {
	row, err := scanDSRRow(db.read.QueryRowContext(ctx, db.q(`SELECT `+dsrColumns+` FROM dsr_requests WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("request")
	} else if err != nil {
		return nil, fmt.Errorf("store: find request: %w", err)
	}
	keys, err := db.requestKeys(ctx, ws, []int64{id})
	if err != nil {
		return nil, err
	}
	k := keys[id]
	r, err := row.open(k)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT at, actor, event, detail, sealed FROM dsr_events WHERE workspace_id = ? AND request_id = ? ORDER BY id`), ws, id)
	if err != nil {
		return nil, fmt.Errorf("store: request history: %w", err)
	}
	defer rows.Close()
	r.Notes, r.History = []custos.DSRNote{}, []custos.DSREvent{}
	for rows.Next() {
		var e custos.DSREvent
		var at int64
		var sealed []byte
		if err := rows.Scan(&at, &e.By, &e.Event, &e.Detail, &sealed); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		r.History = append(r.History, e)
		if e.Event == custos.DSREventNote && len(sealed) > 0 && k != nil {
			text, err := k.Open(dsrNoteName, sealed)
			if err != nil {
				return nil, fmt.Errorf("store: request %d note: %w", id, err)
			}
			r.Notes = append(r.Notes, custos.DSRNote{At: e.At, By: e.By, Text: string(text)})
		}
	}
	return r, rows.Err()
}

// FindDSRRequests returns a page of the requests matching f, newest first.
func (db *DB) FindDSRRequests(ctx context.Context, f custos.DSRFilter) ([]*custos.DSRRequest, int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	ws := a.WorkspaceID
	where := []string{"workspace_id = ?"}
	args := []any{ws}
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, string(*f.Status))
	}
	if f.Type != nil {
		where, args = append(where, "type = ?"), append(args, string(*f.Type))
	}
	if f.ContactID != nil {
		where, args = append(where, "contact_id = ?"), append(args, *f.ContactID)
	}
	now := db.Now()
	switch {
	case f.DueWithin != nil && f.Overdue:
		where = append(where, "status IN "+openStatuses, "due_at <= ?")
		args = append(args, micros(now.AddDate(0, 0, *f.DueWithin)))
	case f.DueWithin != nil:
		where = append(where, "status IN "+openStatuses, "due_at >= ?", "due_at <= ?")
		args = append(args, micros(now), micros(now.AddDate(0, 0, *f.DueWithin)))
	case f.Overdue:
		where = append(where, "status IN "+openStatuses, "due_at < ?")
		args = append(args, micros(now))
	}
	if f.After > 0 {
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	args = append(args, f.Limit+1)
	// The query's shape follows the filter: no prepared statement for it.
	rows, err := db.read.d.QueryContext(ctx, db.q(`SELECT `+dsrColumns+` FROM dsr_requests WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find requests: %w", err)
	}
	var found []*dsrRow
	for rows.Next() {
		r, err := scanDSRRow(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	found, next := trimPage(found, f.Limit, func(r *dsrRow) int64 { return r.id })
	ids := make([]int64, len(found))
	for i, r := range found {
		ids[i] = r.id
	}
	keys, err := db.requestKeys(ctx, ws, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*custos.DSRRequest, len(found))
	for i, r := range found {
		if out[i], err = r.open(keys[r.id]); err != nil {
			return nil, 0, err
		}
	}
	return out, next, nil
}

// lockRequest reads the request's row inside a write transaction and, on
// PostgreSQL, locks it until the transaction ends.
func (db *DB) lockRequest(ctx context.Context, tx *sql.Tx, ws, id int64) (*dsrRow, error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE"
	}
	r, err := scanDSRRow(tx.QueryRowContext(ctx, db.q(`SELECT `+dsrColumns+` FROM dsr_requests WHERE workspace_id = ? AND id = ?`+lock), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("request")
	} else if err != nil {
		return nil, fmt.Errorf("store: lock request: %w", err)
	}
	return r, nil
}

// changeDSR runs change on the locked request in a transaction, then
// answers the request as it is afterwards.
func (db *DB) changeDSR(ctx context.Context, id int64, change func(tx *sql.Tx, a custos.Actor, r *dsrRow, now time.Time) error) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		r, err := db.lockRequest(ctx, tx, a.WorkspaceID, id)
		if err != nil {
			return err
		}
		return change(tx, a, r, db.Now())
	})
	if err != nil {
		return nil, err
	}
	return db.findDSRRequest(ctx, a.WorkspaceID, id)
}

// errSubjectForgotten refuses to answer a request with the data of a
// contact that has been forgotten.
var errSubjectForgotten = custos.Errorf(custos.ECONFLICT, "the request's contact has been forgotten, so there is nothing left to export: complete the request with a note")

func closedConflict(status string) error {
	return custos.Errorf(custos.ECONFLICT, "the request is %s already", status)
}

// ExtendDSRRequest extends an open request's deadline, within the month
// after its receipt (custos.DSRRequest.CheckExtension).
func (db *DB) ExtendDSRRequest(ctx context.Context, id int64, e custos.DSRExtension) (*custos.DSRRequest, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, r *dsrRow, now time.Time) error {
		had := &custos.DSRRequest{Status: custos.DSRStatus(r.status), ReceivedAt: fromMicros(r.received), Extension: &custos.DSRExtension{Months: r.extMonths}}
		if err := had.CheckExtension(e.Months, now); err != nil {
			return err
		}
		total := r.extMonths + e.Months
		due := custos.DSRDueAt(fromMicros(r.received), total)
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET extension_months = ?, extension_reason = ?, extended_by = ?, extended_at = ?, due_at = ?
			WHERE workspace_id = ? AND id = ?`), total, e.Reason, a.String(), micros(now), micros(due), a.WorkspaceID, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, a.WorkspaceID, id, now, a.String(), custos.DSREventExtended, fmt.Sprintf("+%d month(s) to %s: %s", e.Months, due.Format(time.DateOnly), e.Reason), nil)
	})
}

// AddDSRNote adds a note, its text sealed under the request's key.
func (db *DB) AddDSRNote(ctx context.Context, id int64, text string) (*custos.DSRRequest, error) {
	if err := custos.ValidateDSRNote("text", text); err != nil {
		return nil, err
	}
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.findDSRRequest(ctx, a.WorkspaceID, id); err != nil {
		return nil, err // before a key is made for a request that is not there
	}
	k, err := db.requestKey(ctx, a.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, r *dsrRow, now time.Time) error {
		return db.dsrEvent(ctx, tx, a.WorkspaceID, id, now, a.String(), custos.DSREventNote, "", k.Seal(dsrNoteName, []byte(text)))
	})
}

// hashDSRToken returns what is stored of a verification token.
func hashDSRToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// SendDSRVerification makes a new verification token, has send deliver
// it, and records that it was sent. The mail goes out between two
// transactions, so no database lock waits on a mail server.
func (db *DB) SendDSRVerification(ctx context.Context, id int64, send func(to, token string) error) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	r, err := db.findDSRRequest(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	if r.Status == custos.DSRVerified {
		return nil, custos.Errorf(custos.ECONFLICT, "the subject's identity is verified already")
	} else if !r.Status.Open() {
		return nil, closedConflict(string(r.Status))
	}
	to := r.Email
	if to == "" && r.ContactID != nil {
		// Named by contact only: the link goes to the contact's address.
		if c, err := db.FindContactByID(ctx, *r.ContactID); err == nil {
			to = c.Email
		}
	}
	if to == "" {
		return nil, custos.Errorf(custos.ECONFLICT, "the request has no e-mail address to send the verification link to")
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := base64.RawURLEncoding.EncodeToString(secret)
	hash := hashDSRToken(token)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// A new token replaces the previous one, which stops working.
		res, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET token_hash = ?, token_expires_at = ?
			WHERE workspace_id = ? AND id = ? AND status IN ('received', 'verification_sent')`),
			hash, micros(db.Now().Add(custos.DSRTokenTTL)), ws, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return custos.Errorf(custos.ECONFLICT, "the request changed meanwhile; try again")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := send(to, token); err != nil {
		return nil, err
	}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, r *dsrRow, now time.Time) error {
		if !custos.DSRStatus(r.status).Open() || r.status == string(custos.DSRVerified) {
			return nil // verified or closed meanwhile: the link was sent all the same
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, verification_sent_at = ?, acted_by = ? WHERE workspace_id = ? AND id = ?`),
			string(custos.DSRVerificationSent), micros(now), a.String(), ws, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, ws, id, now, a.String(), custos.DSREventVerificationSent, "", nil)
	})
}

// dsrToken finds the request a verification token is for: its workspace,
// id and type. ENOTFOUND for a token that is unknown, used or replaced, or
// whose request is no longer waiting for it; EGONE for an expired one.
func (db *DB) dsrToken(ctx context.Context, q querier, token string, lock bool) (ws, id int64, typ custos.DSRType, err error) {
	invalid := custos.NotFound("verification link")
	if token == "" || len(token) > 100 {
		return 0, 0, "", invalid
	}
	suffix := ""
	if lock && db.pg {
		suffix = " FOR UPDATE"
	}
	var status, t string
	var expires int64
	err = q.QueryRowContext(ctx, db.q(`SELECT workspace_id, id, type, status, token_expires_at FROM dsr_requests WHERE token_hash = ?`+suffix), hashDSRToken(token)).
		Scan(&ws, &id, &t, &status, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, "", invalid
	} else if err != nil {
		return 0, 0, "", fmt.Errorf("store: verification token: %w", err)
	}
	if status != string(custos.DSRReceived) && status != string(custos.DSRVerificationSent) {
		return 0, 0, "", invalid
	}
	if db.Now().UnixMicro() > expires {
		return 0, 0, "", custos.Errorf(custos.EGONE, "the verification link has expired")
	}
	return ws, id, custos.DSRType(t), nil
}

// CheckDSRToken reports the type of the request a token is for.
func (db *DB) CheckDSRToken(ctx context.Context, token string) (custos.DSRType, error) {
	_, _, typ, err := db.dsrToken(ctx, db.read, token, false)
	return typ, err
}

// VerifyDSRToken marks the token's request verified and uses the token up.
// A request named by e-mail only is linked now to the contact that has
// the address, if one was created since.
func (db *DB) VerifyDSRToken(ctx context.Context, token string) (custos.DSRType, error) {
	var typ custos.DSRType
	err := db.tx(ctx, func(tx *sql.Tx) error {
		ws, id, t, err := db.dsrToken(ctx, tx, token, true)
		if err != nil {
			return err
		}
		typ = t
		now := db.Now()
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, verified_at = ?, acted_by = ?, token_hash = NULL, token_expires_at = NULL,
			contact_id = COALESCE(contact_id, (SELECT c.id FROM contacts c WHERE c.workspace_id = dsr_requests.workspace_id AND c.email_bidx = dsr_requests.email_bidx))
			WHERE workspace_id = ? AND id = ?`), string(custos.DSRVerified), micros(now), custos.DSRActorSubject, ws, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, ws, id, now, custos.DSRActorSubject, custos.DSREventVerified, "", nil)
	})
	return typ, err
}

// executable reads the request and fails unless it may be executed now
// and is of one of the types.
func (db *DB) executable(ctx context.Context, ws, id int64, types ...custos.DSRType) (*custos.DSRRequest, error) {
	r, err := db.findDSRRequest(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	if err := r.Executable(); err != nil {
		return nil, err
	}
	for _, t := range types {
		if r.Type == t {
			return r, nil
		}
	}
	return nil, custos.Errorf(custos.ECONFLICT, "a %s request is not executed this way", r.Type)
}

// AnswerDSRExport stores the export of an access or portability request,
// sealed, and completes the request.
func (db *DB) AnswerDSRExport(ctx context.Context, id int64, format string, file []byte) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	if format == "" || len(format) > 10 || strings.ContainsFunc(format, func(r rune) bool { return r < 'a' || r > 'z' }) {
		return nil, custos.Invalid("format", "is not an export format")
	}
	r, err := db.executable(ctx, ws, id, custos.DSRAccess, custos.DSRPortability)
	if err != nil {
		return nil, err
	}
	if r.PersonalDataErasedAt != nil {
		return nil, errSubjectForgotten
	}
	k, err := db.requestKey(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	sealed := k.Seal(dsrExportName, file)
	answer := custos.DSRAnswer{Kind: custos.DSRAnswerExport, Format: format, Size: int64(len(file))}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, row *dsrRow, now time.Time) error {
		if row.status != string(custos.DSRVerified) {
			return custos.Errorf(custos.ECONFLICT, "the request changed meanwhile: it is %s", row.status)
		}
		// A contact forgotten meanwhile: no copy of its data may be kept.
		if _, err := db.lockContact(ctx, tx, ws, *r.ContactID); custos.ErrorCode(err) == custos.ENOTFOUND || custos.ErrorCode(err) == custos.ECONFLICT {
			return errSubjectForgotten
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, completed_at = ?, acted_by = ?, answer = ?, answer_note = NULL, export = ?
			WHERE workspace_id = ? AND id = ?`), string(custos.DSRCompleted), micros(now), a.String(), encodeJSON(answer), sealed, ws, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, ws, id, now, a.String(), custos.DSREventExecuted, fmt.Sprintf("export of contact %d, %s, %d bytes", *r.ContactID, format, len(file)), nil)
	})
}

// DSRExportFile returns the stored export of a request.
func (db *DB) DSRExportFile(ctx context.Context, id int64) (string, []byte, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", nil, err
	}
	ws := a.WorkspaceID
	var answer sql.NullString
	var sealed []byte
	var erased sql.NullInt64
	err = db.read.QueryRowContext(ctx, db.q(`SELECT answer, export, erased_at FROM dsr_requests WHERE workspace_id = ? AND id = ?`), ws, id).Scan(&answer, &sealed, &erased)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, custos.NotFound("request")
	} else if err != nil {
		return "", nil, fmt.Errorf("store: request export: %w", err)
	}
	var ans custos.DSRAnswer
	if answer.Valid {
		if err := json.Unmarshal([]byte(answer.String), &ans); err != nil {
			return "", nil, err
		}
	}
	if ans.Kind != custos.DSRAnswerExport {
		return "", nil, custos.Errorf(custos.ENOTFOUND, "the request has no stored export")
	}
	gone := custos.Errorf(custos.EGONE, "the export was erased together with its subject")
	if erased.Valid || len(sealed) == 0 {
		return "", nil, gone
	}
	keys, err := db.requestKeys(ctx, ws, []int64{id})
	if err != nil {
		return "", nil, err
	} else if keys[id] == nil {
		return "", nil, gone
	}
	file, err := keys[id].Open(dsrExportName, sealed)
	if err != nil {
		return "", nil, fmt.Errorf("store: request %d export: %w", id, err)
	}
	return ans.Format, file, nil
}

// EraseDSRSubject forgets the contact of a verified erasure request and
// completes the request with the certificate. Forgetting the contact
// shreds the request's own key too, so the request keeps only what is
// not personal: type, dates, status, who acted, the certificate.
func (db *DB) EraseDSRSubject(ctx context.Context, id int64, mode custos.ForgetMode, suppress bool) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	fr := custos.ForgetRequest{Mode: mode, RequestID: fmt.Sprintf("dsr-%d", id), Suppress: suppress}
	if err := fr.Validate(); err != nil {
		return nil, err
	}
	r, err := db.executable(ctx, a.WorkspaceID, id, custos.DSRErasure)
	if err != nil {
		return nil, err
	}
	t, err := db.ForgetContact(ctx, *r.ContactID, fr)
	if err != nil {
		return nil, err
	}
	answer := custos.DSRAnswer{Kind: custos.DSRAnswerCertificate, Certificate: t}
	detail := fmt.Sprintf("%s of contact %d", t.Mode, t.ContactID)
	if t.Suppressed {
		detail += ", address suppressed"
	}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, row *dsrRow, now time.Time) error {
		if row.status != string(custos.DSRVerified) {
			return custos.Errorf(custos.ECONFLICT, "the request changed meanwhile (it is %s); contact %d was forgotten all the same", row.status, t.ContactID)
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, completed_at = ?, acted_by = ?, answer = ?, answer_note = NULL
			WHERE workspace_id = ? AND id = ?`), string(custos.DSRCompleted), micros(now), a.String(), encodeJSON(answer), a.WorkspaceID, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, a.WorkspaceID, id, now, a.String(), custos.DSREventExecuted, detail, nil)
	})
}

// CompleteDSRRequest completes an open request with a note.
func (db *DB) CompleteDSRRequest(ctx context.Context, id int64, note string) (*custos.DSRRequest, error) {
	if err := custos.ValidateDSRNote("note", note); err != nil {
		return nil, err
	}
	return db.closeDSR(ctx, id, custos.DSRCompleted, custos.DSREventCompleted, note)
}

// RejectDSRRequest rejects an open request with the reason.
func (db *DB) RejectDSRRequest(ctx context.Context, id int64, reason string) (*custos.DSRRequest, error) {
	if err := custos.ValidateDSRNote("reason", reason); err != nil {
		return nil, err
	}
	return db.closeDSR(ctx, id, custos.DSRRejected, custos.DSREventRejected, reason)
}

// closeDSR closes an open request with a note answer, sealed.
func (db *DB) closeDSR(ctx context.Context, id int64, status custos.DSRStatus, event, note string) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := db.findDSRRequest(ctx, a.WorkspaceID, id)
	if err != nil {
		return nil, err
	} else if !r.Status.Open() {
		return nil, closedConflict(string(r.Status))
	}
	k, err := db.requestKey(ctx, a.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, row *dsrRow, now time.Time) error {
		return db.closeRow(ctx, tx, a, row, status, event, k.Seal(dsrAnswerName, []byte(note)), now)
	})
}

// closeRow closes the locked request row, if it is still open, with a
// sealed note as its answer.
func (db *DB) closeRow(ctx context.Context, tx *sql.Tx, a custos.Actor, row *dsrRow, status custos.DSRStatus, event string, sealedNote []byte, now time.Time) error {
	if !custos.DSRStatus(row.status).Open() {
		return closedConflict(row.status)
	}
	answer := encodeJSON(custos.DSRAnswer{Kind: custos.DSRAnswerNote})
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, completed_at = ?, acted_by = ?, answer = ?, answer_note = ?, token_hash = NULL, token_expires_at = NULL
		WHERE workspace_id = ? AND id = ?`), string(status), micros(now), a.String(), answer, sealedNote, a.WorkspaceID, row.id); err != nil {
		return err
	}
	return db.dsrEvent(ctx, tx, a.WorkspaceID, row.id, now, a.String(), event, "", nil)
}

// RestrictDSRSubject restricts the contact of a restriction request and
// completes the request, in one transaction.
func (db *DB) RestrictDSRSubject(ctx context.Context, id int64, reason string) (*custos.DSRRequest, error) {
	reason, err := custos.NormalizeReason(reason)
	if err != nil {
		return nil, err
	}
	return db.executeDSR(ctx, id, custos.DSRRestriction, func(tx *sql.Tx, a custos.Actor, contactID int64) (string, error) {
		res, err := db.restrict(ctx, tx, a, contactID, reason)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Processing of contact %d restricted (restriction %d).", contactID, res.ID), nil
	})
}

// ObjectDSRSubject records the objection of an objection request's contact
// and completes the request, in one transaction.
func (db *DB) ObjectDSRSubject(ctx context.Context, id int64) (*custos.DSRRequest, error) {
	return db.executeDSR(ctx, id, custos.DSRObjection, func(tx *sql.Tx, a custos.Actor, contactID int64) (string, error) {
		events, err := db.objectToMarketing(ctx, tx, a, contactID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Objection to direct marketing recorded for contact %d: %d marketing consents or bases ended.", contactID, len(events)), nil
	})
}

// executeDSR acts on the contact of an executable request of the type and
// completes the request with the note act returns, all in one
// transaction, so that a failure leaves both as they were and the request
// can be executed again.
func (db *DB) executeDSR(ctx context.Context, id int64, typ custos.DSRType, act func(tx *sql.Tx, a custos.Actor, contactID int64) (string, error)) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	r, err := db.executable(ctx, ws, id, typ)
	if err != nil {
		return nil, err
	}
	k, err := db.requestKey(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// The contact before the request, in the order forget locks them.
		note, err := act(tx, a, *r.ContactID)
		if err != nil {
			return err
		}
		row, err := db.lockRequest(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if !row.contact.Valid || row.contact.Int64 != *r.ContactID {
			return custos.Errorf(custos.ECONFLICT, "the request changed meanwhile; execute it again")
		}
		return db.closeRow(ctx, tx, a, row, custos.DSRCompleted, custos.DSREventExecuted, k.Seal(dsrAnswerName, []byte(note)), db.Now())
	})
	if err != nil {
		return nil, err
	}
	return db.findDSRRequest(ctx, ws, id)
}

// contactRequestIDs returns the ids of the requests about a contact: those
// linked to it, and those naming its address (by blind index), whose
// personal data has not been erased yet.
func (db *DB) contactRequestIDs(ctx context.Context, q querier, ws, contactID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, db.q(`SELECT id FROM dsr_requests WHERE workspace_id = ? AND erased_at IS NULL
		AND (contact_id = ? OR email_bidx = (SELECT email_bidx FROM contacts WHERE workspace_id = ? AND id = ?)) ORDER BY id`), ws, contactID, ws, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: contact's requests: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// shredRequestKeys deletes the keys of the requests from the key store.
func (db *DB) shredRequestKeys(ctx context.Context, ws int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{ws}
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM request_keys WHERE workspace_id = ? AND request_id IN (`+placeholders(len(ids))+`)`), args...); err != nil {
		return fmt.Errorf("store: shred request keys: %w", mapError(err))
	}
	return nil
}

// eraseRequests removes the personal data of the requests inside a
// purge's transaction: their sealed columns, the address's blind index,
// a pending verification token and the notes' texts. It returns how many
// requests it erased.
func (db *DB) eraseRequests(ctx context.Context, tx *sql.Tx, ws int64, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{micros(db.Now()), ws}
	for _, id := range ids {
		args = append(args, id)
	}
	in := `IN (` + placeholders(len(ids)) + `)`
	res, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET sealed = NULL, email_bidx = NULL, answer_note = NULL, export = NULL,
		token_hash = NULL, token_expires_at = NULL, erased_at = ? WHERE workspace_id = ? AND id `+in+` AND erased_at IS NULL`), args...)
	if err != nil {
		return 0, fmt.Errorf("purge requests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_events SET sealed = NULL WHERE workspace_id = ? AND request_id `+in), args[1:]...); err != nil {
		return 0, fmt.Errorf("purge request notes: %w", err)
	}
	return n, nil
}

// contactRequests returns the requests about a contact, for its export.
func (db *DB) contactRequests(ctx context.Context, ws, contactID int64) ([]*custos.DSRRequest, error) {
	ids, err := db.contactRequestIDs(ctx, db.read, ws, contactID)
	if err != nil {
		return nil, err
	}
	out := []*custos.DSRRequest{}
	for _, id := range ids {
		r, err := db.findDSRRequest(ctx, ws, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
