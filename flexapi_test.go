package flexapi_test

import (
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
)

func TestParseSID(t *testing.T) {
	tests := []struct {
		name, prefix, in, want string
		ok                     bool
	}{
		{"lowercase", "FU", "FU" + strings.Repeat("a", 32), "FU" + strings.Repeat("a", 32), true},
		{"uppercase hex is canonicalised", "GO", "GO" + strings.Repeat("AB", 16), "GO" + strings.Repeat("ab", 16), true},
		{"digits", "AC", "AC" + strings.Repeat("09", 16), "AC" + strings.Repeat("09", 16), true},
		{"wrong prefix", "FU", "GO" + strings.Repeat("a", 32), "", false},
		{"lowercase prefix", "FU", "fu" + strings.Repeat("a", 32), "", false},
		{"too short", "FU", "FU" + strings.Repeat("a", 31), "", false},
		{"too long", "FU", "FU" + strings.Repeat("a", 33), "", false},
		{"not hex", "FU", "FU" + strings.Repeat("g", 32), "", false},
		{"empty", "FU", "", "", false},
		{"non-ASCII", "FU", "FU" + strings.Repeat("a", 30) + "é", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := flexapi.ParseSID(tt.prefix, tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseSID(%q, %q) = %q, %v; want %q, %v", tt.prefix, tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNewSID(t *testing.T) {
	a, b := flexapi.NewSID("FU"), flexapi.NewSID("FU")
	if got, ok := flexapi.ParseSID("FU", a); !ok || got != a || a == b {
		t.Errorf("NewSID gave %q and %q; want two different valid FU SIDs", a, b)
	}
	if s := flexapi.NewSecret(); len(s) != 32 || strings.Trim(s, "0123456789abcdef") != "" {
		t.Errorf("NewSecret() = %q; want 32 lowercase hex digits", s)
	}
}

func TestValidateEmail(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"sample@example.com", true},
		{"first.last+tag@sub.example.org", true},
		{"", false},
		{"bad", false},
		{"Bob <bob@example.com>", false},
		{"a@example.com, b@example.com", false},
		{" a@example.com", false},
		{"a@", false},
	} {
		err := flexapi.ValidateEmail("Email", tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateEmail(%q) = %v; want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && (flexapi.ErrorCode(err) != flexapi.EINVALID || !strings.Contains(flexapi.ErrorMessage(err), "Email")) {
			t.Errorf("ValidateEmail(%q) error = %v; want EINVALID naming Email", tt.in, err)
		}
	}
}

func TestValidateLocale(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"en-US", true},
		{"fr", true},
		{"zh-Hant-TW", true},
		{"es-419", true},
		{"", false},
		{"english please", false},
		{"en_US_x_y_z_!", false},
		{" en-US", false},
		{"toolongsubtag-US", false},
	} {
		err := flexapi.ValidateLocale("Locale", tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateLocale(%q) = %v; want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestUserUpdateApply(t *testing.T) {
	s := func(v string) *string { return &v }
	user := flexapi.User{Email: s("a@example.com"), Locale: nil}
	if (flexapi.UserUpdate{}).Apply(&user) {
		t.Error("an empty update reported a change")
	}
	if (flexapi.UserUpdate{Email: s("a@example.com")}).Apply(&user) {
		t.Error("setting the same e-mail reported a change")
	}
	if !(flexapi.UserUpdate{Locale: s("en-US")}).Apply(&user) || user.Locale == nil || *user.Locale != "en-US" {
		t.Errorf("setting a locale: got %v; want en-US and a change", user.Locale)
	}
	upd := flexapi.UserUpdate{UserSID: s("US" + strings.Repeat("AB", 16))}
	if err := upd.Validate(); err != nil || *upd.UserSID != "US"+strings.Repeat("ab", 16) {
		t.Errorf("Validate of an uppercase UserSid: %v, %q; want canonical lowercase", err, *upd.UserSID)
	}
	bad := flexapi.UserUpdate{UserSID: s("FU" + strings.Repeat("a", 32))}
	if err := bad.Validate(); err == nil || !strings.Contains(flexapi.ErrorMessage(err), "UserSid") {
		t.Errorf("Validate of a bad UserSid = %v; want an error naming UserSid", err)
	}
}

func TestSecrets(t *testing.T) {
	h := flexapi.HashSecret("s3cret")
	if strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q contains the secret", h)
	}
	if h == flexapi.HashSecret("s3cret") {
		t.Error("two hashes of one secret are equal; want a salt")
	}
	if !flexapi.SecretMatches(h, "s3cret") || flexapi.SecretMatches(h, "s3cret ") || flexapi.SecretMatches("garbage", "s3cret") {
		t.Error("SecretMatches accepts a wrong secret or refuses the right one")
	}
	c := flexapi.Credential{SecretHashes: []string{flexapi.HashSecret("one"), flexapi.HashSecret("two")}, Active: true}
	if !c.Verify("one") || !c.Verify("two") || c.Verify("three") {
		t.Error("Verify must accept either token and nothing else")
	}
	c.Active = false
	if c.Verify("one") {
		t.Error("Verify accepted the token of a suspended account")
	}
}
