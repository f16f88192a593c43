package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/custos/custos/internal/custos"
)

// multipartSlack is what a multipart upload may hold beyond the file: the
// boundaries, part headers and the small text parts.
const multipartSlack = 64 << 10

// attachmentPath reads the contact and attachment ids of the path.
func attachmentPath(r *http.Request) (contactID, id int64, err error) {
	if contactID, err = pathID(r, "id", "contact"); err != nil {
		return 0, 0, err
	}
	id, err = pathID(r, "attachment_id", "attachment")
	return contactID, id, err
}

// listAttachments answers the contact's attachments, newest first.
func (s *server) listAttachments(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	atts, err := s.svc.ContactAttachments(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Attachment]{Data: orEmpty(atts)})
}

// uploadAttachment stores the file of a multipart/form-data body: the
// part "file" (its file name is kept, sealed), and optionally "set_field"
// with "set_value" to set one of the contact's fields in the same
// transaction.
func (s *server) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A contact not in the workspace is 404 before its body is read.
	if _, err := s.svc.FindContactByID(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		s.writeError(w, r, custos.Errorf(custos.EUNSUPPORTED, "The body must be multipart/form-data with the file in the part named file."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, custos.MaxAttachmentSize+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, custos.Errorf(custos.EINVALID, "The multipart body is malformed."))
		return
	}
	var (
		att          custos.Attachment
		content      []byte
		gotFile      bool
		field, value *string
	)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			s.writeError(w, r, uploadError(err))
			return
		}
		name := p.FormName()
		switch name {
		case "file":
			if gotFile {
				s.writeError(w, r, custos.Invalid("file", "give one file"))
				return
			}
			gotFile, att.Name = true, p.FileName()
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(p, custos.MaxAttachmentSize+1))
			if err != nil {
				s.writeError(w, r, uploadError(err))
				return
			} else if n > custos.MaxAttachmentSize {
				s.writeError(w, r, &custos.Error{Code: custos.ETOOLARGE, Field: "file",
					Message: "the file must be at most " + strconv.Itoa(custos.MaxAttachmentSize) + " bytes"})
				return
			}
			content = buf.Bytes()
		case "set_field", "set_value":
			b, err := io.ReadAll(io.LimitReader(p, 4097))
			if err != nil {
				s.writeError(w, r, uploadError(err))
				return
			} else if len(b) > 4096 {
				s.writeError(w, r, custos.Invalid(name, "must be at most 4096 bytes"))
				return
			}
			v := string(b)
			if name == "set_field" {
				field = &v
			} else {
				value = &v
			}
		default:
			s.writeError(w, r, custos.Invalid(name, "is not a known part: give file, and optionally set_field with set_value"))
			return
		}
	}
	if !gotFile {
		s.writeError(w, r, custos.Invalid("file", "is required: the file in a part named file"))
		return
	}
	var set *custos.FieldSet
	switch {
	case field != nil && value != nil:
		set = &custos.FieldSet{Key: *field, Value: *value}
	case field != nil:
		s.writeError(w, r, custos.Invalid("set_value", "is required with set_field"))
		return
	case value != nil:
		s.writeError(w, r, custos.Invalid("set_field", "is required with set_value"))
		return
	}
	if err := s.svc.CreateAttachment(r.Context(), id, &att, content, set); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, &att)
}

// uploadError turns an error reading a multipart body into a domain error.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &custos.Error{Code: custos.ETOOLARGE, Field: "file",
			Message: "the file must be at most " + strconv.Itoa(custos.MaxAttachmentSize) + " bytes"}
	}
	return custos.Errorf(custos.EINVALID, "The multipart body is malformed.")
}

// downloadAttachment answers the file itself, as an attachment the browser
// saves and never renders.
func (s *server) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	contactID, id, err := attachmentPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	att, content, err := s.svc.AttachmentContent(r.Context(), contactID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", att.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}

// deleteAttachment removes an attachment of the contact.
func (s *server) deleteAttachment(w http.ResponseWriter, r *http.Request) {
	contactID, id, err := attachmentPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteAttachment(r.Context(), contactID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
