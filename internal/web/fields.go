package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// fieldCreate is the body of POST /api/v1/fields: a field definition
// without the members the server sets.
type fieldCreate struct {
	Key            string                `json:"key"`
	Label          string                `json:"label"`
	Type           custos.FieldType      `json:"type"`
	Classification custos.Classification `json:"classification"`
	Choices        []string              `json:"choices"`
	PurposeIDs     []int64               `json:"purpose_ids"`
}

// listFields answers every field definition of the workspace.
func (s *server) listFields(w http.ResponseWriter, r *http.Request) {
	fields, err := s.svc.FindFields(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.FieldDef]{Data: orEmpty(fields)})
}

// createField defines a new contact field.
func (s *server) createField(w http.ResponseWriter, r *http.Request) {
	var body fieldCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	f := &custos.FieldDef{
		Key:            body.Key,
		Label:          body.Label,
		Type:           body.Type,
		Classification: body.Classification,
		Choices:        body.Choices,
		PurposeIDs:     body.PurposeIDs,
	}
	if err := f.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateField(r.Context(), f); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, f)
}

// getField answers one field definition.
func (s *server) getField(w http.ResponseWriter, r *http.Request) {
	f, err := s.svc.FindField(r.Context(), r.PathValue("key"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

// updateField changes a field's label, choices or purposes.
func (s *server) updateField(w http.ResponseWriter, r *http.Request) {
	var u custos.FieldUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.svc.UpdateField(r.Context(), r.PathValue("key"), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, f)
}

// deleteField removes a custom field definition.
func (s *server) deleteField(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteField(r.Context(), r.PathValue("key")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
