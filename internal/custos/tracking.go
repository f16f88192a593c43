package custos

import (
	"context"
	"regexp"
	"time"
	"unicode/utf8"
)

// TimelineTracking is the timeline kind of a tracking event.
const TimelineTracking = "tracking"

// EventEmailOpen is the type of the event the tracking pixel records.
const EventEmailOpen = "email_open"

// Limits of a tracking event's properties.
const (
	MaxEventProperties = 20
	MaxEventKey        = 64
	MaxEventValue      = 500
)

// MessageRefRE is the form of a message reference: what a pixel token names
// the message by, such as "campaign-12".
var MessageRefRE = regexp.MustCompile(`^[A-Za-z0-9_-]{0,64}$`)

var eventKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// TrackingEvent is something a contact did that was tracked: an e-mail
// opened, a page visited, a click. It is stored only while the contact's
// monitoring is on and a purpose of the tracking channel permits it; the
// properties and message reference are encrypted at rest under the
// contact's key.
type TrackingEvent struct {
	ID         int64             `json:"id"`
	ContactID  int64             `json:"contact_id"`
	Type       string            `json:"type"`
	At         time.Time         `json:"at"`
	MessageRef string            `json:"message_ref,omitempty"`
	Properties map[string]string `json:"properties"`
	Actor      string            `json:"actor"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Validate checks the event as of now; a zero At becomes now.
func (e *TrackingEvent) Validate(now time.Time) error {
	if e.ContactID <= 0 {
		return Invalid("contact_id", "is required")
	}
	if !ActivityTypeRE.MatchString(e.Type) {
		return Invalid("type", "must be 1-40 lower-case letters, digits or '_', starting with a letter, such as page_view")
	}
	if e.At.IsZero() {
		e.At = now
	} else if e.At.After(now.Add(ClockSkew)) {
		return Invalid("at", "must not be in the future")
	} else if e.At.Before(now.AddDate(-1, 0, 0)) {
		return Invalid("at", "must be within the last year")
	} else if e.At.After(now) {
		e.At = now
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if !MessageRefRE.MatchString(e.MessageRef) {
		return Invalid("message_ref", "must be at most 64 letters, digits, '-' or '_'")
	}
	if len(e.Properties) > MaxEventProperties {
		return Invalid("properties", "at most %d properties", MaxEventProperties)
	}
	for k, v := range e.Properties {
		if !eventKeyRE.MatchString(k) {
			return Invalid("properties", "each key must be 1-64 lower-case letters, digits or '_', starting with a letter")
		}
		if err := CheckText("properties."+k, v); err != nil {
			return err
		} else if utf8.RuneCountInString(v) > MaxEventValue {
			return Invalid("properties."+k, "must be at most %d characters", MaxEventValue)
		}
	}
	if e.Properties == nil {
		e.Properties = map[string]string{}
	}
	return nil
}

// TrackingStats counts the tracking events of a workspace that were
// dropped, never stored: their contact's monitoring was off or no purpose
// of the tracking channel permitted them.
type TrackingStats struct {
	Dropped       int64      `json:"dropped"`
	LastDroppedAt *time.Time `json:"last_dropped_at"`
}

// TrackingService records tracking events in the actor's workspace.
type TrackingService interface {
	// RecordEvent stores e on the contact's timeline when the contact's
	// monitoring is on and a purpose of the tracking channel permits
	// processing it now (Decide); otherwise it counts the event as dropped
	// and stores nothing. It reports whether it stored it. EINVALID for a
	// bad event, ENOTFOUND for a contact not in the workspace.
	RecordEvent(ctx context.Context, e *TrackingEvent) (stored bool, err error)
	// PixelToken returns the token of the tracking pixel of a message to
	// the contact: it names workspace, contact and message, signed with a
	// key derived from the master key.
	PixelToken(ctx context.Context, contactID int64, messageRef string) (string, error)
	// RecordPixel records an e-mail open for the token's contact, as
	// RecordEvent does, acting for the system in the token's workspace.
	// It needs no actor; a token that does not verify is EINVALID.
	RecordPixel(ctx context.Context, token string) error
	// TrackingStats counts the workspace's dropped events.
	TrackingStats(ctx context.Context) (*TrackingStats, error)
}
