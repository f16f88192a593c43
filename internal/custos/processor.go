package custos

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ProcessorKind says how a party receives personal data.
type ProcessorKind string

// The kinds of recipient.
const (
	KindProcessor ProcessorKind = "processor" // acts for the workspace (Art. 28): mail delivery, hosting
	KindRecipient ProcessorKind = "recipient" // another controller the data is disclosed to
)

// Processor is a party personal data is disclosed to: the register of
// sub-processors and recipients that an access request's answer names
// (Art. 15(1)(c)), with where the data goes and under which safeguard.
type Processor struct {
	ID      int64         `json:"id"`
	Name    string        `json:"name"`
	Kind    ProcessorKind `json:"kind"`
	Service string        `json:"service"` // what they do with the data
	// Country is where the data is processed, ISO 3166-1 alpha-2 ("PL").
	Country string `json:"country"`
	// Safeguard is the basis of a transfer outside the EEA, such as
	// "standard contractual clauses" or "adequacy decision".
	Safeguard string `json:"safeguard"`
	// PurposeIDs are the purposes the party serves; empty means all of them.
	PurposeIDs []int64   `json:"purpose_ids"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Validate checks the processor and fills in its defaults.
func (p *Processor) Validate() error {
	p.Name, p.Service, p.Safeguard = strings.TrimSpace(p.Name), strings.TrimSpace(p.Service), strings.TrimSpace(p.Safeguard)
	p.Country = strings.ToUpper(strings.TrimSpace(p.Country))
	for _, f := range []struct {
		name, value string
		max         int
	}{{"name", p.Name, 200}, {"service", p.Service, 1000}, {"safeguard", p.Safeguard, 200}} {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		} else if utf8.RuneCountInString(f.value) > f.max {
			return Invalid(f.name, "must be at most %d characters", f.max)
		}
	}
	if p.Name == "" {
		return Invalid("name", "is required")
	}
	if p.Kind == "" {
		p.Kind = KindProcessor
	} else if p.Kind != KindProcessor && p.Kind != KindRecipient {
		return Invalid("kind", "must be processor or recipient")
	}
	if len(p.Country) != 2 || strings.Trim(p.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return Invalid("country", "must be a two-letter ISO 3166 country code, such as PL")
	}
	if p.PurposeIDs == nil {
		p.PurposeIDs = []int64{}
	}
	for _, id := range p.PurposeIDs {
		if id <= 0 {
			return Invalid("purpose_ids", "must hold purpose ids")
		}
	}
	slices.Sort(p.PurposeIDs)
	p.PurposeIDs = slices.Compact(p.PurposeIDs)
	return nil
}

// Serves reports whether the party receives data processed for any of the
// purposes.
func (p *Processor) Serves(purposes []int64) bool {
	if len(p.PurposeIDs) == 0 {
		return true
	}
	return slices.ContainsFunc(purposes, func(id int64) bool { return slices.Contains(p.PurposeIDs, id) })
}

// ProcessorUpdate changes a processor: only the members given.
type ProcessorUpdate struct {
	Name       *string        `json:"name"`
	Kind       *ProcessorKind `json:"kind"`
	Service    *string        `json:"service"`
	Country    *string        `json:"country"`
	Safeguard  *string        `json:"safeguard"`
	PurposeIDs *[]int64       `json:"purpose_ids"`
}

// Apply applies u to p and validates the result.
func (u ProcessorUpdate) Apply(p *Processor) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Name, u.Name)
	set(&p.Service, u.Service)
	set(&p.Country, u.Country)
	set(&p.Safeguard, u.Safeguard)
	if u.Kind != nil {
		p.Kind = *u.Kind
	}
	if u.PurposeIDs != nil {
		p.PurposeIDs = *u.PurposeIDs
	}
	return p.Validate()
}

// ProcessorService keeps the workspace's register of processors and
// recipients.
type ProcessorService interface {
	// CreateProcessor stores p; EINVALID names a bad member or an unknown
	// purpose.
	CreateProcessor(ctx context.Context, p *Processor) error
	FindProcessor(ctx context.Context, id int64) (*Processor, error)
	FindProcessors(ctx context.Context) ([]*Processor, error)
	UpdateProcessor(ctx context.Context, id int64, u ProcessorUpdate) (*Processor, error)
	DeleteProcessor(ctx context.Context, id int64) error
}
