package api

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
)

// reflected is the representation as encoding/json writes it from struct
// tags: the yardstick of the hand-written encoder.
type reflected struct {
	AccountSID   string   `json:"account_sid"`
	InstanceSID  string   `json:"instance_sid"`
	UserSID      *string  `json:"user_sid"`
	FlexUserSID  string   `json:"flex_user_sid"`
	WorkerSID    *string  `json:"worker_sid"`
	WorkspaceSID *string  `json:"workspace_sid"`
	FlexTeamSID  *string  `json:"flex_team_sid"`
	Username     *string  `json:"username"`
	Email        *string  `json:"email"`
	Locale       *string  `json:"locale"`
	Roles        []string `json:"roles"`
	CreatedDate  *string  `json:"created_date"`
	UpdatedDate  *string  `json:"updated_date"`
	Version      int64    `json:"version"`
	URL          string   `json:"url"`
}

func reflectedJSON(u flexapi.User, url string) []byte {
	date := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	b, _ := json.Marshal(reflected{u.AccountSID, u.InstanceSID, u.UserSID, u.FlexUserSID, u.WorkerSID, u.WorkspaceSID,
		u.FlexTeamSID, u.Username, u.Email, u.Locale, u.Roles, date(u.CreatedDate), date(u.UpdatedDate), u.Version, url})
	return b
}

func TestRepresentationEncodesAsEncodingJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	full := flexapi.User{
		AccountSID: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", InstanceSID: "GOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		FlexUserSID: "FUaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", UserSID: str("USaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		WorkerSID: str("WKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), WorkspaceSID: str("WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		FlexTeamSID: str("QOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), Username: str("flex.user"), Email: str("a@example.com"),
		Locale: str("en-US"), Roles: []string{"agent", "admin"}, Version: 7,
		CreatedDate: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600)), UpdatedDate: time.Now(),
	}
	tricky := full
	tricky.Username = str("\"quoted\" \\ <b>&amp;</b> \u2028 \x01\t\n é 日本 \xff")
	tricky.Email = str("")
	tricky.Roles = []string{"", "a\"b", "<script>"}
	bare := flexapi.User{AccountSID: full.AccountSID, InstanceSID: full.InstanceSID, FlexUserSID: full.FlexUserSID}
	empty := bare
	empty.Roles = []string{}
	for name, u := range map[string]flexapi.User{"full": full, "tricky": tricky, "bare": bare, "no roles": empty} {
		url := "https://flex-api.example.com/v2/Instances/x/Users/<&>"
		got, err := json.Marshal(Representation(u, url))
		want := reflectedJSON(u, url+UserPath(u.InstanceSID, u.FlexUserSID))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", name, got, err, want)
		}
		if direct := representation(u, url).appendJSON(nil); string(direct) != string(want) {
			t.Errorf("%s: appendJSON differs from MarshalJSON:\n%s", name, direct)
		}
	}
}

// errorBody is Twilio's error shape as encoding/json writes it from struct
// tags: the yardstick of writeErrorBody.
type errorBody struct {
	Code     int    `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func TestErrorBodiesEncodeAsEncodingJSON(t *testing.T) {
	cases := []struct {
		status, code int
		detail       string
		message      []string
	}{
		{404, codeNotFound, "", []string{"The requested resource ", "/v2/Instances/GO1/Users/FU1", " was not found"}},
		{405, codeMethodNotAllowed, "", []string{"The requested resource ", "/x", " does not support the attempted HTTP method ", "DELETE"}},
		{401, codeUnauthorized, "Your AccountSid or AuthToken was incorrect.", []string{"Authentication Error - invalid username"}},
		{400, codeInvalid, "", []string{"Invalid parameter Email: \"<b>&amp;</b>\" \\ \u2028 \x01\t\n é 日本 \xff"}},
		{405, codeMethodNotAllowed, "a \"detail\" <with> &", []string{"/a&b", "<", `"`, "\xff\xfe"}},
		{500, codeInternal, "", []string{}},
		{503, codeUnavailable, "", []string{""}},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		writeErrorBody(rec, c.status, c.code, c.detail, c.message...)
		want, _ := json.Marshal(errorBody{Code: c.code, Detail: c.detail, Message: strings.Join(c.message, ""),
			MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(c.code), Status: c.status})
		if got := rec.Body.String(); got != string(want) || rec.Code != c.status {
			t.Errorf("writeErrorBody(%d, %q, %q):\n got %d %s\nwant %d %s", c.code, c.detail, c.message, rec.Code, got, c.status, want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}
