package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/i18n"
)

// Requests are shown in full: every role that manages them may read
// personal data (a test of the permission table holds this), so the
// register needs no redaction.

// dsrCreate is the body of POST /api/v1/dsr-requests.
type dsrCreate struct {
	Type       custos.DSRType `json:"type"`
	Email      string         `json:"email"`
	ContactID  *int64         `json:"contact_id"`
	ReceivedAt *string        `json:"received_at"`
}

// dsrExtend is the body of POST /api/v1/dsr-requests/{id}/extension.
type dsrExtend struct {
	Months int    `json:"months"`
	Reason string `json:"reason"`
}

// dsrNote is the body of POST /api/v1/dsr-requests/{id}/notes.
type dsrNote struct {
	Text string `json:"text"`
}

// dsrComplete is the body of POST /api/v1/dsr-requests/{id}/complete.
type dsrComplete struct {
	Note string `json:"note"`
}

// dsrReject is the body of POST /api/v1/dsr-requests/{id}/reject.
type dsrReject struct {
	Reason string `json:"reason"`
}

// dsrExecute is the body of POST /api/v1/dsr-requests/{id}/execute: the
// export format of an access or portability request, the mode and
// suppression of an erasure.
type dsrExecute struct {
	Format   string            `json:"format"`
	Mode     custos.ForgetMode `json:"mode"`
	Suppress bool              `json:"suppress"`
	Reason   string            `json:"reason"` // of a restriction
}

// misplaced refuses a member of the body that the request's type does not
// take, naming it.
func (b dsrExecute) misplaced(t custos.DSRType) error {
	for _, m := range []struct {
		field string
		set   bool
		types []custos.DSRType
		what  string
	}{
		{"format", b.Format != "", []custos.DSRType{custos.DSRAccess, custos.DSRPortability}, "access and portability"},
		{"mode", b.Mode != "", []custos.DSRType{custos.DSRErasure}, "erasure"},
		{"suppress", b.Suppress, []custos.DSRType{custos.DSRErasure}, "erasure"},
		{"reason", b.Reason != "", []custos.DSRType{custos.DSRRestriction}, "restriction"},
	} {
		if m.set && !slices.Contains(m.types, t) {
			return custos.Invalid(m.field, "is only for %s requests", m.what)
		}
	}
	return nil
}

// dsrQuery lists the query parameters of GET /api/v1/dsr-requests.
var dsrQuery = []string{"status", "type", "contact_id", "due_within", "overdue", "cursor", "limit"}

// listDSRRequests answers a page of the requests matching the query.
func (s *server) listDSRRequests(w http.ResponseWriter, r *http.Request) {
	f, err := dsrFilterFromQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, next, err := s.svc.FindDSRRequests(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.DSRRequest]{Data: orEmpty(rs), NextCursor: encodeCursor(next)})
}

// dsrFilterFromQuery reads a request filter from the query string; every
// error names the parameter at fault.
func dsrFilterFromQuery(r *http.Request) (custos.DSRFilter, error) {
	var f custos.DSRFilter
	q, err := readQuery(r, dsrQuery)
	if err != nil {
		return f, err
	}
	if st := q.str("status"); st != nil {
		status := custos.DSRStatus(*st)
		f.Status = &status
	}
	if t := q.str("type"); t != nil {
		typ := custos.DSRType(*t)
		f.Type = &typ
	}
	if f.ContactID, err = q.id("contact_id"); err != nil {
		return f, err
	}
	if d := q.str("due_within"); d != nil {
		n, err := strconv.Atoi(*d)
		if err != nil || n < 0 || n > custos.MaxDueWithin {
			return f, custos.Invalid("due_within", "must be a number of days between 0 and %d", custos.MaxDueWithin)
		}
		f.DueWithin = &n
	}
	if o := q.str("overdue"); o != nil {
		switch *o {
		case "true":
			f.Overdue = true
		case "false":
		default:
			return f, custos.Invalid("overdue", "must be true or false")
		}
	}
	if f.After, err = q.cursor(); err != nil {
		return f, err
	}
	if f.Limit, err = q.limit(); err != nil {
		return f, err
	}
	return f, f.Validate()
}

