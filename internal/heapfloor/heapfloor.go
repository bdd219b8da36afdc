// Package heapfloor keeps Go's garbage collector from collecting a small
// heap over and over.
//
// The collector starts a cycle when the heap has grown by GOGC percent (100
// by default) of what the last cycle found live, and at 4 MiB at least. A
// server whose live heap is a few MiB, as flexapi's is over PostgreSQL or
// with a small SQLite file, then collects some fifty times a second under
// load, each cycle marking that heap again: over PostgreSQL a tenth of its
// CPU. Letting the heap grow to a floor first costs that much more resident
// memory and saves most of those cycles. A heap live above half the floor
// is collected as Go's default says.
package heapfloor

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// every is how often the live heap is looked at: cycles are far apart once
// the floor is kept, and the live heap changes slowly.
const every = 250 * time.Millisecond

// minimumHeap is the heap the collector lets grow at GOGC 100 before any
// cycle, whatever is live; it grows in proportion with GOGC.
const minimumHeap = 4 << 20

// Keep makes the collector let the heap grow to at least floor bytes
// before a cycle: it sets GOGC, from now and four times a second, to what
// makes the live heap reach floor, and never below Go's default of 100. It
// does nothing when floor is 0 or GOGC is set in the environment, which is
// the operator's to choose. In a process whose memory is limited, by
// GOMEMLIMIT or by its cgroup (a container's limit, a systemd MemoryMax),
// the floor is a quarter of the limit at most, so that it never crowds out
// what the process needs. The function it returns stops it and puts GOGC
// back to 100.
func Keep(floor uint64) (stop func()) {
	limit := min(uint64(debug.SetMemoryLimit(-1)), cgroupLimit("/sys/fs/cgroup", "/proc/self/cgroup"))
	floor = min(floor, limit/4)
	if floor == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	adjust := func() {
		metrics.Read(sample)
		live, roots := sample[0].Value.Uint64(), sample[1].Value.Uint64()+sample[2].Value.Uint64()
		debug.SetGCPercent(percentFor(floor, live, roots))
	}
	adjust()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				adjust()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		debug.SetGCPercent(100)
	}
}

// percentFor is the GOGC at which a heap of live bytes, whose cycles also
// scan roots bytes of stacks and globals, grows to floor before it is
// collected, and 100 at least. The collector lets the heap grow by GOGC
// percent of live and roots together, and to the minimum heap at least: so
// GOGC is never set above what makes that minimum the floor, which is also
// the GOGC before the first cycle, when nothing is known live.
func percentFor(floor, live, roots uint64) int {
	if live >= floor {
		return 100
	}
	highest := 100 * floor / minimumHeap
	grown := max(live+roots, 1)
	return max(100, int(min(100*(floor-live)/grown, highest)))
}

// cgroupLimit is the lowest memory limit that the cgroups of the process
// (as selfCgroup, /proc/self/cgroup, names them) set under root, the
// cgroup file systems, v2 and v1: math.MaxUint64 when none is set or none
// can be read.
func cgroupLimit(root, selfCgroup string) uint64 {
	limit := uint64(math.MaxUint64)
	b, err := os.ReadFile(selfCgroup)
	if err != nil {
		return limit
	}
	for line := range strings.Lines(string(b)) {
		// "0::/path" in v2; "4:memory:/path" in v1.
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			limit = min(limit, limitIn(root, parts[2], "memory.max"), limitIn(root, "unified", parts[2], "memory.max"))
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			limit = min(limit, limitIn(root, "memory", parts[2], "memory.limit_in_bytes"))
		}
	}
	return limit
}

// limitIn is the limit that the file at path says: math.MaxUint64 when it
// cannot be read or says "max", v2's none.
func limitIn(path ...string) uint64 {
	v, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		return math.MaxUint64
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
	if err != nil {
		return math.MaxUint64
	}
	return n
}
