package custos

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"
	"unicode/utf8"
)

// ConsentAction is what a ledger event does.
type ConsentAction string

// The ledger actions. Grant and withdraw are about consent (Art. 6(1)(a));
// assign_basis and remove_basis put a contact under another basis for a
// purpose (a contract, a legitimate interest) or take it off.
const (
	ActionGrant       ConsentAction = "grant"
	ActionWithdraw    ConsentAction = "withdraw"
	ActionAssignBasis ConsentAction = "assign_basis"
	ActionRemoveBasis ConsentAction = "remove_basis"
)

// Permits reports whether the action lets the contact be processed for
// the purpose: a grant or an assigned basis. While a contact's processing
// is restricted these are refused; a withdrawal or a removed basis never is.
func (a ConsentAction) Permits() bool {
	return a == ActionGrant || a == ActionAssignBasis
}

// ConsentMethod is how a ledger event came to be; the server sets it.
type ConsentMethod string

// The consent methods.
const (
	MethodAPI        ConsentMethod = "api"
	MethodManual     ConsentMethod = "manual"
	MethodImport     ConsentMethod = "import"
	MethodForm       ConsentMethod = "form"
	MethodDOI        ConsentMethod = "doi"
	MethodPreference ConsentMethod = "preference_centre"
	MethodObjection  ConsentMethod = "objection" // the person objected to direct marketing (Art. 21(2))
)

// ConsentRequest asks for a ledger event.
type ConsentRequest struct {
	PurposeID     int64         `json:"purpose_id"`
	Action        ConsentAction `json:"action"`
	Notice        string        `json:"notice"`      // the wording the person saw
	NoticeHash    string        `json:"notice_hash"` // or the address of a stored notice
	EffectiveFrom *time.Time    `json:"effective_from"`
	IP            string        `json:"ip"`
	UserAgent     string        `json:"user_agent"`
	Method        ConsentMethod `json:"-"`
	// Proof is the evidence of a double opt-in; the server sets it.
	Proof *ConsentProof `json:"-"`
}

// ClockSkew is how far in the future an effective_from may lie.
const ClockSkew = 5 * time.Minute

// Validate checks the request as of now.
func (r *ConsentRequest) Validate(now time.Time) error {
	if r.PurposeID <= 0 {
		return Invalid("purpose_id", "is required")
	}
	switch r.Action {
	case ActionGrant:
		if r.Notice == "" && r.NoticeHash == "" {
			return Invalid("notice", "a grant needs the wording the person agreed to (notice or notice_hash)")
		}
	case ActionWithdraw, ActionAssignBasis, ActionRemoveBasis:
	default:
		return Invalid("action", "must be one of grant, withdraw, assign_basis, remove_basis")
	}
	if r.Notice != "" && r.NoticeHash != "" {
		return Invalid("notice_hash", "give the wording or its hash, not both")
	}
	if err := CheckText("notice", r.Notice); err != nil {
		return err
	} else if err := CheckText("user_agent", r.UserAgent); err != nil {
		return err
	} else if err := CheckText("notice_hash", r.NoticeHash); err != nil {
		return err
	}
	if len(r.Notice) > MaxNoticeBody || !utf8.ValidString(r.Notice) {
		return Invalid("notice", "must be valid UTF-8 of at most %d bytes", MaxNoticeBody)
	}
	if r.EffectiveFrom != nil && r.EffectiveFrom.After(now.Add(ClockSkew)) {
		return Invalid("effective_from", "must not be in the future")
	} else if r.EffectiveFrom != nil && r.EffectiveFrom.After(now) {
		// Within the clock skew: it takes effect now, so that it never
		// decides a state before its time.
		r.EffectiveFrom = &now
	}
	if r.IP != "" {
		a, err := netip.ParseAddr(r.IP)
		if err != nil {
			return Invalid("ip", "is not an IPv4 or IPv6 address")
		}
		r.IP = a.String()
	}
	if len(r.UserAgent) > 1000 || !utf8.ValidString(r.UserAgent) {
		return Invalid("user_agent", "must be valid UTF-8 of at most 1000 bytes")
	}
	if r.Method == "" {
		r.Method = MethodAPI
	}
	return nil
}

// ConsentEvent is one row of the append-only consent ledger.
type ConsentEvent struct {
	ID             int64         `json:"id"`
	ContactID      int64         `json:"contact_id"`
	PurposeID      int64         `json:"purpose_id"`
	PurposeVersion int           `json:"purpose_version"`
	Action         ConsentAction `json:"action"`
	Method         ConsentMethod `json:"method"`
	NoticeHash     string        `json:"notice_hash,omitempty"`
	EffectiveFrom  time.Time     `json:"effective_from"`
	IP             string        `json:"ip,omitempty"`
	UserAgent      string        `json:"user_agent,omitempty"`
	Actor          string        `json:"actor"`
	CreatedAt      time.Time     `json:"created_at"`
	// Proof is the evidence of a consent given by double opt-in.
	Proof *ConsentProof `json:"proof,omitempty"`
}

