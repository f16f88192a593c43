package store

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// TestTextIndex checks the block index against a plain map, with ids put in
// random order, replaced, and searched page by page.
func TestTextIndex(t *testing.T) {
	var idx textIndex
	want := map[int64]string{}
	r := rand.New(rand.NewPCG(1, 2))
	ids := r.Perm(3 * textBlockSize)
	// Mostly ascending, as contacts arrive, with some out of order.
	slices.Sort(ids[:2*textBlockSize])
	for _, i := range ids {
		id := int64(i + 1)
		s := fmt.Sprintf("user%d@example.com\nname%d", id, id%97)
		idx.put(id, s)
		want[id] = s
	}
	for range 500 {
		id := int64(r.IntN(3*textBlockSize) + 1)
		s := fmt.Sprintf("changed%d", r.IntN(50))
		idx.put(id, s)
		want[id] = s
	}
	if idx.len() != len(want) {
		t.Fatalf("index holds %d entries, want %d", idx.len(), len(want))
	}
	for _, q := range []string{"name42", "changed7", "user1", "@example", "zzz", "d1"} {
		var exp []int64
		for id, s := range want {
			if strings.Contains(s, q) {
				exp = append(exp, id)
			}
		}
		slices.Sort(exp)
		slices.Reverse(exp)
		var got []int64
		var before int64
		for {
			ids, next := idx.matchesBelow(before, []byte(q), 100)
			got = append(got, ids...)
			if next == 0 {
				break
			}
			before = next
		}
		if !slices.Equal(got, exp) {
			t.Errorf("%q: got %d ids, want %d (first %v vs %v)", q, len(got), len(exp), head(got), head(exp))
		}
	}
}

func head(ids []int64) []int64 { return ids[:min(5, len(ids))] }

// TestSearchCatchUpAcrossBatches reads the contacts in batches smaller than
// one bulk chunk, whose contacts share one revision, and still finds all.
func TestSearchCatchUpAcrossBatches(t *testing.T) {
	db := openTestDB(t)
	db.search.batch = 7
	ctx := testActor(t, db)
	var cs []*custos.Contact
	for i := range 25 {
		cs = append(cs, &custos.Contact{Email: fmt.Sprintf("bulk%02d@example.com", i), Fields: map[string]any{"last_name": "Chunkowski"}})
	}
	if err := db.CreateContacts(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.FindContacts(ctx, custos.ContactFilter{Search: "chunkowski", Limit: 100})
	if err != nil || len(got) != 25 {
		t.Fatalf("found %d of 25: %v", len(got), err)
	}
	// A later update is read too.
	if _, err := db.UpdateContact(ctx, cs[3].ID, custos.ContactUpdate{Fields: map[string]any{"last_name": "Renamed"}}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := db.FindContacts(ctx, custos.ContactFilter{Search: "renamed"}); len(got) != 1 || got[0].ID != cs[3].ID {
		t.Fatalf("after update found %v", got)
	}
}

// openTestDB opens a store on SQLite in a temporary directory; tests of
// this package cannot use storetest, which imports it.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	return openTestDBAt(t, t.TempDir())
}

// openTestDBAt opens a store on SQLite in dir.
func openTestDBAt(t *testing.T, dir string) *DB {
	t.Helper()
	key := make([]byte, vault.KeySize)
	crand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return openWith(t, dir, v)
}

// testActor creates a workspace and returns a context acting in it.
func testActor(t *testing.T, db *DB) context.Context {
	t.Helper()
	w := &custos.Workspace{Name: "t"}
	if err := db.CreateWorkspace(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return custos.WithActor(context.Background(), custos.Actor{WorkspaceID: w.ID, Kind: custos.ActorSystem, Role: custos.RoleAdmin})
}

// TestDropForgottenByAnotherProcess forgets a contact through a second
// store on the same files (the command line beside a running server): the
// first store's index holds the decrypted text until DropForgotten.
func TestDropForgottenByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	key := make([]byte, vault.KeySize)
	crand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	server := openWith(t, dir, v)
	ctx := testActor(t, server)
	c := &custos.Contact{Email: "drop@example.com", Fields: map[string]any{"last_name": "Dropowski"}}
	if err := server.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	a, _ := custos.ActorFrom(ctx)
	indexed := func() bool {
		w, err := server.search.current(ctx, a.WorkspaceID)
		if err != nil {
			t.Fatal(err)
		}
		w.mu.RLock()
		defer w.mu.RUnlock()
		ids, _ := w.text.matchesBelow(1<<62, []byte("dropowski"), 10)
		return len(ids) == 1
	}
	if !indexed() {
		t.Fatal("the contact is not in the index")
	}
	cli := openWith(t, dir, v)
	if _, err := cli.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	if !indexed() {
		t.Fatal("the erasure reached the other store's memory by itself; the test is wrong")
	}
	if err := server.DropForgotten(ctx); err != nil {
		t.Fatal(err)
	}
	if indexed() {
		t.Fatal("the forgotten contact's text is still in the index")
	}
}

func openWith(t *testing.T, dir string, v *vault.Vault) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{DataDir: dir}, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
