package sqlstore

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"github.com/flexapi/flexapi"
)

// DefaultCacheUsers is how many users an embedded store keeps in memory
// unless told otherwise: about 40 MiB of them (BenchmarkCachedUserMemory
// measures some 420 bytes a user at that size).
const DefaultCacheUsers = 100_000

// userCache keeps users read from a SQLite file in memory without giving up
// "the next read sees the write": every answer it gives was read from the
// database at a moment when the WAL-index header was what it is now, so no
// commit, by this process or any other, came between.
//
// The cache holds the header it is valid for. A reader that finds another
// header forgets every entry at once, by moving to a new epoch (entries of
// older epochs are dead weight until evicted, or until their shard's blobs
// move), and reads from the database.
// This process's own writes of known users spare the rest: a writer that
// finds that its commit was the only one since the header the cache holds
// moves the cache to the new header and drops just the users it wrote.
type userCache struct {
	wal       *walIndex
	perShard  int // users
	absentMax int // absent users, in room of their own
	state     atomic.Pointer[cacheState]
	mu        sync.Mutex  // serialises changes of state
	writing   atomic.Bool // a write of this process is under way, from BEGIN to its bookkeeping
	seed      maphash.Seed
	shards    [cacheShards]cacheShard
	checkWAL  bool // false only in the test that shows what the check is for
	// stalled, for tests, runs when a reader has found a header other than
	// the cache's: where a reader can be held up while writes go on.
	stalled   func()
	evictions atomic.Uint64
	resets    atomic.Uint64
}

const cacheShards = 64

// cacheState is the header the cache's current epoch is valid for. Every
// change makes a new one, so that a fill can tell by pointer whether the
// cache moved while it read.
type cacheState struct {
	header walHeader
	epoch  uint64
}

// cacheShard holds users, and apart the keys of users found absent, by a
// hash of their key, with their blobs (see pack) in one buffer: tables
// and a buffer without pointers, which the garbage collector does not scan.
// It counts its own hits and misses, so that concurrent reads of different
// shards write no line in common.
type cacheShard struct {
	mu     sync.RWMutex
	m      entries
	absent entries // only the key's SIDs packed
	blobs  []byte  // every entry's blob, and those of entries gone
	hits   atomic.Uint64
	misses atomic.Uint64
	_      [64]byte // 192 bytes in all: no line shared with the next shard's lock, however aligned
}

// cachedUser is a user as read in an epoch: where its blob is in its
// shard's blobs.
type cachedUser struct {
	epoch uint64
	at, n uint32
}

// minBlobs is the least room a shard's blobs start with.
const minBlobs = 4 << 10

func newUserCache(wal *walIndex, size int) *userCache {
	// Users spread over the shards unevenly, so each has room for a little
	// more than its share (four standard deviations): a cache of n users then
	// holds any n users, and at most a few percent more.
	mean := float64(size) / cacheShards
	c := &userCache{wal: wal, perShard: max(1, int(mean+4*math.Sqrt(mean))), seed: maphash.MakeSeed(), checkWAL: true}
	// Absent users get an eighth as much room, apart: reads of made-up SIDs,
	// however many, never push out the users that exist.
	c.absentMax = max(1, c.perShard/8)
	c.state.Store(&cacheState{header: wal.header()})
	return c
}

// hashed is key's hash, which keys the tables, and its shard. It is never
// 0, which marks a table's free slots.
func (c *userCache) hashed(key flexapi.UserKey) (uint64, *cacheShard) {
	h := max(1, maphash.Comparable(c.seed, key))
	return h, &c.shards[h%cacheShards]
}

// current returns the state valid now, or nil when the database changed in
// a way the cache cannot follow yet (a write of this process is under way).
func (c *userCache) current() *cacheState {
	st := c.state.Load()
	if !c.checkWAL {
		return st
	}
	h := c.wal.header()
	if h == st.header {
		return st
	}
	if c.stalled != nil {
		c.stalled()
	}
	if c.writing.Load() {
		return nil // its bookkeeping will say what changed
	}
	// The header read may be old by now: writes of this process may have
	// come and gone since, with their bookkeeping. It is read again under
	// the lock that bookkeeping takes.
	c.mu.Lock()
	defer c.mu.Unlock()
	st = c.state.Load()
	switch h = c.wal.header(); {
	case h == st.header:
		return st
	case c.writing.Load():
		return nil
	}
	st = &cacheState{header: h, epoch: st.epoch + 1}
	c.state.Store(st)
	c.resets.Add(1)
	return st
}

// get returns the cached answer for key: hit when there is one, found when
// the user exists, and the state to fill the cache with if there is none
// (nil: do not fill).
func (c *userCache) get(key flexapi.UserKey) (u flexapi.User, found, hit bool, st *cacheState) {
	h, sh := c.hashed(key)
	if st = c.current(); st == nil {
		sh.misses.Add(1)
		return u, false, false, nil
	}
	var blob string
	sh.mu.RLock()
	e, ok := sh.m.get(h)
	if found = ok && e.epoch == st.epoch && keyIs(sh.blob(e), key); found {
		blob = string(sh.blob(e)) // the buffer's bytes are reused once the lock is let go
	} else {
		e, ok = sh.absent.get(h)
		hit = ok && e.epoch == st.epoch && keyIs(sh.blob(e), key)
	}
	sh.mu.RUnlock()
	if !hit && !found {
		sh.misses.Add(1)
		return u, false, false, st
	}
	sh.hits.Add(1)
	if found {
		return unpack(blob), true, true, st
	}
	return u, false, true, st
}

