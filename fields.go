package flexapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the text fields that clients, seeds and imports may set. Twilio
// documents 1 to 256 characters for a user's username, full name and e-mail;
// the others are flexapi's own, far above any real value, so that no field
// can make a stored user, a list page or an export line large.
const (
	MaxTextLength         = 256 // username, full name, e-mail
	MaxLocaleLength       = 64
	MaxRoles              = 16
	MaxRoleLength         = 64
	MaxFriendlyNameLength = 256
	MaxAttributesBytes    = 16 << 10 // a worker's attributes, as JSON
)

// Roles documented for Flex users; Insights roles are "wfo." and a name.
var documentedRoles = []string{"agent", "supervisor", "admin"}

// ValidateText checks that s is 1 to max characters of valid UTF-8 without
// control characters: a NUL breaks PostgreSQL, invalid bytes break the
// export and import round trip, and escape sequences would reach an
// operator's terminal. A bad value is rejected, never repaired.
func ValidateText(param, s string, max int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "Invalid parameter %s: the value is not valid UTF-8", param)
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > max {
		return Errorf(EINVALID, "Invalid parameter %s: must be 1 to %d characters, not %d", param, max, n)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return Errorf(EINVALID, "Invalid parameter %s: control character %U is not allowed", param, r)
	}
	return nil
}

// ValidateAttributes accepts a JSON object of at most MaxAttributesBytes,
// in valid UTF-8.
func ValidateAttributes(param, s string) error {
	if len(s) > MaxAttributesBytes {
		return Errorf(EINVALID, "Invalid parameter %s: at most %d bytes of JSON, not %d", param, MaxAttributesBytes, len(s))
	}
	var obj map[string]json.RawMessage
	if !utf8.ValidString(s) || json.Unmarshal([]byte(s), &obj) != nil || obj == nil {
		return Errorf(EINVALID, "Invalid parameter %s: must be a JSON object", param)
	}
	return nil
}

// ValidateRoles accepts at most MaxRoles roles, each a documented Flex role
// (agent, supervisor, admin) or an Insights role ("wfo." and a lowercase
// name such as wfo.full_access).
func ValidateRoles(param string, roles []string) error {
	if len(roles) > MaxRoles {
		return Errorf(EINVALID, "Invalid parameter %s: at most %d roles, not %d", param, MaxRoles, len(roles))
	}
	for _, r := range roles {
		if !isRole(r) {
			return Errorf(EINVALID, "Invalid parameter %s: %s is not a Flex role (agent, supervisor, admin, or wfo.NAME)", param, quoteShort(r))
		}
	}
	return nil
}

func isRole(r string) bool {
	for _, d := range documentedRoles {
		if r == d {
			return true
		}
	}
	name, ok := strings.CutPrefix(r, "wfo.")
	if !ok || name == "" || len(r) > MaxRoleLength {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// quoteShort quotes a client's value for an error message, cut short so that
// a huge value does not make a huge message.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}
