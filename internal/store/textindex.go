package store

import (
	"bytes"
	"slices"
	"sort"
)

// textBlockSize is how many entries a block of the text index holds before
// a new one starts.
const textBlockSize = 4096

// textIndex holds one text per id, ids ascending, in blocks of contiguous
// bytes: a fragment is then found with bytes.Index over a whole block at a
// time, at memory speed, rather than string by string.
type textIndex struct {
	blocks []*textBlock
}

// textBlock holds entries with ascending ids. Entry i is
// text[start(i):ends[i]], and a NUL byte follows each entry, so that no
// match spans two entries.
type textBlock struct {
	ids  []int64
	ends []int32
	text []byte
}

func (b *textBlock) start(i int) int {
	if i == 0 {
		return 0
	}
	return int(b.ends[i-1]) + 1
}

func (b *textBlock) append(id int64, s string) {
	b.ids = append(b.ids, id)
	b.text = append(b.text, s...)
	b.ends = append(b.ends, int32(len(b.text)))
	b.text = append(b.text, 0)
}

// len returns the number of entries.
func (t *textIndex) len() int {
	n := 0
	for _, b := range t.blocks {
		n += len(b.ids)
	}
	return n
}

// put sets the text of id. New ids mostly come in ascending order and are
// appended; others rewrite their block.
func (t *textIndex) put(id int64, s string) {
	n := len(t.blocks)
	if n == 0 || t.blocks[n-1].ids[len(t.blocks[n-1].ids)-1] < id {
		if n == 0 || len(t.blocks[n-1].ids) >= textBlockSize {
			t.blocks = append(t.blocks, &textBlock{})
			n++
		}
		t.blocks[n-1].append(id, s)
		return
	}
	// The last block whose first id is at most id, or the first block.
	bi := max(0, sort.Search(n, func(i int) bool { return t.blocks[i].ids[0] > id })-1)
	old := t.blocks[bi]
	i, found := slices.BinarySearch(old.ids, id)
	nb := &textBlock{ids: make([]int64, 0, len(old.ids)+1), ends: make([]int32, 0, len(old.ids)+1), text: make([]byte, 0, len(old.text)+len(s)+1)}
	for j := range old.ids {
		if j == i {
			nb.append(id, s)
			if found {
				continue
			}
		}
		nb.append(old.ids[j], string(old.text[old.start(j):old.ends[j]]))
	}
	if i == len(old.ids) {
		nb.append(id, s)
	}
	t.blocks[bi] = nb
}

// matchesBelow returns the ids below before (0: from the top) whose text
// contains q, newest first, block by block until it has at least max of
// them, and the id to continue below, 0 when every entry was examined.
func (t *textIndex) matchesBelow(before int64, q []byte, max int) (ids []int64, next int64) {
	bi := len(t.blocks) - 1
	if before > 0 {
		bi = sort.Search(len(t.blocks), func(i int) bool { return t.blocks[i].ids[0] >= before }) - 1
	}
	for ; bi >= 0; bi-- {
		b := t.blocks[bi]
		n := len(b.ids)
		if before > 0 {
			n, _ = slices.BinarySearch(b.ids, before)
		}
		if n == 0 {
			continue
		}
		region := b.text[:b.ends[n-1]]
		var found []int64
		for off := 0; off <= len(region); {
			k := bytes.Index(region[off:], q)
			if k < 0 {
				break
			}
			// The entry holding the match: the first that ends after it.
			e := sort.Search(n, func(i int) bool { return int(b.ends[i]) > off+k })
			found = append(found, b.ids[e])
			off = int(b.ends[e]) + 1
		}
		slices.Reverse(found)
		ids = append(ids, found...)
		if len(ids) >= max {
			if bi == 0 {
				return ids, 0
			}
			return ids, b.ids[0]
		}
	}
	return ids, 0
}
