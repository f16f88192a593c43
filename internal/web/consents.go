package web

import (
	"context"
	"net/http"
	"time"

	"github.com/custos/custos/internal/custos"
)

// consentBody is the JSON form of a consent request. EffectiveFrom shadows
// the embedded time so that a malformed time is reported by its name.
type consentBody struct {
	custos.ConsentRequest
	EffectiveFrom *string `json:"effective_from"`
}

// request checks the body and returns the consent request it describes,
// recorded with the method of the actor, never one the body names. name is
// the body member the request sits in ("" at the top level).
func (b *consentBody) request(ctx context.Context, name string) (custos.ConsentRequest, error) {
	r := b.ConsentRequest
	var err error
	if r.EffectiveFrom, err = parseTime("effective_from", b.EffectiveFrom); err != nil {
		return r, nested(name, err)
	}
	r.Method = consentMethod(ctx)
	if err := r.Validate(time.Now()); err != nil {
		return r, nested(name, err)
	}
	return r, nil
}

// nested is fieldError for a member that may sit at the top level.
func nested(name string, err error) error {
	if name == "" {
		return err
	}
	return fieldError(name, err)
}

// consentMethod is how the actor's consent events came to be: through the
// API for an API key, by hand for a member of staff.
func consentMethod(ctx context.Context) custos.ConsentMethod {
	if a, _ := custos.ActorFrom(ctx); a.Kind == custos.ActorAPIKey {
		return custos.MethodAPI
	}
	return custos.MethodManual
}

// consentsBody answers GET /api/v1/contacts/{id}/consents.
type consentsBody struct {
	States  []*custos.ConsentState `json:"states"`
	History []*custos.ConsentEvent `json:"history"`
}

// bulkConsentBody is the body of POST /api/v1/consents/bulk.
type bulkConsentBody struct {
	ContactIDs *[]int64     `json:"contact_ids"`
	Filter     *filterBody  `json:"filter"`
	Consent    *consentBody `json:"consent"`
}

// contactConsents answers the contact's consent states and ledger.
func (s *server) contactConsents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	states, events, err := s.svc.ContactConsents(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	redactEvents(r.Context(), events...)
	s.writeJSON(w, r, http.StatusOK, consentsBody{States: orEmpty(states), History: orEmpty(events)})
}

// recordConsent appends one event to the contact's consent ledger.
func (s *server) recordConsent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body consentBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := body.request(r.Context(), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.svc.RecordConsent(r.Context(), id, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	redactEvents(r.Context(), e)
	s.writeJSON(w, r, http.StatusCreated, e)
}

// objectToMarketing records the contact's objection to direct marketing
// (GDPR Art. 21(2)) and answers the events that ended its consents and
// bases for marketing purposes, none when there was nothing to end.
func (s *server) objectToMarketing(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.svc.ObjectToMarketing(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	redactEvents(r.Context(), events...)
	s.writeJSON(w, r, http.StatusOK, dataBody[*custos.ConsentEvent]{Data: orEmpty(events)})
}

// permissionQuery lists the query parameters of the permission route.
var permissionQuery = []string{"purpose_id", "at"}

// contactPermission answers whether the contact may be processed for the
// purpose, now or at the given time.
func (s *server) contactPermission(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := readQuery(r, permissionQuery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	purposeID, err := q.id("purpose_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	} else if purposeID == nil {
		s.writeError(w, r, custos.Invalid("purpose_id", "is required"))
		return
	}
	at, err := q.time("at")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.Permission(r.Context(), id, *purposeID, at)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, d)
}

// recordConsentBulk appends the same event for every contact the filter
// selects.
func (s *server) recordConsentBulk(w http.ResponseWriter, r *http.Request) {
	var body bulkConsentBody
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	var f custos.ContactFilter
	var err error
	switch {
	case body.ContactIDs != nil && body.Filter != nil:
		err = custos.Invalid("filter", "give contact_ids or filter, not both")
	case body.ContactIDs != nil:
		// The contacts a person ticked on the contacts page.
		f = custos.ContactFilter{IDs: *body.ContactIDs}
		err = f.Validate()
	default:
		f, err = body.Filter.contactFilter("filter")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Consent == nil {
		s.writeError(w, r, custos.Invalid("consent", "is required"))
		return
	}
	req, err := body.Consent.request(r.Context(), "consent")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkFilterAccess(r.Context(), f, "filter."); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, skipped, err := s.svc.RecordConsentByFilter(r.Context(), f, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, affectedBody{Affected: n, Skipped: skipped})
}

// redactEvents removes the personal data of ledger events (see
// ConsentEvent.Redact) when the actor may not read personal data.
func redactEvents(ctx context.Context, events ...*custos.ConsentEvent) {
	if a, _ := custos.ActorFrom(ctx); a.Can(custos.PermPersonalDataRead) {
		return
	}
	for _, e := range events {
		e.Redact()
	}
}
