package sqlstore

import (
	"math/rand/v2"
	"testing"
)

// entries behaves as Go's map does, through every mix of sets and deletes:
// runs that wrap around the table's end, deletes from the middle of a run,
// and growth. The hashes are drawn from few values whose homes crowd into
// few slots, so that runs are long and cross one another.
func TestEntriesAgreeWithAMap(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 1))
		var got entries
		want := map[uint64]cachedUser{}
		// Homes are bits 8 and up: these hashes have homes 0–3 and the last
		// slots of any table, and differ in their low bits too.
		hash := func() uint64 {
			home := uint64(r.IntN(4))
			if r.IntN(3) == 0 {
				home = 1<<20 - 1 - home // near the end of the table, whatever its size
			}
			return max(1, home<<8|uint64(r.IntN(4)))
		}
		for op := range 2000 {
			h := hash()
			switch r.IntN(3) {
			case 0, 1:
				e := cachedUser{epoch: uint64(op), at: uint32(op), n: uint32(r.IntN(100))}
				got.set(h, e)
				want[h] = e
			case 2:
				got.delete(h)
				delete(want, h)
			}
			if got.len() != len(want) {
				t.Fatalf("seed %d, op %d: %d entries, want %d", seed, op, got.len(), len(want))
			}
			for k, v := range want {
				if e, ok := got.get(k); !ok || e != v {
					t.Fatalf("seed %d, op %d: get(%#x) = %+v, %v; want %+v", seed, op, k, e, ok, v)
				}
			}
			for range 4 {
				k := hash()
				_, ok := got.get(k)
				if _, in := want[k]; ok != in {
					t.Fatalf("seed %d, op %d: get(%#x) found %v, want %v", seed, op, k, ok, in)
				}
			}
		}
	}
}

// any finds every entry in time, and none once all are gone: the cache
// evicts through it.
func TestEntriesAnyReachesEveryEntry(t *testing.T) {
	var tab entries
	if _, ok := tab.any(); ok {
		t.Fatal("an empty table gave an entry")
	}
	left := map[uint64]bool{}
	for i := range uint64(100) {
		h := i<<8 | 1
		tab.set(h, cachedUser{n: 1})
		left[h] = true
	}
	for len(left) > 0 {
		h, ok := tab.any()
		if !ok || !left[h] {
			t.Fatalf("any gave %#x, %v; want one of the %d left", h, ok, len(left))
		}
		tab.delete(h)
		delete(left, h)
	}
	if _, ok := tab.any(); ok || tab.len() != 0 {
		t.Fatalf("after deleting all, any found one or len is %d", tab.len())
	}
}

// withRoom makes the smallest table that takes n entries without growing,
// as compact needs.
func TestEntriesWithRoomHoldWithoutGrowing(t *testing.T) {
	for n := range 300 {
		tab := withRoom(n)
		size := len(tab.slots)
		for i := range uint64(n) {
			tab.set(i<<8|1, cachedUser{n: 1})
		}
		if len(tab.slots) != size || tab.len() != n {
			t.Fatalf("withRoom(%d): %d slots grew to %d for %d entries", n, size, len(tab.slots), tab.len())
		}
		if size > minEntries && 4*n <= 3*(size/2) {
			t.Fatalf("withRoom(%d): %d slots, where %d would do", n, size, size/2)
		}
	}
}
