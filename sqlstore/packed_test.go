package sqlstore

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
)

// Every user packs and unpacks to itself: set and unset optional strings
// (an empty one too), roles unknown, empty and many, strings long enough for
// multi-byte lengths, dates with and without fractions, deactivated or not.
func TestPackedUserRoundTrip(t *testing.T) {
	str := func(s string) *string { return &s }
	date := func(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }
	key := flexapi.User{AccountSID: "AC" + strings.Repeat("a", 32), InstanceSID: "GO" + strings.Repeat("b", 32), FlexUserSID: "FU" + strings.Repeat("c", 32)}
	full := key
	full.UserSID, full.WorkerSID, full.WorkspaceSID, full.FlexTeamSID = str("US1"), str("WK1"), str("WS1"), str("QO1")
	full.Username, full.FullName, full.Email, full.Locale = str("agent.1"), str("Ágnes 日本"), str(""), str("en-US")
	full.Roles, full.WorkerAttributes, full.Version = []string{"agent", "", "supervisor"}, `{"skills":["x"]}`, 41
	full.CreatedDate, full.UpdatedDate, full.DeactivatedDate = date(1764650000, 0), date(1764650001, 999), date(1764650002, 0)
	long := key
	long.Email, long.Roles = str(strings.Repeat("e", 20_000)), []string{strings.Repeat("r", 200)}
	long.CreatedDate = date(1, 0)
	noRoles := key
	noRoles.Roles = []string{}
	some := key
	some.Locale, some.UpdatedDate = str("fr"), date(1764650000, 0)
	old := key // dates before 1970, and a version of many bytes
	old.CreatedDate, old.DeactivatedDate, old.Version = date(-62135596000, 999_999_999), date(-1, 1), 1<<40
	for name, u := range map[string]flexapi.User{"key only": key, "full": full, "long": long, "no roles": noRoles, "some": some, "old": old} {
		blob := pack(u)
		if got := unpack(string(blob)); !reflect.DeepEqual(got, u) {
			t.Errorf("%s: unpacked\n%+v\nwant\n%+v", name, got, u)
		}
		if !keyIs(blob, flexapi.UserKey{AccountSID: u.AccountSID, InstanceSID: u.InstanceSID, FlexUserSID: u.FlexUserSID}) {
			t.Errorf("%s: is not its own key's", name)
		}
		for _, other := range []flexapi.UserKey{
			{AccountSID: "AC" + strings.Repeat("f", 32), InstanceSID: u.InstanceSID, FlexUserSID: u.FlexUserSID},
			{AccountSID: u.AccountSID, InstanceSID: u.InstanceSID, FlexUserSID: u.FlexUserSID + "x"},
		} {
			if keyIs(blob, other) {
				t.Errorf("%s: passes for %v", name, other)
			}
		}
	}
}

// What a reader does to the user it got does not reach the cache.
func TestCachedUserIsTheReadersOwn(t *testing.T) {
	u := flexapi.User{AccountSID: "AC1", InstanceSID: "GO1", FlexUserSID: "FU1", Roles: []string{"agent"}}
	email := "one@example.com"
	u.Email = &email
	blob := string(pack(u))
	got := unpack(blob)
	got.Roles[0] = "admin"
	got.Roles = append(got.Roles, "supervisor")
	*got.Email = "changed@example.com"
	if again := unpack(blob); again.Roles[0] != "agent" || len(again.Roles) != 1 || *again.Email != email {
		t.Errorf("the cache's user changed with its reader's copy: %+v", again)
	}
}
