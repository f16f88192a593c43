package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// noticeCreate is the body of POST /api/v1/notices.
type noticeCreate struct {
	Kind     custos.NoticeKind `json:"kind"`
	Language string            `json:"language"`
	Body     string            `json:"body"`
}

// listNotices answers every notice, newest first, without bodies.
func (s *server) listNotices(w http.ResponseWriter, r *http.Request) {
	notices, err := s.svc.FindNotices(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.Notice]{Data: orEmpty(notices)})
}

// createNotice stores a wording. Notices are content-addressed, so the same
// wording twice is the same notice: 201 when it is new, 200 when it was
// stored already.
func (s *server) createNotice(w http.ResponseWriter, r *http.Request) {
	var body noticeCreate
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	n := &custos.Notice{Kind: body.Kind, Language: body.Language, Body: body.Body}
	if err := n.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	existing, err := s.svc.FindNotice(r.Context(), n.Hash)
	switch custos.ErrorCode(err) {
	case "":
		s.writeJSON(w, r, http.StatusOK, existing)
		return
	case custos.ENOTFOUND:
	default:
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.CreateNotice(r.Context(), n); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, n)
}

// getNotice answers the notice with the hash in the path.
func (s *server) getNotice(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.FindNotice(r.Context(), r.PathValue("hash"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, n)
}
