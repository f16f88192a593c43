package custos

import "context"

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
