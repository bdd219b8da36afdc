package api

import (
	"context"
	"net/http"

	"github.com/flexapi/flexapi"
)

// dummyHash is compared against when the username is unknown, so that an
// unknown SID costs as much time as a wrong token.
var dummyHash = flexapi.HashSecret(flexapi.NewSecret())

// authed checks HTTP Basic credentials before anything else is looked at, and
// passes the authenticated account's SID to h.
func (s *server) authed(h func(w http.ResponseWriter, r *http.Request, accountSID string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		accountSID, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		info(r.Context()).accountSID = accountSID
		h(w, r, accountSID)
	})
}

func (s *server) authenticate(r *http.Request) (string, error) {
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
