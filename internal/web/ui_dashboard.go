package web

import (
	"net/http"

	"github.com/custos/custos/internal/custos"
)

// dashboardView is what the dashboard shows: counts, and the requests and
// imports that need attention, each part only to whom may see it.
type dashboardView struct {
	Counts         bool // whether the reader may see the counts
	Contacts       []statusCount
	Consents       []purposeCount
	PendingSignups int64
	Overdue        []*custos.DSRRequest
	Due            []*custos.DSRRequest
	Imports        []*custos.Import
}

// statusCount is how many contacts have a status.
type statusCount struct {
	Status custos.ContactStatus
	N      int64
}

// purposeCount is how many contacts stand where for a purpose.
type purposeCount struct {
	Purpose                   *custos.Purpose
	Granted, Withdrawn, Basis int64
}

// dashboardDays is how far ahead the dashboard lists requests falling due.
const dashboardDays = 7

// dashboardPage renders the dashboard. It names no person: requests are
// shown by number, type and date.
func (s *server) dashboardPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, _ := custos.ActorFrom(ctx)
	var v dashboardView
	var err error
	if v.Counts = a.Can(custos.PermContactsRead); v.Counts {
		err = s.counts(r, &v)
	}
	if err == nil && a.Can(custos.PermRequestsManage) {
		days := dashboardDays
		if v.Overdue, _, err = s.svc.FindDSRRequests(ctx, custos.DSRFilter{Overdue: true, Limit: 20}); err == nil {
			v.Due, _, err = s.svc.FindDSRRequests(ctx, custos.DSRFilter{DueWithin: &days, Limit: 20})
		}
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "dashboard", "ui.nav.dashboard", v)
}

// getOverview answers the workspace's counts.
func (s *server) getOverview(w http.ResponseWriter, r *http.Request) {
	o, err := s.svc.Overview(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, o)
}

// counts fills the dashboard's counts and recent imports.
func (s *server) counts(r *http.Request, v *dashboardView) error {
	ctx := r.Context()
	o, err := s.svc.Overview(ctx)
	if err != nil {
		return err
	}
	purposes, err := s.svc.FindPurposes(ctx)
	if err != nil {
		return err
	}
	for _, st := range []custos.ContactStatus{custos.StatusActive, custos.StatusPending, custos.StatusRestricted, custos.StatusAnonymized} {
		v.Contacts = append(v.Contacts, statusCount{st, o.Contacts[st]})
	}
	for _, p := range purposes {
		c := o.Consents[p.ID]
		v.Consents = append(v.Consents, purposeCount{Purpose: p, Granted: c[custos.ActionGrant],
			Withdrawn: c[custos.ActionWithdraw], Basis: c[custos.ActionAssignBasis]})
	}
	v.PendingSignups = o.PendingSignups
	v.Imports, _, err = s.svc.FindImports(ctx, 0, 5)
	return err
}
