package custos

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestConsentRequestValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	grant := func(change func(*ConsentRequest)) ConsentRequest {
		r := ConsentRequest{PurposeID: 1, Action: ActionGrant, Notice: "I agree to the newsletter."}
		if change != nil {
			change(&r)
		}
		return r
	}
	tests := []struct {
		name  string
		r     ConsentRequest
		field string
		check func(*testing.T, *ConsentRequest)
	}{
		{
			name: "grant with wording, method defaulted",
			r:    grant(nil),
			check: func(t *testing.T, r *ConsentRequest) {
				if r.Method != MethodAPI {
					t.Errorf("Method = %q, want %q", r.Method, MethodAPI)
				}
			},
		},
		{
			name: "method set by the server kept",
			r:    grant(func(r *ConsentRequest) { r.Method = MethodForm }),
			check: func(t *testing.T, r *ConsentRequest) {
				if r.Method != MethodForm {
					t.Errorf("Method = %q, want %q", r.Method, MethodForm)
				}
			},
		},
		{name: "grant with a notice hash", r: grant(func(r *ConsentRequest) { r.Notice = ""; r.NoticeHash = NoticeHash("x") })},
		{name: "withdraw needs no notice", r: ConsentRequest{PurposeID: 1, Action: ActionWithdraw}},
		{name: "assign basis", r: ConsentRequest{PurposeID: 1, Action: ActionAssignBasis}},
		{name: "remove basis", r: ConsentRequest{PurposeID: 1, Action: ActionRemoveBasis}},
		{name: "effective in the past", r: grant(func(r *ConsentRequest) { r.EffectiveFrom = at(-30 * 24 * time.Hour) })},
		{name: "effective now", r: grant(func(r *ConsentRequest) { r.EffectiveFrom = at(0) })},
		{name: "effective at the clock skew", r: grant(func(r *ConsentRequest) { r.EffectiveFrom = at(ClockSkew) })},
		{name: "largest notice", r: grant(func(r *ConsentRequest) { r.Notice = strings.Repeat("n", MaxNoticeBody) })},
		{name: "1000-byte user agent", r: grant(func(r *ConsentRequest) { r.UserAgent = strings.Repeat("u", 1000) })},
		{
			name: "IPv4 kept",
			r:    grant(func(r *ConsentRequest) { r.IP = "192.0.2.10" }),
			check: func(t *testing.T, r *ConsentRequest) {
				if r.IP != "192.0.2.10" {
					t.Errorf("IP = %q", r.IP)
				}
			},
		},
		{
			name: "IPv6 normalised",
			r:    grant(func(r *ConsentRequest) { r.IP = "2001:0DB8:0000:0000:0000:0000:0000:0001" }),
			check: func(t *testing.T, r *ConsentRequest) {
				if r.IP != "2001:db8::1" {
					t.Errorf("IP = %q, want 2001:db8::1", r.IP)
				}
			},
		},
		{
			name: "IPv4-mapped IPv6 normalised",
			r:    grant(func(r *ConsentRequest) { r.IP = "::FFFF:192.0.2.10" }),
			check: func(t *testing.T, r *ConsentRequest) {
				if r.IP != "::ffff:192.0.2.10" {
					t.Errorf("IP = %q, want ::ffff:192.0.2.10", r.IP)
				}
			},
		},
		{name: "no purpose", r: grant(func(r *ConsentRequest) { r.PurposeID = 0 }), field: "purpose_id"},
		{name: "negative purpose", r: grant(func(r *ConsentRequest) { r.PurposeID = -1 }), field: "purpose_id"},
		{name: "no action", r: grant(func(r *ConsentRequest) { r.Action = "" }), field: "action"},
		{name: "unknown action", r: grant(func(r *ConsentRequest) { r.Action = "revoke" }), field: "action"},
		{name: "grant without notice", r: grant(func(r *ConsentRequest) { r.Notice = "" }), field: "notice"},
		{name: "notice and hash", r: grant(func(r *ConsentRequest) { r.NoticeHash = NoticeHash(r.Notice) }), field: "notice_hash"},
		{name: "notice too long", r: grant(func(r *ConsentRequest) { r.Notice = strings.Repeat("n", MaxNoticeBody+1) }), field: "notice"},
		{name: "notice invalid UTF-8", r: grant(func(r *ConsentRequest) { r.Notice = "zgoda \xff" }), field: "notice"},
		{name: "effective just beyond the clock skew", r: grant(func(r *ConsentRequest) { r.EffectiveFrom = at(ClockSkew + time.Nanosecond) }), field: "effective_from"},
		{name: "effective tomorrow", r: grant(func(r *ConsentRequest) { r.EffectiveFrom = at(24 * time.Hour) }), field: "effective_from"},
		{name: "withdraw effective tomorrow", r: ConsentRequest{PurposeID: 1, Action: ActionWithdraw, EffectiveFrom: at(24 * time.Hour)}, field: "effective_from"},
		{name: "IP out of range", r: grant(func(r *ConsentRequest) { r.IP = "300.1.1.1" }), field: "ip"},
		{name: "IP with port", r: grant(func(r *ConsentRequest) { r.IP = "192.0.2.10:443" }), field: "ip"},
		{name: "IP with leading zeros", r: grant(func(r *ConsentRequest) { r.IP = "192.000.002.010" }), field: "ip"},
		{name: "host name as IP", r: grant(func(r *ConsentRequest) { r.IP = "example.com" }), field: "ip"},
		{name: "IP with spaces", r: grant(func(r *ConsentRequest) { r.IP = " 192.0.2.10" }), field: "ip"},
		{name: "user agent too long", r: grant(func(r *ConsentRequest) { r.UserAgent = strings.Repeat("u", 1001) }), field: "user_agent"},
		{name: "user agent invalid UTF-8", r: grant(func(r *ConsentRequest) { r.UserAgent = "Mozilla\xff" }), field: "user_agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			wantValid(t, &r, r.Validate(now), tt.field, tt.check)
		})
	}
}

