package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// statusChanges returns the contact's status changes, oldest first, as
// "old>new".
func statusChanges(t *testing.T, db *store.DB, ctx context.Context, id int64) []string {
	t.Helper()
	hist, _, err := db.ContactHistory(ctx, id, 0, custos.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(hist) - 1; i >= 0; i-- {
		if h := hist[i]; h.Field == "status" {
			out = append(out, h.Old.(string)+">"+h.New.(string))
			if h.Actor != "test" {
				t.Errorf("status change by %q, want the actor", h.Actor)
			}
		}
	}
	return out
}

func TestRestrictAndLift(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	li := mustPurpose(t, db, ctx, custos.BasisLegitimateInterests)
	c := mustContact(t, db, ctx, "anna@example.com", map[string]any{"first_name": "Anna"})
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: li.ID, Action: custos.ActionAssignBasis}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	before := db.Now()
	time.Sleep(2 * time.Millisecond)

	r, err := db.RestrictContact(ctx, c.ID, "  Contests the accuracy of her address (e-mail of 3 May).  ")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.ContactID != c.ID || r.RestrictedBy != "test" || r.RestrictedAt.IsZero() ||
		r.Reason != "Contests the accuracy of her address (e-mail of 3 May)." || r.LiftedAt != nil || r.LiftedBy != "" || r.LiftReason != "" {
		t.Fatalf("restriction %+v", r)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Status != custos.StatusRestricted {
		t.Fatalf("status %q after restricting", got.Status)
	}
	if _, err := db.RestrictContact(ctx, c.ID, "again"); code(err) != custos.ECONFLICT {
		t.Fatalf("restricting a restricted contact: %v", err)
	}
	// Not processed while restricted; processed before, and asked about
	// that time the answer says so.
	if d, err := db.Permission(ctx, c.ID, li.ID, nil); err != nil || d.Allowed || d.Reason != custos.ReasonRestricted {
		t.Fatalf("restricted: %+v %v", d, err)
	}
	if d, err := db.Permission(ctx, c.ID, li.ID, &before); err != nil || !d.Allowed || d.Reason != custos.ReasonBasis {
		t.Fatalf("before the restriction: %+v %v", d, err)
	}
	time.Sleep(2 * time.Millisecond)
	during := db.Now()
	time.Sleep(2 * time.Millisecond)

	l, err := db.LiftRestriction(ctx, c.ID, "Address confirmed by the person.")
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != r.ID || l.Reason != r.Reason || l.LiftedAt == nil || l.LiftedBy != "test" || l.LiftReason != "Address confirmed by the person." ||
		!l.RestrictedAt.Equal(r.RestrictedAt) {
		t.Fatalf("lifted %+v", l)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Status != custos.StatusActive {
		t.Fatalf("status %q after lifting", got.Status)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "again"); code(err) != custos.ECONFLICT {
		t.Fatalf("lifting an unrestricted contact: %v", err)
	}
	if d, _ := db.Permission(ctx, c.ID, li.ID, nil); !d.Allowed {
		t.Fatalf("after lifting: %+v", d)
	}
	if d, _ := db.Permission(ctx, c.ID, li.ID, &during); d.Allowed || d.Reason != custos.ReasonRestricted {
		t.Fatalf("asked about the time of the restriction: %+v", d)
	}

	// A second period; the history lists both, newest first.
	r2, err := db.RestrictContact(ctx, c.ID, "Objects to the processing; weighing the grounds.")
	if err != nil {
		t.Fatal(err)
	}
	all, err := db.ContactRestrictions(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != r2.ID || all[0].LiftedAt != nil || all[1].ID != r.ID || all[1].LiftReason != "Address confirmed by the person." {
		t.Fatalf("restrictions %+v", all)
	}
	if got := strings.Join(statusChanges(t, db, ctx, c.ID), " "); got != "active>restricted restricted>active active>restricted" {
		t.Fatalf("status history %q", got)
	}
}

func TestRestrictionRefusals(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "jan@example.com", nil)
	for _, tc := range []struct {
		name, reason string
	}{
		{"empty", ""},
		{"blank", " \t\n "},
		{"too long", strings.Repeat("ż", custos.MaxReason+1)},
		{"NUL", "contests\x00data"},
		{"not UTF-8", "contests \xff data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.RestrictContact(ctx, c.ID, tc.reason)
			if e := custos.AsError(err); e == nil || e.Code != custos.EINVALID || e.Field != "reason" {
				t.Fatalf("restrict: %v, want invalid reason", err)
			}
			_, err = db.LiftRestriction(ctx, c.ID, tc.reason)
			if e := custos.AsError(err); e == nil || e.Code != custos.EINVALID || e.Field != "reason" {
				t.Fatalf("lift: %v, want invalid reason", err)
			}
		})
	}
	if _, err := db.RestrictContact(ctx, c.ID, strings.Repeat("ż", custos.MaxReason)); err != nil {
		t.Fatalf("a reason of the longest length: %v", err)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "done"); err != nil {
		t.Fatal(err)
	}
	// Refused requests changed nothing.
	if all, _ := db.ContactRestrictions(ctx, c.ID); len(all) != 1 {
		t.Fatalf("%d restrictions", len(all))
	}
	if got := statusChanges(t, db, ctx, c.ID); len(got) != 2 {
		t.Fatalf("status history %v", got)
	}

	if _, err := db.RestrictContact(ctx, 987654, "x"); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown contact: %v", err)
	}
	if _, err := db.ContactRestrictions(ctx, 987654); code(err) != custos.ENOTFOUND {
		t.Fatalf("restrictions of an unknown contact: %v", err)
	}
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.RestrictContact(other, c.ID, "x"); code(err) != custos.ENOTFOUND {
		t.Fatalf("another workspace's contact: %v", err)
	}
	if _, err := db.ContactRestrictions(other, c.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("another workspace's restrictions: %v", err)
	}
	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetAnonymize}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestrictContact(ctx, c.ID, "x"); code(err) != custos.ECONFLICT {
		t.Fatalf("anonymized contact: %v", err)
	}
	if all, err := db.ContactRestrictions(ctx, c.ID); err != nil || len(all) != 0 {
		t.Fatalf("restrictions of an anonymized contact: %v %v", all, err)
	}
}

