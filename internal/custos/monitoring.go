package custos

import (
	"context"
	"time"
)

// The ledger actions that record a contact's monitoring (tracking of e-mail
// opens, visits and other events) switched off and on. They are recorded
// for each purpose of the tracking channel and decide no consent state.
const (
	ActionMonitoringOff ConsentAction = "monitoring_off"
	ActionMonitoringOn  ConsentAction = "monitoring_on"
)

// ChannelTracking is the channel of the purposes that tracking rests on.
// Switching a contact's monitoring back on needs a consent the contact gave
// for such a purpose after it was switched off, and tracking events are
// stored only while one of them permits processing.
const ChannelTracking = "tracking"

// Monitoring reports whether the action is about monitoring rather than
// consent or a basis.
func (a ConsentAction) Monitoring() bool {
	return a == ActionMonitoringOff || a == ActionMonitoringOn
}

// MonitoringState is a contact's monitoring: on or off, since when it is
// off, and the ledger events a change recorded.
type MonitoringState struct {
	ContactID int64           `json:"contact_id"`
	Enabled   bool            `json:"enabled"`
	OffSince  *time.Time      `json:"off_since"`
	Events    []*ConsentEvent `json:"events"`
}

// MonitoringService switches the monitoring of contacts in the actor's
// workspace off and on.
type MonitoringService interface {
	// SetMonitoring switches the contact's monitoring off or on at once,
	// records the change in its history and, for each purpose of the
	// tracking channel, in the consent ledger. Switching it on after it
	// was switched off is ECONSENT unless the contact granted consent for
	// a purpose of the tracking channel after that and the grant still
	// stands; ERESTRICTED while the contact's processing is restricted
	// (switching off always works). Setting the state it has changes
	// nothing. ENOTFOUND for a contact not in the workspace; ECONFLICT for
	// an anonymized or forgotten one.
	SetMonitoring(ctx context.Context, contactID int64, enabled bool) (*MonitoringState, error)
}
