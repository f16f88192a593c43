package custos

import (
	"testing"
	"time"
)

// TestFoldSkipsMonitoring checks that switching monitoring off or on,
// recorded in the ledger, decides no consent.
func TestFoldSkipsMonitoring(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []*ConsentEvent{
		{ID: 1, PurposeID: 7, Action: ActionGrant, EffectiveFrom: t0},
		{ID: 2, PurposeID: 7, Action: ActionMonitoringOff, EffectiveFrom: t0.Add(time.Hour)},
		{ID: 3, PurposeID: 8, Action: ActionMonitoringOn, EffectiveFrom: t0.Add(time.Hour)},
	}
	states := Fold(events)
	if s := states[7]; s == nil || s.Action != ActionGrant || s.EventID != 1 {
		t.Fatalf("purpose 7: %+v", s)
	}
	if s := states[8]; s != nil {
		t.Fatalf("purpose 8 has a state from a monitoring event: %+v", s)
	}
	if !ActionMonitoringOff.Monitoring() || ActionGrant.Monitoring() {
		t.Fatal("Monitoring() is wrong")
	}
}
