package custos

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldType is the type of a contact field's values.
type FieldType string

// The field types.
const (
	FieldText        FieldType = "text"
	FieldNumber      FieldType = "number"
	FieldDate        FieldType = "date"
	FieldBool        FieldType = "bool"
	FieldChoice      FieldType = "choice"
	FieldMultiChoice FieldType = "multi-choice"
)

// Classification says how personal a field's values are, and so whether they
// are encrypted at rest.
type Classification string

// The classifications. Every one but ClassNone is encrypted at rest.
const (
	ClassIdentifier Classification = "identifier" // names one person directly: e-mail, phone
	ClassPersonal   Classification = "personal"   // personal data
	ClassSpecial    Classification = "special"    // GDPR Art. 9: health, beliefs, …
	ClassNone       Classification = "none"       // not personal; stored in clear
)

// Encrypted reports whether values of this classification are encrypted.
func (c Classification) Encrypted() bool { return c != ClassNone }

// Limits on field definitions and values.
const (
	MaxTextValue = 10000 // characters in one text value
	MaxChoices   = 500
	MaxChoiceLen = 200
	MaxFields    = 500 // field definitions per workspace
)

// FieldDef defines a contact field.
type FieldDef struct {
	Key            string         `json:"key"`
	Label          string         `json:"label"`
	Type           FieldType      `json:"type"`
	Classification Classification `json:"classification"`
	Choices        []string       `json:"choices,omitempty"`
	PurposeIDs     []int64        `json:"purpose_ids"`
	BuiltIn        bool           `json:"built_in"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// The built-in fields. E-mail is the contact's Email; the rest live in
// Contact.Fields like any other.
const (
	FieldEmail     = "email"
	FieldPhone     = "phone"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldCompany   = "company"
)

// BuiltInFields returns the field definitions every workspace starts with.
func BuiltInFields() []FieldDef {
	return []FieldDef{
		{Key: FieldEmail, Label: "E-mail", Type: FieldText, Classification: ClassIdentifier, BuiltIn: true},
		{Key: FieldPhone, Label: "Phone", Type: FieldText, Classification: ClassIdentifier, BuiltIn: true},
		{Key: FieldFirstName, Label: "First name", Type: FieldText, Classification: ClassPersonal, BuiltIn: true},
		{Key: FieldLastName, Label: "Last name", Type: FieldText, Classification: ClassPersonal, BuiltIn: true},
		{Key: FieldCompany, Label: "Company", Type: FieldText, Classification: ClassPersonal, BuiltIn: true},
	}
}

// SearchFields returns the fields whose fragments the contact search
// matches, besides the e-mail address.
func SearchFields() []string { return []string{FieldFirstName, FieldLastName, FieldCompany} }

var fieldKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Validate checks a definition before it is created.
func (f *FieldDef) Validate() error {
	if !fieldKeyRE.MatchString(f.Key) {
		return Invalid("key", "must be 1-63 lower-case letters, digits or '_', starting with a letter")
	}
	switch f.Type {
	case FieldText, FieldNumber, FieldDate, FieldBool:
		if len(f.Choices) > 0 {
			return Invalid("choices", "only choice and multi-choice fields have choices")
		}
	case FieldChoice, FieldMultiChoice:
		if len(f.Choices) == 0 {
			return Invalid("choices", "a %s field needs at least one choice", f.Type)
		}
	default:
		return Invalid("type", "must be one of text, number, date, bool, choice, multi-choice")
	}
	switch f.Classification {
	case ClassIdentifier, ClassPersonal, ClassSpecial, ClassNone:
	default:
		return Invalid("classification", "must be one of identifier, personal, special, none")
	}
	if f.Classification == ClassSpecial && len(f.PurposeIDs) == 0 {
		return Invalid("purpose_ids", "a special-category field must serve at least one purpose, whose explicit consent its values need")
	}
	return f.validateMutable()
}

func (f *FieldDef) validateMutable() error {
	if f.Label == "" {
		f.Label = f.Key
	}
	if err := CheckText("label", f.Label); err != nil {
		return err
	}
	if utf8.RuneCountInString(f.Label) > 200 {
		return Invalid("label", "must be at most 200 characters")
	}
	if len(f.Choices) > MaxChoices {
		return Invalid("choices", "at most %d choices", MaxChoices)
	}
	seen := make(map[string]bool, len(f.Choices))
	for _, c := range f.Choices {
		if err := CheckText("choices", c); err != nil {
			return err
		}
		if c == "" || utf8.RuneCountInString(c) > MaxChoiceLen {
			return Invalid("choices", "each choice must be 1-%d characters", MaxChoiceLen)
		} else if seen[c] {
			return Invalid("choices", "choice %q is listed twice", c)
		}
		seen[c] = true
	}
	if f.PurposeIDs == nil {
		f.PurposeIDs = []int64{}
	}
	slices.Sort(f.PurposeIDs)
	f.PurposeIDs = slices.Compact(f.PurposeIDs)
	return nil
}

// FieldUpdate changes a field definition. Key, type and classification are
// fixed once values may exist: changing them would reinterpret stored data.
type FieldUpdate struct {
	Label      *string   `json:"label"`
	Choices    *[]string `json:"choices"`
	PurposeIDs *[]int64  `json:"purpose_ids"`
}

// Apply applies u to f and validates the result.
func (u FieldUpdate) Apply(f *FieldDef) error {
	if u.Label != nil {
		f.Label = *u.Label
	}
	if u.Choices != nil {
		if f.Type != FieldChoice && f.Type != FieldMultiChoice {
			return Invalid("choices", "only choice and multi-choice fields have choices")
		} else if len(*u.Choices) == 0 {
			return Invalid("choices", "a %s field needs at least one choice", f.Type)
		}
		f.Choices = *u.Choices
	}
	if u.PurposeIDs != nil {
		f.PurposeIDs = *u.PurposeIDs
		if f.Classification == ClassSpecial && len(f.PurposeIDs) == 0 {
			return Invalid("purpose_ids", "a special-category field must serve at least one purpose")
		}
	}
	return f.validateMutable()
}

// NormalizeValue checks a raw JSON value against the field's type and returns
// it in canonical form: string for text and date (YYYY-MM-DD), float64 for
// number, bool, string for choice and a sorted []string for multi-choice.
// The field named in errors is "fields.<key>".
func (f *FieldDef) NormalizeValue(raw json.RawMessage) (any, error) {
	name := "fields." + f.Key
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, Invalid(name, "is not valid JSON")
	}
	return f.Normalize(name, v)
}

// Normalize is NormalizeValue for an already decoded value.
func (f *FieldDef) Normalize(name string, v any) (any, error) {
	switch f.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok {
			return nil, Invalid(name, "must be a string")
		}
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) {
			return nil, Invalid(name, "is not valid UTF-8")
		} else if utf8.RuneCountInString(s) > MaxTextValue {
			return nil, Invalid(name, "must be at most %d characters", MaxTextValue)
		} else if strings.ContainsRune(s, 0) {
			return nil, Invalid(name, "must not contain NUL characters")
		}
		if f.Key == FieldPhone {
			return NormalizePhone(name, s)
		}
		return s, nil
	case FieldNumber:
		n, ok := v.(float64)
		if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, Invalid(name, "must be a number")
		}
		return n, nil
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			return nil, Invalid(name, "must be a date as YYYY-MM-DD")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, Invalid(name, "must be a date as YYYY-MM-DD")
		}
		return s, nil
	case FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, Invalid(name, "must be true or false")
		}
		return b, nil
	case FieldChoice:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Choices, s) {
			return nil, Invalid(name, "must be one of the field's choices")
		}
		return s, nil
	case FieldMultiChoice:
		arr, ok := v.([]any)
		if !ok {
			return nil, Invalid(name, "must be a list of the field's choices")
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok || !slices.Contains(f.Choices, s) {
				return nil, Invalid(name, "must be a list of the field's choices")
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	return nil, Invalid(name, "has an unknown type")
}

// NormalizePhone keeps a leading '+' and the digits of a phone number, so
// that "+48 600-100-200" and "+48600100200" are the same number.
func NormalizePhone(name, s string) (string, error) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		default:
			return "", Invalid(name, "must be a phone number: digits, optionally a leading '+'")
		}
	}
	digits := strings.TrimPrefix(b.String(), "+")
	if len(digits) < 3 || len(digits) > 20 {
		return "", Invalid(name, "must be a phone number of 3-20 digits")
	}
	return b.String(), nil
}

// FieldService manages field definitions in the actor's workspace.
type FieldService interface {
	// CreateField creates f. ECONFLICT if the key exists, EINVALID for a bad
	// definition or an unknown purpose.
	CreateField(ctx context.Context, f *FieldDef) error
	// FindField returns the field with the key, or ENOTFOUND.
	FindField(ctx context.Context, key string) (*FieldDef, error)
	// FindFields returns every field, built-ins first.
	FindFields(ctx context.Context) ([]*FieldDef, error)
	// UpdateField changes the field. EINVALID for built-ins' types.
	UpdateField(ctx context.Context, key string, u FieldUpdate) (*FieldDef, error)
	// DeleteField removes a custom field definition; ECONFLICT for a
	// built-in or a field that contacts still hold values of.
	DeleteField(ctx context.Context, key string) error
}
