package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/internal/pgtest"
)

func jsonRequest(method, path string, auth [2]string, body string) request {
	return request{method: method, path: path, auth: auth, body: body, header: map[string]string{"Content-Type": "application/json"}}
}

// The flow of an identity-provider sync script, as plain HTTP against the
// real server, on both stores: lookup (none), provision (201), provision
// again (200, same user and version), lookup, v4 fetch, its team, v2 fetch,
// deprovision, v4 fetch (deactivated), v1 list (still listed), provision
// again (reactivated, with a new worker). Every answer is checked against the
// OpenAPI document too.
func TestProvisioningScriptFlow(t *testing.T) { pgtest.EachStore(t, testProvisioningScriptFlow) }

func testProvisioningScriptFlow(t *testing.T, dsn string) {
	h := newHarnessOn(t, dsn, api.Config{})
	v4 := "/v4/Instances/" + instanceA + "/Users"
	const email = "ana.lima@example.com"
	lookup := v4 + "?Username=" + url.QueryEscape(email)

	res := h.do(request{method: "GET", path: lookup, auth: credA})
	if res.status != 200 || string(res.body) != `{"account_sid":"`+accountA+`","instance_sid":"`+instanceA+
		`","users":[],"meta":{"direct_token":true,"list_key":"users","next_token":null,"page_size":50,"previous_token":null}}` {
		t.Fatalf("lookup before: %d %s", res.status, res.body)
	}
	body := `{"username":"` + email + `","email":"` + email + `","full_name":"Ana Lima","roles":["agent"],"worker":{"attributes":{"skills":["support"]}}}`
	res = h.do(jsonRequest("POST", v4+"/Provision", credA, body))
	if res.status != 201 {
		t.Fatalf("provision: %d %s", res.status, res.body)
	}
	created := res.json(t)
	fu, _ := created["flex_user_sid"].(string)
	worker, _ := created["worker"].(map[string]any)
	if _, ok := flexapi.ParseSID("FU", fu); !ok || created["version"] != 0.0 || created["deactivated"] != false || worker == nil {
		t.Fatalf("provisioned %s", res.body)
	}
	if _, hasTop := created["worker_sid"]; hasTop {
		t.Errorf("Provision's answer has a top-level worker_sid: %s", res.body)
	}
	again := h.do(jsonRequest("POST", v4+"/Provision", credA, body))
	if again.status != 200 || again.json(t)["flex_user_sid"] != fu || again.json(t)["version"] != 0.0 {
		t.Errorf("the same provision again: %d %s; want 200, the same user at version 0", again.status, again.body)
	}
	found := h.do(request{method: "GET", path: lookup, auth: credA}).json(t)["users"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["flex_user_sid"] != fu {
		t.Fatalf("lookup after: %v", found)
	}
	fetched := h.do(request{method: "GET", path: v4 + "/" + fu, auth: credA})
	user := fetched.json(t)
	if fetched.status != 200 || user["full_name"] != "Ana Lima" || user["username"] != email || user["worker_sid"] != worker["worker_sid"] {
		t.Fatalf("v4 fetch: %d %s", fetched.status, fetched.body)
	}
	wantKeys := []string{"account_sid", "created_date", "deactivated", "deactivated_date", "email", "flex_team_sid", "flex_user_sid",
		"full_name", "instance_sid", "locale", "roles", "updated_date", "username", "version", "worker_sid", "workspace_sid"}
	if keys := keysInOrder(t, fetched.body); fmt.Sprint(keys) != fmt.Sprint(wantKeys) {
		t.Errorf("v4 keys %v; want %v", keys, wantKeys)
	}
	team := h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Teams/" + user["flex_team_sid"].(string), auth: credA})
	if team.status != 200 || team.json(t)["friendly_name"] != "default" || team.json(t)["member_count"] != 2.0 {
		t.Errorf("the user's team: %d %s; want default with the fixture's user and this one", team.status, team.body)
	}
	v2 := h.do(request{method: "GET", path: api.UserPath(instanceA, fu), auth: credA}).json(t)
	for _, f := range []string{"user_sid", "worker_sid", "workspace_sid", "flex_team_sid"} {
		if v, _ := v2[f].(string); len(v) != 34 {
			t.Errorf("v2 %s = %v; want a SID", f, v2[f])
		}
	}
	if v2["workspace_sid"] != worker["workspace_sid"] {
		t.Errorf("v2 workspace %v, provision's %v", v2["workspace_sid"], worker["workspace_sid"])
	}

	if res := h.do(jsonRequest("POST", v4+"/Deprovision", credA, `{"flex_user_sid":"`+fu+`"}`)); res.status != 204 || len(res.body) != 0 {
		t.Fatalf("deprovision: %d %s", res.status, res.body)
	}
	gone := h.do(request{method: "GET", path: v4 + "/" + fu, auth: credA}).json(t)
	if gone["deactivated"] != true || gone["deactivated_date"] == nil || gone["worker_sid"] != nil || gone["version"] != 1.0 {
		t.Errorf("after deprovision: %v", gone)
	}
	if v2 := h.do(request{method: "GET", path: api.UserPath(instanceA, fu), auth: credA}); v2.status != 200 || v2.json(t)["worker_sid"] != nil {
		t.Errorf("v2 fetch of a deactivated user: %d %s; want 200 with worker_sid null", v2.status, v2.body)
	}
	if res := h.do(jsonRequest("POST", v4+"/Deprovision", credA, `{"flex_user_sid":"`+fu+`"}`)); res.status != 204 {
		t.Errorf("deprovision again: %d", res.status)
	}
	if team := h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Teams/" + user["flex_team_sid"].(string), auth: credA}); team.json(t)["member_count"] != 1.0 {
		t.Errorf("member_count after deprovision: %v; want 1 (active users only)", team.json(t)["member_count"])
	}
	listed := false
	for _, u := range h.list(t, usersA).Users {
		listed = listed || u["flex_user_sid"] == fu && u["deactivated"] == true
	}
	if !listed {
		t.Error("the v1 list does not show the deactivated user")
	}
	back := h.do(jsonRequest("POST", v4+"/Provision", credA, body))
	b := back.json(t)
	if back.status != 200 || b["flex_user_sid"] != fu || b["deactivated"] != false || b["deactivated_date"] != nil || b["version"] != 2.0 {
		t.Fatalf("provision of the deactivated user: %d %s", back.status, back.body)
	}
	if w := b["worker"].(map[string]any)["worker_sid"]; w == nil || w == worker["worker_sid"] {
		t.Errorf("reactivated with worker %v; want a new one (was %v)", w, worker["worker_sid"])
	}
}

