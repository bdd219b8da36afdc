package control

import (
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/flexapi/flexapi/api"
)

// DefaultJournalSize is how many requests the journal keeps by default.
const DefaultJournalSize = 1000

// Journal keeps the last requests to Twilio's paths, oldest first. It is
// safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	entries []api.Entry // a ring of at most size entries, from next
	next    int
	size    int
}

// NewJournal keeps at most size entries (DefaultJournalSize when size < 1).
func NewJournal(size int) *Journal {
	if size < 1 {
		size = DefaultJournalSize
	}
	return &Journal{size: size}
}

// Record keeps e, forgetting the oldest entry when the journal is full.
// Parameters whose names say they are secrets are masked.
func (j *Journal) Record(e api.Entry) {
	mask(e.Params)
	mask(e.Query)
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) < j.size {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.next] = e
	j.next = (j.next + 1) % j.size
}

// secretName matches parameter names that may carry a credential.
var secretName = regexp.MustCompile(`(?i)token|secret|password|authorization`)

func mask(m map[string]any) {
	for k := range m {
		if secretName.MatchString(k) {
			m[k] = "(not kept)"
		}
	}
}

// Filter selects journal entries; zero fields select everything.
type Filter struct {
	Method     string
	Path       string // * matches within one path segment
	AccountSID string
	Status     int
	Since      time.Time
	Limit      int // the newest Limit of those selected
}

// Entries returns the entries f selects, oldest first.
func (j *Journal) Entries(f Filter) []api.Entry {
	j.mu.Lock()
	all := append(append([]api.Entry(nil), j.entries[j.next:]...), j.entries[:j.next]...)
	j.mu.Unlock()
	out := []api.Entry{}
	for _, e := range all {
		if f.Method != "" && !strings.EqualFold(f.Method, e.Method) ||
			f.Path != "" && !pathMatches(f.Path, e.Path) ||
			f.AccountSID != "" && (e.AccountSID == nil || *e.AccountSID != f.AccountSID) ||
			f.Status != 0 && f.Status != e.Status ||
			!f.Since.IsZero() && e.Time.Before(f.Since) {
			continue
		}
		out = append(out, e)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// Clear forgets every entry.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.next = nil, 0
}

// pathMatches reports whether path matches pattern, segment by segment; a *
// in a segment of pattern matches any run of characters within one segment.
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !segmentMatches(ps[i], xs[i]) {
			return false
		}
	}
	return true
}

func segmentMatches(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	prefix, rest := pattern[:star], pattern[star+1:]
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	s = s[len(prefix):]
	for i := 0; i <= len(s); i++ {
		if segmentMatches(rest, s[i:]) {
			return true
		}
	}
	return false
}
