package custos

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// SavedFilter is a staff member's named view of the contacts list: the
// query string of its filter and the columns it shows. It belongs to the
// actor who saved it, and no one else sees it.
type SavedFilter struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`   // the filter as a URL query string, such as "tag=vip&status=active"
	Columns   []string  `json:"columns"` // the columns shown, in order
	CreatedAt time.Time `json:"created_at"`
}

// MaxSavedFilterQuery is the longest query string a saved filter holds.
const MaxSavedFilterQuery = 2000

// Validate checks the name, the query's size and the columns' names. What
// the query means is checked by whoever reads it as a filter.
func (f *SavedFilter) Validate() error {
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		return Invalid("name", "is required")
	} else if utf8.RuneCountInString(f.Name) > 100 {
		return Invalid("name", "must be at most 100 characters")
	} else if strings.ContainsFunc(f.Name, func(r rune) bool { return r < ' ' }) {
		return Invalid("name", "must be text without control characters")
	}
	if err := CheckText("name", f.Name); err != nil {
		return err
	}
	if len(f.Query) > MaxSavedFilterQuery {
		return Invalid("query", "must be at most %d characters", MaxSavedFilterQuery)
	} else if err := CheckText("query", f.Query); err != nil {
		return err
	}
	if f.Columns == nil {
		f.Columns = []string{}
	}
	if len(f.Columns) > 50 {
		return Invalid("columns", "at most 50 columns")
	}
	for _, c := range f.Columns {
		if len(c) == 0 || len(c) > 64 || strings.ContainsFunc(c, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
			return Invalid("columns", "%q is not a column name", c)
		}
	}
	return nil
}

// SavedFilterService keeps each actor's saved filters in its workspace.
// An actor sees, and deletes, only its own: another's is ENOTFOUND.
type SavedFilterService interface {
	// CreateSavedFilter stores f as the actor's; ECONFLICT when the actor
	// has a saved filter of that name already.
	CreateSavedFilter(ctx context.Context, f *SavedFilter) error
	// FindSavedFilters returns the actor's saved filters by name.
	FindSavedFilters(ctx context.Context) ([]*SavedFilter, error)
	// DeleteSavedFilter removes one of the actor's saved filters.
	DeleteSavedFilter(ctx context.Context, id int64) error
}
