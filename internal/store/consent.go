package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// consentPurposes validates ledger requests and returns the current
// version of every purpose they name. A purpose named twice is refused: one
// request cannot both grant and withdraw.
func (db *DB) consentPurposes(ctx context.Context, ws int64, rs []custos.ConsentRequest, now time.Time) (map[int64]*custos.Purpose, error) {
	out := make(map[int64]*custos.Purpose, len(rs))
	for i := range rs {
		r := &rs[i]
		if err := r.Validate(now); err != nil {
			return nil, err
		}
		if out[r.PurposeID] != nil {
			return nil, custos.Invalid("purpose_id", "purpose %d is named twice", r.PurposeID)
		}
		p, err := db.findPurpose(ctx, db.read, ws, r.PurposeID)
		if custos.ErrorCode(err) == custos.ENOTFOUND {
			return nil, custos.Invalid("purpose_id", "purpose %d does not exist", r.PurposeID)
		} else if err != nil {
			return nil, err
		}
		consentBased := p.LegalBasis == custos.BasisConsent
		switch {
		case r.Action == custos.ActionGrant && !consentBased:
			return nil, custos.Invalid("action", "purpose %d rests on %s, not consent: assign the basis instead of granting", p.ID, p.LegalBasis)
		case (r.Action == custos.ActionAssignBasis || r.Action == custos.ActionRemoveBasis) && consentBased:
			return nil, custos.Invalid("action", "purpose %d rests on consent: grant or withdraw it", p.ID)
		}
		out[r.PurposeID] = p
	}
	return out, nil
}

