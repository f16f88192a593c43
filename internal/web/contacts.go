package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// contactCreate is the body of POST /api/v1/contacts.
type contactCreate struct {
	Email  string               `json:"email"`
	Fields map[string]any       `json:"fields"`
	Tags   []string             `json:"tags"`
	Source custos.Source        `json:"source"`
	Status custos.ContactStatus `json:"status"`
}

// contactPatch is the body of PATCH /api/v1/contacts/{id}. Source and
// Status are here only to be refused with a clear message: the source is
// set once, at creation, and the status changes by a restriction of
// processing and its lifting, which record why and who.
type contactPatch struct {
	custos.ContactUpdate
	Source json.RawMessage `json:"source"`
	Status json.RawMessage `json:"status"`
}

// contactQuery lists the query parameters of GET /api/v1/contacts besides
// the field.<key> ones.
var contactQuery = []string{"list_id", "tag", "status", "email", "q", "sort",
	"created_after", "created_before", "updated_after", "updated_before", "cursor", "limit", "missing", "contact_ids"}

// fieldParamPrefix starts a query parameter that filters on a field.
const fieldParamPrefix = "field."

// listContacts answers a page of the contacts matching the query.
func (s *server) listContacts(w http.ResponseWriter, r *http.Request) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, custos.Errorf(custos.EINVALID, "The query string is malformed."))
		return
	}
	f, err := contactFilterFromQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkFilterAccess(r.Context(), f, ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	contacts, next, err := s.svc.FindContacts(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.redactContacts(r.Context(), contacts...); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.Contact]{Data: orEmpty(contacts), NextCursor: encodeCursor(next)})
}

// contactFilterFromQuery reads a contact filter from a query string, that
// of GET /api/v1/contacts, of the contacts page and of the export; every
// error names the parameter at fault.
func contactFilterFromQuery(values url.Values) (custos.ContactFilter, error) {
	var f custos.ContactFilter
	q, err := checkQuery(values, contactQuery, fieldParamPrefix)
	if err != nil {
		return f, err
	}
	if f.IDs, err = q.ids("contact_ids"); err != nil {
		return f, err
	}
	if f.ListID, err = q.id("list_id"); err != nil {
		return f, err
	}
	f.Tag = q.str("tag")
	if st := q.str("status"); st != nil {
		status := custos.ContactStatus(*st)
		f.Status = &status
	}
	f.Email = q.str("email")
	f.Missing = q.str("missing")
	f.Search = q.values.Get("q")
	switch q.values.Get("sort") {
	case "", "newest":
	case "oldest":
		f.Oldest = true
	default:
		return f, custos.Invalid("sort", "must be newest or oldest")
	}
	times := []struct {
		name string
		dst  **time.Time
	}{
		{"created_after", &f.CreatedAfter},
		{"created_before", &f.CreatedBefore},
		{"updated_after", &f.UpdatedAfter},
		{"updated_before", &f.UpdatedBefore},
	}
	for _, t := range times {
		if *t.dst, err = q.time(t.name); err != nil {
			return f, err
		}
	}
	for name, vs := range q.values {
		if key, ok := strings.CutPrefix(name, fieldParamPrefix); ok {
			if f.Fields == nil {
				f.Fields = map[string]string{}
			}
			f.Fields[key] = vs[0]
		}
	}
	if f.After, err = q.cursor(); err != nil {
		return f, err
	}
	if f.Limit, err = q.limit(); err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// createContact stores a new contact.
func (s *server) createContact(w http.ResponseWriter, r *http.Request) {
	var body contactCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := &custos.Contact{
		Email:  body.Email,
		Status: body.Status,
		Source: body.Source,
		Tags:   body.Tags,
		Fields: body.Fields,
	}
	if err := c.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateContact(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, http.StatusCreated, c)
}

// getContact answers one contact.
func (s *server) getContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.findContact(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, http.StatusOK, c)
}

// findContact returns the contact to show the actor: without the
// personal values, not even opened, when the actor may not read them
// (redactContacts still applies).
func (s *server) findContact(ctx context.Context, id int64) (*custos.Contact, error) {
	if a, _ := custos.ActorFrom(ctx); !a.Can(custos.PermPersonalDataRead) {
		return s.svc.FindContactClear(ctx, id)
	}
	return s.svc.FindContactByID(ctx, id)
}

// updateContact changes what the body names; a field given as null is
// cleared.
func (s *server) updateContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body contactPatch
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Source != nil {
		s.writeError(w, r, custos.Invalid("source", "cannot be changed"))
		return
	} else if body.Status != nil {
		s.writeError(w, r, custos.Invalid("status", "cannot be changed here: restrict the contact's processing with POST /api/v1/contacts/{id}/restriction and lift it with DELETE on the same path, each with a reason"))
		return
	}
	u := body.ContactUpdate
	if err := u.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.svc.UpdateContact(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, http.StatusOK, c)
}

// writeContact answers with one contact, shown as the actor may see it.
func (s *server) writeContact(w http.ResponseWriter, r *http.Request, status int, c *custos.Contact) {
	if err := s.redactContacts(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, status, c)
}

// contactHistory answers a page of the contact's field changes.
func (s *server) contactHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	before, limit, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if limit == 0 {
		limit = custos.DefaultLimit
	}
	changes, next, err := s.svc.ContactHistory(r.Context(), id, before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.Change]{Data: orEmpty(changes), NextCursor: encodeCursor(next)})
}

// contactLists answers the ids of the lists the contact is a member of.
func (s *server) contactLists(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.svc.ContactLists(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[int64]{Data: orEmpty(ids)})
}

// redactContacts removes the personal data from contacts when the actor may
// not read it: the e-mail becomes "" and every field not classified none
// goes. A field without a definition goes too: deny by default.
func (s *server) redactContacts(ctx context.Context, cs ...*custos.Contact) error {
	if a, _ := custos.ActorFrom(ctx); a.Can(custos.PermPersonalDataRead) || len(cs) == 0 {
		return nil
	}
	plain, err := s.plainFields(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		c.Email = ""
		for k := range c.Fields {
			if !plain[k] {
				delete(c.Fields, k)
			}
		}
	}
	return nil
}
