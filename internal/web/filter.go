package web

import (
	"context"
	"slices"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// filterBody is the JSON form of a contact filter in bulk requests. An
// empty filter is refused unless All says, in so many words, that every
// contact is meant.
type filterBody struct {
	All           bool                  `json:"all"`
	ListID        *int64                `json:"list_id"`
	Tag           *string               `json:"tag"`
	Status        *custos.ContactStatus `json:"status"`
	Email         *string               `json:"email"`
	Missing       *string               `json:"missing"`
	Q             string                `json:"q"`
	Fields        map[string]string     `json:"fields"`
	CreatedAfter  *string               `json:"created_after"`
	CreatedBefore *string               `json:"created_before"`
	UpdatedAfter  *string               `json:"updated_after"`
	UpdatedBefore *string               `json:"updated_before"`
}

// contactFilter checks the body and returns the filter it describes; name
// is where the filter sits in the request body, such as "filter".
func (b *filterBody) contactFilter(name string) (custos.ContactFilter, error) {
	if b == nil {
		return custos.ContactFilter{}, custos.Invalid(name, `is required; to select every contact say {"all": true}`)
	}
	empty := b.ListID == nil && b.Tag == nil && b.Status == nil && b.Email == nil && b.Missing == nil &&
		strings.TrimSpace(b.Q) == "" && len(b.Fields) == 0 &&
		b.CreatedAfter == nil && b.CreatedBefore == nil && b.UpdatedAfter == nil && b.UpdatedBefore == nil
	if empty && !b.All {
		return custos.ContactFilter{}, custos.Invalid(name, `is required; to select every contact say {"all": true}`)
	}
	f := custos.ContactFilter{
		ListID:  b.ListID,
		Tag:     b.Tag,
		Status:  b.Status,
		Email:   b.Email,
		Missing: b.Missing,
		Search:  b.Q,
		Fields:  b.Fields,
	}
	var err error
	if f.CreatedAfter, err = parseTime("created_after", b.CreatedAfter); err != nil {
		return f, fieldError(name, err)
	}
	if f.CreatedBefore, err = parseTime("created_before", b.CreatedBefore); err != nil {
		return f, fieldError(name, err)
	}
	if f.UpdatedAfter, err = parseTime("updated_after", b.UpdatedAfter); err != nil {
		return f, fieldError(name, err)
	}
	if f.UpdatedBefore, err = parseTime("updated_before", b.UpdatedBefore); err != nil {
		return f, fieldError(name, err)
	}
	if f.ListID != nil && *f.ListID <= 0 {
		return f, custos.Invalid(name+".list_id", "must be a positive integer")
	}
	if err := f.Validate(); err != nil {
		return f, fieldError(name, err)
	}
	return f, nil
}

// checkFilterAccess refuses a filter on personal data (e-mail, search, or a
// field classified as anything but none) to an actor who may not read
// personal data: matching on it would reveal it, one guess at a time.
// prefix names the filter's place in the request ("" for query parameters).
func (s *server) checkFilterAccess(ctx context.Context, f custos.ContactFilter, prefix string) error {
	a, _ := custos.ActorFrom(ctx)
	if a.Can(custos.PermPersonalDataRead) {
		return nil
	}
	field, err := s.personalParameter(ctx, f, prefix)
	if err != nil || field == "" {
		return err
	}
	return &custos.Error{Code: custos.EFORBIDDEN, Field: field,
		Message: "filtering on personal data needs the personal_data:read permission"}
}

// personalParameter returns the first parameter of the filter that holds
// or reveals personal data (an address, a search, a personal field's
// value, whether a personal field is held), named as the caller names it
// (prefix "": the query's own names), or "" when there is none.
func (s *server) personalParameter(ctx context.Context, f custos.ContactFilter, prefix string) (string, error) {
	if f.Email != nil {
		return prefix + "email", nil
	} else if f.Search != "" {
		return prefix + "q", nil
	}
	if len(f.Fields) == 0 && f.Missing == nil {
		return "", nil
	}
	plain, err := s.plainFields(ctx)
	if err != nil {
		return "", err
	}
	if f.Missing != nil && !plain[*f.Missing] {
		// Whether a personal value is held tells something about the person.
		return prefix + "missing", nil
	}
	keys := make([]string, 0, len(f.Fields))
	for k := range f.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !plain[k] {
			if prefix == "" {
				return "field." + k, nil
			}
			return prefix + "fields." + k, nil
		}
	}
	return "", nil
}

// plainFields returns the keys of the fields classified as none, the only
// ones whose values are not personal data.
func (s *server) plainFields(ctx context.Context) (map[string]bool, error) {
	defs, err := s.svc.FindFields(ctx)
	if err != nil {
		return nil, err
	}
	plain := make(map[string]bool, len(defs))
	for _, d := range defs {
		if d.Classification == custos.ClassNone {
			plain[d.Key] = true
		}
	}
	return plain, nil
}
