package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/custos/custos/internal/custos"
)

// eventBody is the body of POST /api/v1/events.
type eventBody struct {
	ContactID  int64             `json:"contact_id"`
	Type       string            `json:"type"`
	At         *string           `json:"at"`
	MessageRef string            `json:"message_ref"`
	Properties map[string]string `json:"properties"`
}

// recordEvent records a tracking event, or drops it when the contact may
// not be tracked; the answer says which.
func (s *server) recordEvent(w http.ResponseWriter, r *http.Request) {
	var body eventBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	e := &custos.TrackingEvent{ContactID: body.ContactID, Type: body.Type, MessageRef: body.MessageRef, Properties: body.Properties}
	at, err := parseTime("at", body.At)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if at != nil {
		e.At = *at
	}
	stored, err := s.svc.RecordEvent(r.Context(), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := map[string]any{"stored": stored}
	if stored {
		res["id"] = e.ID
	}
	s.writeJSON(w, r, http.StatusAccepted, res)
}

// trackingStats answers how many tracking events the workspace dropped.
func (s *server) trackingStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.TrackingStats(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, st)
}

// pixelGIF is a transparent 1×1 GIF.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// trackingPixel records an e-mail open for the token's contact and answers
// the same GIF whatever happened: a token that does not verify, a contact
// not tracked and a stored open look alike, so the answer tells nothing.
// It only records; it never changes a consent.
func (s *server) trackingPixel(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RecordPixel(r.Context(), r.PathValue("token")); err != nil && custos.ErrorCode(err) == custos.EINTERNAL {
		s.log.ErrorContext(r.Context(), "tracking pixel", slog.String("error", err.Error()))
	}
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Content-Length", strconv.Itoa(len(pixelGIF)))
	h.Set("Expires", time.Unix(0, 0).UTC().Format(http.TimeFormat))
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixelGIF)
}