// ConsentProof is the evidence kept with a consent given through a form and
// confirmed by e-mail (double opt-in): the form version the person saw, the
// notice versions of the information clause and of the confirmation mail,
// and where from and when the form was sent and the link confirmed. The
// wording of the ticked checkbox is the event's notice_hash.
type ConsentProof struct {
	FormID             int64     `json:"form_id"`
	FormVersion        int       `json:"form_version"`
	InformationClause  string    `json:"information_clause"` // notice hash
	ConfirmationMail   string    `json:"confirmation_mail"`  // notice hash of the mail's wording
	SubmittedAt        time.Time `json:"submitted_at"`
	SubmittedIP        string    `json:"submitted_ip,omitempty"`
	SubmittedUserAgent string    `json:"submitted_user_agent,omitempty"`
	ConfirmedAt        time.Time `json:"confirmed_at"`
	ConfirmedIP        string    `json:"confirmed_ip,omitempty"`
	ConfirmedUserAgent string    `json:"confirmed_user_agent,omitempty"`
}

// Redact removes the personal data of the event (the addresses and
// browsers it was given from, its proof's too), for an actor who may not
// read personal data: what happened, when, how and by whom stays.
func (e *ConsentEvent) Redact() {
	e.IP, e.UserAgent = "", ""
	if e.Proof != nil {
		p := *e.Proof
		p.SubmittedIP, p.SubmittedUserAgent, p.ConfirmedIP, p.ConfirmedUserAgent = "", "", "", ""
		e.Proof = &p
	}
}

// ConsentState is the current state of one contact for one purpose, derived
// from the ledger and kept in the same transaction as each event.
type ConsentState struct {
	PurposeID      int64         `json:"purpose_id"`
	PurposeVersion int           `json:"purpose_version"`
	Action         ConsentAction `json:"state"`
	EventID        int64         `json:"event_id"`
	Since          time.Time     `json:"since"`
}

// Supersedes reports whether event e, once appended, decides the state in
// place of s: events count in the order they took effect, ties by ledger
// order, so a back-dated event does not undo a later one.
func (s *ConsentState) Supersedes(e *ConsentEvent) bool {
	return s == nil || e.EffectiveFrom.After(s.Since) || (e.EffectiveFrom.Equal(s.Since) && e.ID > s.EventID)
}

// Fold returns the states the events lead to, per purpose.
func Fold(events []*ConsentEvent) map[int64]*ConsentState {
	out := make(map[int64]*ConsentState)
	for _, e := range events {
		if e.Action.Monitoring() {
			continue // monitoring switched off or on decides no consent
		}
		if s := out[e.PurposeID]; s.Supersedes(e) {
			out[e.PurposeID] = &ConsentState{PurposeID: e.PurposeID, PurposeVersion: e.PurposeVersion,
				Action: e.Action, EventID: e.ID, Since: e.EffectiveFrom}
		}
	}
	return out
}

// Decision answers "may we process this contact's data for this purpose?".
// EventID is the ledger event the answer rests on and ExpiresAt when the
// permission lapses; zero values mean none, and are null in JSON.
type Decision struct {
	Allowed   bool
	Reason    string
	EventID   int64
	ExpiresAt time.Time
}

// MarshalJSON writes the decision with nulls for a missing event or expiry.
func (d Decision) MarshalJSON() ([]byte, error) {
	w := struct {
		Allowed   bool       `json:"allowed"`
		Reason    string     `json:"reason"`
		EventID   *int64     `json:"event_id"`
		ExpiresAt *time.Time `json:"expires_at"`
	}{Allowed: d.Allowed, Reason: d.Reason}
	if d.EventID != 0 {
		w.EventID = &d.EventID
	}
	if !d.ExpiresAt.IsZero() {
		w.ExpiresAt = &d.ExpiresAt
	}
	return json.Marshal(w)
}

// The reasons a Decision gives.
const (
	ReasonConsent       = "consent_granted"
	ReasonBasis         = "basis_assigned"
	ReasonNoConsent     = "no_consent"
	ReasonWithdrawn     = "consent_withdrawn"
	ReasonBasisRemoved  = "basis_removed"
	ReasonNoBasis       = "no_basis"
	ReasonExpired       = "retention_expired"
	ReasonPending       = "contact_pending"
	ReasonRestricted    = "contact_restricted"
	ReasonAnonymized    = "contact_anonymized"
	ReasonNotYetInForce = "not_yet_effective"
)

