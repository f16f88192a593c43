package custos

import (
	"context"
	"time"
)

// The kinds of timeline entry. Entries at the same time are ordered by
// kind, then by id, newest first.
const (
	TimelineCreated           = "created"            // the contact was created; Source says how
	TimelineChange            = "change"             // a change of its e-mail, tags, status or a field
	TimelineConsent           = "consent"            // a consent ledger event
	TimelineActivity          = "activity"           // a note, task, deal or other activity
	TimelineAttachment        = "attachment"         // a file attached
	TimelineRestriction       = "restriction"        // its processing restricted (Art. 18)
	TimelineRestrictionLifted = "restriction_lifted" // the restriction lifted
)

// TimelineEntry is one thing that happened to a contact. Exactly one of
// the detail members is set, the one its Kind names.
type TimelineEntry struct {
	Kind        string         `json:"kind"`
	ID          int64          `json:"id"` // the id of the object in its kind (the contact's id for created)
	At          time.Time      `json:"at"`
	Actor       string         `json:"actor,omitempty"`
	Source      *Source        `json:"source,omitempty"`
	Change      *Change        `json:"change,omitempty"`
	Consent     *ConsentEvent  `json:"consent,omitempty"`
	Activity    *Activity      `json:"activity,omitempty"`
	Attachment  *Attachment    `json:"attachment,omitempty"`
	Restriction *Restriction   `json:"restriction,omitempty"`
	Event       *TrackingEvent `json:"event,omitempty"`
}

// Redact removes the personal values of the entry, for an actor who may
// not read personal data: what happened, when and by whom stays.
func (e *TimelineEntry) Redact() {
	if e.Change != nil {
		e.Change.Old, e.Change.New = nil, nil
	}
	if e.Consent != nil {
		e.Consent.Redact()
	}
	if e.Activity != nil {
		e.Activity.Title, e.Activity.Body = "", ""
	}
	if e.Attachment != nil {
		e.Attachment.Name = ""
	}
	if e.Restriction != nil {
		e.Restriction.Reason, e.Restriction.LiftReason = "", ""
	}
	if e.Source != nil {
		e.Source.Detail = ""
	}
	if e.Event != nil {
		e.Event.Properties, e.Event.MessageRef = map[string]string{}, ""
	}
}

// TimelineCursor is the position of an entry in a timeline: the next page
// holds the entries after it, newest first.
type TimelineCursor struct {
	At   time.Time
	Kind string
	ID   int64
}

// Before reports whether the entry comes after the cursor in the
// timeline's order (time, kind, id, all descending).
func (c *TimelineCursor) Before(e *TimelineEntry) bool {
	if c == nil {
		return true
	}
	switch {
	case !e.At.Equal(c.At):
		return e.At.Before(c.At)
	case e.Kind != c.Kind:
		return e.Kind < c.Kind
	}
	return e.ID < c.ID
}

// TimelineService answers what happened to a contact.
type TimelineService interface {
	// ContactTimeline returns a page of everything that happened to the
	// contact, newest first: its creation, changes, consent events,
	// activities, attachments, restrictions and tracking events. after is the cursor of
	// the previous page (nil: the first); the cursor of the next page is
	// nil on the last. ENOTFOUND for a contact not in the workspace.
	ContactTimeline(ctx context.Context, contactID int64, after *TimelineCursor, limit int) ([]*TimelineEntry, *TimelineCursor, error)
}
