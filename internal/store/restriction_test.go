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
