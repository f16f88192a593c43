package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// A preference-centre link token is signed, never stored: its body names
// the workspace, the contact and the expiry, and a MAC under a key derived
// from the master key (vault.PreferenceMAC) seals it. So nothing about
// links is kept that would need forgetting, a link cannot be forged or
// enumerated without the master key, and a link dies with its contact:
// opening one checks that the contact is still there, unforgotten.
//
//	version (1 byte) | workspace (8) | contact (8) | expiry, Unix seconds (8) | MAC (16)
//
// base64url without padding: 55 characters.
const (
	prefsTokenVersion = 1
	prefsBodyLen      = 1 + 8 + 8 + 8
	prefsMACLen       = 16 // 128 bits
)

// errPrefsLink is the one answer for every token that does not work.
var errPrefsLink = custos.NotFound("preference link")

// PreferenceToken returns a signed link token for a live contact.
func (db *DB) PreferenceToken(ctx context.Context, contactID int64) (string, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", err
	}
	if err := db.livePreferenceContact(ctx, a.WorkspaceID, contactID); err != nil {
		if custos.ErrorCode(err) == custos.ENOTFOUND {
			return "", custos.NotFound("contact")
		}
		return "", err
	}
	return makePreferenceToken(db.vault, a.WorkspaceID, contactID, db.Now().Add(custos.PreferenceTokenTTL).Unix()), nil
}

// makePreferenceToken encodes and signs a token.
func makePreferenceToken(v *vault.Vault, ws, contactID, expires int64) string {
	body := make([]byte, prefsBodyLen, prefsBodyLen+prefsMACLen)
	body[0] = prefsTokenVersion
	binary.BigEndian.PutUint64(body[1:], uint64(ws))
	binary.BigEndian.PutUint64(body[9:], uint64(contactID))
	binary.BigEndian.PutUint64(body[17:], uint64(expires))
	return base64.RawURLEncoding.EncodeToString(append(body, v.PreferenceMAC(body)[:prefsMACLen]...))
}

// parsePreferenceToken checks a token's form and MAC and returns what it
// names; ok is false for anything else. Every token has one spelling
// (strict base64), so an accepted token is exactly one that was made.
func parsePreferenceToken(v *vault.Vault, token string) (ws, contactID, expires int64, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(prefsBodyLen+prefsMACLen) {
		return 0, 0, 0, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != prefsBodyLen+prefsMACLen || raw[0] != prefsTokenVersion {
		return 0, 0, 0, false
	}
	body, mac := raw[:prefsBodyLen], raw[prefsBodyLen:]
	if !hmac.Equal(mac, v.PreferenceMAC(body)[:prefsMACLen]) {
		return 0, 0, 0, false
	}
	ws = int64(binary.BigEndian.Uint64(body[1:]))
	contactID = int64(binary.BigEndian.Uint64(body[9:]))
	expires = int64(binary.BigEndian.Uint64(body[17:]))
	return ws, contactID, expires, ws > 0 && contactID > 0
}

// OpenPreferenceToken checks a token's MAC and expiry, then that its
// contact is still live.
func (db *DB) OpenPreferenceToken(ctx context.Context, token string) (ws, contactID int64, err error) {
	ws, contactID, expires, ok := parsePreferenceToken(db.vault, token)
	if !ok || db.Now().Unix() >= expires {
		return 0, 0, errPrefsLink
	}
	if err := db.livePreferenceContact(ctx, ws, contactID); err != nil {
		if code := custos.ErrorCode(err); code == custos.ENOTFOUND || code == custos.ECONFLICT {
			return 0, 0, errPrefsLink
		}
		return 0, 0, err
	}
	return ws, contactID, nil
}

// livePreferenceContact reports, as an error, why the contact has no
// preference centre: ENOTFOUND when it is not in the workspace (or erased),
// ECONFLICT when it is forgotten or being forgotten, or anonymized. A
// contact waiting for its double opt-in has one: the confirmation mail may
// link it, and the person may withdraw or ask for erasure before
// confirming.
func (db *DB) livePreferenceContact(ctx context.Context, ws, contactID int64) error {
	var status string
	err := db.read.QueryRowContext(ctx, db.q(`SELECT status FROM contacts WHERE workspace_id = ? AND id = ?`), ws, contactID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return custos.NotFound("contact")
	} else if err != nil {
		return fmt.Errorf("store: preference contact: %w", err)
	}
	if status == string(custos.StatusAnonymized) {
		return custos.Errorf(custos.ECONFLICT, "the contact is %s and has no preference centre", status)
	}
	if _, err := db.findTombstone(ctx, db.read, ws, contactID); err == nil {
		return custos.Errorf(custos.ECONFLICT, "the contact has been forgotten")
	} else if custos.ErrorCode(err) != custos.ENOTFOUND {
		return err
	}
	return nil
}

// dsrPreferenceDetail is the detail of the history step that records how
// a request made from the preference centre was verified.
const dsrPreferenceDetail = "preference centre: the link mailed to the contact's address was used"

// RequestErasureBySubject registers the contact's erasure request from the
// preference centre, verified, or verifies and returns the open one.
func (db *DB) RequestErasureBySubject(ctx context.Context, contactID int64) (*custos.DSRRequest, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	var id int64
	err = db.read.QueryRowContext(ctx, db.q(`SELECT id FROM dsr_requests WHERE workspace_id = ? AND contact_id = ? AND type = ? AND status IN `+openStatuses+` ORDER BY id LIMIT 1`),
		ws, contactID, string(custos.DSRErasure)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		c, err := db.FindContactByID(ctx, contactID)
		if err != nil {
			return nil, err
		}
		d := &custos.DSRRequest{Type: custos.DSRErasure, ContactID: &contactID, Email: c.Email}
		if err := db.CreateDSRRequest(ctx, d); err != nil {
			return nil, err
		}
		id = d.ID
	} else if err != nil {
		return nil, fmt.Errorf("store: find erasure request: %w", err)
	}
	// Verified in a step of its own: should it fail, the request stays
	// received, and the person's next click verifies it.
	return db.changeDSR(ctx, id, func(tx *sql.Tx, a custos.Actor, r *dsrRow, now time.Time) error {
		if r.status == string(custos.DSRVerified) || !custos.DSRStatus(r.status).Open() {
			return nil
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE dsr_requests SET status = ?, verified_at = ?, acted_by = ?, token_hash = NULL, token_expires_at = NULL
			WHERE workspace_id = ? AND id = ?`), string(custos.DSRVerified), micros(now), a.String(), ws, id); err != nil {
			return err
		}
		return db.dsrEvent(ctx, tx, ws, id, now, a.String(), custos.DSREventVerified, dsrPreferenceDetail, nil)
	})
}
