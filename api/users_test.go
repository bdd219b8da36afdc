package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

// The 15 fields of the reference page, in the order of its attribute list.
var fieldOrder = []string{"account_sid", "instance_sid", "user_sid", "flex_user_sid", "worker_sid", "workspace_sid",
	"flex_team_sid", "username", "email", "locale", "roles", "created_date", "updated_date", "version", "url"}

// keysInOrder returns the top-level keys of a JSON object as they appear.
func keysInOrder(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body %q is not an object", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestFetchReturnsTheReferenceExample(t *testing.T) {
	h := newHarness(t, api.Config{PublicURL: "https://flex-api.twilio.com/"})
	demo := flexapi.DemoUser()
	ctx := context.Background()
	if err := h.store.CreateAccount(ctx, &flexapi.Account{SID: demo.AccountSID}, flexapi.HashSecret(tokenA)); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateInstance(ctx, &flexapi.Instance{SID: demo.InstanceSID, AccountSID: demo.AccountSID}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateUser(ctx, &demo); err != nil {
		t.Fatal(err)
	}
	res := h.do(request{method: "GET", path: api.UserPath(demo.InstanceSID, demo.FlexUserSID), auth: [2]string{demo.AccountSID, tokenA}})
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	example, err := os.ReadFile("../testdata/reference-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	json.Unmarshal(example, &want)
	json.Unmarshal(res.body, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body differs from the reference example\n got: %s\nwant: %s", res.body, example)
	}
	if keys := keysInOrder(t, res.body); !reflect.DeepEqual(keys, fieldOrder) {
		t.Errorf("keys %v; want the page's order %v", keys, fieldOrder)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if etag := res.header.Get("ETag"); etag != `"1"` {
		t.Errorf("ETag %q; want \"1\"", etag)
	}
}

func TestFetchShowsUnknownFieldsAsNull(t *testing.T) {
	h := newHarness(t, api.Config{})
	u := flexapi.User{AccountSID: accountB, InstanceSID: instanceB, FlexUserSID: flexapi.NewSID("FU")}
	if err := h.store.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	res := h.do(request{method: "GET", path: api.UserPath(instanceB, u.FlexUserSID), auth: [2]string{accountB, tokenB}})
	body := res.json(t)
	for _, f := range []string{"username", "email", "locale", "roles"} {
		if v, ok := body[f]; !ok || v != nil {
			t.Errorf("%s = %v (present %v); want null", f, v, ok)
		}
	}
	// Every user has the SIDs a real Flex user has, however it was made.
	in, _ := h.store.Instance(context.Background(), instanceB)
	for f, want := range map[string]string{"workspace_sid": in.WorkspaceSID, "flex_team_sid": in.DefaultTeamSID} {
		if body[f] != want {
			t.Errorf("%s = %v; want the instance's %s", f, body[f], want)
		}
	}
	for f, prefix := range map[string]string{"user_sid": "US", "worker_sid": "WK"} {
		if v, _ := body[f].(string); !strings.HasPrefix(v, prefix) || len(v) != 34 {
			t.Errorf("%s = %v; want a generated %s SID", f, body[f], prefix)
		}
	}
	if body["version"] != 0.0 || body["url"] != h.srv.URL+api.UserPath(instanceB, u.FlexUserSID) {
		t.Errorf("version %v url %v; want 0 and the server's own URL", body["version"], body["url"])
	}
	if keys := keysInOrder(t, res.body); !reflect.DeepEqual(keys, fieldOrder) {
		t.Errorf("keys %v; want %v", keys, fieldOrder)
	}
}

func TestFetchAcceptsSIDsInEitherCase(t *testing.T) {
	h := newHarness(t, api.Config{})
	res := h.do(request{method: "GET", path: "/v2/Instances/" + strings.ToUpper(instanceA) + "/Users/" + userA, auth: credA})
	if res.status != 200 || res.json(t)["instance_sid"] != instanceA {
		t.Errorf("uppercase hex: %d %s; want 200 with the canonical SID", res.status, res.body)
	}
}

func TestUpdate(t *testing.T) {
	h := newHarness(t, api.Config{})
	before := h.do(request{method: "GET", path: pathA, auth: credA}).json(t)

	tests := []struct {
		name        string
		form        url.Values
		wantVersion float64
		want        map[string]any
	}{
		{"nothing", url.Values{}, 0, nil},
		{"same values", url.Values{"Email": {"one@example.com"}, "Locale": {"en-US"}}, 0, nil},
		{"email", url.Values{"Email": {"two@example.com"}}, 1, map[string]any{"email": "two@example.com"}},
		{"locale", url.Values{"Locale": {"pt-BR"}}, 2, map[string]any{"locale": "pt-BR"}},
		{"user sid in capitals", url.Values{"UserSid": {"US" + strings.Repeat("AB", 16)}}, 3,
			map[string]any{"user_sid": "US" + strings.Repeat("ab", 16)}},
		{"all three", url.Values{"Email": {"three@example.com"}, "Locale": {"fr"}, "UserSid": {"US" + strings.Repeat("cd", 16)}}, 4,
			map[string]any{"email": "three@example.com", "locale": "fr", "user_sid": "US" + strings.Repeat("cd", 16)}},
		{"unknown parameters are ignored", url.Values{"Nickname": {"x"}}, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(request{method: "POST", path: pathA, auth: credA, form: tt.form})
			if res.status != 200 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			got := res.json(t)
			if got["version"] != tt.wantVersion {
				t.Errorf("version %v; want %v", got["version"], tt.wantVersion)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v; want %v", k, got[k], v)
				}
			}
			if got["created_date"] != before["created_date"] || got["username"] != "agent.one" {
				t.Errorf("created_date or username changed: %v %v", got["created_date"], got["username"])
			}
			fetched := h.do(request{method: "GET", path: pathA, auth: credA})
			if !bytes.Equal(fetched.body, res.body) {
				t.Errorf("a fetch after the update differs:\n%s\n%s", fetched.body, res.body)
			}
		})
	}
}

func TestUpdateMovesUpdatedDate(t *testing.T) {
	h := newHarness(t, api.Config{})
	u := flexapi.User{AccountSID: accountB, InstanceSID: instanceB, FlexUserSID: flexapi.NewSID("FU"),
		CreatedDate: time.Date(2024, 7, 31, 4, 0, 0, 0, time.UTC)}
	if err := h.store.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	path := api.UserPath(instanceB, u.FlexUserSID)
	got := h.do(request{method: "POST", path: path, auth: [2]string{accountB, tokenB}, form: url.Values{"Locale": {"en-GB"}}}).json(t)
	updated, err := time.Parse(time.RFC3339, got["updated_date"].(string))
	if err != nil || time.Since(updated) > time.Minute || got["created_date"] != "2024-07-31T04:00:00Z" {
		t.Errorf("created %v updated %v; want the old creation date and an update date of now", got["created_date"], got["updated_date"])
	}
	if !strings.HasSuffix(got["updated_date"].(string), "Z") || strings.Contains(got["updated_date"].(string), ".") {
		t.Errorf("updated_date %v; want RFC 3339 UTC with second precision", got["updated_date"])
	}
}

func TestUpdateRejectsBadValuesAndChangesNothing(t *testing.T) {
	h := newHarness(t, api.Config{})
	before := h.do(request{method: "GET", path: pathA, auth: credA}).body
	tests := []struct {
		name  string
		form  url.Values
		param string
	}{
		{"email not an address", url.Values{"Email": {"not-an-address"}}, "Email"},
		{"email with a name", url.Values{"Email": {"Bob <bob@example.com>"}}, "Email"},
		{"two emails", url.Values{"Email": {"a@example.com, b@example.com"}}, "Email"},
		{"empty email", url.Values{"Email": {""}}, "Email"},
		{"user sid wrong prefix", url.Values{"UserSid": {"FU" + strings.Repeat("a", 32)}}, "UserSid"},
		{"user sid short", url.Values{"UserSid": {"US123"}}, "UserSid"},
		{"locale not a tag", url.Values{"Locale": {"not a locale"}}, "Locale"},
		{"empty locale", url.Values{"Locale": {""}}, "Locale"},
		{"good email, bad locale", url.Values{"Email": {"new@example.com"}, "Locale": {"??"}}, "Locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(request{method: "POST", path: pathA, auth: credA, form: tt.form})
			body := res.json(t)
			if res.status != 400 || body["code"] != 20001.0 || body["status"] != 400.0 {
				t.Fatalf("got %d %s; want 400 with code 20001", res.status, res.body)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, tt.param) {
				t.Errorf("message %q does not name %s", msg, tt.param)
			}
			if after := h.do(request{method: "GET", path: pathA, auth: credA}).body; !bytes.Equal(after, before) {
				t.Errorf("the user changed:\n%s\n%s", before, after)
			}
		})
	}
}

func TestUpdateBodyRules(t *testing.T) {
	h := newHarness(t, api.Config{MaxBodyBytes: 1024})
	before := h.do(request{method: "GET", path: pathA, auth: credA}).body
	tests := []struct {
		name   string
		req    request
		status int
		code   float64
	}{
		{"JSON body", request{body: `{"Email":"x@example.com"}`, header: map[string]string{"Content-Type": "application/json"}}, 400, 20001},
		{"XML body", request{body: "<Email>x@example.com</Email>", header: map[string]string{"Content-Type": "text/xml"}}, 400, 20001},
		{"bad form encoding", request{body: "Email=%zz", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, 20001},
		{"too large", request{form: url.Values{"Email": {strings.Repeat("a", 2000) + "@example.com"}}}, 413, 20413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method, tt.req.path, tt.req.auth = "POST", pathA, credA
			res := h.do(tt.req)
			if res.status != tt.status || res.json(t)["code"] != tt.code {
				t.Errorf("got %d %s; want %d with code %v", res.status, res.body, tt.status, tt.code)
			}
			if after := h.do(request{method: "GET", path: pathA, auth: credA}).body; !bytes.Equal(after, before) {
				t.Errorf("the user changed")
			}
		})
	}
}
