package custos

import (
	"context"
	"time"
)

// Audited actions.
const (
	AuditContactExport = "contact.export"
	AuditContactForget = "contact.forget"
	// AuditWrite is an API request that changed state, and AuditRead one
	// that read personal data; the entry's route says which.
	AuditWrite = "api.write"
	AuditRead  = "api.read"
	// AuditContactChange is a change of a contact's values made apart
	// from an API request's own entry, such as by an import.
	AuditContactChange = "contact.change"
)

// AuditEntry is one line of the audit log: who did what to which object,
// when. It holds ids only, never a personal value in the clear (a
// contact's changed values are sealed under its key, in Diff). Each entry carries the
// hash of the one before it in its workspace, so that a changed, removed or
// reordered entry breaks the chain.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	ContactID *int64    `json:"contact_id"`
	// Detail is a short, non-personal note: an export's format, an
	// erasure's mode and request reference.
	Detail string `json:"detail"`
	// Route is the API request's method and route pattern, such as
	// "PATCH /api/v1/contacts/{id}", and IP its client's address; both
	// empty for what the command line or the system did.
	Route string `json:"route,omitempty"`
	IP    string `json:"ip,omitempty"`
	// Diff is the contact's field changes the entry records, sealed under
	// the contact's key; nil for an entry that changes no contact's values.
	Diff     *AuditDiff `json:"diff,omitempty"`
	PrevHash string     `json:"prev_hash"`
	Hash     string     `json:"hash"`
}

// The states of an audit entry's diff.
const (
	DiffOpen   = "open"   // opened: its changes are given
	DiffSealed = "sealed" // the reader may not read personal data
	DiffErased = "erased" // the contact was forgotten: it cannot be opened
)

// AuditDiff is the personal part of an audit entry: the changes it
// records, given only when State is DiffOpen.
type AuditDiff struct {
	State   string        `json:"state"`
	Changes []AuditChange `json:"changes,omitempty"`
}

// AuditChange is one changed value: a field ("email", "tags", "status",
// "fields.<key>", …) with its old and new value.
type AuditChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	ContactID *int64
	Action    *string
	Actor     *string
	After     *time.Time
	Before    *time.Time
	Cursor    int64 // entries with a sequence number below it
	Limit     int
}

// Validate checks the filter and fills in the default limit.
func (f *AuditFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	for name, s := range map[string]*string{"action": f.Action, "actor": f.Actor} {
		if s != nil {
			if err := CheckText(name, *s); err != nil {
				return err
			}
		}
	}
	return nil
}

// AuditReport is the outcome of checking a workspace's audit chain.
type AuditReport struct {
	Entries int64  `json:"entries"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"` // the first break found
	Seq     int64  `json:"seq,omitempty"`     // where it was found
	// Checkpoints is how many checkpoints kept outside the database the
	// chain was held to: 1 once the workspace has one (only the latest is
	// kept), 0 before.
	Checkpoints int `json:"checkpoints"`
}

// AuditService reads the audit log of the actor's workspace.
type AuditService interface {
	// FindAudit returns the entries matching f, newest first, and the
	// cursor of the next page (0: none).
	FindAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int64, error)
	// VerifyAudit recomputes the workspace's chain and reports the first
	// entry that was changed, removed, reordered or cut off.
	VerifyAudit(ctx context.Context) (*AuditReport, error)
	// AuditRead records that the request of the context (see WithRequest)
	// read personal data; the read must not be answered if this fails.
	AuditRead(ctx context.Context) error
}
