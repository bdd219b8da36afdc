package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

// Tenant isolation as a property: among random accounts, keys, instances and
// users, every credential meets every resource with every method; only the
// owner's succeed, and everything else is a 404 that says exactly what an
// absent resource says, and changes nothing.
func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	type tenant struct {
		account string
		creds   [][2]string
		users   []string // paths of v2 users
		lists   []string // paths of instances (the part before /Users)
		teams   []string // paths of default teams
	}
	var tenants []tenant
	for a := range 3 {
		tn := tenant{account: flexapi.NewSID("AC")}
		token := flexapi.NewSecret()
		if err := h.store.CreateAccount(ctx, &flexapi.Account{SID: tn.account}, flexapi.HashSecret(token)); err != nil {
			t.Fatal(err)
		}
		key := flexapi.APIKey{SID: flexapi.NewSID("SK"), AccountSID: tn.account}
		secret := flexapi.NewSecret()
		if err := h.store.CreateKey(ctx, &key, flexapi.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		tn.creds = [][2]string{{tn.account, token}, {key.SID, secret}}
		for range 1 + rng.IntN(2) {
			in := flexapi.Instance{SID: flexapi.NewSID("GO"), AccountSID: tn.account}
			if err := h.store.CreateInstance(ctx, &in); err != nil {
				t.Fatal(err)
			}
			tn.lists = append(tn.lists, in.SID)
			tn.teams = append(tn.teams, "/v1/Instances/"+in.SID+"/Teams/"+in.DefaultTeamSID)
			for u := range 1 + rng.IntN(3) {
				email := fmt.Sprintf("a%d-u%d@example.com", a, u)
				user := flexapi.User{AccountSID: tn.account, InstanceSID: in.SID, FlexUserSID: flexapi.NewSID("FU"), Email: &email}
				if err := h.store.CreateUser(ctx, &user); err != nil {
					t.Fatal(err)
				}
				tn.users = append(tn.users, api.UserPath(in.SID, user.FlexUserSID))
			}
		}
		tenants = append(tenants, tn)
	}

	absent := func(path string) string {
		// What the same request says of a resource that exists nowhere.
		return fmt.Sprintf(`{"code":20404,"message":"The requested resource %s was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, path)
	}
	checks := 0
	for _, caller := range tenants {
		for _, cred := range caller.creds {
			for _, owner := range tenants {
				mine := owner.account == caller.account
				ask := func(method, path string, body string, owned int) {
					req := request{method: method, path: path, auth: cred, body: body}
					if method == "POST" && strings.HasPrefix(path, "/v2/") {
						req.form = url.Values{"Locale": {"fr-FR"}}
					} else if method == "POST" {
						req.header = map[string]string{"Content-Type": "application/json"}
					}
					res := h.do(req)
					checks++
					p := strings.SplitN(path, "?", 2)[0]
					if mine && res.status != owned || !mine && (res.status != 404 || string(res.body) != absent(p)) {
						t.Errorf("%s %s as %s (owner %v): %d %s", method, path, cred[0][:2], mine, res.status, res.body)
					}
				}
				for _, path := range owner.users {
					ask("GET", path, "", 200)
					ask("POST", path, "", 200)
					v4 := strings.Replace(path, "/v2/", "/v4/", 1)
					ask("GET", v4, "", 200)
					ask("POST", v4+"/Tokens", `{"ttl": 60}`, 201)
				}
				for _, in := range owner.lists {
					ask("GET", "/v1/Instances/"+in+"/Users", "", 200)
					ask("GET", "/v4/Instances/"+in+"/Users?Username=nobody", "", 200)
					ask("GET", "/v1/Instances/"+in+"/Teams", "", 200)
					if !mine { // the owner's would change the fixture; the flow tests cover them
						ask("POST", "/v4/Instances/"+in+"/Users/Provision", `{"username":"x","email":"x@example.com","full_name":"X","roles":["agent"],"worker":{}}`, 0)
						ask("POST", "/v4/Instances/"+in+"/Users/Deprovision", `{"flex_user_sid":"`+strings.TrimPrefix(owner.users[0], "/v2/Instances/"+in+"/Users/")+`"}`, 0)
					}
				}
				for _, path := range owner.teams {
					ask("GET", path, "", 200)
				}
			}
		}
	}
	// Wrong secrets, and one tenant's SID with another's secret, are 401s.
	for _, a := range tenants {
		for _, b := range tenants {
			if a.account == b.account {
				continue
			}
			for i := range a.creds {
				res := h.do(request{method: "GET", path: a.users[0], auth: [2]string{a.creds[i][0], b.creds[i][1]}})
				checks++
				checkTwilioError(t, res, 401, 20003, "Authentication Error - invalid username")
			}
		}
	}
	// Nothing that failed changed anything: each user moved only by its
	// owner's own updates (one per credential).
	for _, tn := range tenants {
		for _, path := range tn.users {
			got := h.do(request{method: "GET", path: path, auth: tn.creds[0]}).json(t)
			if got["version"] != 1.0 || got["locale"] != "fr-FR" {
				t.Errorf("%s: version %v locale %v; want 1 and fr-FR from its owner's update alone", path, got["version"], got["locale"])
			}
		}
	}
	t.Logf("%d requests across %d tenants", checks, len(tenants))
}
