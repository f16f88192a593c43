package custos

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DSRType is what a data subject asks for (GDPR Art. 15–21).
type DSRType string

// The request types.
const (
	DSRAccess        DSRType = "access"        // Art. 15
	DSRRectification DSRType = "rectification" // Art. 16
	DSRErasure       DSRType = "erasure"       // Art. 17
	DSRRestriction   DSRType = "restriction"   // Art. 18
	DSRPortability   DSRType = "portability"   // Art. 20
	DSRObjection     DSRType = "objection"     // Art. 21
)

// Valid reports whether t is a known request type.
func (t DSRType) Valid() bool {
	switch t {
	case DSRAccess, DSRRectification, DSRErasure, DSRRestriction, DSRPortability, DSRObjection:
		return true
	}
	return false
}

// NeedsVerification reports whether executing a request of this type
// needs the subject's identity verified first: it hands over or destroys
// the subject's data.
func (t DSRType) NeedsVerification() bool {
	return t == DSRAccess || t == DSRPortability || t == DSRErasure
}

// DSRStatus is where a request stands: received → verification_sent →
// verified → completed or rejected. A request may be completed or rejected
// from any open status.
type DSRStatus string

// The request statuses.
const (
	DSRReceived         DSRStatus = "received"
	DSRVerificationSent DSRStatus = "verification_sent"
	DSRVerified         DSRStatus = "verified"
	DSRCompleted        DSRStatus = "completed"
	DSRRejected         DSRStatus = "rejected"
)

// Valid reports whether s is a known status.
func (s DSRStatus) Valid() bool {
	return s.Open() || s == DSRCompleted || s == DSRRejected
}

// Open reports whether a request in status s still awaits its answer.
func (s DSRStatus) Open() bool {
	return s == DSRReceived || s == DSRVerificationSent || s == DSRVerified
}

