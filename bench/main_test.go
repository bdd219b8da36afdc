package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// wrk takes its -d in whole seconds, so bench must refuse anything else
// before it starts servers, and let every whole-second length through.
func TestCheckRunLengths(t *testing.T) {
	for _, tc := range []struct {
		duration, warmUp time.Duration
		ok               bool
	}{
		{2 * time.Second, 0, true},
		{90 * time.Second, time.Second, true},
		{500 * time.Millisecond, 0, false},
		{0, 0, false},
		{1500 * time.Millisecond, 0, false},
		{2 * time.Second, 500 * time.Millisecond, false},
		{2 * time.Second, -time.Second, false},
	} {
		err := config{duration: tc.duration, warmUp: tc.warmUp}.checkRunLengths()
		if (err == nil) != tc.ok {
			t.Errorf("-duration %v -warm-up %v: error %v, want ok=%v", tc.duration, tc.warmUp, err, tc.ok)
		}
	}
}

// Reports print the run length as wrk is given it: 90s, not Go's 1m30s.
func TestWrkDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{2 * time.Second: "2s", 90 * time.Second: "90s", time.Hour: "3600s"} {
		if got := (config{duration: d}).wrkDuration(); got != want {
			t.Errorf("-duration %v: wrk gets -d%s, want -d%s", d, got, want)
		}
	}
}

func TestReadBytes(t *testing.T) {
	io := []byte("rchar: 5\nwchar: 9\nsyscr: 1\nsyscw: 1\nread_bytes: 779812864\nwrite_bytes: 32768\ncancelled_write_bytes: 0\n")
	if n, err := readBytes(io); err != nil || n != 779812864 {
		t.Fatalf("readBytes = %d, %v; want 779812864", n, err)
	}
	if _, err := readBytes([]byte("rchar: 5\n")); err == nil {
		t.Fatal("readBytes of an io file without read_bytes gave no error")
	}
}

// bench reads its servers' /proc files as it reads this test's own here.
func TestProcFiles(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skipf("no /proc/self/io here: %v", err)
	}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: &exec.Cmd{Process: self}}
	if rss := p.rssMiB(); rss <= 0 {
		t.Errorf("rssMiB = %v, want the test's resident memory", rss)
	}
	if mib, err := p.diskReadMiB(); err != nil || mib < 0 {
		t.Errorf("diskReadMiB = %v, %v", mib, err)
	}
	if cpu, err := p.cpuTime(); err != nil || cpu < 0 {
		t.Errorf("cpuTime = %v, %v", cpu, err)
	}
}
