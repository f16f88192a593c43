package custos

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ContactStatus is where a contact stands.
type ContactStatus string

// The contact statuses.
const (
	StatusPending    ContactStatus = "pending"    // double opt-in not yet confirmed
	StatusActive     ContactStatus = "active"     // may be processed under its consents and bases
	StatusRestricted ContactStatus = "restricted" // Art. 18: stored, not otherwise processed
	StatusAnonymized ContactStatus = "anonymized" // personal data gone; kept for statistics
)

// Valid reports whether s is a known status.
func (s ContactStatus) Valid() bool {
	switch s {
	case StatusPending, StatusActive, StatusRestricted, StatusAnonymized:
		return true
	}
	return false
}

// SourceKind is how a contact's data was acquired.
type SourceKind string

// The source kinds.
const (
	SourceForm   SourceKind = "form"
	SourceImport SourceKind = "import"
	SourceAPI    SourceKind = "api"
	SourceManual SourceKind = "manual"
)

// Source records where a contact came from. It is set once, at creation.
type Source struct {
	Kind   SourceKind `json:"kind"`
	Detail string     `json:"detail,omitempty"`
}

// Validate checks the source kind and the detail's length.
func (s *Source) Validate() error {
	switch s.Kind {
	case SourceForm, SourceImport, SourceAPI, SourceManual:
	default:
		return Invalid("source.kind", "must be one of form, import, api, manual")
	}
	if err := CheckText("source.detail", s.Detail); err != nil {
		return err
	}
	if utf8.RuneCountInString(s.Detail) > 500 {
		return Invalid("source.detail", "must be at most 500 characters")
	}
	return nil
}

// Contact is a person in the customer base. Email and the values of
// encrypted fields are plaintext here and ciphertext at rest.
type Contact struct {
	ID         int64          `json:"id"`
	Email      string         `json:"email"`
	Status     ContactStatus  `json:"status"`
	Source     Source         `json:"source"`
	Monitoring bool           `json:"monitoring"`
	Tags       []string       `json:"tags"`
	Fields     map[string]any `json:"fields"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	// InformationDue is set when the data was not obtained from the person
	// (an import declared so): the date by which they must be told (Art. 14).
	InformationDue *time.Time `json:"information_due,omitempty"`
}

// Limits on contacts.
const (
	MaxTags   = 100
	MaxTagLen = 64
	MaxEmail  = 254
)

// NormalizeEmail validates an address and returns it trimmed and in lower
// case, the form in which uniqueness is decided.
func NormalizeEmail(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Invalid(field, "is not valid UTF-8")
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Invalid(field, "is required")
	} else if len(s) > MaxEmail {
		return "", Invalid(field, "must be at most %d characters", MaxEmail)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Invalid(field, "is not a valid e-mail address")
	}
	return s, nil
}

// NormalizeTags trims, de-duplicates and sorts tags, and checks their number
// and length.
func NormalizeTags(field string, tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, Invalid(field, "at most %d tags", MaxTags)
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if err := CheckText(field, t); err != nil {
			return nil, err
		}
		if t == "" || utf8.RuneCountInString(t) > MaxTagLen || !utf8.ValidString(t) {
			return nil, Invalid(field, "each tag must be 1-%d characters", MaxTagLen)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Validate checks the parts of a new contact that need no field
// definitions; the store checks the field values against their definitions.
func (c *Contact) Validate() error {
	email, err := NormalizeEmail("email", c.Email)
	if err != nil {
		return err
	}
	c.Email = email
	if c.Status == "" {
		c.Status = StatusActive
	}
	if c.Status != StatusActive && c.Status != StatusPending {
		return Invalid("status", "a new contact is active or pending")
	}
	if c.Source.Kind == "" {
		c.Source.Kind = SourceAPI
	}
	if err := c.Source.Validate(); err != nil {
		return err
	}
	if c.Tags, err = NormalizeTags("tags", c.Tags); err != nil {
		return err
	}
	if _, ok := c.Fields[FieldEmail]; ok {
		return Invalid("fields.email", "the e-mail address is the contact's top-level email")
	}
	if c.Fields == nil {
		c.Fields = map[string]any{}
	}
	return nil
}

// ContactUpdate changes only what it names. A field given as nil (JSON
// null) is cleared. The source cannot be changed, nor the status: a
// restriction of processing has its own service, RestrictionService, that
// records why and who.
type ContactUpdate struct {
	Email  *string        `json:"email"`
	Tags   *[]string      `json:"tags"`
	Fields map[string]any `json:"fields"`
}

// Validate checks the update's own rules.
func (u *ContactUpdate) Validate() error {
	if u.Email != nil {
		e, err := NormalizeEmail("email", *u.Email)
		if err != nil {
			return err
		}
		u.Email = &e
	}
	if u.Tags != nil {
		t, err := NormalizeTags("tags", *u.Tags)
		if err != nil {
			return err
		}
		u.Tags = &t
	}
	if _, ok := u.Fields[FieldEmail]; ok {
		return Invalid("fields.email", "the e-mail address is the contact's top-level email")
	}
	return nil
}

// Page size limits for listings.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ContactFilter selects contacts. Every set condition must hold. Results
// come newest first, a page at a time: After is the cursor, the id of the
// last contact of the previous page.
type ContactFilter struct {
	ListID        *int64
	Tag           *string
	Status        *ContactStatus
	Email         *string           // exact address
	Fields        map[string]string // field key → value, equality
	Missing       *string           // field key: contacts without a value for it
	Search        string            // fragment of name, company or e-mail
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	UpdatedAfter  *time.Time
	UpdatedBefore *time.Time
	IDs           []int64 // only these contacts (a selection), at most MaxBulkIDs
	// Oldest orders the page oldest first (by creation); the default is
	// newest first. A search's results always come newest first.
	Oldest bool
	After  int64 // cursor: the contacts after this one in the order
	Limit  int
}

// Validate checks and normalises the filter.
func (f *ContactFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Tag != nil {
		if err := CheckText("tag", *f.Tag); err != nil {
			return err
		}
	}
	for k, v := range f.Fields {
		if err := CheckText("field."+k, v); err != nil {
			return err
		}
	}
	if f.Oldest && f.Search != "" {
		return Invalid("sort", "search results come newest first; leave out sort or the search")
	}
	if f.Status != nil && !f.Status.Valid() {
		return Invalid("status", "unknown status %q", *f.Status)
	}
	if f.Email != nil {
		e, err := NormalizeEmail("email", *f.Email)
		if err != nil {
			return err
		}
		f.Email = &e
	}
	f.Search = strings.ToLower(strings.TrimSpace(f.Search))
	if strings.ContainsFunc(f.Search, func(r rune) bool { return r < ' ' }) || !utf8.ValidString(f.Search) {
		return Invalid("q", "must be text without control characters")
	}
	if f.Search != "" && utf8.RuneCountInString(f.Search) < 2 {
		return Invalid("q", "a search needs at least 2 characters")
	} else if len(f.Search) > 200 {
		return Invalid("q", "must be at most 200 characters")
	}
	if f.After < 0 {
		return Invalid("cursor", "is not a valid cursor")
	}
	if len(f.IDs) > MaxBulkIDs {
		return &Error{Code: ETOOMANY, Field: "contact_ids", Message: fmt.Sprintf("at most %d contact ids; use a filter for more", MaxBulkIDs)}
	}
	for _, id := range f.IDs {
		if id <= 0 {
			return Invalid("contact_ids", "must hold positive integers")
		}
	}
	return nil
}

// Change is one field change in a contact's history: who, when, old → new.
// Its values are encrypted at rest under the contact's key.
type Change struct {
	ID    int64     `json:"id"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
	Field string    `json:"field"`
	Old   any       `json:"old"`
	New   any       `json:"new"`
}