// DSRExtension records that a request's deadline was extended (Art. 12(3)):
// by how many months in all (at most two), why, by whom and when (the
// latest extension; each one is in the history).
type DSRExtension struct {
	Months int       `json:"months"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// MaxDSRExtension is the most months a deadline may be extended by, in all.
const MaxDSRExtension = 2

// CheckExtension reports whether the request's deadline may be extended by
// months more at now: only while it is open, by at most MaxDSRExtension
// months in all, and only within one month of its receipt, when the person
// must be told of the extension and why (Art. 12(3)). ECONFLICT otherwise.
func (r *DSRRequest) CheckExtension(months int, now time.Time) error {
	had := 0
	if r.Extension != nil {
		had = r.Extension.Months
	}
	switch first := DSRDueAt(r.ReceivedAt, 0); {
	case !r.Status.Open():
		return Errorf(ECONFLICT, "the request is %s; only an open request's deadline can be extended", r.Status)
	case had+months > MaxDSRExtension:
		return &Error{Code: ECONFLICT, Field: "months",
			Message: fmt.Sprintf("a deadline may be extended by %d months in all; this request has %d left", MaxDSRExtension, MaxDSRExtension-had)}
	case now.After(first):
		return &Error{Code: ECONFLICT, Field: "months",
			Message: fmt.Sprintf("a deadline can be extended only within one month of receipt, when the person is told why (Art. 12(3)); that month ended %s", first.Format(time.DateOnly))}
	}
	return nil
}

// Limits on the free text of requests.
const (
	MaxDSRReason = 1000
	MaxDSRNote   = 10000
)

// Validate checks an extension asked for: 1 or 2 months and a reason.
// Whether the total stays within MaxDSRExtension is the store's to check.
func (e *DSRExtension) Validate() error {
	if e.Months < 1 || e.Months > MaxDSRExtension {
		return Invalid("months", "must be 1 or 2")
	}
	e.Reason = strings.TrimSpace(e.Reason)
	return checkDSRText("reason", e.Reason, MaxDSRReason)
}

// checkDSRText checks a required free text of at most max characters.
func checkDSRText(field, s string, max int) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return Invalid(field, "is required")
	} else if utf8.RuneCountInString(s) > max {
		return Invalid(field, "must be at most %d characters", max)
	}
	return nil
}

// ValidateDSRNote checks the text of a note, a completion note or a
// rejection reason, naming field.
func ValidateDSRNote(field, text string) error { return checkDSRText(field, text, MaxDSRNote) }

// DSRNote is a note on a request. Its text is personal data, sealed at
// rest, and erased with the subject.
type DSRNote struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Text string    `json:"text"`
}

// DSREvent is one step in a request's history: who did what, when. It
// holds no personal data, so it stays after the subject is forgotten.
type DSREvent struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// The events of a request's history.
const (
	DSREventReceived         = "received"
	DSREventVerificationSent = "verification_sent"
	DSREventVerified         = "verified"
	DSREventExtended         = "extended"
	DSREventNote             = "note"
	DSREventExecuted         = "executed"
	DSREventCompleted        = "completed"
	DSREventRejected         = "rejected"
)

// DSRActorSubject is who acted when the subject clicked the verification
// link.
const DSRActorSubject = "subject"

// DSRAnswerKind is what a request was answered with.
type DSRAnswerKind string

// The answer kinds.
const (
	DSRAnswerExport      DSRAnswerKind = "export"      // the access or portability export, stored
	DSRAnswerCertificate DSRAnswerKind = "certificate" // the erasure certificate
	DSRAnswerNote        DSRAnswerKind = "note"        // what was done, or why the request was rejected
)

// DSRAnswer is the answer given to a request. The export file itself is
// downloaded on its own; Note is personal data, erased with the subject.
// The certificate holds no personal data and stays.
type DSRAnswer struct {
	Kind        DSRAnswerKind `json:"kind"`
	Certificate *Tombstone    `json:"certificate,omitempty"`
	Format      string        `json:"format,omitempty"`
	Size        int64         `json:"size,omitempty"`
	Note        string        `json:"note,omitempty"`
}

// DSRRequest is a data-subject request in the register: what was asked,
// by whom (an e-mail address, a contact, or both), when it is due, how the
// subject's identity was checked, who acted, and the answer. The e-mail,
// notes and note answer are personal data, sealed at rest under a key of
// the request; when the subject is forgotten that key is shredded and the
// rest stays as evidence that the request was answered, and when.
type DSRRequest struct {
	ID                 int64         `json:"id"`
	Type               DSRType       `json:"type"`
	ContactID          *int64        `json:"contact_id"`
	Email              string        `json:"email"`
	ReceivedAt         time.Time     `json:"received_at"`
	DueAt              time.Time     `json:"due_at"`
	Extension          *DSRExtension `json:"extension"`
	VerificationSentAt *time.Time    `json:"verification_sent_at"`
	VerifiedAt         *time.Time    `json:"verified_at"`
	Status             DSRStatus     `json:"status"`
	// ActedBy is who made the latest change of status.
	ActedBy string `json:"acted_by"`
	// CompletedAt is when the request was completed or rejected.
	CompletedAt *time.Time `json:"completed_at"`
	Answer      *DSRAnswer `json:"answer"`
	// PersonalDataErasedAt is when the request's personal data was erased
	// together with its subject's.
	PersonalDataErasedAt *time.Time `json:"personal_data_erased_at"`
	// Notes and History are filled when one request is read; listings
	// leave them null.
	Notes   []DSRNote  `json:"notes"`
	History []DSREvent `json:"history"`
}

// Validate checks a new request: a known type and a subject, named by an
// e-mail address (normalised here), a contact id, or both.
func (r *DSRRequest) Validate() error {
	if !r.Type.Valid() {
		return Invalid("type", "must be one of access, portability, rectification, erasure, restriction, objection")
	}
	if r.ContactID != nil && *r.ContactID <= 0 {
		return Invalid("contact_id", "must be a positive integer")
	}
	if r.Email != "" {
		e, err := NormalizeEmail("email", r.Email)
		if err != nil {
			return err
		}
		r.Email = e
	} else if r.ContactID == nil {
		return Invalid("email", "name the subject by email, contact_id, or both")
	}
	return nil
}

// Executable reports, as an error, why the request cannot be executed now:
// it is closed, its type has no operation here, its subject's identity is
// not verified (for the types that hand over or destroy data; restriction
// and objection only protect the person), or no contact is linked to it.
func (r *DSRRequest) Executable() error {
	if !r.Status.Open() {
		return Errorf(ECONFLICT, "the request is %s already", r.Status)
	}
	if r.Type == DSRRectification {
		return Errorf(ECONFLICT, "a rectification request has no operation to execute: correct the contact, then record what was done with /complete")
	}
	if r.Type.NeedsVerification() && r.Status != DSRVerified {
		return Errorf(ECONFLICT, "the subject's identity is not verified: send the verification link first, and execute once the subject has confirmed")
	}
	if r.ContactID == nil {
		return Errorf(ECONFLICT, "no contact is linked to the request, so Custos holds nothing to act on: complete it with a note saying so")
	}
	return nil
}

// DSRTokenTTL is how long a verification link stays valid.
const DSRTokenTTL = 7 * 24 * time.Hour

// AddMonths returns t plus n calendar months: the same day of the month,
// or the last day of the target month when that has fewer days. So
// 31 January plus one month is 28 or 29 February, where time.AddDate
// would normalise to 2 or 3 March. The time of day and location stay.
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	// The first of a month never overflows, so its normalisation only
	// carries months into years.
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), hh, mm, ss, t.Nanosecond(), t.Location())
}

// DSRDueAt returns when a request received at received is due: one
// calendar month later (Art. 12(3)), plus the months it was extended by,
// counted from that first due date.
func DSRDueAt(received time.Time, extensionMonths int) time.Time {
	return AddMonths(AddMonths(received, 1), extensionMonths)
}

// DSRFilter selects requests. Every set condition must hold. Results come
// newest first, a page at a time: After is the cursor, the id of the last
// request of the previous page.
type DSRFilter struct {
	Status    *DSRStatus
	Type      *DSRType
	ContactID *int64
	// DueWithin selects open requests due within so many days from now;
	// with Overdue too, those overdue as well.
	DueWithin *int
	// Overdue selects open requests past their due date.
	Overdue bool
	After   int64
	Limit   int
}

// MaxDueWithin bounds the due_within filter, in days.
const MaxDueWithin = 3650

// Validate checks and normalises the filter.
func (f *DSRFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Status != nil && !f.Status.Valid() {
		return Invalid("status", "must be one of received, verification_sent, verified, completed, rejected")
	}
	if f.Type != nil && !f.Type.Valid() {
		return Invalid("type", "must be one of access, portability, rectification, erasure, restriction, objection")
	}
	if f.ContactID != nil && *f.ContactID <= 0 {
		return Invalid("contact_id", "must be a positive integer")
	}
	if f.DueWithin != nil && (*f.DueWithin < 0 || *f.DueWithin > MaxDueWithin) {
		return Invalid("due_within", "must be a number of days between 0 and %d", MaxDueWithin)
	}
	if f.After < 0 {
		return Invalid("cursor", "is not a valid cursor")
	}
	return nil
}

// DSRService keeps the register of data-subject requests in the actor's
// workspace. Methods that change a request record the actor as who acted
// and answer the request as it then is; ENOTFOUND for a request not in the
// workspace, ECONFLICT for a change its status does not allow.
type DSRService interface {
	// CreateDSRRequest validates and registers r, filling in its id, due
	// date, status and who acted. A zero ReceivedAt means now. An e-mail
	// address links the contact that has it, if any. EINVALID for bad
	// input or a contact_id not in the workspace, ECONFLICT for a contact
	// that has been forgotten.
	CreateDSRRequest(ctx context.Context, r *DSRRequest) error
	// FindDSRRequest returns the request with its notes and history.
	FindDSRRequest(ctx context.Context, id int64) (*DSRRequest, error)
	// FindDSRRequests returns a page of requests matching f, newest first,
	// without notes and history, and the cursor of the next page (0 when
	// there is none).
	FindDSRRequests(ctx context.Context, f DSRFilter) ([]*DSRRequest, int64, error)
	// ExtendDSRRequest extends an open request's deadline by e.Months from
	// its first due date. ECONFLICT beyond MaxDSRExtension months in all,
	// or once the month after its receipt has passed (CheckExtension).
	ExtendDSRRequest(ctx context.Context, id int64, e DSRExtension) (*DSRRequest, error)
	// AddDSRNote adds a note. EGONE once the request's personal data has
	// been erased with its subject.
	AddDSRNote(ctx context.Context, id int64, text string) (*DSRRequest, error)
	// SendDSRVerification makes a new verification token (the previous
	// one stops working), calls send with the subject's address and the
	// token, and then records that the link was sent. ECONFLICT for a
	// request that is verified or closed, or whose subject has no address.
	SendDSRVerification(ctx context.Context, id int64, send func(to, token string) error) (*DSRRequest, error)
	// CheckDSRToken reports, changing nothing, the type of the request a
	// verification token is for. It needs no actor. ENOTFOUND for a token
	// that is unknown or used, EGONE for an expired one.
	CheckDSRToken(ctx context.Context, token string) (DSRType, error)
	// VerifyDSRToken marks the request of the token verified and uses the
	// token up. It needs no actor; errors as CheckDSRToken.
	VerifyDSRToken(ctx context.Context, token string) (DSRType, error)
	// AnswerDSRExport stores the export file of a verified access or
	// portability request, sealed, and completes the request.
	AnswerDSRExport(ctx context.Context, id int64, format string, file []byte) (*DSRRequest, error)
	// DSRExportFile returns the stored export of a request and its format.
	// ENOTFOUND when the request has none, EGONE when it was erased with
	// the subject.
	DSRExportFile(ctx context.Context, id int64) (format string, file []byte, err error)
	// EraseDSRSubject forgets the contact of a verified erasure request
	// (request reference "dsr-<id>"), stores the certificate as the answer
	// and completes the request.
	EraseDSRSubject(ctx context.Context, id int64, mode ForgetMode, suppress bool) (*DSRRequest, error)
	// RestrictDSRSubject restricts the contact of a restriction request
	// for the reason and completes the request, in one transaction: on
	// any failure neither has changed.
	RestrictDSRSubject(ctx context.Context, id int64, reason string) (*DSRRequest, error)
	// ObjectDSRSubject records the objection of an objection request's
	// contact to direct marketing (as ObjectToMarketing) and completes the
	// request, in one transaction.
	ObjectDSRSubject(ctx context.Context, id int64) (*DSRRequest, error)
	// CompleteDSRRequest completes an open request with a note of what
	// was done.
	CompleteDSRRequest(ctx context.Context, id int64, note string) (*DSRRequest, error)
	// RejectDSRRequest rejects an open request, giving the reason.
	RejectDSRRequest(ctx context.Context, id int64, reason string) (*DSRRequest, error)
}
