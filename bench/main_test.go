package main

import (
	"os"
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
	// And the running kernel's own file, as bench reads its servers'.
	own, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io here: %v", err)
	}
	if n, err := readBytes(own); err != nil || n < 0 {
		t.Fatalf("readBytes(/proc/self/io) = %d, %v", n, err)
	}
}
