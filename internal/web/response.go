package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/custos/custos/internal/custos"
)

// statusByCode is the one table from domain error codes to HTTP statuses.
// A code missing from it is answered as an internal error.
var statusByCode = map[string]int{
	custos.EINVALID:      http.StatusBadRequest,
	custos.EUNAUTHORIZED: http.StatusUnauthorized,
	custos.EFORBIDDEN:    http.StatusForbidden,
	custos.ENOTFOUND:     http.StatusNotFound,
	custos.ENOTALLOWED:   http.StatusMethodNotAllowed,
	custos.ECONFLICT:     http.StatusConflict,
	custos.EGONE:         http.StatusGone,
	custos.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	custos.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	custos.ECONSENT:      http.StatusUnprocessableEntity,
	custos.ERESTRICTED:   http.StatusConflict,
	custos.ERATELIMIT:    http.StatusTooManyRequests,
	custos.ETOOMANY:      http.StatusBadRequest,
	custos.EUNAVAILABLE:  http.StatusServiceUnavailable,
	custos.EINTERNAL:     http.StatusInternalServerError,
}

// retryAfterSeconds is what a 429 answer tells the client to wait; the
// domain error carries no duration of its own.
const retryAfterSeconds = 1

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the inside of an error answer.
type errorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	ExistingID int64  `json:"existing_id,omitempty"`
}

// dataBody wraps a collection, so that a listing can grow more members
// (such as a cursor) without breaking clients.
type dataBody[T any] struct {
	Data []T `json:"data"`
}

// pageBody is one page of a paginated collection; NextCursor is null on the
// last page.
type pageBody[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// affectedBody answers a bulk request with the number of objects it
// changed, and of the contacts it left out because their processing is
// restricted (Art. 18).
type affectedBody struct {
	Affected int64 `json:"affected"`
	Skipped  int64 `json:"skipped"`
}

// orEmpty returns s, or an empty slice for nil, so that JSON shows [] and
// never null for an empty collection.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeJSON writes v as the JSON body of an answer with the given status.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		s.log.DebugContext(r.Context(), "write response", slog.String("error", err.Error()))
	}
}

// writeNoContent answers 204 with no body.
func writeNoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

// logFailure logs a request that failed for a reason of ours; the
// caller learns only that it failed.
func (s *server) logFailure(r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed",
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.String("error", err.Error()))
}

// writeError answers with err as a JSON error. Errors of the domain show
// their code and safe message; anything else is logged and shown as an
// internal error without detail. Request bodies and values are never
// logged, since they may hold personal data.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	d := errorDetail{Code: custos.EINTERNAL, Message: "Internal error."}
	if e := custos.AsError(err); e != nil && e.Code != custos.EINTERNAL {
		d = errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
		if e.Code == custos.ECONFLICT {
			d.ExistingID = e.Existing
		}
	}
	status, ok := statusByCode[d.Code]
	if !ok {
		// A code the table does not know is a bug: treat it as internal.
		d = errorDetail{Code: custos.EINTERNAL, Message: "Internal error."}
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		s.logFailure(r, err)
	}
	if status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	b, mErr := json.Marshal(errorBody{Error: d})
	if mErr != nil {
		// Cannot happen for this plain struct; answer without a body.
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
