package sqlstore

import "math/rand/v2"

// entries maps the hashes of a shard's keys to their cachedUsers: a table
// of its own, open addressing with linear probing, because a read of a large
// cache waits on memory for every step of a lookup. Go's map finds an entry
// through its directory, a table, a group's control word and then the slot,
// each one a likely cache miss once the cache outgrows the processor's
// caches; here a lookup reads the slot its hash points at, and perhaps the
// next. Hashes are never 0 (see userCache.hashed): 0 marks a free slot.
type entries struct {
	slots []entry // a power of two in length once anything was set
	n     int     // slots in use
}

type entry struct {
	h uint64
	cachedUser
}

// readIn tells whether the slot holds an entry read in epoch: a free
// slot's epoch is 0, as is the first epoch's.
func (e entry) readIn(epoch uint64) bool { return e.h != 0 && e.epoch == epoch }

// minEntries is the least room a table grows to.
const minEntries = 16

func (t *entries) len() int { return t.n }

// holds reports whether a table of size slots takes n entries: at most
// three quarters full, so that probes stay short.
func holds(size, n int) bool { return 4*n <= 3*size }

// withRoom is an empty table that holds n entries without growing.
func withRoom(n int) entries {
	size := minEntries
	for !holds(size, n) {
		size *= 2
	}
	return entries{slots: make([]entry, size)}
}

// home is where h's probe begins. The shard is chosen by h's low bits, the
// same for every hash of a shard, so the slot is chosen by others.
func (t *entries) home(h uint64) int { return int(h>>8) & (len(t.slots) - 1) }

func (t *entries) get(h uint64) (cachedUser, bool) {
	if t.n == 0 {
		return cachedUser{}, false
	}
	for i := t.home(h); ; i = (i + 1) & (len(t.slots) - 1) {
		switch t.slots[i].h {
		case h:
			return t.slots[i].cachedUser, true
		case 0:
			return cachedUser{}, false
		}
	}
}

// set keeps e for h, in place of what h had.
func (t *entries) set(h uint64, e cachedUser) {
	if !holds(len(t.slots), t.n+1) {
		t.grow()
	}
	i := t.home(h)
	for t.slots[i].h != 0 && t.slots[i].h != h {
		i = (i + 1) & (len(t.slots) - 1)
	}
	if t.slots[i].h == 0 {
		t.n++
	}
	t.slots[i] = entry{h: h, cachedUser: e}
}

func (t *entries) grow() {
	old := t.slots
	t.slots, t.n = make([]entry, max(minEntries, 2*len(old))), 0
	for _, e := range old {
		if e.h != 0 {
			t.set(e.h, e.cachedUser)
		}
	}
}

// delete forgets h. The entries after it in its run move back where their
// probes would otherwise stop short of them at the slot freed.
func (t *entries) delete(h uint64) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(h)
	for ; t.slots[i].h != h; i = (i + 1) & mask {
		if t.slots[i].h == 0 {
			return
		}
	}
	for j := (i + 1) & mask; t.slots[j].h != 0; j = (j + 1) & mask {
		// j's entry stays where it is if its home lies after the free slot
		// i, cyclically, up to j: its probe reaches j without passing i.
		if k := t.home(t.slots[j].h); (j-k)&mask < (j-i)&mask {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i] = entry{}
	t.n--
}

// any returns the hash of an arbitrary entry, from a random place; false if
// there is none.
func (t *entries) any() (uint64, bool) {
	if t.n == 0 {
		return 0, false
	}
	for i := rand.IntN(len(t.slots)); ; i = (i + 1) & (len(t.slots) - 1) {
		if h := t.slots[i].h; h != 0 {
			return h, true
		}
	}
}
