package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live, roots uint64
		want               int
	}{
		{64 * mib, 4 * mib, 0, 1500},       // 4 MiB live grows by 60 before a cycle
		{64 * mib, 3 * mib, 1 * mib, 1525}, // stacks and globals count as the heap does
		{64 * mib, 32 * mib, 0, 100},       // twice the live heap reaches the floor anyway
		{64 * mib, 100 * mib, 0, 100},
		{64 * mib, 0, 0, 1600},       // before the first cycle: the minimum heap at the floor
		{64 * mib, 1 * mib, 0, 1600}, // the same
	} {
		if got := percentFor(c.floor, c.live, c.roots); got != c.want {
			t.Errorf("percentFor(%d MiB, %d MiB live, %d MiB roots) = %d, want %d", c.floor/mib, c.live/mib, c.roots/mib, got, c.want)
		}
	}
}

// goal is the heap size at which the collector starts its next cycle.
func goal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// With a floor, a small live heap grows to the floor before a cycle
// instead of to a few MiB; once stopped, GOGC is Go's default again.
func TestKeepRaisesTheGoalOfASmallHeap(t *testing.T) {
	const mib = 1 << 20
	runtime.GC()
	without := goal()
	stop := Keep(64 * mib)
	with := goal()
	stop()
	runtime.GC()
	after := goal()
	if with < 60*mib || with > 72*mib || without > 16*mib || after > 16*mib {
		t.Errorf("heap goal: %d MiB with a 64 MiB floor, %d MiB before, %d MiB once stopped; want about 64, and a few before and after",
			with/mib, without/mib, after/mib)
	}
	if gogc := debug.SetGCPercent(100); gogc != 100 {
		t.Errorf("GOGC once stopped: %d, want 100", gogc)
	}
}

// GOGC in the environment is the operator's: Keep leaves it be.
func TestKeepLeavesAnOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "300")
	old := debug.SetGCPercent(300)
	defer debug.SetGCPercent(old)
	stop := Keep(64 << 20)
	defer stop()
	if gogc := debug.SetGCPercent(300); gogc != 300 {
		t.Errorf("GOGC with GOGC=300 in the environment: %d after Keep, want 300", gogc)
	}
}
