package custos

import (
	"context"
	"time"
)

// Message is one e-mail Custos sends: a confirmation, a verification link.
type Message struct {
	To      string // one address, normalised
	Subject string
	Text    string // the plain-text body
	HTML    string // an optional HTML alternative
	// Ref names what the message is about, without personal data
	// ("contact-12", "dsr-3"), so that a stored copy (the outbox) can be
	// found and removed when that contact is forgotten.
	Ref string
	// Transactional marks a message the person asked for, or one the law
	// requires (their own preference link, the notice before a restriction
	// is lifted). Only such a message may go to a contact whose processing
	// is restricted (Art. 18); any other is refused.
	Transactional bool
}

// SentMessage is a message to a contact as the outgoing queue keeps it,
// sealed under the contact's key until the contact is forgotten: what
// the person was sent, and when.
type SentMessage struct {
	ID       int64      `json:"id"`
	Status   string     `json:"status"` // queued, sending, sent, failed
	QueuedAt time.Time  `json:"queued_at"`
	DoneAt   *time.Time `json:"done_at"` // when it was sent, or failed for good
	To       string     `json:"to"`
	Subject  string     `json:"subject"`
	Text     string     `json:"text"`
	HTML     string     `json:"html,omitempty"`
}

// MailQueueService queues mail in the persisted outgoing queue, which a
// worker delivers (retried, surviving a crash).
type MailQueueService interface {
	// QueueContactMail queues a message to a contact of the actor's
	// workspace, sealed under the contact's key. ENOTFOUND for a contact
	// not in the workspace; EGONE for a forgotten one; ERESTRICTED for a
	// message that is not Transactional to a contact whose processing is
	// restricted.
	QueueContactMail(ctx context.Context, contactID int64, m *Message) error
}

// Mailer sends messages: over SMTP, or into the outbox directory when no
// SMTP server is configured.
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}

// QueuedMail is a message the outgoing queue hands to a sender: its row id,
// how many times sending it has been tried, this time included, and the
// message itself, opened from its sealed form.
type QueuedMail struct {
	ID       int64
	Attempts int
	Message  Message
}

// The states of a queued message.
const (
	MailQueued  = "queued"  // waiting until its next attempt
	MailSending = "sending" // handed to a sender; queued again at start if the process died
	MailSent    = "sent"    // accepted by the SMTP server (or written to the outbox)
	MailFailed  = "failed"  // refused for good (5xx), or out of attempts
)
