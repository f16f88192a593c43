package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/custos/custos/internal/custos"
)

// dsr prints the register of data-subject requests, soonest due first.
func (m *Main) dsr(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(m.Stderr, "Usage: custos dsr list [--workspace W] [--due-within N] [--overdue] [--status S] [--type T]")
		return flag.ErrHelp
	}
	fs := m.flagSet("dsr list")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace of the requests")
	within := fs.Int("due-within", -1, "only open requests due within this many days")
	overdue := fs.Bool("overdue", false, "only open requests past due (with --due-within: those too)")
	status := fs.String("status", "", "only requests in this status")
	typ := fs.String("type", "", "only requests of this type")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	f := custos.DSRFilter{Overdue: *overdue, Limit: custos.MaxLimit}
	if *within >= 0 {
		f.DueWithin = within
	}
	if *status != "" {
		f.Status = (*custos.DSRStatus)(status)
	}
	if *typ != "" {
		f.Type = (*custos.DSRType)(typ)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("--%s %s", strings.ReplaceAll(custos.AsError(err).Field, "_", "-"), custos.ErrorMessage(err))
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleDPO)
	if err != nil {
		return err
	}
	var all []*custos.DSRRequest
	for {
		page, next, err := m.DB.FindDSRRequests(actx, f)
		if err != nil {
			return fmt.Errorf("list requests: %s", custos.ErrorMessage(err))
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		f.After = next
	}
	slices.SortStableFunc(all, func(a, b *custos.DSRRequest) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID)) })
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tRECEIVED\tDUE")
	for _, r := range all {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.Type, r.Status, r.ReceivedAt.Format("2006-01-02"), r.DueAt.Format("2006-01-02"))
	}
	return tw.Flush()
}
