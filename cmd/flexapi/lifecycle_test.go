package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/twilio/twilio-go/client"
	flex "github.com/twilio/twilio-go/rest/flex/v2"
)

// tenant is an account with an instance, made through the admin commands.
type tenant struct {
	db, account, token, instance string
}

// newStoreFile makes an empty store, as `flexapi migrate` does, and returns
// its path: the admin commands refuse a path that holds no store.
func newStoreFile(t testing.TB) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "flexapi.db")
	mustCLI(t, nil, "migrate", "--db", db)
	return db
}

func newFixture(t *testing.T) tenant {
	t.Helper()
	return newFixtureOn(t, newStoreFile(t))
}

// newFixtureOn makes an account and an instance in db, a store that exists
// already (a migrated file, or a PostgreSQL schema).
func newFixtureOn(t *testing.T, db string) tenant {
	t.Helper()
	acct := decode(t, mustCLI(t, nil, "accounts", "create", "--db", db, "--json"))
	inst := decode(t, mustCLI(t, nil, "instances", "create", "--db", db, "--account", acct["sid"].(string), "--json"))
	return tenant{db: db, account: acct["sid"].(string), token: acct["auth_token"].(string), instance: inst["sid"].(string)}
}

type flexUserPage struct {
	Users []flex.FlexV2FlexUser `json:"users"`
	Meta  map[string]any        `json:"meta"`
}