// consentMeta is the personal part of a ledger event, sealed under the
// contact's key.
type consentMeta struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"ua,omitempty"`
	// Proof is the evidence of a double opt-in.
	Proof *custos.ConsentProof `json:"proof,omitempty"`
}

func metaName(eventID int64) string { return "consent." + strconv.FormatInt(eventID, 10) }

// appendEvents appends one event per contact and request and updates the
// derived state, in tx, writing rows with put. keys[i] is contact ids[i]'s
// key; it is needed only when a request carries an IP address or user
// agent. fresh says the contacts were created in tx, so they have no state
// yet to supersede.
func (db *DB) appendEvents(ctx context.Context, tx *sql.Tx, put rowWriter, fresh bool, a custos.Actor, ids []int64, keys []*vault.ContactKey,
	rs []custos.ConsentRequest, purposes map[int64]*custos.Purpose) ([]*custos.ConsentEvent, error) {
	ws := a.WorkspaceID
	now := db.Now()
	reqs := make([]custos.ConsentRequest, len(rs))
	copy(reqs, rs)
	for i := range reqs {
		r := &reqs[i]
		if r.Notice != "" {
			n := &custos.Notice{Body: r.Notice, Kind: custos.NoticeCheckbox}
			if err := n.Validate(); err != nil {
				return nil, err
			}
			if err := db.ensureNotice(ctx, tx, ws, n); err != nil {
				return nil, err
			}
			r.NoticeHash = n.Hash
		} else if r.NoticeHash != "" {
			if _, err := db.findNotice(ctx, tx, ws, r.NoticeHash); custos.ErrorCode(err) == custos.ENOTFOUND {
				return nil, custos.Invalid("notice_hash", "no notice has this hash")
			} else if err != nil {
				return nil, err
			}
		}
	}
	if !fresh && assignsMarketingBasis(reqs, purposes) {
		objected, err := db.objected(ctx, tx, ws, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if objected[id] {
				return nil, objectionConflict(id)
			}
		}
	}
	eventIDs, err := db.allocIDs(ctx, tx, "consent_events", len(ids)*len(reqs))
	if err != nil {
		return nil, err
	}
	// The rows go request by request, the values a request gives every
	// contact bound once a statement; one allocation each for the events,
	// the rows and their cells: a bulk request appends an event for each
	// of many contacts.
	n := len(eventIDs)
	all := make([]custos.ConsentEvent, n)
	events := make([]*custos.ConsentEvent, n)
	evOwn, stOwn := len(eventCols)-eventShared, len(stateCols)-stateShared
	evRows, stRows := make([][]any, n), make([][]any, n)
	evCells, stCells := make([]any, n*evOwn), make([]any, n*stOwn)
	actor := a.String()
	for j := range reqs {
		r := &reqs[j]
		p := purposes[r.PurposeID]
		effective := now
		if r.EffectiveFrom != nil {
			effective = r.EffectiveFrom.UTC().Truncate(time.Microsecond)
		}
		var notice any
		if r.NoticeHash != "" {
			notice = r.NoticeHash
		}
		// Rows of request j: j*len(ids) onwards.
		evr, str := evRows[j*len(ids):(j+1)*len(ids)], stRows[j*len(ids):(j+1)*len(ids)]
		for i, contact := range ids {
			x := i*len(reqs) + j // the ledger order: contact by contact
			e := &all[x]
			*e = custos.ConsentEvent{
				ID: eventIDs[x], ContactID: contact, PurposeID: p.ID, PurposeVersion: p.Version,
				Action: r.Action, Method: r.Method, NoticeHash: r.NoticeHash, EffectiveFrom: effective,
				IP: r.IP, UserAgent: r.UserAgent, Actor: actor, CreatedAt: now, Proof: r.Proof,
			}
			var meta []byte
			if r.IP != "" || r.UserAgent != "" || r.Proof != nil {
				if keys[i] == nil {
					return nil, custos.Errorf(custos.EGONE, "contact %d has no data key", contact)
				}
				meta = keys[i].Seal(metaName(e.ID), []byte(encodeJSON(consentMeta{IP: r.IP, UserAgent: r.UserAgent, Proof: r.Proof})))
			}
			y := j*len(ids) + i
			idV, contactV := any(e.ID), any(contact)
			evr[i] = evCells[y*evOwn : (y+1)*evOwn]
			evr[i][0], evr[i][1], evr[i][2] = idV, contactV, meta
			str[i] = stCells[y*stOwn : (y+1)*stOwn]
			str[i][0], str[i][1] = contactV, idV
			events[x] = e
		}
		evShared := []any{ws, p.ID, p.Version, string(r.Action), string(r.Method), notice, micros(effective), actor, micros(now)}
		if err := put(ctx, "consent_events", eventCols, evShared, evr); err != nil {
			return nil, err
		}
		stShared := []any{ws, p.ID, p.Version, string(r.Action), micros(effective)}
		if fresh {
			if err := put(ctx, "consent_state", stateCols, stShared, str); err != nil {
				return nil, err
			}
		} else if _, err := db.insertShared(ctx, tx, "consent_state", stateCols, stShared, str, stateUpsert); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// assignsMarketingBasis reports whether a request assigns a basis for a
// purpose of direct marketing, which an objection rules out.
func assignsMarketingBasis(rs []custos.ConsentRequest, purposes map[int64]*custos.Purpose) bool {
	for _, r := range rs {
		if r.Action == custos.ActionAssignBasis && purposes[r.PurposeID].Marketing {
			return true
		}
	}
	return false
}

// objected returns which of the contacts objected to direct marketing.
func (db *DB) objected(ctx context.Context, q querier, ws int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, ws)
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := q.QueryContext(ctx, db.q(`SELECT contact_id FROM contact_objections WHERE workspace_id = ? AND contact_id IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: objections: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func objectionConflict(id int64) error {
	return &custos.Error{Code: custos.ECONFLICT, Field: "action", Message: fmt.Sprintf(
		"contact %d objected to direct marketing, so no basis can be assigned for a marketing purpose (GDPR Art. 21(3)); only the person's own consent can be recorded", id)}
}

// needsKeys reports whether any request carries personal metadata.
func needsKeys(rs []custos.ConsentRequest) bool {
	for _, r := range rs {
		if r.IP != "" || r.UserAgent != "" || r.Proof != nil {
			return true
		}
	}
	return false
}

