package custos

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxAttachmentSize is the largest file a contact may have attached, in bytes.
const MaxAttachmentSize = 10 << 20

// MaxAttachmentName is the longest file name kept, in characters.
const MaxAttachmentName = 255

// The content types an attachment may have, decided from its bytes, never
// from what the client says.
const (
	TypePDF  = "application/pdf"
	TypePNG  = "image/png"
	TypeJPEG = "image/jpeg"
	TypeText = "text/plain; charset=utf-8"
	TypeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	TypeODT  = "application/vnd.oasis.opendocument.text"
)

// Attachment is a file attached to a contact: a signed contract, a scan.
// Its name and content are encrypted at rest under the contact's key.
type Attachment struct {
	ID          int64     `json:"id"`
	ContactID   int64     `json:"contact_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// NormalizeAttachmentName checks a file name and returns it without any
// directory part, trimmed.
func NormalizeAttachmentName(s string) (string, error) {
	if err := CheckText("name", s); err != nil {
		return "", err
	}
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "." || s == "..":
		return "", Invalid("name", "the file needs a name")
	case utf8.RuneCountInString(s) > MaxAttachmentName:
		return "", Invalid("name", "must be at most %d characters", MaxAttachmentName)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "", Invalid("name", "must not contain control characters")
	}
	return s, nil
}

// SniffAttachment decides the content type of a file from its bytes and
// refuses, with EUNSUPPORTED, anything but PDF, PNG, JPEG, UTF-8 plain
// text, DOCX and ODT.
func SniffAttachment(b []byte) (string, error) {
	switch t := http.DetectContentType(b); t {
	case TypePDF, TypePNG, TypeJPEG:
		return t, nil
	case TypeText:
		if utf8.Valid(b) {
			return TypeText, nil
		}
	case "application/zip":
		if t := officeType(b); t != "" {
			return t, nil
		}
	}
	return "", &Error{Code: EUNSUPPORTED, Field: "file",
		Message: "the file must be a PDF, PNG, JPEG, UTF-8 plain text, DOCX or ODT document"}
}

// officeType tells a DOCX or ODT document from another zip archive.
func officeType(b []byte) string {
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return ""
	}
	names := map[string]*zip.File{}
	for _, f := range r.File {
		names[f.Name] = f
	}
	if names["[Content_Types].xml"] != nil && names["word/document.xml"] != nil {
		return TypeDOCX
	}
	// ODF puts the media type, stored uncompressed, first.
	if f := names["mimetype"]; f != nil && len(r.File) > 0 && r.File[0] == f && f.UncompressedSize64 < 100 {
		rc, err := f.Open()
		if err != nil {
			return ""
		}
		defer rc.Close()
		var buf [100]byte
		n, _ := rc.Read(buf[:])
		if string(buf[:n]) == TypeODT {
			return TypeODT
		}
	}
	return ""
}

// FieldSet asks for one field of a contact to be set with another change,
// in the same transaction: such as "contract_signed" = true when the signed
// contract is attached. Value is the text form a query or form gives: a
// number, true or false, a date, a choice, or choices separated by commas.
type FieldSet struct {
	Key   string
	Value string
}

// Parse turns the text form of a value into the value of field d, naming
// param in its errors.
func (d *FieldDef) Parse(param, raw string) (any, error) {
	switch d.Type {
	case FieldNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return nil, Invalid(param, "must be a number")
		}
		return d.Normalize(param, n)
	case FieldBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return nil, Invalid(param, "must be true or false")
		}
		return d.Normalize(param, b)
	case FieldMultiChoice:
		parts := strings.Split(raw, ",")
		vs := make([]any, len(parts))
		for i, p := range parts {
			vs[i] = strings.TrimSpace(p)
		}
		return d.Normalize(param, vs)
	}
	return d.Normalize(param, raw)
}

// AttachmentService keeps the files attached to contacts in the actor's
// workspace. ENOTFOUND for a contact or attachment not in the workspace;
// writes are refused with ERESTRICTED while the contact's processing is
// restricted and ECONFLICT for an anonymized or forgotten contact.
type AttachmentService interface {
	// CreateAttachment stores content, at most MaxAttachmentSize bytes
	// (ETOOLARGE), as a file of the contact named a.Name; its type is
	// sniffed (EUNSUPPORTED unless allowed). With set, the contact's field
	// is set in the same transaction and recorded in its history.
	CreateAttachment(ctx context.Context, contactID int64, a *Attachment, content []byte, set *FieldSet) error
	// ContactAttachments returns the contact's attachments, newest first.
	ContactAttachments(ctx context.Context, contactID int64) ([]*Attachment, error)
	// AttachmentContent returns one attachment and its content.
	AttachmentContent(ctx context.Context, contactID, id int64) (*Attachment, []byte, error)
	// DeleteAttachment removes the attachment.
	DeleteAttachment(ctx context.Context, contactID, id int64) error
}