// Decide answers the question from a contact's status, the purpose, the
// contact's state for it (nil when the ledger holds nothing) and the time of
// the contact's last activity, as of at. It is pure and allocation-free so
// that it can be asked millions of times a second.
func Decide(status ContactStatus, p *Purpose, s *ConsentState, lastActivity, at time.Time) Decision {
	switch status {
	case StatusPending:
		return Decision{Reason: ReasonPending}
	case StatusRestricted:
		return Decision{Reason: ReasonRestricted}
	case StatusAnonymized:
		return Decision{Reason: ReasonAnonymized}
	}
	if s == nil {
		if p.LegalBasis == BasisConsent {
			return Decision{Reason: ReasonNoConsent}
		}
		return Decision{Reason: ReasonNoBasis}
	}
	d := Decision{EventID: s.EventID}
	switch {
	case s.Since.After(at):
		d.Reason = ReasonNotYetInForce
		return d
	case s.Action == ActionWithdraw:
		d.Reason = ReasonWithdrawn
		return d
	case s.Action == ActionRemoveBasis:
		d.Reason = ReasonBasisRemoved
		return d
	case s.Action == ActionAssignBasis && p.LegalBasis == BasisConsent:
		// A basis other than consent does not stand in for consent.
		d.Reason = ReasonNoConsent
		return d
	case s.Action == ActionGrant:
		d.Reason = ReasonConsent
	default:
		d.Reason = ReasonBasis
	}
	if p.RetentionDays > 0 {
		var from time.Time
		switch p.RetentionFrom {
		case RetentionFromConsent:
			from = s.Since
		case RetentionFromLastActivity:
			from = lastActivity
		}
		if !from.IsZero() {
			d.ExpiresAt = from.AddDate(0, 0, p.RetentionDays)
			if !at.Before(d.ExpiresAt) {
				d.Reason = ReasonExpired
				return d
			}
		}
	}
	d.Allowed = true
	return d
}

// MaxBulkContacts is the most contacts one bulk consent request may touch.
const MaxBulkContacts = 1_000_000

// ConsentService keeps the consent ledger in the actor's workspace.
type ConsentService interface {
	// RecordConsent appends an event for the contact and updates its state
	// in the same transaction. ENOTFOUND for an unknown contact; EINVALID for
	// an unknown purpose or notice; ERESTRICTED for a grant or an assigned
	// basis while the contact's processing is restricted (a withdrawal or a
	// removed basis is always recorded).
	RecordConsent(ctx context.Context, contactID int64, r ConsentRequest) (*ConsentEvent, error)
	// RecordConsentByFilter appends the same event for every contact
	// matching f (its cursor and limit are ignored) and returns for how
	// many, and how many it skipped: a grant or an assigned basis skips the
	// contacts whose processing is restricted.
	RecordConsentByFilter(ctx context.Context, f ContactFilter, r ConsentRequest) (recorded, skipped int64, err error)
	// ContactConsents returns the contact's current state per purpose and
	// its full ledger history, oldest first.
	ContactConsents(ctx context.Context, contactID int64) ([]*ConsentState, []*ConsentEvent, error)
	// Permission decides whether the contact may be processed for the
	// purpose at the given time (nil: now), from the ledger as it stood then.
	Permission(ctx context.Context, contactID, purposeID int64, at *time.Time) (*Decision, error)
	// ObjectToMarketing records the contact's objection to direct
	// marketing (Art. 21(2)) in one transaction: for every purpose whose
	// current version is marked marketing, a withdraw event where the
	// contact's consent is granted and a remove_basis event where a basis is
	// assigned, each with method objection. It returns the events, none
	// when there is nothing to end. ENOTFOUND for a contact not in the
	// workspace; ECONFLICT for a forgotten one.
	ObjectToMarketing(ctx context.Context, contactID int64) ([]*ConsentEvent, error)
}

// Service is everything the store offers the web layer and the command line.
type Service interface {
	WorkspaceService
	APIKeyService
	RoleService
	FieldService
	ContactService
	RestrictionService
	ListService
	PurposeService
	NoticeService
	ConsentService
	ErasureService
	ExportService
	AuditService
	ProcessorService
	DSRService
	PreferenceService
	// Activities, attachments, the timeline and tracking.
	ActivityService
	AttachmentService
	TimelineService
	MonitoringService
	TrackingService
	UserService
	// Sign-up forms and double opt-in.
	FormService
	SignupService
	// Imports of contacts from CSV and XLSX files.
	ImportService
	// The dashboard's counts.
	OverviewService
}
