package custos

import "context"

// Overview is the workspace at a glance, in counts only: what the
// dashboard shows and GET /api/v1/overview answers.
type Overview struct {
	// Contacts counts the contacts by status; every status is present.
	Contacts map[ContactStatus]int64 `json:"contacts"`
	// Consents counts, per purpose id, the contacts whose current state
	// for the purpose is each action (grant, withdraw, assign_basis…).
	Consents map[int64]map[ConsentAction]int64 `json:"consents"`
	// PendingSignups counts the sign-ups waiting for their confirmation.
	PendingSignups int64 `json:"pending_signups"`
}

// OverviewService answers the counts of the dashboard.
type OverviewService interface {
	// Overview counts the actor's workspace.
	Overview(ctx context.Context) (*Overview, error)
}
