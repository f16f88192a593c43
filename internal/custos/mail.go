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
