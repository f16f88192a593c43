package web

import (
	"bytes"
	"context"
	"net/http"
	"slices"

	"github.com/custos/custos/internal/custos"
)

// formCreate is the body of POST /api/v1/forms.
type formCreate struct {
	Name              string               `json:"name"`
	Language          string               `json:"language"`
	Fields            []custos.FormField   `json:"fields"`
	Purposes          []custos.FormPurpose `json:"purposes"`
	InformationClause string               `json:"information_clause"`
	PrivacyPolicyURL  string               `json:"privacy_policy_url"`
	ListIDs           []int64              `json:"list_ids"`
	RedirectURL       string               `json:"redirect_url"`
}

// checkRedirect refuses a page after submission that is not exactly one
// of the allow-listed addresses: a form must not be an open redirect.
func (s *server) checkRedirect(u string) error {
	if u == "" || slices.Contains(s.formRedirects, u) {
		return nil
	}
	return custos.Invalid("redirect_url", "must be empty (our own page) or exactly one of the addresses allowed by the server's configuration (CUSTOS_FORM_REDIRECTS)")
}

// listForms answers every form of the workspace, current versions.
func (s *server) listForms(w http.ResponseWriter, r *http.Request) {
	fs, err := s.svc.FindForms(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Form]{Data: orEmpty(fs)})
}

// createForm stores version 1 of a new form.
func (s *server) createForm(w http.ResponseWriter, r *http.Request) {
	var b formCreate
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	f := &custos.Form{Name: b.Name, Language: b.Language, Fields: b.Fields, Purposes: b.Purposes, InformationClause: b.InformationClause,
		PrivacyPolicyURL: b.PrivacyPolicyURL, ListIDs: b.ListIDs, RedirectURL: b.RedirectURL}
	if err := f.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkRedirect(f.RedirectURL); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateForm(r.Context(), f); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, f)
}

// getForm answers the current version of a form.
func (s *server) getForm(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.svc.FindForm(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

// updateForm stores a new version of a form.
func (s *server) updateForm(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u custos.FormUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.RedirectURL != nil {
		if err := s.checkRedirect(*u.RedirectURL); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	f, err := s.svc.UpdateForm(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

// archiveForm takes a form off line; its versions stay as proof.
func (s *server) archiveForm(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.svc.ArchiveForm(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

// formVersions answers every version of a form, oldest first.
func (s *server) formVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fs, err := s.svc.FormVersions(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Form]{Data: orEmpty(fs)})
}

// formEmbed answers the HTML snippet that puts the form on another site:
// a plain form posting to the hosted page's address, no script.
func (s *server) formEmbed(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	snippet, err := s.embedSnippet(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(snippet))
}

// embedSnippet returns the embed snippet of the form's current version;
// ECONFLICT for an archived form.
func (s *server) embedSnippet(ctx context.Context, id int64) (string, error) {
	f, err := s.svc.FindForm(ctx, id)
	if err != nil {
		return "", err
	}
	if f.ArchivedAt != nil {
		return "", custos.Errorf(custos.ECONFLICT, "the form is archived")
	}
	pf, err := s.svc.PublicForm(ctx, id)
	if err != nil {
		return "", err
	}
	p := s.formPageOf(pf, f.Language)
	p.Action = s.baseURL + p.Action
	var b bytes.Buffer
	if err := s.formPages.ExecuteTemplate(&b, "form_body", p); err != nil {
		return "", err
	}
	b.WriteByte('\n')
	return b.String(), nil
}