// createDSRRequest registers a request.
func (s *server) createDSRRequest(w http.ResponseWriter, r *http.Request) {
	var body dsrCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	received, err := parseTime("received_at", body.ReceivedAt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d := &custos.DSRRequest{Type: body.Type, Email: body.Email, ContactID: body.ContactID}
	if received != nil {
		d.ReceivedAt = *received
	}
	if err := d.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateDSRRequest(r.Context(), d); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, d)
}

// getDSRRequest answers one request with its notes and history.
func (s *server) getDSRRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.FindDSRRequest(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// dsrChange serves a route that decodes a body into a T, validates it,
// and changes the request of the path with it.
func dsrChange[T any](s *server, w http.ResponseWriter, r *http.Request, change func(id int64, body *T) (*custos.DSRRequest, error)) {
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body T
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := change(id, &body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// extendDSRRequest extends a request's deadline by one or two months.
func (s *server) extendDSRRequest(w http.ResponseWriter, r *http.Request) {
	dsrChange(s, w, r, func(id int64, b *dsrExtend) (*custos.DSRRequest, error) {
		e := custos.DSRExtension{Months: b.Months, Reason: b.Reason}
		if err := e.Validate(); err != nil {
			return nil, err
		}
		return s.svc.ExtendDSRRequest(r.Context(), id, e)
	})
}

// addDSRNote adds a note to a request.
func (s *server) addDSRNote(w http.ResponseWriter, r *http.Request) {
	dsrChange(s, w, r, func(id int64, b *dsrNote) (*custos.DSRRequest, error) {
		if err := custos.ValidateDSRNote("text", b.Text); err != nil {
			return nil, err
		}
		return s.svc.AddDSRNote(r.Context(), id, b.Text)
	})
}

// completeDSRRequest completes a request with a note of what was done.
func (s *server) completeDSRRequest(w http.ResponseWriter, r *http.Request) {
	dsrChange(s, w, r, func(id int64, b *dsrComplete) (*custos.DSRRequest, error) {
		if err := custos.ValidateDSRNote("note", b.Note); err != nil {
			return nil, err
		}
		return s.svc.CompleteDSRRequest(r.Context(), id, b.Note)
	})
}

// rejectDSRRequest rejects a request, giving the reason.
func (s *server) rejectDSRRequest(w http.ResponseWriter, r *http.Request) {
	dsrChange(s, w, r, func(id int64, b *dsrReject) (*custos.DSRRequest, error) {
		if err := custos.ValidateDSRNote("reason", b.Reason); err != nil {
			return nil, err
		}
		return s.svc.RejectDSRRequest(r.Context(), id, b.Reason)
	})
}

// executeDSRRequest carries out a request: a verified access or
// portability request stores the export as the answer; a verified erasure
// forgets the contact and stores the certificate; a restriction restricts
// the contact with the reason given; an objection ends every direct
// marketing purpose. A rectification answers 409: the correction is made
// on the contact and recorded with /complete.
func (s *server) executeDSRRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body dsrExecute
	// The body is optional: an access request's defaults need none.
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	d, err := s.svc.FindDSRRequest(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The body is checked before the request's state, so that a client
	// learns of both its mistakes in order.
	a, _ := custos.ActorFrom(ctx)
	if err := body.misplaced(d.Type); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch d.Type {
	case custos.DSRAccess, custos.DSRPortability:
		if body.Format == "" {
			body.Format = "zip"
		}
		if !ExportFormat(body.Format) {
			s.writeError(w, r, custos.Invalid("format", "must be json, csv, xlsx or zip"))
			return
		}
		if !a.Can(custos.PermExport) {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "This API key's role (%s) lacks the export permission.", a.Role))
			return
		}
	case custos.DSRRestriction:
		if body.Reason, err = custos.NormalizeReason(body.Reason); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !a.Can(custos.PermContactsRestrict) {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "This API key's role (%s) lacks the contacts:restrict permission.", a.Role))
			return
		}
	case custos.DSRObjection:
		if !a.Can(custos.PermConsentsWrite) {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "This API key's role (%s) lacks the consents:write permission.", a.Role))
			return
		}
	case custos.DSRErasure:
		fr := custos.ForgetRequest{Mode: body.Mode}
		if err := fr.Validate(); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !a.Can(custos.PermForget) {
			s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "This API key's role (%s) lacks the forget permission.", a.Role))
			return
		}
	}
	if err := d.Executable(); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch d.Type {
	case custos.DSRErasure:
		d, err = s.svc.EraseDSRSubject(ctx, id, body.Mode, body.Suppress)
	case custos.DSRRestriction:
		d, err = s.svc.RestrictDSRSubject(ctx, id, body.Reason)
	case custos.DSRObjection:
		d, err = s.svc.ObjectDSRSubject(ctx, id)
	default:
		d, err = s.answerWithExport(r, d, body.Format)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// answerWithExport exports the request's contact in the format and stores
// the file as the request's answer.
func (s *server) answerWithExport(r *http.Request, d *custos.DSRRequest, format string) (*custos.DSRRequest, error) {
	x, err := s.svc.ExportContact(r.Context(), *d.ContactID)
	if code := custos.ErrorCode(err); code == custos.ENOTFOUND || code == custos.EGONE {
		// Not a 404: the request exists; its contact is gone.
		return nil, custos.Errorf(custos.ECONFLICT, "The request's contact has been forgotten, so there is nothing left to export: complete the request with a note.")
	} else if err != nil {
		return nil, err
	}
	var file bytes.Buffer
	if err := s.exporter.Write(&file, x, format); err != nil {
		return nil, err
	}
	return s.svc.AnswerDSRExport(r.Context(), d.ID, format, file.Bytes())
}

// dsrAnswer downloads the stored export of an access or portability
// request; for a certificate or note answer it shows the answer.
func (s *server) dsrAnswer(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.FindDSRRequest(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if d.Answer == nil {
		s.writeError(w, r, custos.Errorf(custos.ENOTFOUND, "The request has no answer yet."))
		return
	}
	if d.Answer.Kind != custos.DSRAnswerExport {
		s.writeJSON(w, r, http.StatusOK, d.Answer)
		return
	}
	format, file, err := s.svc.DSRExportFile(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", exportTypes[format])
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dsr-%d.%s"`, id, format))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(file); err != nil {
		s.log.DebugContext(r.Context(), "write response", slog.String("error", err.Error()))
	}
}

// sendDSRVerification mails the subject a link to confirm the request.
func (s *server) sendDSRVerification(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := pathID(r, "id", "request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.FindDSRRequest(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.mailer == nil || s.baseURL == "" {
		s.writeError(w, r, custos.Errorf(custos.EUNAVAILABLE, "Mail is not configured on this server, so no verification link can be sent."))
		return
	}
	d, err = s.svc.SendDSRVerification(ctx, id, func(to, token string) error {
		m := &custos.Message{
			To:      to,
			Subject: i18n.T(i18n.Default, "dsr.mail.subject"),
			Text:    verificationText(d, s.baseURL+"/dsr/verify/"+token),
			Ref:     fmt.Sprintf("dsr-%d", id),
			// The subject asked for it (their request): it goes even while
			// their processing is restricted.
			Transactional: true,
		}
		// The persisted queue delivers it, retried, surviving a crash.
		if err := s.svc.QueueStaffMail(ctx, m, time.Now().Add(custos.DSRTokenTTL)); err != nil {
			s.log.WarnContext(ctx, "verification mail not queued", slog.Int64("request", id),
				slog.String("error", strings.ReplaceAll(err.Error(), to, "<subject>")))
			return custos.Errorf(custos.EUNAVAILABLE, "The verification mail could not be queued; try again later.")
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// verificationText is the body of the verification mail. It says what
// the request asks for in words of our own: nothing the requester wrote is
// repeated.
func verificationText(d *custos.DSRRequest, link string) string {
	return i18n.T(i18n.Default, "dsr.mail.body", i18n.T(i18n.Default, "dsr.what."+string(d.Type)),
		d.ID, d.ReceivedAt.Format("2 January 2006"), link, int(custos.DSRTokenTTL.Hours()/24))
}
