package custos

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Restriction is one period during which a contact's processing was
// restricted (GDPR Art. 18): the contact's data is stored, not otherwise
// processed, and does not change. It opens when the contact is restricted
// and closes when the restriction is lifted; LiftedAt is nil while it
// lasts. The reasons may hold personal data and are encrypted at rest under
// the contact's key.
type Restriction struct {
	ID           int64      `json:"id"`
	ContactID    int64      `json:"contact_id"`
	RestrictedAt time.Time  `json:"restricted_at"`
	RestrictedBy string     `json:"restricted_by"`
	Reason       string     `json:"reason"`
	LiftedAt     *time.Time `json:"lifted_at"`
	LiftedBy     string     `json:"lifted_by"`
	LiftReason   string     `json:"lift_reason"`
}

// MaxReason is the longest reason a restriction or its lifting may give,
// in characters.
const MaxReason = 1000

// NormalizeReason checks the reason for restricting a contact or lifting
// its restriction, naming the field "reason", and returns it trimmed.
func NormalizeReason(s string) (string, error) {
	if err := CheckText("reason", s); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("reason", "is required: say why (for example, the person contests the accuracy of their data)")
	} else if utf8.RuneCountInString(s) > MaxReason {
		return "", Invalid("reason", "must be at most %d characters", MaxReason)
	}
	return s, nil
}

// RestrictionService restricts the processing of contacts (Art. 18) in the
// actor's workspace. While a contact is restricted its data, tags, lists and
// consent grants stay as they are (ERESTRICTED); withdrawals, export and
// forget still work.
type RestrictionService interface {
	// RestrictContact restricts the contact's processing for the reason,
	// sets its status to restricted and records the change in its history.
	// EINVALID for a bad reason; ENOTFOUND for a contact not in the
	// workspace; ECONFLICT when it is restricted already, anonymized or
	// forgotten.
	RestrictContact(ctx context.Context, id int64, reason string) (*Restriction, error)
	// LiftRestriction ends the contact's restriction for the reason and
	// gives the contact back the status it had before (active, or pending
	// while its double opt-in is unconfirmed). ECONFLICT when the contact
	// is not restricted.
	LiftRestriction(ctx context.Context, id int64, reason string) (*Restriction, error)
	// ContactRestrictions returns the contact's restrictions, newest
	// first, or ENOTFOUND for a contact not in the workspace.
	ContactRestrictions(ctx context.Context, id int64) ([]*Restriction, error)
}