// RecordConsent appends an event to the contact's ledger.
func (db *DB) RecordConsent(ctx context.Context, contactID int64, r custos.ConsentRequest) (*custos.ConsentEvent, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	rs := []custos.ConsentRequest{r}
	purposes, err := db.consentPurposes(ctx, ws, rs, db.Now())
	if err != nil {
		return nil, err
	}
	var events []*custos.ConsentEvent
	err = db.tx(ctx, func(tx *sql.Tx) error {
		row, err := db.lockContact(ctx, tx, ws, contactID)
		if err != nil {
			return err
		}
		if row.status == string(custos.StatusAnonymized) {
			return custos.Errorf(custos.ECONFLICT, "the contact is anonymized")
		} else if row.status == string(custos.StatusRestricted) && r.Action.Permits() {
			return custos.Restricted("action", "a %s is refused until the restriction is lifted; a withdrawal or a removed basis is recorded", r.Action)
		}
		keys := []*vault.ContactKey{nil}
		if needsKeys(rs) {
			if keys[0], err = db.contactKey(ctx, ws, contactID); err != nil {
				return err
			}
		}
		events, err = db.appendEvents(ctx, tx, db.inserter(tx), false, a, []int64{contactID}, keys, rs, purposes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return events[0], nil
}

// RecordConsentByFilter appends the event for every contact the filter
// matches, in one transaction, and returns for how many; a grant or an
// assigned basis skips the restricted contacts, and a basis for direct
// marketing those who objected to it, and counts them.
func (db *DB) RecordConsentByFilter(ctx context.Context, f custos.ContactFilter, r custos.ConsentRequest) (n, skipped int64, err error) {
	a, err := actor(ctx)
	if err != nil {
		return 0, 0, err
	}
	ws := a.WorkspaceID
	rs := []custos.ConsentRequest{r}
	purposes, err := db.consentPurposes(ctx, ws, rs, db.Now())
	if err != nil {
		return 0, 0, err
	}
	ids, err := db.contactIDs(ctx, ws, f)
	if err != nil {
		return 0, 0, err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(ids); start += 5000 {
			live, s, err := db.liveIDs(ctx, tx, ws, ids[start:min(start+5000, len(ids))], r.Action.Permits())
			if err != nil {
				return err
			}
			if assignsMarketingBasis(rs, purposes) {
				objected, err := db.objected(ctx, tx, ws, live)
				if err != nil {
					return err
				}
				live = slices.DeleteFunc(live, func(id int64) bool {
					if objected[id] {
						s = append(s, id)
					}
					return objected[id]
				})
			}
			skipped += int64(len(s))
			keys := make([]*vault.ContactKey, len(live))
			if needsKeys(rs) {
				m, err := db.contactKeys(ctx, ws, live)
				if err != nil {
					return err
				}
				for i, id := range live {
					keys[i] = m[id]
				}
			}
			if _, err := db.appendEvents(ctx, tx, db.inserter(tx), false, a, live, keys, rs, purposes); err != nil {
				return err
			}
			n += int64(len(live))
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	db.grew(int(n), "consent_events", "consent_state")
	return n, skipped, nil
}

const eventColumns = `id, contact_id, purpose_id, purpose_version, action, method, notice_hash, effective_from, meta, actor, created_at`

func scanEvent(row interface{ Scan(...any) error }, k *vault.ContactKey) (*custos.ConsentEvent, error) {
	e := &custos.ConsentEvent{}
	var action, method string
	var notice sql.NullString
	var eff, created int64
	var meta []byte
	if err := row.Scan(&e.ID, &e.ContactID, &e.PurposeID, &e.PurposeVersion, &action, &method, &notice, &eff, &meta, &e.Actor, &created); err != nil {
		return nil, err
	}
	e.Action, e.Method, e.NoticeHash = custos.ConsentAction(action), custos.ConsentMethod(method), notice.String
	e.EffectiveFrom, e.CreatedAt = fromMicros(eff), fromMicros(created)
	if len(meta) > 0 && k != nil {
		p, err := k.Open(metaName(e.ID), meta)
		if err != nil {
			return nil, fmt.Errorf("consent event %d: %w", e.ID, err)
		}
		var m consentMeta
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, err
		}
		e.IP, e.UserAgent, e.Proof = m.IP, m.UserAgent, m.Proof
	}
	return e, nil
}

// ContactConsents returns the contact's state per purpose and its ledger.
func (db *DB) ContactConsents(ctx context.Context, contactID int64) ([]*custos.ConsentState, []*custos.ConsentEvent, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return nil, nil, err
	}
	keys, err := db.contactKeys(ctx, ws, []int64{contactID})
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT purpose_id, purpose_version, action, event_id, since FROM consent_state WHERE workspace_id = ? AND contact_id = ? ORDER BY purpose_id`), ws, contactID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: consent state: %w", err)
	}
	states := []*custos.ConsentState{}
	for rows.Next() {
		s, err := scanState(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		states = append(states, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	events, err := db.events(ctx, ws, contactID, keys[contactID], `1 = 1`)
	if err != nil {
		return nil, nil, err
	}
	return states, events, nil
}

func scanState(row interface{ Scan(...any) error }) (*custos.ConsentState, error) {
	s := &custos.ConsentState{}
	var action string
	var since int64
	if err := row.Scan(&s.PurposeID, &s.PurposeVersion, &action, &s.EventID, &since); err != nil {
		return nil, err
	}
	s.Action, s.Since = custos.ConsentAction(action), fromMicros(since)
	return s, nil
}

// events returns the contact's ledger rows matching cond, oldest first.
func (db *DB) events(ctx context.Context, ws, contactID int64, k *vault.ContactKey, cond string, args ...any) ([]*custos.ConsentEvent, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+eventColumns+` FROM consent_events WHERE workspace_id = ? AND contact_id = ? AND `+cond+` ORDER BY id`),
		append([]any{ws, contactID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: consent events: %w", err)
	}
	defer rows.Close()
	out := []*custos.ConsentEvent{}
	for rows.Next() {
		e, err := scanEvent(rows, k)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Permission decides whether the contact may be processed for the purpose.
func (db *DB) Permission(ctx context.Context, contactID, purposeID int64, at *time.Time) (*custos.Decision, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	row, err := db.findContactRow(ctx, db.read, ws, contactID)
	if err != nil {
		return nil, err
	}
	status, last := custos.ContactStatus(row.status), fromMicros(row.lastA)
	if at == nil {
		p, err := db.findPurpose(ctx, db.read, ws, purposeID)
		if err != nil {
			return nil, err
		}
		s, err := scanState(db.read.QueryRowContext(ctx, db.q(`SELECT purpose_id, purpose_version, action, event_id, since FROM consent_state
			WHERE workspace_id = ? AND contact_id = ? AND purpose_id = ?`), ws, contactID, purposeID))
		if errors.Is(err, sql.ErrNoRows) {
			s = nil
		} else if err != nil {
			return nil, fmt.Errorf("store: consent state: %w", err)
		}
		d := custos.Decide(status, p, s, last, db.Now())
		return &d, nil
	}
	// As things stood then: the contact's status and last activity from
	// its history, the purpose version in force, the events recorded.
	if status, last, err = db.contactAt(ctx, ws, row, *at); err != nil {
		return nil, err
	}
	p, err := db.purposeAt(ctx, db.read, ws, purposeID, micros(*at))
	if err != nil {
		return nil, err
	}
	events, err := db.events(ctx, ws, contactID, nil, `purpose_id = ? AND created_at <= ?`, purposeID, micros(*at))
	if err != nil {
		return nil, err
	}
	d := custos.Decide(status, p, custos.Fold(events)[purposeID], last, *at)
	return &d, nil
}

// contactAt returns the contact's status and last activity as they stood
// at the time, from its change history: the status a later change replaced,
// and the last change made by then.
func (db *DB) contactAt(ctx context.Context, ws int64, r *contactRow, at time.Time) (custos.ContactStatus, time.Time, error) {
	status, last := custos.ContactStatus(r.status), fromMicros(r.created)
	k, err := db.contactKey(ctx, ws, r.id)
	if err != nil {
		return status, last, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, at, sealed FROM contact_changes WHERE workspace_id = ? AND contact_id = ? ORDER BY id`), ws, r.id)
	if err != nil {
		return status, last, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, when int64
		var sealed []byte
		if err := rows.Scan(&id, &when, &sealed); err != nil {
			return status, last, err
		}
		if t := fromMicros(when); !t.After(at) {
			last = t
			continue
		}
		p, err := k.Open("history", sealed)
		if err != nil {
			return status, last, fmt.Errorf("store: history %d: %w", id, err)
		}
		var ch custos.Change
		if err := json.Unmarshal(p, &ch); err != nil {
			return status, last, err
		}
		if old, ok := ch.Old.(string); ok && ch.Field == "status" {
			return custos.ContactStatus(old), last, nil // the first change after: what it replaced
		}
	}
	return status, last, rows.Err()
}

// hasExplicitConsent reports whether the contact holds a consent in force
// for one of the purposes.
func (db *DB) hasExplicitConsent(ctx context.Context, tx *sql.Tx, ws, contactID int64, purposeIDs []int64) (bool, error) {
	now := db.Now()
	for _, pid := range purposeIDs {
		s, err := scanState(tx.QueryRowContext(ctx, db.q(`SELECT purpose_id, purpose_version, action, event_id, since FROM consent_state
			WHERE workspace_id = ? AND contact_id = ? AND purpose_id = ?`), ws, contactID, pid))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return false, err
		}
		p, err := db.findPurpose(ctx, tx, ws, pid)
		if err != nil {
			return false, err
		}
		if s.Action == custos.ActionGrant && custos.Decide(custos.StatusActive, p, s, time.Time{}, now).Allowed {
			return true, nil
		}
	}
	return false, nil
}

