package flexapi

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// SID prefixes of the resources flexapi stores or refers to.
const (
	AccountPrefix   = "AC"
	KeyPrefix       = "SK"
	InstancePrefix  = "GO"
	FlexUserPrefix  = "FU"
	UserPrefix      = "US"
	WorkerPrefix    = "WK"
	WorkspacePrefix = "WS"
	FlexTeamPrefix  = "QO"
)

const sidLength = 34

// ParseSID checks s against the pattern ^PREFIX[0-9a-fA-F]{32}$ and returns it
// in canonical form (lowercase hex), so that a SID typed in either case finds
// the same resource.
func ParseSID(prefix, s string) (string, bool) {
	if len(s) != sidLength || s[:2] != prefix {
		return "", false
	}
	upper := false
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
		upper = upper || c <= 'F' && c >= 'A'
	}
	if !upper {
		return s, true // already canonical: no copy
	}
	return prefix + strings.ToLower(s[2:]), true
}

// NewSID returns a fresh random SID with the given prefix.
func NewSID(prefix string) string {
	return prefix + NewSecret()
}

// NewSecret returns 128 random bits as 32 lowercase hex digits: the only
// characters that the official clients accept in credentials.
func NewSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
