package flexapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// HashSecret returns the stored form of an auth token or key secret:
// "sha256$SALT$HASH". Generated secrets carry 128 random bits, so a salted
// SHA-256 is enough to make a stolen database useless without making every
// request pay for a slow password hash.
func HashSecret(secret string) string {
	var salt [16]byte
	rand.Read(salt[:])
	s := hex.EncodeToString(salt[:])
	return "sha256$" + s + "$" + digest(s, secret)
}

// SecretMatches reports, in constant time, whether secret hashes to stored.
func SecretMatches(stored, secret string) bool {
	scheme, rest, ok := strings.Cut(stored, "$")
	salt, want, ok2 := strings.Cut(rest, "$")
	if !ok || !ok2 || scheme != "sha256" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(digest(salt, secret)), []byte(want)) == 1
}

func digest(salt, secret string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// Credential is what the store knows about one username of HTTP Basic auth: an
// account SID (whose primary and secondary tokens are accepted) or an API key
// SID (whose secret is accepted, acting for its account).
type Credential struct {
	AccountSID   string
	SecretHashes []string
	Active       bool // false when the account is suspended or the key revoked
}

// Verify reports whether secret is one of the credential's secrets. It always
// compares against every hash so that timing does not tell which one matched.
func (c Credential) Verify(secret string) bool {
	ok := false
	for _, h := range c.SecretHashes {
		if SecretMatches(h, secret) {
			ok = true
		}
	}
	return ok && c.Active
}