// TestLiftGivesBackPendingStatus restricts a contact whose double opt-in
// is unconfirmed: lifting must not confirm it.
func TestLiftGivesBackPendingStatus(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := &custos.Contact{Email: "pending@example.com", Status: custos.StatusPending}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestrictContact(ctx, c.ID, "Asked us to stop while checking."); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "Checked."); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Status != custos.StatusPending {
		t.Fatalf("status %q after lifting, want pending", got.Status)
	}
	if got := strings.Join(statusChanges(t, db, ctx, c.ID), " "); got != "pending>restricted restricted>pending" {
		t.Fatalf("status history %q", got)
	}
}

// TestRestrictionReasonsSealed looks for the reasons in what the database
// holds: in the table on either database and, on SQLite, in every file of
// the data directory, the WAL included.
func TestRestrictionReasonsSealed(t *testing.T) {
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "sealed@example.com", nil)
	const reason, lift = "Zq9RestrictReasonMarker", "Zq9LiftReasonMarker"
	if _, err := db.RestrictContact(ctx, c.ID, reason); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, lift); err != nil {
		t.Fatal(err)
	}
	if all, err := db.ContactRestrictions(ctx, c.ID); err != nil || all[0].Reason != reason || all[0].LiftReason != lift {
		t.Fatalf("read back: %+v %v", all, err)
	}
	rows, err := db.RawBytes(context.Background(), `SELECT * FROM contact_restrictions`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("the table holds nothing")
	}
	for _, m := range []string{reason, lift} {
		if bytes.Contains(rows, []byte(m)) {
			t.Errorf("contact_restrictions holds %q in plaintext", m)
		}
	}
	if cfg.DatabaseURL != "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "*"))
	if len(files) < 2 {
		t.Fatalf("data directory holds %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{reason, lift} {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s holds %q in plaintext", filepath.Base(f), m)
			}
		}
	}
}

