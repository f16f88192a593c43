package custos

import (
	"context"
	"time"
)

// Export is everything Custos holds about one contact, for an access
// (Art. 15) or portability (Art. 20) request: the values, where they came
// from, every consent with its proof and the wording shown, the purposes
// with their basis and retention, the lists, the change history, the
// restrictions of processing with their reasons, and the data-subject
// requests the person made.
type Export struct {
	GeneratedAt time.Time   `json:"generated_at"`
	Contact     *Contact    `json:"contact"`
	Fields      []*FieldDef `json:"fields"`
	Lists       []*List     `json:"lists"`
	// ListsLeft are the lists the contact was taken off, and when.
	ListsLeft    []*ListLeave    `json:"lists_left"`
	Consents     []*ConsentState `json:"consents"`
	Ledger       []*ConsentEvent `json:"ledger"`
	Purposes     []*Purpose      `json:"purposes"`
	Notices      []*Notice       `json:"notices"`
	History      []*Change       `json:"history"`
	Restrictions []*Restriction  `json:"restrictions"`
	// ObjectedAt is when the person last objected to direct marketing
	// (Art. 21(2)); nil if they never did.
	ObjectedAt *time.Time `json:"objected_to_marketing_at,omitempty"`
	// Recipients are the processors and recipients of the register that
	// serve the purposes the contact's data is processed for.
	Recipients []*Processor  `json:"recipients"`
	Requests   []*DSRRequest `json:"requests"`
	// Activities are the notes, tasks and deals staff recorded, newest first.
	Activities []*Activity `json:"activities"`
	// Attachments are the files attached to the contact (their content is
	// in the zip export, under attachments/).
	Attachments []*Attachment `json:"attachments"`
	// Tracking holds the tracking events stored about the contact, newest first.
	Tracking []*TrackingEvent `json:"tracking"`
	// Messages are the mails sent, or on their way, to the contact,
	// newest first.
	Messages []*SentMessage `json:"messages"`
	// Content reads the content of one of Attachments, for the zip
	// export; the store sets it, and nothing is read until it is called.
	Content func(attachmentID int64) ([]byte, error) `json:"-"`
}

// ExportService answers access requests in the actor's workspace.
type ExportService interface {
	// ExportContact gathers everything held about the contact. ENOTFOUND
	// for a contact not in the workspace, EGONE for one whose key is gone.
	ExportContact(ctx context.Context, id int64) (*Export, error)
}

// ListLeave records that a contact left a list (unsubscribed, or was taken
// off it): an import or a bulk addition does not put them back.
type ListLeave struct {
	ListID   int64     `json:"list_id"`
	ListName string    `json:"list_name"`
	LeftAt   time.Time `json:"left_at"`
	LeftBy   string    `json:"left_by"`
}
