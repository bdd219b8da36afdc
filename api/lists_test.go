package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

const usersA = "/v1/Instances/" + instanceA + "/Users"

type listPage struct {
	Users []map[string]any `json:"users"`
	Meta  struct {
		Page            int     `json:"page"`
		PageSize        int     `json:"page_size"`
		FirstPageURL    string  `json:"first_page_url"`
		PreviousPageURL *string `json:"previous_page_url"`
		URL             string  `json:"url"`
		NextPageURL     *string `json:"next_page_url"`
		Key             string  `json:"key"`
	} `json:"meta"`
}

func (h *harness) list(t *testing.T, pathAndQuery string) listPage {
	t.Helper()
	res := h.do(request{method: "GET", path: pathAndQuery, auth: credA})
	if res.status != 200 {
		t.Fatalf("GET %s: %d %s", pathAndQuery, res.status, res.body)
	}
	var p listPage
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// relative turns a page URL of the meta object back into a path and query.
func (h *harness) relative(t *testing.T, u string) string {
	t.Helper()
	if !strings.HasPrefix(u, h.srv.URL) {
		t.Fatalf("page URL %q is not on the server %s", u, h.srv.URL)
	}
	return strings.TrimPrefix(u, h.srv.URL)
}

func createUsers(t *testing.T, h *harness, n int) []string {
	t.Helper()
	var sids []string
	for i := range n {
		u := flexapi.User{AccountSID: accountA, InstanceSID: instanceA, FlexUserSID: flexapi.NewSID("FU")}
		email := fmt.Sprintf("user%d@example.com", i)
		u.Email = &email
		if err := h.store.CreateUser(context.Background(), &u); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, u.FlexUserSID)
	}
	return sids
}

func TestListWalksEveryPage(t *testing.T) {
	h := newHarness(t, api.Config{})
	want := append(createUsers(t, h, 23), userA)
	slices.Sort(want)

	first := h.list(t, usersA+"?PageSize=5")
	if first.Meta.Key != "users" || first.Meta.PageSize != 5 || first.Meta.Page != 0 || first.Meta.PreviousPageURL != nil {
		t.Errorf("first page meta %+v", first.Meta)
	}
	if first.Meta.FirstPageURL != h.srv.URL+usersA+"?Page=0&PageSize=5" || first.Meta.URL != first.Meta.FirstPageURL {
		t.Errorf("first_page_url %q url %q", first.Meta.FirstPageURL, first.Meta.URL)
	}
	var got []string
	pages := []listPage{first}
	for p := first; ; {
		for _, u := range p.Users {
			got = append(got, u["flex_user_sid"].(string))
		}
		if p.Meta.NextPageURL == nil {
			break
		}
		p = h.list(t, h.relative(t, *p.Meta.NextPageURL))
		pages = append(pages, p)
	}
	if !slices.Equal(got, want) || len(pages) != 5 {
		t.Errorf("walked %d users in %d pages; want %d in 5, in SID order", len(got), len(pages), len(want))
	}
	if last := pages[len(pages)-1]; last.Meta.Page != 4 || len(last.Users) != 4 {
		t.Errorf("last page: page %d with %d users; want page 4 with 4", last.Meta.Page, len(last.Users))
	}
	// Walking back from the last page gives the same pages in reverse.
	back := pages[len(pages)-1]
	for i := len(pages) - 2; i >= 0; i-- {
		if back.Meta.PreviousPageURL == nil {
			t.Fatalf("page %d has no previous_page_url", i+1)
		}
		back = h.list(t, h.relative(t, *back.Meta.PreviousPageURL))
		if fmt.Sprint(back.Users) != fmt.Sprint(pages[i].Users) || back.Meta.Page != i {
			t.Errorf("previous of page %d differs from page %d", i+1, i)
		}
	}
	if back.Meta.PreviousPageURL != nil {
		t.Errorf("the first page, reached backwards, has previous_page_url %q", *back.Meta.PreviousPageURL)
	}
}