// decideCase is one row of the Decide table; the allocation test reuses it.
type decideCase struct {
	name    string
	status  ContactStatus
	p       *Purpose
	s       *ConsentState
	last    time.Time
	at      time.Time
	allowed bool
	reason  string
	event   bool       // whether the decision names the state's event
	expires *time.Time // nil: no expiry
}

func decideCases() []decideCase {
	t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	state := func(a ConsentAction, since time.Time) *ConsentState {
		return &ConsentState{PurposeID: 1, PurposeVersion: 2, Action: a, EventID: 41, Since: since}
	}
	consent := &Purpose{ID: 1, LegalBasis: BasisConsent}
	li := &Purpose{ID: 1, LegalBasis: BasisLegitimateInterests}
	fromConsent := &Purpose{ID: 1, LegalBasis: BasisConsent, RetentionDays: 30, RetentionFrom: RetentionFromConsent}
	fromActivity := &Purpose{ID: 1, LegalBasis: BasisLegitimateInterests, RetentionDays: 30, RetentionFrom: RetentionFromLastActivity}
	contractEnd := &Purpose{ID: 1, LegalBasis: BasisContract, RetentionDays: 30, RetentionFrom: RetentionFromContractEnd}
	boundary := t0.Add(30 * day) // t0 + 30 days in UTC
	activity := t0.Add(5 * day)
	activityBoundary := activity.Add(30 * day)
	at := t0.Add(10 * day)

	return []decideCase{
		{name: "pending contact", status: StatusPending, p: consent, s: state(ActionGrant, t0), at: at, reason: ReasonPending},
		{name: "restricted contact", status: StatusRestricted, p: consent, s: state(ActionGrant, t0), at: at, reason: ReasonRestricted},
		{name: "anonymized contact", status: StatusAnonymized, p: li, s: state(ActionAssignBasis, t0), at: at, reason: ReasonAnonymized},
		{name: "no state, consent purpose", status: StatusActive, p: consent, at: at, reason: ReasonNoConsent},
		{name: "no state, other basis", status: StatusActive, p: li, at: at, reason: ReasonNoBasis},
		{name: "granted", status: StatusActive, p: consent, s: state(ActionGrant, t0), at: at, allowed: true, reason: ReasonConsent, event: true},
		{name: "granted the same instant", status: StatusActive, p: consent, s: state(ActionGrant, at), at: at, allowed: true, reason: ReasonConsent, event: true},
		{name: "withdrawn", status: StatusActive, p: consent, s: state(ActionWithdraw, t0), at: at, reason: ReasonWithdrawn, event: true},
		{name: "withdrawn under retention", status: StatusActive, p: fromConsent, s: state(ActionWithdraw, t0), at: at, reason: ReasonWithdrawn, event: true},
		{name: "basis removed", status: StatusActive, p: li, s: state(ActionRemoveBasis, t0), at: at, reason: ReasonBasisRemoved, event: true},
		{name: "basis assigned under a consent purpose", status: StatusActive, p: consent, s: state(ActionAssignBasis, t0), at: at, reason: ReasonNoConsent, event: true},
		{name: "basis assigned under legitimate interests", status: StatusActive, p: li, s: state(ActionAssignBasis, t0), at: at, allowed: true, reason: ReasonBasis, event: true},
		{name: "grant not yet in force", status: StatusActive, p: consent, s: state(ActionGrant, at.Add(time.Nanosecond)), at: at, reason: ReasonNotYetInForce, event: true},
		{name: "withdrawal not yet in force", status: StatusActive, p: consent, s: state(ActionWithdraw, at.Add(time.Hour)), at: at, reason: ReasonNotYetInForce, event: true},
		{name: "retention from consent expired at the boundary", status: StatusActive, p: fromConsent, s: state(ActionGrant, t0), at: boundary, reason: ReasonExpired, event: true, expires: &boundary},
		{name: "retention from consent expired after the boundary", status: StatusActive, p: fromConsent, s: state(ActionGrant, t0), at: boundary.Add(day), reason: ReasonExpired, event: true, expires: &boundary},
		{name: "retention from consent a microsecond before the boundary", status: StatusActive, p: fromConsent, s: state(ActionGrant, t0), at: boundary.Add(-time.Microsecond), allowed: true, reason: ReasonConsent, event: true, expires: &boundary},
		{name: "retention from consent ignores activity", status: StatusActive, p: fromConsent, s: state(ActionGrant, t0), last: boundary, at: boundary, reason: ReasonExpired, event: true, expires: &boundary},
		{name: "retention from last activity running", status: StatusActive, p: fromActivity, s: state(ActionAssignBasis, t0), last: activity, at: activityBoundary.Add(-time.Microsecond), allowed: true, reason: ReasonBasis, event: true, expires: &activityBoundary},
		{name: "retention from last activity expired", status: StatusActive, p: fromActivity, s: state(ActionAssignBasis, t0), last: activity, at: activityBoundary, reason: ReasonExpired, event: true, expires: &activityBoundary},
		{name: "retention from contract end has no expiry", status: StatusActive, p: contractEnd, s: state(ActionAssignBasis, t0), last: activity, at: t0.Add(3650 * day), allowed: true, reason: ReasonBasis, event: true},
	}
}