// ContactService manages contacts in the actor's workspace.
type ContactService interface {
	// CreateContact validates and stores c, filling in its id and times.
	// ECONFLICT with Existing set when the e-mail is taken; EINVALID for bad
	// values, unknown fields or unknown lists; ECONSENT for a special-category
	// value without an explicit consent.
	CreateContact(ctx context.Context, c *Contact) error
	// CreateContacts is the bulk path: it stores many contacts, each with
	// the given consents, in few transactions. It stops at the first error.
	CreateContacts(ctx context.Context, cs []*Contact, consents []ConsentRequest) error
	// FindContactByID returns the contact, or ENOTFOUND.
	FindContactByID(ctx context.Context, id int64) (*Contact, error)
	// FindContactClear returns the contact without its personal values:
	// no e-mail, only the values of fields classified none, read without
	// opening the rest. ENOTFOUND when there is none.
	FindContactClear(ctx context.Context, id int64) (*Contact, error)
	// FindContacts returns a page of contacts matching f, newest first, and
	// the cursor of the next page (0 when there is none).
	FindContacts(ctx context.Context, f ContactFilter) ([]*Contact, int64, error)
	// UpdateContact applies u and records each changed field in the
	// history. ERESTRICTED, naming the first field u names, for a contact
	// whose processing is restricted.
	UpdateContact(ctx context.Context, id int64, u ContactUpdate) (*Contact, error)
	// ContactHistory returns the contact's field changes, newest first, a
	// page at a time (before: the cursor, the id of the last change seen),
	// or ENOTFOUND for a contact not in the workspace. A change names the
	// contact's email, status or tags, or a field as "fields.<key>".
	ContactHistory(ctx context.Context, id int64, before int64, limit int) ([]*Change, int64, error)
}
