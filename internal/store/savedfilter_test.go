package store_test

import (
	"context"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// TestSavedFilters keeps each actor's saved filters apart: another user of
// the same workspace, or of another, neither sees nor deletes them.
func TestSavedFilters(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a, _ := custos.ActorFrom(ctx)
	anna := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: custos.ActorUser, ID: 1, Role: custos.RoleSales})
	bob := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: a.WorkspaceID, Kind: custos.ActorUser, ID: 2, Role: custos.RoleAdmin})
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	ob, _ := custos.ActorFrom(other)
	otherAnna := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: ob.WorkspaceID, Kind: custos.ActorUser, ID: 1, Role: custos.RoleAdmin})

	vip := &custos.SavedFilter{Name: "  VIPs ", Query: "tag=vip&status=active", Columns: []string{"email", "contract_signed"}}
	if err := db.CreateSavedFilter(anna, vip); err != nil {
		t.Fatal(err)
	}
	if vip.ID == 0 || vip.Name != "VIPs" || vip.CreatedAt.IsZero() {
		t.Fatalf("stored: %+v", vip)
	}
	if err := db.CreateSavedFilter(anna, &custos.SavedFilter{Name: "VIPs", Query: "tag=x"}); code(err) != custos.ECONFLICT || custos.AsError(err).Field != "name" {
		t.Fatalf("same name again: %v", err)
	}
	// Another user may use the same name.
	if err := db.CreateSavedFilter(bob, &custos.SavedFilter{Name: "VIPs", Query: "tag=bob"}); err != nil {
		t.Fatal(err)
	}
	a1 := &custos.SavedFilter{Name: "all", Query: ""}
	if err := db.CreateSavedFilter(anna, a1); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindSavedFilters(anna)
	if err != nil || len(got) != 2 || got[0].Name != "VIPs" || got[1].Name != "all" ||
		got[0].Query != vip.Query || len(got[0].Columns) != 2 || got[0].Columns[1] != "contract_signed" || len(got[1].Columns) != 0 {
		t.Fatalf("anna's filters: %+v %v", got, err)
	}
	if got, err := db.FindSavedFilters(otherAnna); err != nil || len(got) != 0 {
		t.Fatalf("user 1 of another workspace sees %+v %v", got, err)
	}
	if got, _ := db.FindSavedFilters(bob); len(got) != 1 || got[0].Query != "tag=bob" {
		t.Fatalf("bob's filters: %+v", got)
	}
	for _, who := range []context.Context{bob, otherAnna, ctx} {
		if err := db.DeleteSavedFilter(who, vip.ID); code(err) != custos.ENOTFOUND {
			t.Fatalf("someone else deleted anna's filter: %v", err)
		}
	}
	if err := db.DeleteSavedFilter(anna, vip.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSavedFilter(anna, vip.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("deleted twice: %v", err)
	}
	if got, _ := db.FindSavedFilters(anna); len(got) != 1 || got[0].ID != a1.ID {
		t.Fatalf("after delete: %+v", got)
	}

	for _, tt := range []struct {
		name, field string
		f           custos.SavedFilter
	}{
		{"no name", "name", custos.SavedFilter{Name: " "}},
		{"long name", "name", custos.SavedFilter{Name: string(make([]rune, 101))}},
		{"control", "name", custos.SavedFilter{Name: "a\nb"}},
		{"query too long", "query", custos.SavedFilter{Name: "x", Query: string(make([]byte, custos.MaxSavedFilterQuery+1))}},
		{"bad column", "columns", custos.SavedFilter{Name: "x", Columns: []string{"<b>"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.CreateSavedFilter(anna, &tt.f); code(err) != custos.EINVALID || custos.AsError(err).Field != tt.field {
				t.Fatalf("got %v, want invalid %s", err, tt.field)
			}
		})
	}
}

// TestFindContactsByIDs selects contacts by a list of ids, with the rest of
// the filter; an empty list selects none.
func TestFindContactsByIDs(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	a := mustContact(t, db, ctx, "a@example.com", nil)
	b := mustContact(t, db, ctx, "b@example.com", nil)
	mustContact(t, db, ctx, "c@example.com", nil)
	got, _, err := db.FindContacts(ctx, custos.ContactFilter{IDs: []int64{a.ID, b.ID}})
	if err != nil || len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
		t.Fatalf("by ids: %v %v", got, err)
	}
	if got, _, err := db.FindContacts(ctx, custos.ContactFilter{IDs: []int64{}}); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v %v", got, err)
	}
	if _, _, err := db.FindContacts(ctx, custos.ContactFilter{IDs: []int64{0}}); code(err) != custos.EINVALID {
		t.Fatalf("id 0: %v", err)
	}
}