// A page token stays valid while users come and go: the next page starts
// after the last user seen, whatever was added or removed before it.
func TestPageTokensAreStable(t *testing.T) {
	h := newHarness(t, api.Config{})
	sids := append(createUsers(t, h, 9), userA)
	slices.Sort(sids)
	first := h.list(t, usersA+"?PageSize=4")
	lastSeen := first.Users[3]["flex_user_sid"].(string)

	// Remove a user already seen and one not yet seen; add users on both sides.
	ctx := context.Background()
	for _, sid := range []string{sids[0], sids[6]} {
		if err := h.store.DeleteUser(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instanceA, FlexUserSID: sid}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, sid := range []string{"FU" + strings.Repeat("0", 32), "FU" + strings.Repeat("f", 32)} {
		if err := h.store.CreateUser(ctx, &flexapi.User{AccountSID: accountA, InstanceSID: instanceA, FlexUserSID: sid}); err != nil {
			t.Fatal(err)
		}
	}
	var rest []string
	for p := h.list(t, h.relative(t, *first.Meta.NextPageURL)); ; p = h.list(t, h.relative(t, *p.Meta.NextPageURL)) {
		for _, u := range p.Users {
			rest = append(rest, u["flex_user_sid"].(string))
		}
		if p.Meta.NextPageURL == nil {
			break
		}
	}
	var want []string
	for _, sid := range append(sids[4:], "FU"+strings.Repeat("f", 32)) {
		if sid != sids[6] && sid > lastSeen {
			want = append(want, sid)
		}
	}
	if !slices.Equal(rest, want) {
		t.Errorf("after changes, the rest of the walk is %v; want %v", rest, want)
	}
}

func TestListParameters(t *testing.T) {
	h := newHarness(t, api.Config{})
	empty := h.do(request{method: "GET", path: "/v1/Instances/" + instanceB + "/Users", auth: [2]string{accountB, tokenB}})
	if !strings.HasPrefix(string(empty.body), `{"users":[],"meta":{"page":0,"page_size":50,`) {
		t.Errorf("an empty instance of the caller's: %d %s", empty.status, empty.body)
	}
	for _, q := range []string{"PageSize=0", "PageSize=1001", "PageSize=ten", "Page=-1", "PageToken=nonsense", "PageToken=PAbm90LWEtc2lk", "PageSize=%zz"} {
		res := h.do(request{method: "GET", path: usersA + "?" + q, auth: credA})
		checkTwilioError(t, res, 400, 20001, "")
		param := strings.SplitN(q, "=", 2)[0]
		if msg := res.json(t)["message"].(string); !strings.Contains(msg, param) {
			t.Errorf("%s: message %q does not name %s", q, msg, param)
		}
	}
	// Another account's instance is as absent as one that does not exist.
	for _, p := range []string{"/v1/Instances/" + instanceB + "/Users", "/v1/Instances/GO" + strings.Repeat("9", 32) + "/Users", "/v1/Instances/x/Users"} {
		checkTwilioError(t, h.do(request{method: "GET", path: p, auth: credA}), 404, 20404, "The requested resource "+p+" was not found")
	}
}

func TestConditionalRequests(t *testing.T) {
	h := newHarness(t, api.Config{})
	update := func(ifMatch string, email string) response {
		hdr := map[string]string{}
		if ifMatch != "" {
			hdr["If-Match"] = ifMatch
		}
		return h.do(request{method: "POST", path: pathA, auth: credA, form: url.Values{"Email": {email}}, header: hdr})
	}
	if res := update(`"0"`, "v1@example.com"); res.status != 200 || res.header.Get("ETag") != `"1"` {
		t.Fatalf("If-Match on the current version: %d %s", res.status, res.body)
	}
	res := update(`"0"`, "stale@example.com")
	checkTwilioError(t, res, 412, 20412, "")
	for i, tag := range []string{`"5", "1"`, `*`} {
		if res := update(tag, fmt.Sprintf("v%d@example.com", i+2)); res.status != 200 {
			t.Errorf("If-Match %s: %d %s", tag, res.status, res.body)
		}
	}
	for _, tag := range []string{`W/"3"`, `3`, `"x"`} { // weak, unquoted, foreign: never match
		checkTwilioError(t, update(tag, "never@example.com"), 412, 20412, "")
	}
	if got := h.do(request{method: "GET", path: pathA, auth: credA}).json(t); got["email"] == "never@example.com" || got["email"] == "stale@example.com" {
		t.Errorf("a failed precondition changed the user: %v", got["email"])
	}

	current := h.do(request{method: "GET", path: pathA, auth: credA}).header.Get("ETag")
	for _, tag := range []string{current, "W/" + current, `"99", ` + current, "*"} {
		res := h.do(request{method: "GET", path: pathA, auth: credA, header: map[string]string{"If-None-Match": tag}})
		if res.status != 304 || len(res.body) != 0 || res.header.Get("ETag") != current {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q; want 304, empty, %s", tag, res.status, len(res.body), res.header.Get("ETag"), current)
		}
	}
	if res := h.do(request{method: "GET", path: pathA, auth: credA, header: map[string]string{"If-None-Match": `"0"`}}); res.status != 200 {
		t.Errorf("If-None-Match on an old version: %d; want 200", res.status)
	}

}

// flexapi's earlier create, list and delete on /v2 are gone: those paths
// answer as Twilio does.
func TestNoInventedV2Routes(t *testing.T) {
	h := newHarness(t, api.Config{})
	res := h.do(request{method: "DELETE", path: pathA, auth: credA})
	checkTwilioError(t, res, 405, 20004, "The requested resource "+pathA+" does not support the attempted HTTP method DELETE")
	if res.header.Get("Allow") != "GET, POST, OPTIONS" || res.header.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" {
		t.Errorf("Allow %q, Access-Control-Allow-Methods %q", res.header.Get("Allow"), res.header.Get("Access-Control-Allow-Methods"))
	}
	v2Users := "/v2/Instances/" + instanceA + "/Users"
	for _, m := range []string{"GET", "POST"} {
		checkTwilioError(t, h.do(request{method: m, path: v2Users, auth: credA, form: url.Values{}}), 404, 20404, "The requested resource "+v2Users+" was not found")
	}
	if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
		t.Errorf("the user after DELETE: %d", res.status)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	json.Unmarshal(h.do(request{method: "GET", path: "/openapi.json"}).body, &doc)
	if _, ok := doc.Paths["/v2/Instances/{InstanceSid}/Users"]; ok {
		t.Error("the OpenAPI document still has the v2 list path")
	}
	if _, ok := doc.Paths["/v2/Instances/{InstanceSid}/Users/{FlexUserSid}"]["delete"]; ok {
		t.Error("the OpenAPI document still has DELETE")
	}
	for _, p := range []string{"/v2/Instances/{InstanceSid}/Users/{FlexUserSid}", "/v1/Instances/{InstanceSid}/Users",
		"/v4/Instances/{InstanceSid}/Users", "/v4/Instances/{InstanceSid}/Users/Provision", "/v4/Instances/{InstanceSid}/Users/Deprovision",
		"/v4/Instances/{InstanceSid}/Users/{FlexUserSid}", "/v4/Instances/{InstanceSid}/Users/{FlexUserSid}/Tokens",
		"/v1/Instances/{InstanceSid}/Teams", "/v1/Instances/{InstanceSid}/Teams/{TeamSid}", "/v1/Configuration",
		"/_flexapi/seed", "/_flexapi/reset", "/_flexapi/requests", "/_flexapi/faults", "/_flexapi/faults/{id}",
		"/_flexapi/instances/{InstanceSid}/users/{FlexUserSid}"} {
		if doc.Paths[p] == nil {
			t.Errorf("the OpenAPI document lacks %s", p)
		}
	}
}
