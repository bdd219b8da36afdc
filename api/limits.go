package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxBuckets bounds the keys remembered at once.
const maxBuckets = 100_000

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	tokens float64
	last   time.Time
}

// buckets keeps one token bucket per key (an account, a client address).
type buckets struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	m     map[string]*bucket
}

func newBuckets(rate float64, burst int) *buckets {
	if rate <= 0 {
		return nil
	}
	return &buckets{rate: rate, burst: math.Max(float64(burst), 1), m: map[string]*bucket{}}
}

// take spends a token of key's bucket. When there is none it says how long
// until there will be one.
func (b *buckets) take(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k, found := b.m[key]
	if !found {
		if len(b.m) >= maxBuckets {
			b.forgetFull(now)
		}
		if len(b.m) >= maxBuckets {
			// Every bucket is in use: start afresh rather than grow. The
			// keys lose their spent tokens, which only ever lets through
			// requests that would have been refused.
			clear(b.m)
		}
		k = &bucket{tokens: b.burst, last: now}
		b.m[key] = k
	}
	k.tokens = math.Min(b.burst, k.tokens+now.Sub(k.last).Seconds()*b.rate)
	k.last = now
	if k.tokens >= 1 {
		k.tokens--
		return true, 0
	}
	return false, time.Duration((1 - k.tokens) / b.rate * float64(time.Second))
}

// forgetFull drops buckets that have refilled: they hold nothing to remember.
func (b *buckets) forgetFull(now time.Time) {
	for key, k := range b.m {
		if k.tokens+now.Sub(k.last).Seconds()*b.rate >= b.burst {
			delete(b.m, key)
		}
	}
}

// tooManyRequests is Twilio's 429, with Retry-After in whole seconds.
func tooManyRequests(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	writeErrorBody(w, http.StatusTooManyRequests, codeTooManyRequests, "", "Too many requests")
}

// clientAddress is the host of the peer, part of the key for slowing down
// failed authentication. A proxy in front makes every client one address.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitInFlight answers 503 at once when max requests are already being
// served, so that a flood queues nowhere and the server does not collapse.
func (s *server) limitInFlight(next http.Handler) http.Handler {
	if s.maxInFlight <= 0 {
		return next
	}
	slots := make(chan struct{}, s.maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeErrorBody(w, http.StatusServiceUnavailable, codeUnavailable, "", "Service unavailable")
		}
	})
}

// accountSlots caps the requests one account has in flight at once, so that
// one tenant (with slow bodies, say) cannot take every slot of the server.
type accountSlots struct {
	max int
	mu  sync.Mutex
	m   map[string]int
}

func newAccountSlots(max int) *accountSlots {
	if max <= 0 {
		return nil
	}
	return &accountSlots{max: max, m: map[string]int{}}
}

// acquire takes one of account's slots, if it has one free, and returns the
// function that gives it back.
func (a *accountSlots) acquire(account string) (release func(), ok bool) {
	if a == nil {
		return func() {}, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m[account] >= a.max {
		return nil, false
	}
	a.m[account]++
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.m[account]--; a.m[account] == 0 {
			delete(a.m, account) // the map holds only accounts with requests in flight
		}
	}, true
}
