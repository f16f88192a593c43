package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// encodeTimelineCursor turns a timeline position into the opaque cursor
// clients send back; nil stays nil.
func encodeTimelineCursor(c *custos.TimelineCursor) *string {
	if c == nil {
		return nil
	}
	s := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMicro(), 10) + "." + c.Kind + "." + strconv.FormatInt(c.ID, 10)))
	return &s
}

// decodeTimelineCursor reverses encodeTimelineCursor; "" is the first page.
func decodeTimelineCursor(s string) (*custos.TimelineCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := custos.Invalid("cursor", "is not a valid cursor")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || parts[1] == "" || len(parts[1]) > 40 {
		return nil, bad
	}
	at, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || strings.ContainsFunc(parts[1], func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) {
		return nil, bad
	}
	return &custos.TimelineCursor{At: time.UnixMicro(at).UTC(), Kind: parts[1], ID: id}, nil
}

// contactTimeline answers a page of everything that happened to the
// contact, newest first. The personal values in it (changed values, notes,
// file names, reasons, the IP address of a consent) are shown only to an
// actor who may read personal data.
func (s *server) contactTimeline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := readQuery(r, pageQuery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := decodeTimelineCursor(q.values.Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := q.limit()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, next, err := s.svc.ContactTimeline(r.Context(), id, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if a, _ := custos.ActorFrom(r.Context()); !a.Can(custos.PermPersonalDataRead) {
		for _, e := range entries {
			e.Redact()
		}
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.TimelineEntry]{Data: orEmpty(entries), NextCursor: encodeTimelineCursor(next)})
}
