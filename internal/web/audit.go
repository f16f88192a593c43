package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

var auditQuery = []string{"contact_id", "action", "actor", "after", "before", "cursor", "limit"}

// listAudit answers the workspace's audit log, newest first.
func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, next, err := s.svc.FindAudit(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.AuditEntry]{Data: orEmpty(entries), NextCursor: encodeCursor(next)})
}

// auditFilter reads the audit log's query parameters, each error naming
// its parameter.
func auditFilter(r *http.Request) (f custos.AuditFilter, err error) {
	q, err := readQuery(r, auditQuery)
	if err != nil {
		return f, err
	}
	if f.ContactID, err = q.id("contact_id"); err != nil {
		return f, err
	}
	f.Action, f.Actor = q.str("action"), q.str("actor")
	if f.After, err = q.time("after"); err != nil {
		return f, err
	}
	if f.Before, err = q.time("before"); err != nil {
		return f, err
	}
	if f.Cursor, err = q.cursor(); err != nil {
		return f, err
	}
	f.Limit, err = q.limit()
	return f, err
}

// verifyAudit recomputes the workspace's audit chain and reports the first
// break: 200 either way, with ok false and the problem when broken.
func (s *server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.svc.VerifyAudit(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, rep)
}