// TestMigrationRecordsEarlierRestrictions runs the restrictions migration
// again over a contact restricted before restrictions were recorded (by a
// change of its status): it must get an open restriction, so that it can
// be lifted.
func TestMigrationRecordsEarlierRestrictions(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "old@example.com", nil)
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Tags: &[]string{"x"}}); err != nil {
		t.Fatal(err)
	}
	// Restricted as it was done then: by a change of status alone.
	for _, stmt := range []string{
		`DROP TABLE contact_restrictions`,
		`DELETE FROM schema_migrations WHERE version = 3`,
		`UPDATE contacts SET status = 'restricted', updated_at = 1700000000000000 WHERE id = ` + itoa(c.ID),
	} {
		if err := db.ExecRaw(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	db = storetest.OpenConfig(t, cfg, v)
	all, err := db.ContactRestrictions(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].LiftedAt != nil || all[0].RestrictedBy != "test" || all[0].Reason != "" ||
		!all[0].RestrictedAt.Equal(time.UnixMicro(1700000000000000).UTC()) {
		t.Fatalf("restrictions %+v", all)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "Lifted after the upgrade."); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Status != custos.StatusActive {
		t.Fatalf("status %q", got.Status)
	}
}

// TestRestrictedContactIsFrozen checks every write a restriction refuses:
// each gives ERESTRICTED naming the field and changes nothing, while the
// person's own rights (withdrawal, removal of a basis, leaving a list)
// still work and bulk requests skip the contact.
func TestRestrictedContactIsFrozen(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	pc := mustPurpose(t, db, ctx, custos.BasisConsent)
	li := mustPurpose(t, db, ctx, custos.BasisLegitimateInterests)
	li2 := &custos.Purpose{Name: "Fraud prevention", LegalBasis: custos.BasisLegitimateInterests}
	if err := db.CreatePurpose(ctx, li2); err != nil {
		t.Fatal(err)
	}
	member, other := &custos.List{Name: "Member"}, &custos.List{Name: "Other"}
	for _, l := range []*custos.List{member, other} {
		if err := db.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	c := &custos.Contact{Email: "frozen@example.com", Tags: []string{"bulk"}, Fields: map[string]any{"first_name": "Ewa", "company": "Firma"}}
	d := &custos.Contact{Email: "free@example.com", Tags: []string{"bulk"}}
	for _, x := range []*custos.Contact{c, d} {
		if err := db.CreateContact(ctx, x); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddMembers(ctx, member.ID, []int64{x.ID}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []custos.ConsentRequest{{PurposeID: pc.ID, Action: custos.ActionGrant, Notice: "Tak."}, {PurposeID: li.ID, Action: custos.ActionAssignBasis}} {
		if _, err := db.RecordConsent(ctx, c.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RestrictContact(ctx, c.ID, "Contests the data."); err != nil {
		t.Fatal(err)
	}
	before, _ := db.FindContactByID(ctx, c.ID)
	histBefore, _, _ := db.ContactHistory(ctx, c.ID, 0, custos.MaxLimit)
	_, eventsBefore, _ := db.ContactConsents(ctx, c.ID)

	refused := []struct {
		name  string
		field string
		do    func() error
	}{
		{"change e-mail", "email", func() error {
			_, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Email: ptr("new@example.com")})
			return err
		}},
		{"change tags", "tags", func() error {
			_, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Tags: &[]string{"x"}})
			return err
		}},
		{"change a field", "fields.first_name", func() error {
			_, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"first_name": "Eva"}})
			return err
		}},
		{"clear a field", "fields.company", func() error {
			_, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Fields: map[string]any{"company": nil}})
			return err
		}},
		{"add to a list", "contact_ids", func() error {
			_, err := db.AddMembers(ctx, other.ID, []int64{c.ID})
			return err
		}},
		{"add to a list with another", "contact_ids", func() error {
			_, err := db.AddMembers(ctx, other.ID, []int64{d.ID, c.ID})
			return err
		}},
		{"grant", "action", func() error {
			_, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: pc.ID, Action: custos.ActionGrant, Notice: "Tak."})
			return err
		}},
		{"assign a basis", "action", func() error {
			_, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: li2.ID, Action: custos.ActionAssignBasis})
			return err
		}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if e := custos.AsError(err); e == nil || e.Code != custos.ERESTRICTED || e.Field != tc.field || !strings.Contains(e.Message, "restricted") {
				t.Fatalf("got %v, want %s on %q", err, custos.ERESTRICTED, tc.field)
			}
		})
	}
	after, _ := db.FindContactByID(ctx, c.ID)
	histAfter, _, _ := db.ContactHistory(ctx, c.ID, 0, custos.MaxLimit)
	_, eventsAfter, _ := db.ContactConsents(ctx, c.ID)
	if after.Email != before.Email || after.Fields["first_name"] != "Ewa" || after.Fields["company"] != "Firma" ||
		strings.Join(after.Tags, ",") != "bulk" || !after.UpdatedAt.Equal(before.UpdatedAt) || after.Status != custos.StatusRestricted {
		t.Fatalf("a refused write changed the contact: %+v", after)
	}
	if len(histAfter) != len(histBefore) || len(eventsAfter) != len(eventsBefore) {
		t.Fatalf("a refused write left history (%d→%d) or ledger (%d→%d) entries", len(histBefore), len(histAfter), len(eventsBefore), len(eventsAfter))
	}
	if l, _ := db.FindList(ctx, other.ID); l.Members != 0 {
		t.Fatalf("a refused addition left %d members", l.Members)
	}

	// An update that names nothing changes nothing, and is no error.
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{}); err != nil {
		t.Fatalf("empty update: %v", err)
	}
	// Bulk requests skip the contact and say so; a withdrawal reaches it.
	if n, skipped, err := db.AddMembersByFilter(ctx, other.ID, custos.ContactFilter{Tag: ptr("bulk")}); err != nil || n != 1 || skipped != 1 {
		t.Fatalf("add by filter: %d added, %d skipped, %v", n, skipped, err)
	}
	if lists, _ := db.ContactLists(ctx, c.ID); len(lists) != 1 || lists[0] != member.ID {
		t.Fatalf("restricted contact's lists: %v", lists)
	}
	if n, skipped, err := db.RecordConsentByFilter(ctx, custos.ContactFilter{Tag: ptr("bulk")}, custos.ConsentRequest{PurposeID: li2.ID, Action: custos.ActionAssignBasis}); err != nil || n != 1 || skipped != 1 {
		t.Fatalf("bulk assign: %d recorded, %d skipped, %v", n, skipped, err)
	}
	if states, _, _ := db.ContactConsents(ctx, c.ID); len(states) != 2 {
		t.Fatalf("bulk assignment reached the restricted contact: %+v", states)
	}
	if n, skipped, err := db.RecordConsentByFilter(ctx, custos.ContactFilter{Tag: ptr("bulk")}, custos.ConsentRequest{PurposeID: pc.ID, Action: custos.ActionWithdraw}); err != nil || n != 2 || skipped != 0 {
		t.Fatalf("bulk withdrawal: %d recorded, %d skipped, %v", n, skipped, err)
	}

	// The person's rights: remove the basis, leave a list.
	if _, err := db.RecordConsent(ctx, c.ID, custos.ConsentRequest{PurposeID: li.ID, Action: custos.ActionRemoveBasis}); err != nil {
		t.Fatalf("remove a basis: %v", err)
	}
	if n, err := db.RemoveMembers(ctx, member.ID, []int64{c.ID}); err != nil || n != 1 {
		t.Fatalf("leave a list: %d %v", n, err)
	}
	states, _, _ := db.ContactConsents(ctx, c.ID)
	for _, s := range states {
		if s.Action.Permits() {
			t.Errorf("purpose %d still %s", s.PurposeID, s.Action)
		}
	}
	// Lifted, the contact may change again.
	if _, err := db.LiftRestriction(ctx, c.ID, "Data confirmed."); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMembers(ctx, other.ID, []int64{c.ID}); err != nil {
		t.Fatalf("add after lifting: %v", err)
	}
	if _, err := db.UpdateContact(ctx, c.ID, custos.ContactUpdate{Tags: &[]string{"x"}}); err != nil {
		t.Fatalf("update after lifting: %v", err)
	}
}