// Users provisioned through v4, walked through the v1 list with the
// official client's own paging helper, client.GetNext.
func TestOfficialClientPagesThroughTheList(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db)
	tw := twilioClient(t, srv.url, f.account, f.token)
	rh := tw.FlexV1.RequestHandler()
	base := "https://flex-api.twilio.com"
	created := map[string]bool{}
	for i := range 23 {
		name := fmt.Sprintf("agent%02d@example.com", i)
		status, u := postJSON(t.Context(), srv.url+"/v4/Instances/"+f.instance+"/Users/Provision", f.account, f.token,
			map[string]any{"username": name, "email": name, "full_name": name, "roles": []string{"agent", "admin"}, "worker": map[string]any{}})
		if status != 201 {
			t.Fatalf("provision: %d %v", status, u)
		}
		created[u["flex_user_sid"].(string)] = true
	}
	usersURL := base + "/v1/Instances/" + f.instance + "/Users"
	get := func(pageURL string, q url.Values) (any, error) {
		res, err := rh.Get(pageURL, q, nil, "")
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var p flexUserPage
		return &p, json.NewDecoder(res.Body).Decode(&p)
	}
	page, err := get(usersURL, url.Values{"PageSize": {"5"}})
	if err != nil {
		t.Fatal(err)
	}
	seen, pages := map[string]bool{}, 0
	for page != nil && len(page.(*flexUserPage).Users) > 0 {
		pages++
		for _, u := range page.(*flexUserPage).Users {
			if seen[*u.FlexUserSid] {
				t.Errorf("user %s seen twice", *u.FlexUserSid)
			}
			seen[*u.FlexUserSid] = true
		}
		page, err = client.GetNext(base, page, func(next string) (any, error) {
			if next == "" {
				return nil, nil
			}
			return get(next, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != len(created) || pages != 5 {
		t.Errorf("walked %d users in %d pages; want %d in 5", len(seen), pages, len(created))
	}
	for sid := range created {
		if !seen[sid] {
			t.Errorf("user %s missing from the walk", sid)
		}
	}
}

// provision makes a user through v4 Provision, as an identity-provider
// sync would, and returns Provision's answer.
func provision(t *testing.T, base string, f tenant, username string) map[string]any {
	t.Helper()
	status, u := postJSON(t.Context(), base+"/v4/Instances/"+f.instance+"/Users/Provision", f.account, f.token,
		map[string]any{"username": username, "email": username, "full_name": "Test " + username, "roles": []string{"agent"}, "worker": map[string]any{}})
	if status != 201 && status != 200 {
		t.Fatalf("provision %s: %d %v", username, status, u)
	}
	return u
}

// twilio-go on a user made by Provision: the v2 fetch shows every SID that
// Provision gave it, update works, and FetchConfiguration decodes.
func TestOfficialClientOnAProvisionedUser(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db)
	p := provision(t, srv.url, f, "go.client@example.com")
	sid := p["flex_user_sid"].(string)
	worker := p["worker"].(map[string]any)
	tw := twilioClient(t, srv.url, f.account, f.token)
	u, err := tw.FlexV2.FetchFlexUser(f.instance, sid)
	if err != nil {
		t.Fatal(err)
	}
	if *u.Username != "go.client@example.com" || *u.WorkerSid != worker["worker_sid"] || *u.WorkspaceSid != worker["workspace_sid"] ||
		u.UserSid == nil || u.FlexTeamSid == nil || u.Version != 0 {
		t.Errorf("v2 fetch of a provisioned user: %+v", u)
	}
	updated, err := tw.FlexV2.UpdateFlexUser(f.instance, sid, (&flex.UpdateFlexUserParams{}).SetLocale("de-DE"))
	if err != nil || *updated.Locale != "de-DE" || updated.Version != 1 {
		t.Errorf("update: %+v %v", updated, err)
	}
	cfg, err := tw.FlexV1.FetchConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := decode(t, mustCLI(t, nil, "instances", "list", "--db", f.db, "--json"))
	if *cfg.AccountSid != f.account || *cfg.FlexInstanceSid != f.instance || cfg.TaskrouterWorkspaceSid == nil || *cfg.TaskrouterWorkspaceSid != *u.WorkspaceSid ||
		*cfg.Status != "ok" || cfg.DateCreated == nil || cfg.UiVersion != nil || in["sid"] != f.instance {
		t.Errorf("FetchConfiguration: %+v", cfg)
	}
}

var versionInMessage = regexp.MustCompile(`at version (\d+)`)

// Racing writers never lose an update. With If-Match, every 412 is real (the
// version had moved) and the final version counts exactly the 200s; without
// it, every update lands.
func TestRacingWritersLoseNothing(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db)
	sid := provision(t, srv.url, f, "racer@example.com")["flex_user_sid"].(string)
	tw := twilioClient(t, srv.url, f.account, f.token)
	const writers, each = 8, 15

	var mu sync.Mutex
	var ok, failed int
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rh := tw.FlexV2.RequestHandler()
			for i := range each {
				meta, err := tw.FlexV2.FetchFlexUserWithMetadata(f.instance, sid)
				if err != nil {
					t.Error(err)
					return
				}
				etag := meta.GetHeaders().Get("ETag")
				res, err := rh.Post("https://flex-api.twilio.com/v2/Instances/"+f.instance+"/Users/"+sid,
					url.Values{"Email": {fmt.Sprintf("w%d-%d@example.com", w, i)}}, map[string]any{"If-Match": etag}, "")
				var re *client.TwilioRestError
				switch {
				case err == nil && res.StatusCode == 200:
					res.Body.Close()
					mu.Lock()
					ok++
					mu.Unlock()
				case errorAs(err, &re) && re.Status == 412:
					m := versionInMessage.FindStringSubmatch(re.Message)
					if m == nil || `"`+m[1]+`"` == etag {
						t.Errorf("a 412 for If-Match %s while the version was %v: not a real conflict", etag, m)
					}
					mu.Lock()
					failed++
					mu.Unlock()
				default:
					t.Errorf("update: %v %v", res, err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := tw.FlexV2.FetchFlexUser(f.instance, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != ok || ok+failed != writers*each || ok == 0 {
		t.Errorf("with If-Match: version %d after %d successes and %d 412s of %d", got.Version, ok, failed, writers*each)
	}
	t.Logf("with If-Match: %d updates won, %d got 412", ok, failed)

	start := got.Version
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := (&flex.UpdateFlexUserParams{}).SetEmail(fmt.Sprintf("free-w%d-%d@example.com", w, i))
				if _, err := tw.FlexV2.UpdateFlexUser(f.instance, sid, p); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got, _ = tw.FlexV2.FetchFlexUser(f.instance, sid); got.Version != start+writers*each {
		t.Errorf("without If-Match: version %d; want %d", got.Version, start+writers*each)
	}
}

func errorAs(err error, target **client.TwilioRestError) bool {
	re, ok := err.(*client.TwilioRestError)
	if ok {
		*target = re
	}
	return ok
}

func TestAccountAndKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db, "--credential-cache=-1s") // every change at once
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance, "--json"))
	sid := user["flex_user_sid"].(string)
	works := func(username, password string) bool {
		_, err := twilioClient(t, srv.url, username, password).FlexV2.FetchFlexUser(f.instance, sid)
		var re *client.TwilioRestError
		if err != nil && (!errorAs(err, &re) || re.Status != 401) {
			t.Fatalf("fetch: %v", err)
		}
		return err == nil
	}

	second := decode(t, mustCLI(t, nil, "accounts", "rotate-token", "--db", f.db, f.account, "--json"))["secondary_auth_token"].(string)
	if !works(f.account, f.token) || !works(f.account, second) {
		t.Error("after rotate-token both tokens must work")
	}
	mustCLI(t, nil, "accounts", "rotate-token", "--db", f.db, "--promote", f.account)
	if works(f.account, f.token) || !works(f.account, second) {
		t.Error("after --promote only the new token may work")
	}
	if _, err := cli(t, nil, "accounts", "rotate-token", "--db", f.db, "--promote", f.account); err == nil || !strings.Contains(err.Error(), "no secondary token") {
		t.Errorf("a second --promote: %v; want 'no secondary token'", err)
	}

	key := decode(t, mustCLI(t, nil, "keys", "create", "--db", f.db, "--account", f.account, "--json"))
	mustCLI(t, nil, "accounts", "suspend", "--db", f.db, f.account)
	if works(f.account, second) || works(key["sid"].(string), key["secret"].(string)) {
		t.Error("a suspended account's token and key still work")
	}
	mustCLI(t, nil, "accounts", "activate", "--db", f.db, f.account)
	if !works(f.account, second) || !works(key["sid"].(string), key["secret"].(string)) {
		t.Error("an activated account's token or key does not work")
	}
	if out := mustCLI(t, nil, "keys", "list", "--db", f.db, "--json"); !strings.Contains(out, key["sid"].(string)) || strings.Contains(out, key["secret"].(string)) {
		t.Errorf("keys list: %q", out)
	}
	mustCLI(t, nil, "keys", "revoke", "--db", f.db, key["sid"].(string))
	if works(key["sid"].(string), key["secret"].(string)) {
		t.Error("a revoked key still works")
	}

	mustCLI(t, nil, "users", "delete", "--db", f.db, "--instance", f.instance, sid)
	_, err := twilioClient(t, srv.url, f.account, second).FlexV2.FetchFlexUser(f.instance, sid)
	restError(t, err, 404, 20404)

	other := decode(t, mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance, "--json"))["flex_user_sid"].(string)
	mustCLI(t, nil, "instances", "delete", "--db", f.db, f.instance)
	_, err = twilioClient(t, srv.url, f.account, second).FlexV2.FetchFlexUser(f.instance, other)
	restError(t, err, 404, 20404)
	if out := mustCLI(t, nil, "instances", "list", "--db", f.db); strings.Contains(out, f.instance) {
		t.Errorf("instances list after delete: %q", out)
	}
}

