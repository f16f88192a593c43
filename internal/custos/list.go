package custos

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// List is what contacts subscribe to.
type List struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	GroupID     *int64    `json:"group_id"`
	Members     int64     `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ListGroup gathers lists that the preference centre shows together.
type ListGroup struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func validateNameDescription(name *string, description string) error {
	*name = strings.TrimSpace(*name)
	if err := CheckText("name", *name); err != nil {
		return err
	} else if err := CheckText("description", description); err != nil {
		return err
	}
	if *name == "" {
		return Invalid("name", "is required")
	} else if utf8.RuneCountInString(*name) > 200 {
		return Invalid("name", "must be at most 200 characters")
	} else if utf8.RuneCountInString(description) > 5000 {
		return Invalid("description", "must be at most 5000 characters")
	}
	return nil
}

// Validate checks the list's name and description.
func (l *List) Validate() error { return validateNameDescription(&l.Name, l.Description) }

// Validate checks the group's name and description.
func (g *ListGroup) Validate() error { return validateNameDescription(&g.Name, g.Description) }

// ListUpdate changes a list. GroupID set to a pointer to 0 removes the list
// from its group.
type ListUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	GroupID     *int64  `json:"group_id"`
}

// Apply applies u to l and validates the result.
func (u ListUpdate) Apply(l *List) error {
	if u.Name != nil {
		l.Name = *u.Name
	}
	if u.Description != nil {
		l.Description = *u.Description
	}
	if u.GroupID != nil {
		if *u.GroupID == 0 {
			l.GroupID = nil
		} else {
			l.GroupID = u.GroupID
		}
	}
	return l.Validate()
}

// ListGroupUpdate changes a list group.
type ListGroupUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// Apply applies u to g and validates the result.
func (u ListGroupUpdate) Apply(g *ListGroup) error {
	if u.Name != nil {
		g.Name = *u.Name
	}
	if u.Description != nil {
		g.Description = *u.Description
	}
	return g.Validate()
}

// MaxBulkIDs is the most contact ids one membership request may name.
const MaxBulkIDs = 10000

// ListService manages lists, list groups and memberships in the actor's
// workspace.
type ListService interface {
	CreateList(ctx context.Context, l *List) error
	// FindList returns the list with its member count, or ENOTFOUND.
	FindList(ctx context.Context, id int64) (*List, error)
	FindLists(ctx context.Context) ([]*List, error)
	UpdateList(ctx context.Context, id int64, u ListUpdate) (*List, error)
	// DeleteList removes the list and its memberships.
	DeleteList(ctx context.Context, id int64) error

	CreateListGroup(ctx context.Context, g *ListGroup) error
	FindListGroup(ctx context.Context, id int64) (*ListGroup, error)
	FindListGroups(ctx context.Context) ([]*ListGroup, error)
	UpdateListGroup(ctx context.Context, id int64, u ListGroupUpdate) (*ListGroup, error)
	// DeleteListGroup removes the group; its lists stay, ungrouped.
	DeleteListGroup(ctx context.Context, id int64) error

	// AddMembers subscribes the contacts to the list and returns how many
	// were not members before. ENOTFOUND for a list not in the workspace;
	// EINVALID when any contact is not in it; ERESTRICTED when the
	// processing of any of them is restricted.
	AddMembers(ctx context.Context, listID int64, contactIDs []int64) (int64, error)
	// RemoveMembers unsubscribes the contacts and returns how many were
	// members. ENOTFOUND for a list not in the workspace; ids of other
	// contacts change nothing.
	RemoveMembers(ctx context.Context, listID int64, contactIDs []int64) (int64, error)
	// AddMembersByFilter subscribes every contact matching f (its cursor and
	// limit are ignored) but those whose processing is restricted, and
	// returns how many were added and how many restricted ones it skipped.
	AddMembersByFilter(ctx context.Context, listID int64, f ContactFilter) (added, skipped int64, err error)
	// RemoveMembersByFilter unsubscribes every contact matching f.
	RemoveMembersByFilter(ctx context.Context, listID int64, f ContactFilter) (int64, error)
	// ContactLists returns the ids of the lists the contact is a member of,
	// or ENOTFOUND for a contact not in the workspace.
	ContactLists(ctx context.Context, contactID int64) ([]int64, error)
}