func TestDecide(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range decideCases() {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.status, tt.p, tt.s, tt.last, tt.at)
			seen[d.Reason] = true
			if d.Allowed != tt.allowed || d.Reason != tt.reason {
				t.Errorf("Decide = allowed %v reason %q, want %v %q", d.Allowed, d.Reason, tt.allowed, tt.reason)
			}
			switch {
			case !tt.event && d.EventID != 0:
				t.Errorf("EventID = %d, want none", d.EventID)
			case tt.event && d.EventID != tt.s.EventID:
				t.Errorf("EventID = %v, want %d", d.EventID, tt.s.EventID)
			}
			switch {
			case tt.expires == nil && !d.ExpiresAt.IsZero():
				t.Errorf("ExpiresAt = %v, want none", d.ExpiresAt)
			case tt.expires != nil && !d.ExpiresAt.Equal(*tt.expires):
				t.Errorf("ExpiresAt = %v, want %v", d.ExpiresAt, *tt.expires)
			}
		})
	}
	for _, r := range []string{ReasonConsent, ReasonBasis, ReasonNoConsent, ReasonWithdrawn, ReasonBasisRemoved,
		ReasonNoBasis, ReasonExpired, ReasonPending, ReasonRestricted, ReasonAnonymized, ReasonNotYetInForce} {
		if !seen[r] {
			t.Errorf("no case gives reason %q", r)
		}
	}
}

var decisionSink Decision

// Decide is documented as allocation-free: the store asks it once per
// contact in bulk sends.
func TestDecideDoesNotAllocate(t *testing.T) {
	for _, tt := range decideCases() {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				decisionSink = Decide(tt.status, tt.p, tt.s, tt.last, tt.at)
			})
			if allocs != 0 {
				t.Errorf("Decide allocates %v times per call", allocs)
			}
		})
	}
}

