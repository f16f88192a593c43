package custos

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// FormField is a contact field a form shows. The e-mail address is always
// shown and always required.
type FormField struct {
	Field    string `json:"field"` // the key of a contact field
	Required bool   `json:"required"`
}

// FormPurpose is a purpose a form asks consent for, as an unticked
// checkbox with its wording. Exactly one is the form's main purpose.
type FormPurpose struct {
	PurposeID  int64  `json:"purpose_id"`
	Main       bool   `json:"main"`
	Notice     string `json:"notice"`      // the checkbox's wording
	NoticeHash string `json:"notice_hash"` // its notice version, set by the server
}

// Form is a public sign-up form. Every change stores a new version; the
// versions stay, as proof of what each person saw.
type Form struct {
	ID       int64         `json:"id"`
	Version  int           `json:"version"`
	Name     string        `json:"name"`
	Language string        `json:"language"` // en or pl
	Fields   []FormField   `json:"fields"`
	Purposes []FormPurpose `json:"purposes"`
	// InformationClause is the information of GDPR Art. 13 shown under the
	// form; InformationClauseHash is its notice version.
	InformationClause     string  `json:"information_clause"`
	InformationClauseHash string  `json:"information_clause_hash"`
	PrivacyPolicyURL      string  `json:"privacy_policy_url"`
	ListIDs               []int64 `json:"list_ids"`
	// RedirectURL is where a browser goes after submitting: one of the
	// server's allow-listed addresses exactly, or empty for our own page.
	RedirectURL string     `json:"redirect_url"`
	ArchivedAt  *time.Time `json:"archived_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Form languages: the languages of the message catalog.
var FormLanguages = []string{"en", "pl"}

// Limits on forms.
const (
	MaxFormFields   = 30
	MaxFormPurposes = 20
	MaxFormLists    = 50
	MaxURL          = 2000
)

// Validate checks what can be checked without the store: the store checks
// that the fields, purposes and lists exist. It puts the e-mail field
// first, required, when the form does not name it.
func (f *Form) Validate() error {
	if err := validateNameDescription(&f.Name, ""); err != nil {
		return err
	}
	if f.Language == "" {
		f.Language = "en"
	}
	if f.Language != "en" && f.Language != "pl" {
		return Invalid("language", "must be en or pl")
	}
	if len(f.Fields) > MaxFormFields {
		return Invalid("fields", "at most %d fields", MaxFormFields)
	}
	seen := map[string]bool{}
	hasEmail := false
	for i := range f.Fields {
		ff := &f.Fields[i]
		if err := CheckText("fields.field", ff.Field); err != nil {
			return err
		}
		if ff.Field == "" {
			return Invalid("fields.field", "is required")
		} else if seen[ff.Field] {
			return Invalid("fields.field", "%q is named twice", ff.Field)
		}
		seen[ff.Field] = true
		if ff.Field == "email" {
			hasEmail, ff.Required = true, true
		}
	}
	if !hasEmail {
		f.Fields = append([]FormField{{Field: "email", Required: true}}, f.Fields...)
	}
	if len(f.Purposes) == 0 {
		return Invalid("purposes", "a form asks consent for at least its main purpose")
	} else if len(f.Purposes) > MaxFormPurposes {
		return Invalid("purposes", "at most %d purposes", MaxFormPurposes)
	}
	mains := 0
	purposes := map[int64]bool{}
	for i := range f.Purposes {
		p := &f.Purposes[i]
		if p.PurposeID <= 0 {
			return Invalid("purposes.purpose_id", "is required")
		} else if purposes[p.PurposeID] {
			return Invalid("purposes.purpose_id", "purpose %d is named twice", p.PurposeID)
		}
		purposes[p.PurposeID] = true
		if p.Main {
			mains++
		}
		p.Notice = strings.TrimSpace(p.Notice)
		if err := checkWording("purposes.notice", p.Notice); err != nil {
			return err
		}
		p.NoticeHash = NoticeHash(p.Notice)
	}
	if mains != 1 {
		return Invalid("purposes.main", "exactly one purpose must be the main one")
	}
	f.InformationClause = strings.TrimSpace(f.InformationClause)
	if err := checkWording("information_clause", f.InformationClause); err != nil {
		return err
	}
	f.InformationClauseHash = NoticeHash(f.InformationClause)
	if err := checkHTTPURL("privacy_policy_url", f.PrivacyPolicyURL, true); err != nil {
		return err
	}
	if err := checkHTTPURL("redirect_url", f.RedirectURL, false); err != nil {
		return err
	}
	if len(f.ListIDs) > MaxFormLists {
		return Invalid("list_ids", "at most %d lists", MaxFormLists)
	}
	lists := map[int64]bool{}
	for _, id := range f.ListIDs {
		if id <= 0 || lists[id] {
			return Invalid("list_ids", "list ids must be positive and named once")
		}
		lists[id] = true
	}
	return nil
}

// checkWording checks a notice wording a form shows.
func checkWording(field, s string) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	if s == "" {
		return Invalid(field, "is required")
	} else if len(s) > 20000 {
		return Invalid(field, "must be at most 20000 bytes")
	}
	return nil
}

// checkHTTPURL checks an absolute http(s) address.
func checkHTTPURL(field, s string, required bool) error {
	if s == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if err := CheckText(field, s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > MaxURL || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(s, " \t\r\n\"'<>\\") || !utf8.ValidString(s) {
		return Invalid(field, "must be an absolute http:// or https:// address")
	}
	return nil
}

// FormUpdate changes a form; every change makes a new version. Nil fields
// stay as they are.
type FormUpdate struct {
	Name              *string        `json:"name"`
	Language          *string        `json:"language"`
	Fields            *[]FormField   `json:"fields"`
	Purposes          *[]FormPurpose `json:"purposes"`
	InformationClause *string        `json:"information_clause"`
	PrivacyPolicyURL  *string        `json:"privacy_policy_url"`
	ListIDs           *[]int64       `json:"list_ids"`
	RedirectURL       *string        `json:"redirect_url"`
}

// Apply returns f with the update's fields set, unvalidated.
func (u FormUpdate) Apply(f Form) Form {
	if u.Name != nil {
		f.Name = *u.Name
	}
	if u.Language != nil {
		f.Language = *u.Language
	}
	if u.Fields != nil {
		f.Fields = *u.Fields
	}
	if u.Purposes != nil {
		f.Purposes = *u.Purposes
	}
	if u.InformationClause != nil {
		f.InformationClause = *u.InformationClause
	}
	if u.PrivacyPolicyURL != nil {
		f.PrivacyPolicyURL = *u.PrivacyPolicyURL
	}
	if u.ListIDs != nil {
		f.ListIDs = *u.ListIDs
	}
	if u.RedirectURL != nil {
		f.RedirectURL = *u.RedirectURL
	}
	return f
}

// FormService manages sign-up forms in the actor's workspace.
type FormService interface {
	// CreateForm validates f and stores version 1. EINVALID names the
	// field at fault, including unknown fields, purposes that do not rest
	// on consent, and unknown lists.
	CreateForm(ctx context.Context, f *Form) error
	// FindForm returns the current version, or ENOTFOUND.
	FindForm(ctx context.Context, id int64) (*Form, error)
	// FindForms returns the current version of every form, archived ones
	// included, by id.
	FindForms(ctx context.Context) ([]*Form, error)
	// UpdateForm stores a new version and returns it. ECONFLICT for an
	// archived form.
	UpdateForm(ctx context.Context, id int64, u FormUpdate) (*Form, error)
	// ArchiveForm takes a form off line; its versions stay, as proof.
	ArchiveForm(ctx context.Context, id int64) (*Form, error)
	// FormVersions returns every version, oldest first.
	FormVersions(ctx context.Context, id int64) ([]*Form, error)
}

// Submission is what a person sends through a public form, by either entry
// point. The server fills IP, UserAgent and Language.
type Submission struct {
	Fields   map[string]string `json:"fields"`   // contact field key → value; must include email
	Purposes []int64           `json:"purposes"` // the ids of the ticked checkboxes
	// Website is the honeypot: a field people do not see and bots fill.
	Website   string `json:"website"`
	IP        string `json:"-"`
	UserAgent string `json:"-"`
}

// SignupTokenTTL is how long a confirmation link works, and how long an
// unconfirmed sign-up is kept, by default.
const SignupTokenTTL = 7 * 24 * time.Hour

// SignupLimits are the anti-abuse limits of sign-ups.
type SignupLimits struct {
	// MailsPerAddress confirmation mails to one address per AddressWindow.
	MailsPerAddress int
	AddressWindow   time.Duration
}

// ConfirmedSignup is what a confirmation did.
type ConfirmedSignup struct {
	ContactID int64  `json:"contact_id"`
	Created   bool   `json:"created"` // a new contact; false: an existing one got new consents
	Language  string `json:"language"`
	FormID    int64  `json:"form_id"`
}

// PublicForm is a form as its public page needs it: the current version
// and its workspace.
type PublicForm struct {
	WorkspaceID int64
	Form        *Form
	// Labels are the display labels of the form's fields, by key.
	Labels map[string]string
	// Types are the types of the form's fields, by key.
	Types map[string]FieldType
	// Choices are the choices of the form's choice fields, by key.
	Choices map[string][]string
}

// SignupService runs public sign-ups with double opt-in. Its methods are
// called without an actor: the form or the token names the workspace.
type SignupService interface {
	// PublicForm returns the current version of an unarchived form, or
	// ENOTFOUND.
	PublicForm(ctx context.Context, formID int64) (*PublicForm, error)
	// SubmitForm validates s against the form's current version and stores
	// a pending sign-up (not a contact) with the confirmation mail that
	// mail builds from the new token, in one transaction. EINVALID names
	// the field at fault; ERATELIMIT when the address had
	// too many confirmation mails.
	// mail returns the message and the wording it was made from, without
	// the link or anything the person typed, which is kept once as a notice
	// version (kind email) and named in the consents' proof.
	SubmitForm(ctx context.Context, formID int64, s Submission, mail func(to, token, lang string) (*Message, string)) error
	// CheckSignupToken returns the language of the sign-up a confirmation
	// token is for. ENOTFOUND for an unknown or used token, EGONE for an
	// expired one. It changes nothing.
	CheckSignupToken(ctx context.Context, token string) (lang string, err error)
	// ConfirmSignup confirms the sign-up of the token: it creates the
	// contact (or adds consents to the existing one), joins the lists,
	// records the consents with method doi and their proof, and deletes
	// the sign-up and its key. Errors as CheckSignupToken.
	ConfirmSignup(ctx context.Context, token, ip, userAgent string) (*ConfirmedSignup, error)
	// SweepSignups deletes the sign-ups unconfirmed past their expiry, with
	// their keys and mail, and returns how many.
	SweepSignups(ctx context.Context) (int64, error)
}
