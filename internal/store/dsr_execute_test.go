package store

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestExecuteDSRIsAtomic makes completing a restriction request fail after
// the contact was restricted in the same transaction: neither change may
// stay, and executing again then restricts and completes (before, the
// contact stayed restricted and a retry answered 409).
func TestExecuteDSRIsAtomic(t *testing.T) {
	db := openTestDBAt(t, t.TempDir())
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "ada@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	r := &custos.DSRRequest{Type: custos.DSRRestriction, ContactID: &c.ID}
	if err := db.CreateDSRRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	fault := errors.New("completion failed")
	_, err := db.executeDSR(ctx, r.ID, custos.DSRRestriction, func(tx *sql.Tx, a custos.Actor, contactID int64) (string, error) {
		if _, err := db.restrict(ctx, tx, a, contactID, "accuracy contested"); err != nil {
			return "", err
		}
		return "", fault
	})
	if !errors.Is(err, fault) {
		t.Fatalf("err = %v, want the fault", err)
	}
	got, err := db.FindContactByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != custos.StatusActive {
		t.Fatalf("status %s after a failed execution", got.Status)
	}
	if rs, err := db.ContactRestrictions(ctx, c.ID); err != nil || len(rs) != 0 {
		t.Fatalf("restrictions %v, %v", rs, err)
	}

	d, err := db.RestrictDSRSubject(ctx, r.ID, "accuracy contested")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != custos.DSRCompleted || d.History[len(d.History)-1].Event != custos.DSREventExecuted {
		t.Fatalf("request after execution: %+v", d)
	}
	if got, _ := db.FindContactByID(ctx, c.ID); got.Status != custos.StatusRestricted {
		t.Fatalf("status %s after execution", got.Status)
	}
	if _, err := db.RestrictDSRSubject(ctx, r.ID, "again"); custos.ErrorCode(err) != custos.ECONFLICT {
		t.Fatalf("executing a completed request: %v", err)
	}

	o := &custos.DSRRequest{Type: custos.DSRObjection, ContactID: &c.ID}
	if err := db.CreateDSRRequest(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestrictDSRSubject(ctx, o.ID, "wrong type"); custos.ErrorCode(err) != custos.ECONFLICT {
		t.Fatalf("restricting through an objection request: %v", err)
	}
	if d, err := db.ObjectDSRSubject(ctx, o.ID); err != nil || d.Status != custos.DSRCompleted {
		t.Fatalf("objection: %+v, %v", d, err)
	}
}