func TestFold(t *testing.T) {
	t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	ev := func(id, purpose int64, a ConsentAction, at time.Time) *ConsentEvent {
		return &ConsentEvent{ID: id, PurposeID: purpose, PurposeVersion: int(id), Action: a, EffectiveFrom: at}
	}
	type want struct {
		action ConsentAction
		event  int64
		since  time.Time
	}
	tests := []struct {
		name   string
		events []*ConsentEvent
		want   map[int64]want
	}{
		{name: "no events", events: nil, want: map[int64]want{}},
		{name: "one grant", events: []*ConsentEvent{ev(1, 1, ActionGrant, t0)},
			want: map[int64]want{1: {ActionGrant, 1, t0}}},
		{name: "later withdrawal wins", events: []*ConsentEvent{ev(1, 1, ActionGrant, t0), ev(2, 1, ActionWithdraw, t0.Add(time.Hour))},
			want: map[int64]want{1: {ActionWithdraw, 2, t0.Add(time.Hour)}}},
		{name: "back-dated withdrawal does not undo a later grant", events: []*ConsentEvent{ev(1, 1, ActionGrant, t0), ev(2, 1, ActionWithdraw, t0.Add(-time.Hour))},
			want: map[int64]want{1: {ActionGrant, 1, t0}}},
		{name: "back-dated event listed first still loses", events: []*ConsentEvent{ev(2, 1, ActionWithdraw, t0.Add(-time.Hour)), ev(1, 1, ActionGrant, t0)},
			want: map[int64]want{1: {ActionGrant, 1, t0}}},
		{name: "tie broken by ledger id", events: []*ConsentEvent{ev(1, 1, ActionGrant, t0), ev(2, 1, ActionWithdraw, t0)},
			want: map[int64]want{1: {ActionWithdraw, 2, t0}}},
		{name: "tie broken by ledger id, listed in reverse", events: []*ConsentEvent{ev(2, 1, ActionWithdraw, t0), ev(1, 1, ActionGrant, t0)},
			want: map[int64]want{1: {ActionWithdraw, 2, t0}}},
		{name: "tie across time zones", events: []*ConsentEvent{ev(5, 1, ActionGrant, t0), ev(3, 1, ActionWithdraw, t0.In(time.FixedZone("CET", 3600)))},
			want: map[int64]want{1: {ActionGrant, 5, t0}}},
		{name: "per purpose", events: []*ConsentEvent{
			ev(1, 1, ActionGrant, t0),
			ev(2, 2, ActionAssignBasis, t0),
			ev(3, 1, ActionWithdraw, t0.Add(time.Hour)),
			ev(4, 2, ActionRemoveBasis, t0.Add(-time.Hour)),
			ev(5, 3, ActionGrant, t0.Add(-time.Hour)),
		}, want: map[int64]want{
			1: {ActionWithdraw, 3, t0.Add(time.Hour)},
			2: {ActionAssignBasis, 2, t0},
			3: {ActionGrant, 5, t0.Add(-time.Hour)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fold(tt.events)
			if got == nil {
				t.Fatal("Fold returned a nil map")
			}
			if len(got) != len(tt.want) {
				t.Errorf("Fold gave %d states, want %d", len(got), len(tt.want))
			}
			for purpose, w := range tt.want {
				s := got[purpose]
				if s == nil {
					t.Errorf("purpose %d: no state", purpose)
					continue
				}
				if s.PurposeID != purpose || s.Action != w.action || s.EventID != w.event || !s.Since.Equal(w.since) || s.PurposeVersion != int(w.event) {
					t.Errorf("purpose %d: got %+v, want %s by event %d since %v", purpose, *s, w.action, w.event, w.since)
				}
			}
		})
	}
}

func TestSupersedes(t *testing.T) {
	t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	var none *ConsentState
	if !none.Supersedes(&ConsentEvent{ID: 1, EffectiveFrom: t0}) {
		t.Error("an event does not supersede no state")
	}
	s := &ConsentState{EventID: 5, Since: t0}
	tests := []struct {
		name string
		e    ConsentEvent
		want bool
	}{
		{name: "later", e: ConsentEvent{ID: 2, EffectiveFrom: t0.Add(time.Nanosecond)}, want: true},
		{name: "earlier", e: ConsentEvent{ID: 9, EffectiveFrom: t0.Add(-time.Nanosecond)}, want: false},
		{name: "same time, later in the ledger", e: ConsentEvent{ID: 6, EffectiveFrom: t0}, want: true},
		{name: "same time, earlier in the ledger", e: ConsentEvent{ID: 4, EffectiveFrom: t0}, want: false},
		{name: "same event", e: ConsentEvent{ID: 5, EffectiveFrom: t0}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Supersedes(&tt.e); got != tt.want {
				t.Errorf("Supersedes = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConsentEventRedact removes every address and browser an event
// holds, its double opt-in proof's too, and leaves what happened.
func TestConsentEventRedact(t *testing.T) {
	proof := &ConsentProof{FormID: 3, FormVersion: 2, SubmittedIP: "198.51.100.7", SubmittedUserAgent: "Firefox",
		ConfirmedIP: "198.51.100.8", ConfirmedUserAgent: "Safari"}
	e := &ConsentEvent{ID: 1, Action: ActionGrant, Method: MethodDOI, IP: "198.51.100.8", UserAgent: "Safari", Proof: proof}
	entry := &TimelineEntry{Consent: e}
	entry.Redact()
	b, _ := json.Marshal(e)
	for _, personal := range []string{"198.51.100", "Firefox", "Safari"} {
		if strings.Contains(string(b), personal) {
			t.Errorf("redacted event holds %q: %s", personal, b)
		}
	}
	if e.Proof.FormID != 3 || e.Proof.FormVersion != 2 || e.Action != ActionGrant || e.Method != MethodDOI {
		t.Errorf("redaction removed what is not personal: %s", b)
	}
	if proof.SubmittedIP == "" {
		t.Error("redaction changed the proof it was given, which others may share")
	}
}