// ObjectToMarketing ends, in one transaction, every consent and basis the
// contact holds for a purpose of direct marketing (Art. 21(2)).
func (db *DB) ObjectToMarketing(ctx context.Context, contactID int64) ([]*custos.ConsentEvent, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var events []*custos.ConsentEvent
	err = db.tx(ctx, func(tx *sql.Tx) (err error) {
		events, err = db.objectToMarketing(ctx, tx, a, contactID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// objectToMarketing records the objection inside tx.
func (db *DB) objectToMarketing(ctx context.Context, tx *sql.Tx, a custos.Actor, contactID int64) ([]*custos.ConsentEvent, error) {
	ws := a.WorkspaceID
	if _, err := db.lockContact(ctx, tx, ws, contactID); err != nil {
		return nil, err
	}
	// Remembered even when there is nothing to end: no basis may be
	// assigned for direct marketing afterwards (Art. 21(3)).
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO contact_objections (workspace_id, contact_id, objected_at, actor) VALUES (?, ?, ?, ?)
		ON CONFLICT (workspace_id, contact_id) DO UPDATE SET objected_at = excluded.objected_at, actor = excluded.actor`),
		ws, contactID, micros(db.Now()), a.String()); err != nil {
		return nil, fmt.Errorf("store: record objection: %w", err)
	}
	// The contact's states that allow a purpose whose current version
	// is direct marketing.
	rows, err := tx.QueryContext(ctx, db.q(`SELECT s.purpose_id, s.action FROM consent_state s
		JOIN purposes p ON p.workspace_id = s.workspace_id AND p.id = s.purpose_id
		JOIN purpose_versions v ON v.workspace_id = p.workspace_id AND v.purpose_id = p.id AND v.version = p.current_version
		WHERE s.workspace_id = ? AND s.contact_id = ? AND v.marketing AND s.action IN (?, ?) ORDER BY s.purpose_id`),
		ws, contactID, string(custos.ActionGrant), string(custos.ActionAssignBasis))
	if err != nil {
		return nil, fmt.Errorf("store: marketing consents: %w", err)
	}
	var reqs []custos.ConsentRequest
	for rows.Next() {
		r := custos.ConsentRequest{Action: custos.ActionWithdraw, Method: custos.MethodObjection}
		var action string
		if err := rows.Scan(&r.PurposeID, &action); err != nil {
			rows.Close()
			return nil, err
		}
		if custos.ConsentAction(action) == custos.ActionAssignBasis {
			r.Action = custos.ActionRemoveBasis
		}
		reqs = append(reqs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	} else if len(reqs) == 0 {
		return []*custos.ConsentEvent{}, nil
	}
	purposes := make(map[int64]*custos.Purpose, len(reqs))
	for _, r := range reqs {
		if purposes[r.PurposeID], err = db.findPurpose(ctx, tx, ws, r.PurposeID); err != nil {
			return nil, err
		}
	}
	return db.appendEvents(ctx, tx, db.inserter(tx), false, a, []int64{contactID}, []*vault.ContactKey{nil}, reqs, purposes)
}