func TestProvisionValidation(t *testing.T) {
	h := newHarness(t, api.Config{})
	v4 := "/v4/Instances/" + instanceA + "/Users/Provision"
	good := map[string]any{"username": "u", "email": "u@example.com", "full_name": "U", "roles": []string{"agent"}, "worker": map[string]any{}}
	for name, change := range map[string]func(m map[string]any){
		"username": func(m map[string]any) { delete(m, "username") },
		"email":    func(m map[string]any) { m["email"] = "not an address" },
		"full_name": func(m map[string]any) {
			m["full_name"] = strings.Repeat("a", 257)
		},
		"roles":             func(m map[string]any) { m["roles"] = []string{"owner"} },
		"worker":            func(m map[string]any) { m["worker"] = "yes" },
		"worker.attributes": func(m map[string]any) { m["worker"] = map[string]any{"attributes": []int{1}} },
	} {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		change(m)
		b, _ := json.Marshal(m)
		res := h.do(jsonRequest("POST", v4, credA, string(b)))
		checkTwilioError(t, res, 400, 20001, "")
		if msg, _ := res.json(t)["message"].(string); !strings.Contains(msg, name) {
			t.Errorf("%s: message %q does not name it", name, msg)
		}
	}
	for _, bad := range []string{`[]`, `{"username":`, `{} {}`, "\xff"} {
		checkTwilioError(t, h.do(jsonRequest("POST", v4, credA, bad)), 400, 20001, "")
	}
	res := h.do(request{method: "POST", path: v4, auth: credA, form: url.Values{"username": {"u"}}})
	checkTwilioError(t, res, 400, 20001, "")
	// Other methods on Provision and on a user are 405s naming what the path takes.
	for path, allow := range map[string]string{v4: "POST, OPTIONS", "/v4/Instances/" + instanceA + "/Users/Deprovision": "POST, OPTIONS",
		"/v4/Instances/" + instanceA + "/Users/" + userA: "GET, OPTIONS"} {
		for _, m := range []string{"GET", "DELETE", "PUT"} {
			if m == "GET" && allow == "GET, OPTIONS" {
				continue
			}
			res := h.do(request{method: m, path: path, auth: credA})
			checkTwilioError(t, res, 405, 20004, "")
			if res.header.Get("Allow") != allow {
				t.Errorf("%s %s: Allow %q; want %q", m, path, res.header.Get("Allow"), allow)
			}
		}
	}
	// Into another account's instance: exactly an absent instance's 404.
	other := "/v4/Instances/" + instanceB + "/Users/Provision"
	b, _ := json.Marshal(good)
	checkTwilioError(t, h.do(jsonRequest("POST", other, credA, string(b))), 404, 20404, "The requested resource "+other+" was not found")
	// Tokens: bounded ttl, and token_info as the page gives it.
	tokens := "/v4/Instances/" + instanceA + "/Users/" + userA + "/Tokens"
	for _, ttl := range []string{`0`, `86401`, `"1h"`, `1.5`} {
		checkTwilioError(t, h.do(jsonRequest("POST", tokens, credA, `{"ttl":`+ttl+`}`)), 400, 20001, "")
	}
	before := time.Now()
	tok := h.do(jsonRequest("POST", tokens, credA, `{"ttl": 600}`))
	info, _ := tok.json(t)["token_info"].(map[string]any)
	exp, _ := time.Parse(time.RFC3339, fmt.Sprint(info["expiration"]))
	if tok.status != 201 || info["identity"] != "agent.one" || info["flex_user_sid"] != userA || exp.Before(before.Add(599*time.Second)) || exp.After(time.Now().Add(601*time.Second)) {
		t.Errorf("token: %d %s", tok.status, tok.body)
	}
	if again := h.do(jsonRequest("POST", tokens, credA, ``)); again.status != 201 || again.json(t)["access_token"] == tok.json(t)["access_token"] {
		t.Errorf("a second token (default ttl): %d, the same access_token", again.status)
	}
}

