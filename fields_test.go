package flexapi_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flexapi/flexapi"
)

func TestFieldRules(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		name  string
		user  flexapi.User
		param string // "" when the user is valid
	}{
		{"plain", flexapi.User{Username: s("ana"), Email: s("ana@example.com"), Locale: s("en-US"), Roles: []string{"agent", "wfo.full_access"}}, ""},
		{"256 characters of several bytes each", flexapi.User{Username: s(strings.Repeat("é", 256))}, ""},
		{"257 characters", flexapi.User{Username: s(strings.Repeat("a", 257))}, "Username"},
		{"a 60,000-character username", flexapi.User{Username: s(strings.Repeat("a", 60_000))}, "Username"},
		{"empty username", flexapi.User{Username: s("")}, "Username"},
		{"NUL", flexapi.User{Username: s("ana\x00")}, "Username"},
		{"escape sequence", flexapi.User{Username: s("\x1b[31mred")}, "Username"},
		{"C1 control", flexapi.User{Username: s("a\u0085b")}, "Username"},
		{"invalid UTF-8", flexapi.User{Username: s("ana\xff")}, "Username"},
		{"e-mail with NUL", flexapi.User{Email: s("a\x00@example.com")}, "Email"},
		{"e-mail of 300 characters", flexapi.User{Email: s(strings.Repeat("a", 288) + "@example.com")}, "Email"},
		{"e-mail, invalid UTF-8", flexapi.User{Email: s("\xffa@example.com")}, "Email"},
		{"locale too long", flexapi.User{Locale: s("en-" + strings.Repeat("abcdefgh-", 8))}, "Locale"},
		{"unknown role", flexapi.User{Roles: []string{"root"}}, "Roles"},
		{"empty role", flexapi.User{Roles: []string{""}}, "Roles"},
		{"role with a space", flexapi.User{Roles: []string{" agent"}}, "Roles"},
		{"too many roles", flexapi.User{Roles: strings.Split(strings.Repeat("agent,", 16)+"agent", ",")}, "Roles"},
		{"Insights role with a capital", flexapi.User{Roles: []string{"wfo.Full"}}, "Roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.user.Validate()
			if tt.param == "" {
				if err != nil {
					t.Fatalf("Validate: %v; want valid", err)
				}
				return
			}
			if flexapi.ErrorCode(err) != flexapi.EINVALID || !strings.Contains(flexapi.ErrorMessage(err), "parameter "+tt.param) {
				t.Fatalf("Validate: %v; want EINVALID naming %s", err, tt.param)
			}
			if msg := flexapi.ErrorMessage(err); len(msg) > 300 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00\x1b") {
				t.Errorf("the message repeats the bad value raw or whole: %q", msg)
			}
		})
	}
	// The update path speaks the same rules.
	bad := flexapi.UserUpdate{Email: s("a@example.com\x00")}
	if err := bad.Validate(); flexapi.ErrorCode(err) != flexapi.EINVALID {
		t.Errorf("update with a NUL in Email: %v", err)
	}
}

func TestSeedValidate(t *testing.T) {
	ac := "AC" + strings.Repeat("1", 32)
	tests := []struct {
		name string
		seed flexapi.Seed
		want string // "" when valid
	}{
		{"one account", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, AuthToken: "token1234"}}}, ""},
		{"no token named", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac}}}, ""},
		{"the same account twice, in either case", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac}, {SID: strings.ToUpper(ac[:2]) + strings.Repeat("1", 32)}}}, "named twice"},
		{"a key named twice", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, Keys: []flexapi.SeedKey{
			{SID: "SK" + strings.Repeat("a", 32)}, {SID: "SK" + strings.Repeat("A", 32)}}}}}, "named twice"},
		{"a user named twice", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, Instances: []flexapi.SeedInstance{{SID: "GO" + strings.Repeat("1", 32),
			Users: []flexapi.User{{FlexUserSID: "FU" + strings.Repeat("b", 32)}, {FlexUserSID: "FU" + strings.Repeat("B", 32)}}}}}}}, "named twice"},
		{"a secondary without a primary", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, SecondaryToken: "token1234"}}}, "secondary_auth_token"},
		{"a short token", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, AuthToken: "short"}}}, "8 to 128"},
		{"a bad status", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, Status: "closed"}}}, "status"},
		{"a friendly name with an escape", flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: ac, FriendlyName: "\x1b]0;pwned\x07"}}}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.seed.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(flexapi.ErrorMessage(err), tt.want)) {
				t.Errorf("Validate: %v; want %q", err, tt.want)
			}
		})
	}
}

// FuzzValidateUser: whatever a client sends, a user that passes Validate
// holds only bounded, valid UTF-8 text without control characters, and
// documented roles.
func FuzzValidateUser(f *testing.F) {
	f.Add("ana", "ana@example.com", "en-US", "agent")
	f.Add("a\x00", "\xff@x.y", "en_US", "root")
	f.Add(strings.Repeat("é", 257), "b@example.com", "fr", "wfo.full_access")
	f.Fuzz(func(t *testing.T, username, email, locale, role string) {
		u := flexapi.User{Username: &username, Email: &email, Locale: &locale, Roles: []string{role}}
		if u.Validate() != nil {
			return
		}
		for _, v := range []string{username, email, locale, role} {
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > flexapi.MaxTextLength || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
				t.Fatalf("accepted %q", v)
			}
		}
		if utf8.RuneCountInString(locale) > flexapi.MaxLocaleLength {
			t.Fatalf("accepted a locale of %d characters", utf8.RuneCountInString(locale))
		}
	})
}
