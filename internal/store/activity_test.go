package store_test

import (
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

func TestActivities(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "crm", custos.RoleAdmin)
	c := mustContact(t, db, ctx, "client@example.com", nil)
	due := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)

	note := &custos.Activity{Type: custos.ActivityNote, Body: "  Called about the contract.  "}
	task := &custos.Activity{Type: custos.ActivityTask, Title: "Send the offer", DueAt: &due}
	deal := &custos.Activity{Type: custos.ActivityDeal, Title: "Fleet renewal", Value: "1200.50", Currency: "EUR", Stage: "proposal"}
	call := &custos.Activity{Type: "call", Title: "Follow-up call"}
	for _, a := range []*custos.Activity{note, task, deal, call} {
		if err := db.CreateActivity(ctx, c.ID, a); err != nil {
			t.Fatalf("create %s: %v", a.Type, err)
		}
		if a.ID == 0 || a.ContactID != c.ID || a.CreatedBy != "test" || a.CreatedAt.IsZero() {
			t.Fatalf("created %+v", a)
		}
	}
	if note.Body != "Called about the contract." {
		t.Errorf("body not trimmed: %q", note.Body)
	}

	// Newest first, a page at a time.
	page, next, err := db.ContactActivities(ctx, c.ID, 0, 3)
	if err != nil || len(page) != 3 || next == 0 || page[0].ID != call.ID || page[2].ID != task.ID {
		t.Fatalf("first page: %d, next %d, %v", len(page), next, err)
	}
	rest, next, err := db.ContactActivities(ctx, c.ID, next, 3)
	if err != nil || len(rest) != 1 || next != 0 || rest[0].ID != note.ID || rest[0].Body != note.Body {
		t.Fatalf("second page: %+v, next %d, %v", rest, next, err)
	}
	got, err := db.FindActivity(ctx, c.ID, deal.ID)
	if err != nil || got.Title != "Fleet renewal" || got.Value != "1200.50" || got.Currency != "EUR" || got.Stage != "proposal" {
		t.Fatalf("deal: %+v %v", got, err)
	}

	// Mark the task done, then not done.
	done, err := db.UpdateActivity(ctx, c.ID, task.ID, custos.ActivityUpdate{Done: ptr(true)})
	if err != nil || !done.Done || done.DoneAt == nil || done.Title != "Send the offer" || !done.DueAt.Equal(due) {
		t.Fatalf("done: %+v %v", done, err)
	}
	if got, _ := db.FindActivity(ctx, c.ID, task.ID); !got.Done || got.DoneAt == nil {
		t.Fatalf("stored done: %+v", got)
	}
	undone, err := db.UpdateActivity(ctx, c.ID, task.ID, custos.ActivityUpdate{Done: ptr(false)})
	if err != nil || undone.Done || undone.DoneAt != nil {
		t.Fatalf("undone: %+v %v", undone, err)
	}
	// Rules of the type hold after an update, which then writes nothing.
	if _, err := db.UpdateActivity(ctx, c.ID, note.ID, custos.ActivityUpdate{Done: ptr(true)}); code(err) != custos.EINVALID {
		t.Fatalf("a done note: %v", err)
	}
	if _, err := db.UpdateActivity(ctx, c.ID, deal.ID, custos.ActivityUpdate{Value: ptr("12,5")}); code(err) != custos.EINVALID {
		t.Fatalf("bad value: %v", err)
	}
	if got, _ := db.FindActivity(ctx, c.ID, deal.ID); got.Value != "1200.50" {
		t.Fatalf("a refused update changed the deal: %+v", got)
	}

	// Another contact's activity is not found through this one.
	other := mustContact(t, db, ctx, "other@example.com", nil)
	if _, err := db.FindActivity(ctx, other.ID, note.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("through another contact: %v", err)
	}
	if err := db.DeleteActivity(ctx, other.ID, note.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("delete through another contact: %v", err)
	}
	if _, _, err := db.ContactActivities(ctx, 987654, 0, 10); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown contact: %v", err)
	}
	// Another workspace sees nothing.
	foreign := storetest.Workspace(t, db, "elsewhere", custos.RoleAdmin)
	if _, err := db.FindActivity(foreign, c.ID, note.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("from another workspace: %v", err)
	}
	if err := db.CreateActivity(foreign, c.ID, &custos.Activity{Type: "note", Body: "x"}); code(err) != custos.ENOTFOUND {
		t.Fatalf("create from another workspace: %v", err)
	}

	if err := db.DeleteActivity(ctx, c.ID, call.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindActivity(ctx, c.ID, call.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("deleted: %v", err)
	}

	// A restricted contact's activities stay as they are.
	if _, err := db.RestrictContact(ctx, c.ID, "Contests the data."); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateActivity(ctx, c.ID, &custos.Activity{Type: "note", Body: "more"}); code(err) != custos.ERESTRICTED {
		t.Fatalf("create on a restricted contact: %v", err)
	}
	if _, err := db.UpdateActivity(ctx, c.ID, task.ID, custos.ActivityUpdate{Done: ptr(true)}); code(err) != custos.ERESTRICTED {
		t.Fatalf("update on a restricted contact: %v", err)
	}
	if err := db.DeleteActivity(ctx, c.ID, task.ID); code(err) != custos.ERESTRICTED {
		t.Fatalf("delete on a restricted contact: %v", err)
	}
	if page, _, err := db.ContactActivities(ctx, c.ID, 0, 10); err != nil || len(page) != 3 {
		t.Fatalf("reading a restricted contact's activities: %d %v", len(page), err)
	}
}
