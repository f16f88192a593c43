package custos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// LegalBasis is the ground of GDPR Art. 6(1) a purpose rests on.
type LegalBasis string

// The legal bases, Art. 6(1)(a)–(f).
const (
	BasisConsent             LegalBasis = "consent"
	BasisContract            LegalBasis = "contract"
	BasisLegalObligation     LegalBasis = "legal_obligation"
	BasisVitalInterests      LegalBasis = "vital_interests"
	BasisPublicTask          LegalBasis = "public_task"
	BasisLegitimateInterests LegalBasis = "legitimate_interests"
)

// Valid reports whether b is one of the six bases.
func (b LegalBasis) Valid() bool {
	switch b {
	case BasisConsent, BasisContract, BasisLegalObligation, BasisVitalInterests, BasisPublicTask, BasisLegitimateInterests:
		return true
	}
	return false
}

// RetentionFrom is the moment a purpose's retention period counts from.
type RetentionFrom string

// The retention starting points.
const (
	RetentionFromConsent      RetentionFrom = "consent"
	RetentionFromLastActivity RetentionFrom = "last_activity"
	RetentionFromContractEnd  RetentionFrom = "contract_end"
)

// Purpose is why personal data is processed. Every edit makes a new
// version; consents point at the version they were given under. Marketing
// marks direct marketing, which a person may object to at any time
// (Art. 21(2)): the objection ends every consent and basis for it.
type Purpose struct {
	ID             int64         `json:"id"`
	Version        int           `json:"version"`
	Name           string        `json:"name"`
	Description    string        `json:"description"`
	LegalBasis     LegalBasis    `json:"legal_basis"`
	RetentionDays  int           `json:"retention_days"`
	RetentionFrom  RetentionFrom `json:"retention_from"`
	Channel        string        `json:"channel"`
	Unsubscribable bool          `json:"unsubscribable"`
	Marketing      bool          `json:"marketing"`
	CreatedAt      time.Time     `json:"created_at"` // of the purpose
	VersionAt      time.Time     `json:"version_at"` // of this version
	VersionBy      string        `json:"version_by"`
}

// Validate checks a purpose version.
func (p *Purpose) Validate() error {
	if err := validateNameDescription(&p.Name, p.Description); err != nil {
		return err
	}
	if !p.LegalBasis.Valid() {
		return Invalid("legal_basis", "must be one of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests")
	}
	if p.RetentionDays < 0 || p.RetentionDays > 36500 {
		return Invalid("retention_days", "must be between 0 (no limit) and 36500")
	}
	if p.RetentionFrom == "" {
		p.RetentionFrom = RetentionFromConsent
	}
	switch p.RetentionFrom {
	case RetentionFromConsent, RetentionFromLastActivity, RetentionFromContractEnd:
	default:
		return Invalid("retention_from", "must be one of consent, last_activity, contract_end")
	}
	p.Channel = strings.TrimSpace(p.Channel)
	if err := CheckText("channel", p.Channel); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.Channel) > 50 {
		return Invalid("channel", "must be at most 50 characters")
	}
	return nil
}

// PurposeUpdate changes a purpose by making a new version of it.
type PurposeUpdate struct {
	Name           *string        `json:"name"`
	Description    *string        `json:"description"`
	LegalBasis     *LegalBasis    `json:"legal_basis"`
	RetentionDays  *int           `json:"retention_days"`
	RetentionFrom  *RetentionFrom `json:"retention_from"`
	Channel        *string        `json:"channel"`
	Unsubscribable *bool          `json:"unsubscribable"`
	Marketing      *bool          `json:"marketing"`
}

// Apply applies u to p and validates the result.
func (u PurposeUpdate) Apply(p *Purpose) error {
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.LegalBasis != nil {
		p.LegalBasis = *u.LegalBasis
	}
	if u.RetentionDays != nil {
		p.RetentionDays = *u.RetentionDays
	}
	if u.RetentionFrom != nil {
		p.RetentionFrom = *u.RetentionFrom
	}
	if u.Channel != nil {
		p.Channel = *u.Channel
	}
	if u.Unsubscribable != nil {
		p.Unsubscribable = *u.Unsubscribable
	}
	if u.Marketing != nil {
		p.Marketing = *u.Marketing
	}
	return p.Validate()
}

// NoticeKind says what a notice's wording was used as.
type NoticeKind string

// The notice kinds.
const (
	NoticeCheckbox          NoticeKind = "checkbox"
	NoticeInformationClause NoticeKind = "information_clause"
	NoticeEmail             NoticeKind = "email"
	NoticeOther             NoticeKind = "other"
)

// MaxNoticeBody is the longest wording a notice may hold, in bytes.
const MaxNoticeBody = 200000

// Notice is the exact wording a person saw, immutable and addressed by the
// SHA-256 of its body.
type Notice struct {
	Hash      string     `json:"hash"`
	Kind      NoticeKind `json:"kind"`
	Language  string     `json:"language"`
	Body      string     `json:"body,omitempty"` // empty in listings
	CreatedAt time.Time  `json:"created_at"`
}

// NoticeHash returns the address of a wording: "sha256:" and the hex digest
// of its exact bytes.
func NoticeHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Validate checks the notice and sets its hash.
func (n *Notice) Validate() error {
	if n.Body == "" {
		return Invalid("body", "is required")
	} else if len(n.Body) > MaxNoticeBody {
		return Invalid("body", "must be at most %d bytes", MaxNoticeBody)
	} else if err := CheckText("body", n.Body); err != nil {
		return err
	} else if err := CheckText("language", n.Language); err != nil {
		return err
	}
	if n.Kind == "" {
		n.Kind = NoticeOther
	}
	switch n.Kind {
	case NoticeCheckbox, NoticeInformationClause, NoticeEmail, NoticeOther:
	default:
		return Invalid("kind", "must be one of checkbox, information_clause, email, other")
	}
	if len(n.Language) > 35 {
		return Invalid("language", "must be a language tag such as pl or cs-CZ")
	}
	n.Hash = NoticeHash(n.Body)
	return nil
}

// PurposeService manages purposes and their versions in the actor's
// workspace.
type PurposeService interface {
	// CreatePurpose stores version 1 of p.
	CreatePurpose(ctx context.Context, p *Purpose) error
	// FindPurpose returns the current version, or ENOTFOUND.
	FindPurpose(ctx context.Context, id int64) (*Purpose, error)
	// FindPurposes returns the current version of every purpose.
	FindPurposes(ctx context.Context) ([]*Purpose, error)
	// UpdatePurpose stores a new version and returns it.
	UpdatePurpose(ctx context.Context, id int64, u PurposeUpdate) (*Purpose, error)
	// PurposeVersions returns every version, oldest first.
	PurposeVersions(ctx context.Context, id int64) ([]*Purpose, error)
}

// NoticeService stores notice versions in the actor's workspace.
type NoticeService interface {
	// CreateNotice stores n unless the same wording is stored already; either
	// way it fills n from the stored notice.
	CreateNotice(ctx context.Context, n *Notice) error
	// FindNotice returns the notice with the hash, or ENOTFOUND.
	FindNotice(ctx context.Context, hash string) (*Notice, error)
	// FindNotices returns every notice, newest first, without bodies.
	FindNotices(ctx context.Context) ([]*Notice, error)
}
