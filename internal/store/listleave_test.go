package store_test

import (
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// TestListLeaves: a contact taken off a list is recorded as having left
// it; adding everyone a filter matches skips them, naming them brings them
// back; the export shows it and forgetting removes it.
func TestListLeaves(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	l := &custos.List{Name: "News"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, email := range []string{"a@x.eu", "b@x.eu", "c@x.eu"} {
		c := &custos.Contact{Email: email, Tags: []string{"leaves"}}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	all := custos.ContactFilter{Tag: ptr("leaves")}
	if n, skipped, err := db.AddMembersByFilter(ctx, l.ID, all); err != nil || n != 3 || skipped != 0 {
		t.Fatalf("add all: %d, skipped %d, %v", n, skipped, err)
	}
	if n, err := db.RemoveMembers(ctx, l.ID, ids[:1]); err != nil || n != 1 {
		t.Fatalf("remove a: %d %v", n, err)
	}
	if n, err := db.RemoveMembersByFilter(ctx, l.ID, custos.ContactFilter{Email: ptr("b@x.eu")}); err != nil || n != 1 {
		t.Fatalf("remove b: %d %v", n, err)
	}
	if n, skipped, err := db.AddMembersByFilter(ctx, l.ID, all); err != nil || n != 0 || skipped != 2 {
		t.Fatalf("add all again: %d, skipped %d, %v", n, skipped, err)
	}
	x, err := db.ExportContact(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(x.ListsLeft) != 1 || x.ListsLeft[0].ListID != l.ID || x.ListsLeft[0].ListName != "News" || x.ListsLeft[0].LeftBy != "test" || x.ListsLeft[0].LeftAt.IsZero() {
		t.Fatalf("export of a: lists left %+v", x.ListsLeft)
	}
	// Named, a is back; b still left.
	if n, err := db.AddMembers(ctx, l.ID, ids[:1]); err != nil || n != 1 {
		t.Fatalf("add a by id: %d %v", n, err)
	}
	if x, err := db.ExportContact(ctx, ids[0]); err != nil || len(x.ListsLeft) != 0 || len(x.Lists) != 1 {
		t.Fatalf("export of a after rejoining: left %+v, on %+v, %v", x.ListsLeft, x.Lists, err)
	}
	if n, skipped, err := db.AddMembersByFilter(ctx, l.ID, all); err != nil || n != 0 || skipped != 1 {
		t.Fatalf("add all a third time: %d, skipped %d, %v", n, skipped, err)
	}
	ts, err := db.ForgetContact(ctx, ids[1], custos.ForgetRequest{Mode: custos.ForgetAnonymize})
	if err != nil {
		t.Fatal(err)
	}
	if ts.Removed["list_leaves"] != 1 {
		t.Fatalf("forget removed %v", ts.Removed)
	}
	if n, skipped, err := db.AddMembersByFilter(ctx, l.ID, all); err != nil || skipped != 0 {
		t.Fatalf("add all after forgetting b: %d, skipped %d, %v", n, skipped, err)
	}
}
