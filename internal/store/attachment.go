package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// What an attachment's name and content are sealed under, bound to its row.
func attachmentName(id int64) string    { return "attachment.name." + strconv.FormatInt(id, 10) }
func attachmentContent(id int64) string { return "attachment.content." + strconv.FormatInt(id, 10) }

// CreateAttachment stores a file of the contact, sealed under its key,
// and with set changes one of its fields in the same transaction.
func (db *DB) CreateAttachment(ctx context.Context, contactID int64, att *custos.Attachment, content []byte, set *custos.FieldSet) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if len(content) > custos.MaxAttachmentSize {
		return &custos.Error{Code: custos.ETOOLARGE, Field: "file", Message: fmt.Sprintf("the file must be at most %d bytes", custos.MaxAttachmentSize)}
	}
	if att.Name, err = custos.NormalizeAttachmentName(att.Name); err != nil {
		return err
	}
	if att.ContentType, err = custos.SniffAttachment(content); err != nil {
		return err
	}
	ws := a.WorkspaceID
	var u custos.ContactUpdate
	if set != nil {
		defs, err := db.fieldMap(ctx, db.read, ws)
		if err != nil {
			return err
		}
		d := defs[set.Key]
		if d == nil || set.Key == custos.FieldEmail {
			return custos.Invalid("set_field", "no such field; define it under /api/v1/fields first")
		}
		v, err := d.Parse("set_value", set.Value)
		if err != nil {
			return err
		}
		u.Fields = map[string]any{set.Key: v}
	}
	insert := func(tx *sql.Tx) error {
		k, err := db.writableContact(ctx, tx, ws, contactID, "file")
		if err != nil {
			return err
		}
		ids, err := db.allocIDs(ctx, tx, "attachments", 1)
		if err != nil {
			return err
		}
		now := db.Now()
		att.ID, att.ContactID, att.Size, att.CreatedAt, att.CreatedBy = ids[0], contactID, int64(len(content)), now, a.String()
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO contact_attachments (workspace_id, id, contact_id, name, content_type, size, content, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ws, att.ID, contactID, k.Seal(attachmentName(att.ID), []byte(att.Name)), att.ContentType, att.Size,
			k.Seal(attachmentContent(att.ID), content), micros(now), att.CreatedBy)
		if err != nil {
			return fmt.Errorf("store: create attachment: %w", err)
		}
		return nil
	}
	if set == nil {
		return db.tx(ctx, insert)
	}
	_, err = db.updateContactWith(ctx, contactID, u, insert)
	return err
}

const attachmentColumns = `id, contact_id, name, content_type, size, created_at, created_by`

func scanAttachment(row interface{ Scan(...any) error }, k *vault.ContactKey, extra ...any) (*custos.Attachment, error) {
	att := &custos.Attachment{}
	var name []byte
	var created int64
	if err := row.Scan(append([]any{&att.ID, &att.ContactID, &name, &att.ContentType, &att.Size, &created, &att.CreatedBy}, extra...)...); err != nil {
		return nil, err
	}
	att.CreatedAt = fromMicros(created)
	plain, err := k.Open(attachmentName(att.ID), name)
	if err != nil {
		return nil, fmt.Errorf("store: attachment %d: %w", att.ID, err)
	}
	att.Name = string(plain)
	return att, nil
}

// ContactAttachments returns the contact's attachments, newest first.
func (db *DB) ContactAttachments(ctx context.Context, contactID int64) ([]*custos.Attachment, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+attachmentColumns+` FROM contact_attachments
		WHERE workspace_id = ? AND contact_id = ? ORDER BY created_at DESC, id DESC`), ws, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: attachments: %w", err)
	}
	defer rows.Close()
	out := []*custos.Attachment{}
	var k *vault.ContactKey
	for rows.Next() {
		if k == nil {
			if k, err = db.contactKey(ctx, ws, contactID); err != nil {
				return nil, err
			}
		}
		att, err := scanAttachment(rows, k)
		if err != nil {
			return nil, err
		}
		out = append(out, att)
	}
	return out, rows.Err()
}

// AttachmentContent returns one attachment of the contact with its content.
func (db *DB) AttachmentContent(ctx context.Context, contactID, id int64) (*custos.Attachment, []byte, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	ws := a.WorkspaceID
	if _, err := db.findContactRow(ctx, db.read, ws, contactID); err != nil {
		return nil, nil, err
	}
	k, err := db.contactKey(ctx, ws, contactID)
	if custos.ErrorCode(err) == custos.EGONE {
		return nil, nil, custos.NotFound("attachment")
	} else if err != nil {
		return nil, nil, err
	}
	var sealed []byte
	att, err := scanAttachment(db.read.QueryRowContext(ctx, db.q(`SELECT `+attachmentColumns+`, content FROM contact_attachments
		WHERE workspace_id = ? AND contact_id = ? AND id = ?`), ws, contactID, id), k, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, custos.NotFound("attachment")
	} else if err != nil {
		return nil, nil, err
	}
	content, err := k.Open(attachmentContent(id), sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("store: attachment %d: %w", id, err)
	}
	return att, content, nil
}

// DeleteAttachment removes an attachment of the contact; not while the
// contact is restricted.
func (db *DB) DeleteAttachment(ctx context.Context, contactID, id int64) error {
	return db.deleteOfContact(ctx, "contact_attachments", "attachment", contactID, id)
}
