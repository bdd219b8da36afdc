package control

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

// Rule is a fault rule as the control plane takes and shows it.
type Rule struct {
	ID          string   `json:"id"`
	Method      string   `json:"method,omitempty"`
	Path        string   `json:"path,omitempty"`
	AccountSID  string   `json:"account_sid,omitempty"`
	Status      int      `json:"status,omitempty"`
	Code        int      `json:"code,omitempty"`
	Message     string   `json:"message,omitempty"`
	DelayMS     int      `json:"delay_ms,omitempty"`
	Drop        bool     `json:"drop,omitempty"`
	Times       *int     `json:"times,omitempty"`       // requests left; absent: until deleted
	Probability *float64 `json:"probability,omitempty"` // of each matching request; absent: 1
}

// check validates a rule as given and fills in its defaults.
func (r *Rule) check() error {
	switch {
	case r.Status == 0 && !r.Drop && r.DelayMS == 0:
		return flexapi.Errorf(flexapi.EINVALID, "Invalid fault: give status, drop or delay_ms")
	case r.Status != 0 && r.Drop:
		return flexapi.Errorf(flexapi.EINVALID, "Invalid fault: status and drop exclude each other")
	case r.Status != 0 && (r.Status < 400 || r.Status > 599):
		return flexapi.Errorf(flexapi.EINVALID, "Invalid parameter status: %d is not an error status (400 to 599)", r.Status)
	case r.DelayMS < 0 || r.DelayMS > 600_000:
		return flexapi.Errorf(flexapi.EINVALID, "Invalid parameter delay_ms: %d is not from 0 to 600000", r.DelayMS)
	case r.Times != nil && *r.Times < 1:
		return flexapi.Errorf(flexapi.EINVALID, "Invalid parameter times: %d is not at least 1", *r.Times)
	case r.Probability != nil && (*r.Probability <= 0 || *r.Probability > 1):
		return flexapi.Errorf(flexapi.EINVALID, "Invalid parameter probability: %v is not above 0 and at most 1", *r.Probability)
	case r.AccountSID != "":
		sid, ok := flexapi.ParseSID(flexapi.AccountPrefix, r.AccountSID)
		if !ok {
			return flexapi.Errorf(flexapi.EINVALID, "Invalid parameter account_sid: %q is not an account SID", r.AccountSID)
		}
		r.AccountSID = sid
	}
	if r.Status != 0 {
		if r.Code == 0 {
			r.Code = api.TwilioCode(r.Status)
		}
		if r.Message == "" {
			r.Message = http.StatusText(r.Status)
			if r.Status == http.StatusTooManyRequests {
				r.Message = "Too many requests"
			}
		}
	}
	r.Method = strings.ToUpper(r.Method)
	return nil
}

// Faults holds the fault rules; it implements api.Faults. Safe for
// concurrent use.
type Faults struct {
	mu    sync.Mutex
	rules []*Rule
}

// Add keeps a rule, which must have passed check, and gives it an id.
func (f *Faults) Add(r Rule) Rule {
	r.ID = "FR" + flexapi.NewSecret()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &r)
	return r
}

// Rules lists the rules, oldest first.
func (f *Faults) Rules() []Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Rule, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
		if r.Times != nil {
			left := *r.Times // a copy: Match counts it down under the lock
			out[i].Times = &left
		}
	}
	return out
}

// Delete removes the rule id, and reports whether there was one.
func (f *Faults) Delete(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.ID == id {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Clear removes every rule.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Match returns the fault of the oldest rule that matches the request and
// fires (by its probability), spending one of its times; a rule whose times
// are spent is removed.
func (f *Faults) Match(method, path, accountSID string) (api.Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Method != "" && r.Method != method || r.Path != "" && !pathMatches(r.Path, path) ||
			r.AccountSID != "" && r.AccountSID != accountSID {
			continue
		}
		if r.Probability != nil && rand.Float64() >= *r.Probability {
			continue
		}
		if r.Times != nil {
			if *r.Times--; *r.Times == 0 {
				f.rules = append(f.rules[:i:i], f.rules[i+1:]...)
			}
		}
		return api.Fault{ID: r.ID, Delay: time.Duration(r.DelayMS) * time.Millisecond, Status: r.Status,
			Code: r.Code, Message: r.Message, Drop: r.Drop}, true
	}
	return api.Fault{}, false
}
