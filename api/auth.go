package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/flexapi/flexapi"
)

// dummyHash is compared against when the username is unknown, so that an
// unknown SID costs as much time as a wrong token.
var dummyHash = flexapi.HashSecret(flexapi.NewSecret())

// credentialCache remembers for a short time the Authorization headers that
// verified, so that a client's requests after its first cost neither a store
// lookup nor a hash. Only successes are kept, so a wrong secret always meets
// the store; a rotated token, a revoked key or a suspended account takes
// effect within the TTL, on every replica.
type credentialCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cachedCredential
}

type cachedCredential struct {
	accountSID string
	expires    time.Time
}

// maxCachedCredentials bounds the cache; past it the cache starts afresh.
const maxCachedCredentials = 10_000

func (c *credentialCache) get(header string, now time.Time) (string, bool) {
	if c.ttl <= 0 {
		return "", false
	}
	c.mu.RLock()
	e, ok := c.m[header]
	c.mu.RUnlock()
	return e.accountSID, ok && now.Before(e.expires)
}

func (c *credentialCache) put(header, accountSID string, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedCredentials {
		c.m = make(map[string]cachedCredential)
	}
	c.m[header] = cachedCredential{accountSID: accountSID, expires: now.Add(c.ttl)}
	c.mu.Unlock()
}

// accountHandler serves a request of an authenticated account.
type accountHandler func(w http.ResponseWriter, r *http.Request, accountSID string)

// authed checks HTTP Basic credentials before anything else is looked at, and
// passes the authenticated account's SID to h. A request whose credentials
// verify is served, whatever failed before it: only failures are throttled,
// per client address and username, and a request without credentials (as
// clients send before a 401 challenge) never counts as one.
func (s *server) authed(h accountHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		accountSID, err := s.authenticate(r, now)
		if err != nil {
			if username, _, sent := r.BasicAuth(); sent && flexapi.ErrorCode(err) == flexapi.EUNAUTHORIZED {
				if ok, wait := s.authFailed.take(failureKey(r, username), now); !ok {
					tooManyRequests(w, wait)
					return
				}
			}
			s.writeError(w, r, err)
			return
		}
		info(r.Context()).accountSID = accountSID
		if ok, wait := s.perAccount.take(accountSID, now); !ok {
			tooManyRequests(w, wait)
			return
		}
		release, ok := s.accountSlots.acquire(accountSID)
		if !ok {
			tooManyRequests(w, time.Second)
			return
		}
		defer release()
		if s.faults != nil {
			if f, ok := s.faults.Match(r.Method, r.URL.Path, accountSID); ok {
				info(r.Context()).faultID = f.ID
				if s.applyFault(w, r, f) {
					return
				}
			}
		}
		h(w, r, accountSID)
	})
}

// failureKey names whose failures a failed authentication counts against:
// the client address and the username, as a SID or, for any other username,
// one shared bucket, so that made-up usernames cannot grow the table.
func failureKey(r *http.Request, username string) string {
	sid, ok := flexapi.ParseSID(flexapi.AccountPrefix, username)
	if !ok {
		if sid, ok = flexapi.ParseSID(flexapi.KeyPrefix, username); !ok {
			sid = "(malformed)"
		}
	}
	return clientAddress(r) + " " + sid
}

func (s *server) authenticate(r *http.Request, now time.Time) (string, error) {
	header := r.Header.Get("Authorization")
	if account, ok := s.creds.get(header, now); ok {
		return account, nil
	}
	account, err := s.verify(r)
	if err == nil {
		s.creds.put(header, account, now)
	}
	return account, err
}

func (s *server) verify(r *http.Request) (string, error) {
	username, secret, ok := r.BasicAuth()
	if !ok {
		return "", flexapi.Errorf(flexapi.EUNAUTHORIZED, "Authentication Error - No credentials provided")
	}
	invalid := flexapi.Errorf(flexapi.EUNAUTHORIZED, "Authentication Error - invalid username")
	sid, okAC := flexapi.ParseSID(flexapi.AccountPrefix, username)
	if !okAC {
		var okSK bool
		if sid, okSK = flexapi.ParseSID(flexapi.KeyPrefix, username); !okSK {
			flexapi.SecretMatches(dummyHash, secret)
			return "", invalid
		}
	}
	cred, err := s.store.Credential(r.Context(), sid)
	switch {
	case flexapi.ErrorCode(err) == flexapi.ENOTFOUND:
		flexapi.SecretMatches(dummyHash, secret)
		return "", invalid
	case err != nil:
		return "", err
	case !cred.Verify(secret):
		return "", invalid
	}
	return cred.AccountSID, nil
}