// Concurrent Provision calls for one new username make one user, without
// an error, on both stores.
func TestConcurrentProvisionMakesOneUser(t *testing.T) { pgtest.EachStore(t, testConcurrentProvision) }

func testConcurrentProvision(t *testing.T, dsn string) {
	h := newHarnessOn(t, dsn, api.Config{})
	v4 := "/v4/Instances/" + instanceA + "/Users"
	body := `{"username":"race@example.com","email":"race@example.com","full_name":"Race","roles":["agent"],"worker":{}}`
	var mu sync.Mutex
	statuses := map[int]int{}
	sids := map[any]bool{}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			res := h.do(jsonRequest("POST", v4+"/Provision", credA, body))
			mu.Lock()
			defer mu.Unlock()
			statuses[res.status]++
			if res.status < 300 {
				sids[res.json(t)["flex_user_sid"]] = true
			}
		})
	}
	wg.Wait()
	if statuses[201] != 1 || statuses[200] != 11 || len(sids) != 1 {
		t.Errorf("statuses %v, users %v; want one 201, eleven 200, one user", statuses, sids)
	}
	found := h.do(request{method: "GET", path: v4 + "?Username=race%40example.com", auth: credA}).json(t)["users"].([]any)
	if len(found) != 1 {
		t.Errorf("lookup finds %d users", len(found))
	}
}

func TestTeamsAndConfiguration(t *testing.T) {
	h := newHarness(t, api.Config{})
	in, _ := h.store.Instance(t.Context(), instanceA)
	teams := h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Teams", auth: credA})
	list, _ := teams.json(t)["teams"].([]any)
	if teams.status != 200 || len(list) != 1 || list[0].(map[string]any)["team_sid"] != in.DefaultTeamSID {
		t.Errorf("teams: %d %s", teams.status, teams.body)
	}
	wantKeys := "[team_sid account_sid instance_sid friendly_name member_count description level parent_team_sid date_created date_updated version]"
	one := h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Teams/" + in.DefaultTeamSID, auth: credA})
	if fmt.Sprint(keysInOrder(t, one.body)) != wantKeys {
		t.Errorf("team keys %v", keysInOrder(t, one.body))
	}
	checkTwilioError(t, h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Teams/" + in.DefaultTeamSID, auth: [2]string{accountB, tokenB}}), 404, 20404, "")
	cfg := h.do(request{method: "GET", path: "/v1/Configuration", auth: credA})
	c := cfg.json(t)
	if cfg.status != 200 || c["account_sid"] != accountA || c["flex_instance_sid"] != instanceA || c["taskrouter_workspace_sid"] != in.WorkspaceSID ||
		c["status"] != "ok" || c["url"] != h.srv.URL+"/v1/Configuration" || c["ui_version"] != nil || len(c) != 49 {
		t.Errorf("configuration: %d %s", cfg.status, cfg.body)
	}
}
