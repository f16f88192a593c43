package custos

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The built-in activity types; any other type matching ActivityTypeRE is a
// free-form one (a call, a meeting, …) with a title and a body.
const (
	ActivityNote = "note" // free text: the body is required
	ActivityTask = "task" // something to do: a title, a due date, done or not
	ActivityDeal = "deal" // a sale in progress: a title, a value and currency, a stage
)

// ActivityTypeRE is the form of an activity type.
var ActivityTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

var (
	currencyRE    = regexp.MustCompile(`^[A-Z]{3}$`)
	dealValueRE   = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,4})?$`)
	dealStageRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	maxActivityTS = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Limits of an activity's text, in characters.
const (
	MaxActivityTitle = 500
	MaxActivityBody  = 20000
)

// Activity is something staff recorded about a contact: a note, a task, a
// deal, or an activity of a free-form type. Title and body may hold
// personal data and are encrypted at rest under the contact's key; the
// type, dates, done flag and the deal's value, currency and stage are kept
// in clear.
type Activity struct {
	ID        int64      `json:"id"`
	ContactID int64      `json:"contact_id"`
	Type      string     `json:"type"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	DueAt     *time.Time `json:"due_at"`  // tasks
	Done      bool       `json:"done"`    // tasks
	DoneAt    *time.Time `json:"done_at"` // tasks: when it was marked done
	Value     string     `json:"value"`   // deals: a decimal such as "1200.50"
	Currency  string     `json:"currency"`
	Stage     string     `json:"stage"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	UpdatedAt time.Time  `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
}

// Validate checks the activity's type and the members its type allows,
// and trims its text.
func (a *Activity) Validate() error {
	if !ActivityTypeRE.MatchString(a.Type) {
		return Invalid("type", "must be note, task, deal or a type of your own: 1-40 lower-case letters, digits or '_', starting with a letter")
	}
	for _, f := range []struct {
		name string
		s    *string
		max  int
	}{{"title", &a.Title, MaxActivityTitle}, {"body", &a.Body, MaxActivityBody}} {
		if err := CheckText(f.name, *f.s); err != nil {
			return err
		}
		*f.s = strings.TrimSpace(*f.s)
		if utf8.RuneCountInString(*f.s) > f.max {
			return Invalid(f.name, "must be at most %d characters", f.max)
		}
	}
	if a.DueAt != nil && (a.DueAt.Year() < 1900 || a.DueAt.After(maxActivityTS)) {
		return Invalid("due_at", "must be a date between 1900 and 9999")
	}
	if a.Type != ActivityTask {
		switch {
		case a.DueAt != nil:
			return Invalid("due_at", "only a task has a due date")
		case a.Done:
			return Invalid("done", "only a task can be done")
		}
	}
	if a.Type != ActivityDeal {
		switch {
		case a.Value != "":
			return Invalid("value", "only a deal has a value")
		case a.Currency != "":
			return Invalid("currency", "only a deal has a currency")
		case a.Stage != "":
			return Invalid("stage", "only a deal has a stage")
		}
	}
	switch a.Type {
	case ActivityNote:
		if a.Body == "" {
			return Invalid("body", "is required for a note")
		}
	case ActivityTask:
		if a.Title == "" {
			return Invalid("title", "is required for a task")
		}
	case ActivityDeal:
		if a.Title == "" {
			return Invalid("title", "is required for a deal")
		}
		if a.Value != "" && !dealValueRE.MatchString(a.Value) {
			return Invalid("value", "must be a decimal number such as 1200.50, as a string")
		}
		if a.Value != "" && a.Currency == "" {
			return Invalid("currency", "is required with a value: an ISO 4217 code such as EUR")
		} else if a.Currency != "" && !currencyRE.MatchString(a.Currency) {
			return Invalid("currency", "must be an ISO 4217 code such as EUR or PLN")
		}
		if a.Stage != "" && !dealStageRE.MatchString(a.Stage) {
			return Invalid("stage", "must be 1-40 lower-case letters, digits or '_', such as proposal or won")
		}
	default:
		if a.Title == "" && a.Body == "" {
			return Invalid("title", "a title or a body is required")
		}
	}
	return nil
}

// ActivityUpdate changes an activity: each member given replaces the
// value, and the result must still be valid for the activity's type. A
// due date can be moved, not removed.
type ActivityUpdate struct {
	Title    *string    `json:"title"`
	Body     *string    `json:"body"`
	DueAt    *time.Time `json:"due_at"`
	Done     *bool      `json:"done"`
	Value    *string    `json:"value"`
	Currency *string    `json:"currency"`
	Stage    *string    `json:"stage"`
}

// Empty reports whether u changes nothing.
func (u ActivityUpdate) Empty() bool {
	return u.Title == nil && u.Body == nil && u.DueAt == nil && u.Done == nil && u.Value == nil && u.Currency == nil && u.Stage == nil
}

// Apply changes a as u says, at now: marking a task done sets DoneAt, and
// marking it not done clears it. The caller validates the result.
func (u ActivityUpdate) Apply(a *Activity, now time.Time) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&a.Title, u.Title)
	set(&a.Body, u.Body)
	set(&a.Value, u.Value)
	set(&a.Currency, u.Currency)
	set(&a.Stage, u.Stage)
	if u.DueAt != nil {
		a.DueAt = u.DueAt
	}
	if u.Done != nil && *u.Done != a.Done {
		a.Done = *u.Done
		if a.Done {
			a.DoneAt = &now
		} else {
			a.DoneAt = nil
		}
	}
}

// ActivityService keeps the activities of contacts in the actor's
// workspace. Every write is refused with ERESTRICTED while the contact's
// processing is restricted (Art. 18), ECONFLICT for an anonymized or
// forgotten contact, and ENOTFOUND for a contact or an activity not in the
// workspace.
type ActivityService interface {
	// CreateActivity validates and stores a for the contact, filling in
	// its id, times and author.
	CreateActivity(ctx context.Context, contactID int64, a *Activity) error
	// ContactActivities returns the contact's activities, newest first, a
	// page at a time (before: the cursor, the id of the last one seen), and
	// the cursor of the next page (0: none).
	ContactActivities(ctx context.Context, contactID, before int64, limit int) ([]*Activity, int64, error)
	// FindActivity returns one activity of the contact.
	FindActivity(ctx context.Context, contactID, id int64) (*Activity, error)
	// UpdateActivity applies u; EINVALID when the result is not valid.
	UpdateActivity(ctx context.Context, contactID, id int64, u ActivityUpdate) (*Activity, error)
	// DeleteActivity removes the activity.
	DeleteActivity(ctx context.Context, contactID, id int64) error
}
