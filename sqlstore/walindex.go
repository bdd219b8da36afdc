package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	sysunix "golang.org/x/sys/unix"
)

// walIndex watches a SQLite file's WAL-index header: the first 96 bytes of
// its -shm file, two copies of a 48-byte header that every commit that
// writes pages rewrites, whichever process made it. Reading it through a
// read-only shared mapping costs nanoseconds, where asking SQLite (PRAGMA
// data_version) costs microseconds and a connection. See sqlite.org's
// walformat page for the layout.
//
// Two rules keep the mapping safe. The -shm file is opened once per process
// and kept open: closing any descriptor of it would drop every POSIX lock
// this process holds on it, SQLite's own included, and let another process
// truncate it under the mapping. And a SQLite connection stays open for the
// mapping's life, so that no other process can truncate or remove the file.
type walIndex struct {
	mem  []byte
	fd   int
	id   fileID
	refs int // stores using it; guarded by walIndexes.mu
}

// walHeader is the WAL-index header as read: both copies, compared whole,
// since recovery can reset the change counter alone.
type walHeader [24]uint32

// walIndexVersion is the only layout of the header that flexapi reads.
const walIndexVersion = 3007000

type fileID struct{ dev, ino uint64 }

// walIndexes are the mappings of this process, by file, shared by every
// store on the same database (tests open several).
var walIndexes = struct {
	mu sync.Mutex
	m  map[fileID]*walIndex
}{m: map[fileID]*walIndex{}}

// openWALIndex maps the WAL-index of the database at path, whose -shm file a
// connection of the caller's holds open.
func openWALIndex(path string) (*walIndex, error) {
	shm := path + "-shm"
	info, err := os.Stat(shm)
	if err != nil {
		return nil, err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, errors.New("no inode for " + shm)
	}
	id := fileID{dev: uint64(st.Dev), ino: st.Ino}
	walIndexes.mu.Lock()
	defer walIndexes.mu.Unlock()
	if w := walIndexes.m[id]; w != nil {
		w.refs++
		return w, nil
	}
	if info.Size() < 4096 {
		return nil, fmt.Errorf("%s holds %d bytes, too few for a WAL-index", shm, info.Size())
	}
	fd, err := sysunix.Open(shm, sysunix.O_RDONLY|sysunix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	mem, err := sysunix.Mmap(fd, 0, 4096, sysunix.PROT_READ, sysunix.MAP_SHARED)
	if err != nil {
		sysunix.Close(fd)
		return nil, err
	}
	w := &walIndex{mem: mem, fd: fd, id: id, refs: 1}
	if v := w.header()[0]; v != walIndexVersion {
		w.unmap()
		return nil, fmt.Errorf("%s has WAL-index version %d, not %d", shm, v, walIndexVersion)
	}
	walIndexes.m[id] = w
	return w, nil
}

// release gives up a store's use of the mapping; the last one unmaps it.
// Call it only after the store's connections are closed.
func (w *walIndex) release() {
	walIndexes.mu.Lock()
	defer walIndexes.mu.Unlock()
	if w.refs--; w.refs == 0 {
		delete(walIndexes.m, w.id)
		w.unmap()
	}
}

func (w *walIndex) unmap() {
	sysunix.Munmap(w.mem)
	sysunix.Close(w.fd)
}

// header reads the header word by word, atomically, as SQLite's writers in
// other processes change it underneath. A read torn by a commit in progress
// differs from the header before it, so it can only cost a cache miss.
func (w *walIndex) header() walHeader {
	var h walHeader
	for i := range h {
		h[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[4*i])))
	}
	return h
}

// The words of one copy of the header that say which commit it describes.
const (
	hdrChange          = 2    // iChange: one further at each commit
	hdrFrames          = 4    // mxFrame: the frames the WAL holds
	hdrSalt1, hdrSalt2 = 8, 9 // aSalt: new when the WAL starts over
	hdrWords           = 12   // the words of one copy
)

// nextCommit reports whether h is the header of the very next commit after
// prev: both copies whole, the change counter one further, and the same WAL
// or the WAL started over. SQLite starts it over (salt-1 one further, as a
// big-endian number, salt-2 new) without moving the change counter: in the
// commit of the writer that finds it checkpointed, or in a RESTART or
// TRUNCATE checkpoint, which changes no data. A WAL never written since
// the file was opened (no frames, no salts) gets random salts at its first
// commit.
func (prev walHeader) nextCommit(h walHeader) bool {
	if !prev.whole() || !h.whole() || h[hdrChange] != prev[hdrChange]+1 {
		return false
	}
	sameWAL := h[hdrSalt1] == prev[hdrSalt1] && h[hdrSalt2] == prev[hdrSalt2]
	unwritten := prev[hdrFrames] == 0 && prev[hdrSalt1] == 0 && prev[hdrSalt2] == 0
	return sameWAL || unwritten || bigEndian(h[hdrSalt1]) == bigEndian(prev[hdrSalt1])+1
}

// bigEndian reads a word of the header that SQLite stores big-endian.
func bigEndian(w uint32) uint32 {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], w)
	return binary.BigEndian.Uint32(b[:])
}

// whole reports whether both copies agree, as they do between commits.
func (h walHeader) whole() bool {
	return [hdrWords]uint32(h[:hdrWords]) == [hdrWords]uint32(h[hdrWords:])
}
