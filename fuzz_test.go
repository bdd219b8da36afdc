package flexapi_test

import (
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
)

// FuzzParseSID: whatever the input, a SID that parses is canonical and parses
// to itself, and one that does not gives nothing back.
func FuzzParseSID(f *testing.F) {
	f.Add("FU", "FUaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("GO", "GO"+strings.Repeat("AB", 16))
	f.Add("US", "US123")
	f.Add("AC", "")
	f.Fuzz(func(t *testing.T, prefix, s string) {
		got, ok := flexapi.ParseSID(prefix, s)
		if !ok {
			if got != "" {
				t.Fatalf("ParseSID(%q, %q) failed but returned %q", prefix, s, got)
			}
			return
		}
		if len(got) != 34 || got[:2] != prefix || strings.Trim(got[2:], "0123456789abcdef") != "" {
			t.Fatalf("ParseSID(%q, %q) = %q: not canonical", prefix, s, got)
		}
		if again, ok := flexapi.ParseSID(prefix, got); !ok || again != got {
			t.Fatalf("the canonical %q does not parse to itself", got)
		}
		if !strings.EqualFold(got, s) {
			t.Fatalf("ParseSID(%q) = %q changed more than case", s, got)
		}
	})
}
