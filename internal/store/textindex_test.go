package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
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
