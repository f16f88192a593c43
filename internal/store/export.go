package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/custos/custos/internal/custos"
)

// Tables that hold rows about a contact, as the export covers them. A test
// derives the tables with a contact_id from the schema and fails on any
// that is in neither list.
const (
	// exportedTables feed ExportContact.
	exportedTables = "contacts contact_tags list_members list_leaves consent_events consent_state contact_changes contact_restrictions contact_objections dsr_requests" +
		" contact_activities contact_attachments tracking_events"
	// unexportedTables hold nothing about the person: key material,
	// tombstones without personal data, and the audit log of staff actions
	// (ids, and sealed copies of the changes contact_changes exports).
	unexportedTables = "contact_keys tombstones audit_log"
	// The outgoing queue names its subject (subject_kind, subject_id), not
	// a contact_id column; a contact's messages are exported with it.
)

// ExportContact gathers everything held about the contact.
func (db *DB) ExportContact(ctx context.Context, id int64) (*custos.Export, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	x := &custos.Export{GeneratedAt: db.Now(), Recipients: []*custos.Processor{}}
	if x.Contact, err = db.FindContactByID(ctx, id); err != nil {
		return nil, err
	}
	defs, err := db.FindFields(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range defs {
		if _, held := x.Contact.Fields[f.Key]; held || f.Key == custos.FieldEmail {
			x.Fields = append(x.Fields, f)
		}
	}
	listIDs, err := db.ContactLists(ctx, id)
	if err != nil {
		return nil, err
	}
	x.Lists = []*custos.List{}
	for _, l := range listIDs {
		list, err := db.findList(ctx, db.read, ws, l)
		if err != nil {
			return nil, err
		}
		x.Lists = append(x.Lists, list)
	}
	if x.ListsLeft, err = db.contactListLeaves(ctx, ws, id); err != nil {
		return nil, err
	}
	if x.Consents, x.Ledger, err = db.ContactConsents(ctx, id); err != nil {
		return nil, err
	}
	var purposeIDs []int64
	var hashes []string
	for _, e := range x.Ledger {
		purposeIDs = append(purposeIDs, e.PurposeID)
		if e.NoticeHash != "" {
			hashes = append(hashes, e.NoticeHash)
		}
		if e.Proof != nil {
			// A double opt-in's information clause and confirmation mail.
			hashes = append(hashes, e.Proof.InformationClause, e.Proof.ConfirmationMail)
		}
	}
	slices.Sort(purposeIDs)
	slices.Sort(hashes)
	x.Purposes, x.Notices = []*custos.Purpose{}, []*custos.Notice{}
	for _, p := range slices.Compact(purposeIDs) {
		versions, err := db.PurposeVersions(ctx, p)
		if err != nil {
			return nil, err
		}
		x.Purposes = append(x.Purposes, versions...)
	}
	processors, err := db.FindProcessors(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range processors {
		if p.Serves(purposeIDs) {
			x.Recipients = append(x.Recipients, p)
		}
	}
	for _, h := range slices.Compact(hashes) {
		n, err := db.findNotice(ctx, db.read, ws, h)
		if err != nil {
			return nil, err
		}
		x.Notices = append(x.Notices, n)
	}
	if x.Requests, err = db.contactRequests(ctx, ws, id); err != nil {
		return nil, err
	}
	x.History = []*custos.Change{}
	for before := int64(0); x.Contact.Status != custos.StatusAnonymized; {
		// (An anonymized contact has no history left, nor a key to read it.)
		page, next, err := db.ContactHistory(ctx, id, before, custos.MaxLimit)
		if err != nil {
			return nil, err
		}
		x.History = append(x.History, page...)
		if next == 0 {
			break
		}
		before = next
	}
	if x.Restrictions, err = db.ContactRestrictions(ctx, id); err != nil {
		return nil, err
	}
	var objected int64
	if err := db.read.QueryRowContext(ctx, db.q(`SELECT objected_at FROM contact_objections WHERE workspace_id = ? AND contact_id = ?`), ws, id).Scan(&objected); err == nil {
		t := fromMicros(objected)
		x.ObjectedAt = &t
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err := db.exportActivities(ctx, x, id); err != nil {
		return nil, err
	}
	if x.Attachments, err = db.ContactAttachments(ctx, id); err != nil {
		return nil, err
	}
	if err := db.exportTracking(ctx, x, ws, id); err != nil {
		return nil, err
	}
	if x.Messages, err = db.contactMessages(ctx, ws, id); err != nil {
		return nil, err
	}
	x.Content = func(attachmentID int64) ([]byte, error) {
		_, content, err := db.AttachmentContent(ctx, id, attachmentID)
		return content, err
	}
	// Audited: a failed entry fails the export.
	if err := db.auditTx(ctx, a, custos.AuditContactExport, id, ""); err != nil {
		return nil, err
	}
	return x, nil
}
