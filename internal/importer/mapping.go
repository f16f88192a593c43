package importer

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// The targets of the proof columns: when the person consented and the
// wording they agreed to. A row with both carries new proof of consent.
const (
	TargetConsentAt   = "consent_at"
	TargetConsentText = "consent_text"
	TargetIgnore      = "-" // a column deliberately left out
)

// proofNames are the header names recognised as proof columns.
var proofNames = map[string]string{
	"consent_at": TargetConsentAt, "consent at": TargetConsentAt, "consent timestamp": TargetConsentAt,
	"consent_timestamp": TargetConsentAt, "consent date": TargetConsentAt, "consent_date": TargetConsentAt,
	"consent_text": TargetConsentText, "consent text": TargetConsentText, "consent wording": TargetConsentText,
	"consent_wording": TargetConsentText, "consent notice": TargetConsentText,
}

// Mapping says which column goes to which field.
type Mapping struct {
	Header      []string
	Email       int                      // the column of the e-mail address
	Fields      map[int]*custos.FieldDef // column → field
	ConsentAt   int                      // -1 when absent
	ConsentText int                      // -1 when absent
	Unknown     []string                 // columns mapped to nothing: reported, not imported
}

// NewMapping maps the header's columns: explicit (column name → field key,
// or "-" to leave a column out) first, then by field key or label, case
// insensitive. It fails when no column holds the e-mail address, when two
// columns go to one field, or when the explicit map names a column or a
// field that does not exist.
func NewMapping(header []string, explicit map[string]string, defs []*custos.FieldDef) (*Mapping, error) {
	m := &Mapping{Header: header, Email: -1, Fields: map[int]*custos.FieldDef{}, ConsentAt: -1, ConsentText: -1}
	byName := map[string]*custos.FieldDef{}
	for _, d := range defs {
		byName[strings.ToLower(d.Key)] = d
		if _, taken := byName[strings.ToLower(d.Label)]; !taken {
			byName[strings.ToLower(d.Label)] = d
		}
	}
	columns := map[string]int{}
	for i, h := range header {
		columns[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for col := range explicit {
		if _, ok := columns[strings.ToLower(strings.TrimSpace(col))]; !ok {
			return nil, custos.Invalid("map", "the file has no column %q", col)
		}
	}
	used := map[string]string{} // target → column that took it
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		target := ""
		for col, key := range explicit {
			if strings.ToLower(strings.TrimSpace(col)) == name {
				target = key
			}
		}
		if target != "" {
			if target != TargetIgnore && target != TargetConsentAt && target != TargetConsentText && byName[strings.ToLower(target)] == nil {
				return nil, custos.Invalid("map", "column %q: no field has the key %q", h, target)
			}
			if d := byName[strings.ToLower(target)]; d != nil {
				target = d.Key
			}
		} else if p, ok := proofNames[name]; ok {
			target = p
		} else if d := byName[name]; d != nil {
			target = d.Key
		}
		switch target {
		case "":
			m.Unknown = append(m.Unknown, h)
			continue
		case TargetIgnore:
			continue
		}
		if prev, dup := used[target]; dup {
			return nil, custos.Invalid("map", "columns %q and %q both go to %s", prev, h, target)
		}
		used[target] = h
		switch target {
		case custos.FieldEmail:
			m.Email = i
		case TargetConsentAt:
			m.ConsentAt = i
		case TargetConsentText:
			m.ConsentText = i
		default:
			m.Fields[i] = byName[strings.ToLower(target)]
		}
	}
	if m.Email < 0 {
		return nil, custos.Invalid("map", "no column holds the e-mail address; name one email or map it with --map COLUMN=email")
	}
	return m, nil
}

// Proof is a row's proof of consent: when and to what wording.
type Proof struct {
	At   time.Time
	Text string
}

// Contact turns a row into a contact (source and status are the caller's)
// and its proof of consent, or a RowError naming the column at fault. An
// empty cell leaves its field unset. No error repeats a cell's value.
func (m *Mapping) Contact(row *Row) (*custos.Contact, *Proof, *RowError) {
	cell := func(i int) string {
		if i >= 0 && i < len(row.Cells) {
			return strings.TrimSpace(row.Cells[i])
		}
		return ""
	}
	bad := func(i int, reason string) *RowError {
		return &RowError{Line: row.Line, Column: m.Header[i], Reason: reason}
	}
	email, err := custos.NormalizeEmail("email", cell(m.Email))
	if err != nil {
		return nil, nil, bad(m.Email, custos.ErrorMessage(err))
	}
	c := &custos.Contact{Email: email, Fields: map[string]any{}}
	for _, i := range slices.Sorted(maps.Keys(m.Fields)) {
		d := m.Fields[i]
		s := cell(i)
		if s == "" {
			continue
		}
		v, err := convert(d, s)
		if err == nil {
			v, err = d.Normalize("fields."+d.Key, v)
		}
		if err != nil {
			return nil, nil, bad(i, custos.ErrorMessage(err))
		}
		c.Fields[d.Key] = v
	}
	var proof *Proof
	at, text := cell(m.ConsentAt), cell(m.ConsentText)
	if at != "" || text != "" {
		if at == "" {
			return nil, nil, bad(m.ConsentText, "a consent wording needs the consent's time in a consent_at column")
		} else if text == "" {
			return nil, nil, bad(m.ConsentAt, "a consent time needs the wording the person agreed to in a consent_text column")
		}
		t, ok := parseTime(at)
		if !ok {
			return nil, nil, bad(m.ConsentAt, "is not a time (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)")
		}
		proof = &Proof{At: t, Text: text}
	}
	return c, proof, nil
}

// convert reads a cell as the field's type wants it, before Normalize
// checks the value: numbers with a dot or a decimal comma, booleans in the
// usual spellings, choices in any case, multi-choices separated by ';' or
// '|'. A formula-looking text is kept as the text it is.
func convert(d *custos.FieldDef, s string) (any, error) {
	switch d.Type {
	case custos.FieldNumber:
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil {
			return nil, custos.Invalid("fields."+d.Key, "must be a number")
		}
		return f, nil
	case custos.FieldBool:
		switch strings.ToLower(s) {
		case "true", "yes", "y", "1", "tak", "t":
			return true, nil
		case "false", "no", "n", "0", "nie", "f":
			return false, nil
		}
		return nil, custos.Invalid("fields."+d.Key, "must be true or false")
	case custos.FieldDate:
		if t, ok := parseTime(s); ok {
			return t.Format(time.DateOnly), nil
		}
		return nil, custos.Invalid("fields."+d.Key, "must be a date as YYYY-MM-DD")
	case custos.FieldChoice:
		return choice(d, s), nil
	case custos.FieldMultiChoice:
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' })
		out := make([]any, 0, len(parts))
		for _, p := range parts {
			out = append(out, choice(d, strings.TrimSpace(p)))
		}
		return out, nil
	}
	return s, nil
}

// choice returns the field's choice that s names in any case, or s.
func choice(d *custos.FieldDef, s string) string {
	for _, c := range d.Choices {
		if strings.EqualFold(c, s) {
			return c
		}
	}
	return s
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// String describes the mapping for a summary line.
func (m *Mapping) String() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%s→email", m.Header[m.Email]))
	for _, i := range slices.Sorted(maps.Keys(m.Fields)) {
		parts = append(parts, fmt.Sprintf("%s→%s", m.Header[i], m.Fields[i].Key))
	}
	return strings.Join(parts, ", ")
}
