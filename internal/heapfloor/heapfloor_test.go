package heapfloor

import (
	"math"
	"os"
	"path/filepath"
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

// A memory limit caps the floor at a quarter of it.
func TestKeepStaysWithinAMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	old := debug.SetMemoryLimit(128 * mib)
	defer debug.SetMemoryLimit(old)
	runtime.GC()
	stop := Keep(64 * mib)
	with := goal()
	stop()
	if with > 36*mib || with < 28*mib {
		t.Errorf("heap goal with a 64 MiB floor and GOMEMLIMIT=128MiB: %d MiB, want about 32", with/mib)
	}
}

// The limits of the cgroups a process is in are read from both versions'
// files, wherever the process's own cgroup sits; a limit of none is none.
func TestCgroupLimit(t *testing.T) {
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]struct {
		self  string
		files map[string]string
		want  uint64
	}{
		"v2":                  {"0::/system.slice/flexapi.service\n", map[string]string{"system.slice/flexapi.service/memory.max": "268435456\n"}, 256 << 20},
		"v2, no limit":        {"0::/\n", map[string]string{"memory.max": "max\n"}, math.MaxUint64},
		"v2 under unified":    {"0::/a\n", map[string]string{"unified/a/memory.max": "134217728\n"}, 128 << 20},
		"v1":                  {"4:memory:/docker/x\n0::/\n", map[string]string{"memory/docker/x/memory.limit_in_bytes": "67108864\n"}, 64 << 20},
		"v1, no limit":        {"4:memory:/\n", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 9223372036854771712},
		"none readable":       {"4:memory:/gone\n", nil, math.MaxUint64},
		"the lower of two":    {"4:memory:/x\n0::/x\n", map[string]string{"memory/x/memory.limit_in_bytes": "100\n", "x/memory.max": "50\n"}, 50},
		"memory among others": {"3:cpu,memory:/y\n", map[string]string{"memory/y/memory.limit_in_bytes": "4096\n"}, 4096},
	} {
		root := t.TempDir()
		for f, v := range c.files {
			write(filepath.Join(root, f), v)
		}
		self := filepath.Join(root, "self-cgroup")
		write(self, c.self)
		if got := cgroupLimit(root, self); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
	if got := cgroupLimit(t.TempDir(), "/nonexistent/cgroup"); got != math.MaxUint64 {
		t.Errorf("without /proc/self/cgroup: %d, want none", got)
	}
}
