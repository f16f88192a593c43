package custos

import (
	"context"
	"regexp"
	"time"
)

// ForgetMode is how a contact is forgotten.
type ForgetMode string

// The forget modes.
const (
	// ForgetErase removes the contact and everything about it.
	ForgetErase ForgetMode = "erase"
	// ForgetAnonymize removes every personal value but keeps a contact
	// row without them, so that statistics still count it.
	ForgetAnonymize ForgetMode = "anonymize"
)

// ForgetRequest asks for a contact to be forgotten.
type ForgetRequest struct {
	Mode      ForgetMode `json:"mode"`
	RequestID string     `json:"request_id"`
	// Suppress keeps a keyed hash of the address, so that the person is
	// not imported, created or signed up again.
	Suppress bool `json:"suppress"`
}

// requestIDRE keeps personal data out of tombstones: a request id is a
// reference, never a name or an address.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{0,100}$`)

// Validate checks the mode and the request reference.
func (r *ForgetRequest) Validate() error {
	if r.Mode != ForgetErase && r.Mode != ForgetAnonymize {
		return Invalid("mode", "must be erase or anonymize")
	}
	if !requestIDRE.MatchString(r.RequestID) {
		return Invalid("request_id", "must be a reference of at most 100 letters, digits, '.', '_', ':' or '-', never personal data")
	}
	return nil
}

// Tombstone records that a contact was forgotten, and is its erasure
// certificate: the request, the time, the mode and how many rows of each
// kind were removed. It holds no personal data.
type Tombstone struct {
	ContactID  int64            `json:"contact_id"`
	Mode       ForgetMode       `json:"mode"`
	RequestID  string           `json:"request_id"`
	Suppressed bool             `json:"suppressed"`
	ErasedAt   time.Time        `json:"erased_at"`
	Removed    map[string]int64 `json:"removed"`
}

// ErasureService forgets contacts in the actor's workspace.
type ErasureService interface {
	// ForgetContact shreds the contact's data key, removes its rows (or,
	// to anonymize, every personal value of its row) and returns its
	// tombstone. It is idempotent: forgetting a forgotten contact returns
	// the tombstone it has. ENOTFOUND for a contact the workspace never had.
	ForgetContact(ctx context.Context, id int64, r ForgetRequest) (*Tombstone, error)
}
