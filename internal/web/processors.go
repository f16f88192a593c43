package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// processorCreate is the body of POST /api/v1/processors.
type processorCreate struct {
	Name       string               `json:"name"`
	Kind       custos.ProcessorKind `json:"kind"`
	Service    string               `json:"service"`
	Country    string               `json:"country"`
	Safeguard  string               `json:"safeguard"`
	PurposeIDs []int64              `json:"purpose_ids"`
}

// listProcessors answers the register of processors and recipients.
func (s *server) listProcessors(w http.ResponseWriter, r *http.Request) {
	ps, err := s.svc.FindProcessors(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Processor]{Data: orEmpty(ps)})
}

// createProcessor adds a processor or recipient to the register.
func (s *server) createProcessor(w http.ResponseWriter, r *http.Request) {
	var b processorCreate
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := &custos.Processor{Name: b.Name, Kind: b.Kind, Service: b.Service, Country: b.Country, Safeguard: b.Safeguard, PurposeIDs: b.PurposeIDs}
	if err := s.svc.CreateProcessor(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, p)
}

// getProcessor answers one processor.
func (s *server) getProcessor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "processor")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.FindProcessor(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

// updateProcessor changes a processor: only the members given.
func (s *server) updateProcessor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "processor")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u custos.ProcessorUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.UpdateProcessor(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, p)
}

// deleteProcessor removes a processor from the register.
func (s *server) deleteProcessor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "processor")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteProcessor(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeNoContent(w)
}
