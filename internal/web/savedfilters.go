package web

import (
	"net/http"
	"net/url"

	"github.com/custos/custos/internal/custos"
)

// savedFilterCreate is the body of POST /api/v1/saved-filters.
type savedFilterCreate struct {
	Name    string   `json:"name"`
	Query   string   `json:"query"`
	Columns []string `json:"columns"`
}

// listSavedFilters answers the caller's own saved filters.
func (s *server) listSavedFilters(w http.ResponseWriter, r *http.Request) {
	fs, err := s.svc.FindSavedFilters(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.SavedFilter]{Data: orEmpty(fs)})
}

// createSavedFilter saves a filter of the contacts list for the caller.
// The query must be one the contacts list accepts, and the columns ones
// it can show.
func (s *server) createSavedFilter(w http.ResponseWriter, r *http.Request) {
	var body savedFilterCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	f := &custos.SavedFilter{Name: body.Name, Query: body.Query, Columns: body.Columns}
	if err := f.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	values, err := url.ParseQuery(f.Query)
	if err != nil {
		s.writeError(w, r, custos.Invalid("query", "is not a valid query string"))
		return
	}
	cf, err := contactFilterFromQuery(values)
	if err != nil {
		s.writeError(w, r, fieldError("query", err))
		return
	}
	// A saved filter is kept as it is, unsealed, and outlives the people
	// it might name: it may not hold personal data.
	if field, err := s.personalParameter(r.Context(), cf, ""); err != nil {
		s.writeError(w, r, err)
		return
	} else if field != "" {
		s.writeError(w, r, &custos.Error{Code: custos.EINVALID, Field: "query",
			Message: "a saved filter is stored unencrypted, so it cannot hold personal data: leave out " + field})
		return
	}
	defs, err := s.svc.FindFields(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := chooseColumns(f.Columns, defs, "columns"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateSavedFilter(r.Context(), f); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, f)
}

// deleteSavedFilter removes one of the caller's saved filters; another's
// is not found.
func (s *server) deleteSavedFilter(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "saved filter")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteSavedFilter(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
