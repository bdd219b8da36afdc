package api

import (
	"strconv"
	"testing"
	"time"
)

// TestStampCacheFormatsAsTime: the once-a-second formatting writes what
// time.Format writes, across seconds, fractions and zones (one second seen
// in two zones too).
func TestStampCacheFormatsAsTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -7*3600)}
	base := time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)
	var c stampCache
	for i := range 2000 {
		tm := base.Add(time.Duration(i) * 1_234_567 * time.Nanosecond).In(zones[i%len(zones)])
		if i%7 == 0 {
			tm = tm.Truncate(time.Second) // a fraction of zeros
		}
		for _, f := range []struct {
			digits int
			layout string
		}{{9, "2006-01-02T15:04:05.000000000Z07:00"}, {3, "2006-01-02T15:04:05.000Z07:00"}} {
			if got, want := string(c.append(nil, tm, f.digits)), tm.Format(f.layout); got != want {
				t.Fatalf("%v with %d digits: %s; want %s", tm, f.digits, got, want)
			}
		}
	}
}

// TestSharedHeaderValues: the values made once are those made per response.
func TestSharedHeaderValues(t *testing.T) {
	for v := int64(-1); v < 3000; v++ {
		if got := etagHeader(v); len(got) != 1 || got[0] != etag(v) {
			t.Fatalf("etagHeader(%d) = %q; want %q", v, got, etag(v))
		}
	}
	for d := time.Duration(0); d < 1500*time.Millisecond; d += 37 * time.Microsecond {
		if d%time.Millisecond == time.Millisecond/2 {
			continue // a tie: either neighbour is right
		}
		if got, want := durationHeader(d), strconv.FormatFloat(d.Seconds(), 'f', 3, 64); len(got) != 1 || got[0] != want {
			t.Fatalf("durationHeader(%v) = %q; want %q", d, got, want)
		}
	}
}