func TestReset(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance)
	}
	if out := mustCLI(t, nil, "reset", "--db", f.db); !strings.Contains(out, "3 users deleted") {
		t.Errorf("reset: %q", out)
	}
	if out := mustCLI(t, nil, "users", "list", "--db", f.db, "--instance", f.instance, "--json"); out != "" {
		t.Errorf("users left after reset: %q", out)
	}
	if out := mustCLI(t, nil, "accounts", "list", "--db", f.db); !strings.Contains(out, f.account) {
		t.Error("reset without --all removed the account")
	}
	mustCLI(t, nil, "reset", "--db", f.db, "--all")
	if out := mustCLI(t, nil, "accounts", "list", "--db", f.db, "--json"); out != "" {
		t.Errorf("accounts after reset --all: %q", out)
	}
}

// seedYAML is the seed the tests share: an account, a key, an instance and
// two users.
var seedYAML = mustRead("../../testdata/test-seed.yaml")

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSeed(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "seed.yaml")
	os.WriteFile(yamlPath, []byte(seedYAML), 0o600)
	db := filepath.Join(dir, "flexapi.db")
	const account, instance = "AC000000000000000000000000000000c1", "GO000000000000000000000000000000c1"

	for round := range 2 {
		srv := startServe(t, nil, "--db", db, "--seed", yamlPath, "--log-format", "json")
		want := fmt.Sprintf(`"users_inserted":%d,"users_updated":0,"users_unchanged":%d`, 2*(1-round), 2*round)
		if !strings.Contains(srv.stderr.String(), want) {
			t.Errorf("round %d: log lacks %s:\n%s", round, want, srv.stderr.String())
		}
		for _, cred := range [][2]string{{account, "citoken0123456789"}, {"SK000000000000000000000000000000c1", "cisecret0123456789"}} {
			u, err := twilioClient(t, srv.url, cred[0], cred[1]).FlexV2.FetchFlexUser(instance, "FU000000000000000000000000000000c2")
			if err != nil || *u.Username != "supervisor" || u.Roles == nil || len(*u.Roles) != 0 || u.Version != 0 {
				t.Errorf("round %d: %+v %v", round, u, err)
			}
		}
		if strings.Contains(srv.stderr.String(), "citoken") || strings.Contains(srv.stderr.String(), "cisecret") {
			t.Error("a seed secret reached the log")
		}
		srv.stop()
	}

	// The seed's lifecycle fields reach the user: full name, worker attributes.
	rec := decode(t, mustCLI(t, nil, "users", "get", "--db", db, "--instance", instance, "FU000000000000000000000000000000c1", "--json"))
	if rec["full_name"] != "Agent One" || fmt.Sprint(rec["worker_attributes"]) != "map[level:2 skills:[sales support]]" {
		t.Errorf("seeded user: %v", rec)
	}

	// The same seed as JSON, changed: the store follows it.
	var doc map[string]any
	json.Unmarshal([]byte(`{"accounts":[{"sid":"AC000000000000000000000000000000c1","auth_token":"newtoken0123456789",
		"instances":[{"sid":"GO000000000000000000000000000000c1","users":[{"flex_user_sid":"FU000000000000000000000000000000c1","username":"agent.one","email":"changed@example.com","locale":"en-US","roles":["agent"]}]}]}]}`), &doc)
	b, _ := json.Marshal(doc)
	jsonPath := filepath.Join(dir, "seed.json")
	os.WriteFile(jsonPath, b, 0o600)
	srv := startServe(t, nil, "--db", db, "--seed", jsonPath)
	u, err := twilioClient(t, srv.url, account, "newtoken0123456789").FlexV2.FetchFlexUser(instance, "FU000000000000000000000000000000c1")
	if err != nil || *u.Email != "changed@example.com" || u.Version != 1 {
		t.Errorf("changed seed: %+v %v; want the new e-mail at version 1", u, err)
	}

	// With :memory:, every start is the seed's state exactly.
	mem := startServe(t, nil, "--db", ":memory:", "--seed", yamlPath)
	res, _ := http.Get(mem.url + "/healthz")
	if res == nil || res.StatusCode != 200 {
		t.Fatal("memory server down")
	}
	u, err = twilioClient(t, mem.url, account, "citoken0123456789").FlexV2.FetchFlexUser(instance, "FU000000000000000000000000000000c1")
	if err != nil || *u.Email != "one@example.com" {
		t.Errorf(":memory: with the seed: %+v %v", u, err)
	}

	for name, bad := range map[string]string{
		"unknown field": "accounts:\n  - sid: AC000000000000000000000000000000c1\n    auth_token: abcdefgh12\n    colour: red\n",
		"bad email":     strings.Replace(seedYAML, "one@example.com", "not-an-email", 1),
		"missing sid":   strings.Replace(seedYAML, "flex_user_sid: FU000000000000000000000000000000c2\n            ", "", 1),
	} {
		p := filepath.Join(dir, "bad.yaml")
		os.WriteFile(p, []byte(bad), 0o600)
		var out, errOut syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		go func() { // a serve that starts despite the bad seed is stopped, and fails the test
			for !strings.Contains(out.String(), "listening") && ctx.Err() == nil {
				runtime.Gosched()
			}
			cancel()
		}()
		err := run(ctx, []string{"flexapi", "serve", "--db", ":memory:", "--seed", p, "--addr", "127.0.0.1:0"},
			getenvFrom(nil), strings.NewReader(""), &out, &errOut)
		cancel()
		if err == nil || strings.Contains(out.String(), "listening") {
			t.Errorf("%s: serve started with a bad seed", name)
		}
	}
}

func TestStrictFlag(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, map[string]string{"FLEXAPI_STRICT": "true"}, "--db", f.db)
	req, _ := http.NewRequest("GET", srv.url+"/v2/Instances/"+f.instance+"/Users", nil)
	req.SetBasicAuth(f.account, f.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("list under FLEXAPI_STRICT=true: %d; want 404 as Twilio answers", res.StatusCode)
	}
}

// The README's CI recipe works as written.
func TestShippedSeed(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:", "--seed", "../../testdata/flexapi-seed.yaml")
	u, err := twilioClient(t, srv.url, "AC00000000000000000000000000000001", "ci0123456789token").FlexV2.FetchFlexUser(
		"GO00000000000000000000000000000001", "FU00000000000000000000000000000002")
	if err != nil || *u.Username != "supervisor.one" || len(*u.Roles) != 2 {
		t.Errorf("%+v %v", u, err)
	}
}