// put keeps what a read begun in state st found, the user or (u nil) that
// key's user is absent, unless the cache moved since: then the read may
// predate a write the cache has since accounted for.
func (c *userCache) put(st *cacheState, key flexapi.UserKey, u *flexapi.User) {
	if st == nil {
		return
	}
	absent := u == nil
	if absent {
		u = &flexapi.User{AccountSID: key.AccountSID, InstanceSID: key.InstanceSID, FlexUserSID: key.FlexUserSID}
	}
	blob := pack(*u)
	h, sh := c.hashed(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c.state.Load() != st {
		return
	}
	c.keep(sh, absent, h, st.epoch, blob)
}

// keep puts a user's blob, read in epoch, into one of sh's tables, whose
// lock the caller holds, pushing out another entry when the table has no
// room for one more.
func (c *userCache) keep(sh *cacheShard, absent bool, h uint64, epoch uint64, blob []byte) {
	into, limit := &sh.m, c.perShard
	if absent {
		into, limit = &sh.absent, c.absentMax
	}
	if _, ok := into.get(h); !ok && into.len() >= limit {
		if k, ok := into.any(); ok {
			into.delete(k)
			c.evictions.Add(1)
		}
	}
	if len(sh.blobs)+len(blob) > cap(sh.blobs) {
		sh.compact(len(blob), epoch)
	}
	if len(sh.blobs)+len(blob) > math.MaxUint32 {
		return // not kept: a shard's blobs are addressed in 32 bits
	}
	into.set(h, cachedUser{epoch: epoch, at: uint32(len(sh.blobs)), n: uint32(len(blob))})
	sh.blobs = append(sh.blobs, blob...)
}

// blob is e's blob, valid while the shard's lock is held.
func (sh *cacheShard) blob(e cachedUser) []byte { return sh.blobs[e.at : e.at+e.n] }

// compact, called when blobs has no room for need bytes more, moves the
// blobs of the entries of epoch into a new buffer with room for them, need
// and a quarter again, and drops the entries of other epochs, which no read
// can use any more. Blobs of entries gone stay where they were until then, so
// a shard's blobs take some 1.25 times the room of the entries it held when
// they last moved, and each byte appended is copied about four times more
// in all. The old buffer is garbage at once: no reader holds the lock that
// reading it takes.
func (sh *cacheShard) compact(need int, epoch uint64) {
	tables := [2]*entries{&sh.m, &sh.absent}
	live, count := 0, [2]int{}
	for i, t := range tables {
		for _, e := range t.slots {
			if e.readIn(epoch) {
				live += int(e.n)
				count[i]++
			}
		}
	}
	blobs := make([]byte, 0, max(minBlobs, (live+need)*5/4))
	for i, t := range tables {
		kept := withRoom(count[i]) // sized once, rather than grown step by step
		for _, e := range t.slots {
			if e.readIn(epoch) {
				at := uint32(len(blobs))
				blobs = append(blobs, sh.blob(e.cachedUser)...)
				e.at = at
				kept.set(e.h, e.cachedUser)
			}
		}
		*t = kept
	}
	sh.blobs = blobs
}

// userWrite is a user that a write of this process changed: its key, and
// what the user is once the write committed, as a read would find it (nil
// when the write does not say, as a deletion does).
type userWrite struct {
	key flexapi.UserKey
	now *flexapi.User
}

// writeBegun marks a write as under way and returns the function that
// accounts for it, to be called with the header read once the write lock was
// held, the header after the commit, and the users written (nil: unknown,
// which forgets everything). A user written is kept as the write left it, so
// that the reads after an update come from memory too; one the write does
// not describe is forgotten. Its caller runs this process's writes one at a
// time, from BEGIN to their bookkeeping (the store's write queue), so that
// each finds the cache at the header just before its own commit.
func (c *userCache) writeBegun() func(before, after walHeader, wrote []userWrite) {
	c.writing.Store(true)
	return func(before, after walHeader, wrote []userWrite) {
		defer c.writing.Store(false)
		c.mu.Lock()
		defer c.mu.Unlock()
		st := c.state.Load()
		switch {
		case after == st.header:
			return // nothing committed
		case wrote != nil && st.header == before && before.nextCommit(after):
			c.state.Store(&cacheState{header: after, epoch: st.epoch})
			for _, w := range wrote {
				h, sh := c.hashed(w.key)
				sh.mu.Lock()
				sh.m.delete(h) // or a user of the same hash: forgotten too, harmlessly
				sh.absent.delete(h)
				if w.now != nil {
					c.keep(sh, false, h, st.epoch, pack(*w.now))
				}
				sh.mu.Unlock()
			}
		default:
			c.state.Store(&cacheState{header: after, epoch: st.epoch + 1})
			c.resets.Add(1)
		}
	}
}

// stats counts what the cache holds and has done.
func (c *userCache) stats() flexapi.CacheStats {
	st := flexapi.CacheStats{Capacity: c.perShard * cacheShards, Evictions: c.evictions.Load(), Resets: c.resets.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		st.Users, st.Absent = st.Users+sh.m.len(), st.Absent+sh.absent.len()
		sh.mu.RUnlock()
		st.Hits, st.Misses = st.Hits+sh.hits.Load(), st.Misses+sh.misses.Load()
	}
	return st
}

// only names one user written, for inTxFor, without saying what it now is.
func only(key flexapi.UserKey) func() []userWrite {
	return func() []userWrite { return []userWrite{{key: key}} }
}

// kept names one user written, for inTxFor, as *now holds it once the
// write's transaction has run.
func kept(key flexapi.UserKey, now *flexapi.User) func() []userWrite {
	return func() []userWrite { return []userWrite{{key: key, now: now}} }
}
