package flexapitest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	flex "github.com/twilio/twilio-go/rest/flex/v2"

	"github.com/flexapi/flexapi/flexapitest"
)

// Fetch the reference page's user with twilio-go, unchanged but for its
// *http.Client.
func Example() {
	srv, err := flexapitest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c := &client.Client{Credentials: client.NewCredentials(srv.AccountSID, srv.AuthToken), HTTPClient: srv.HTTPClient()}
	c.SetAccountSid(srv.AccountSID)
	tw := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	user, err := tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID)
	if err != nil {
		panic(err)
	}
	fmt.Println(*user.Username, *user.Email, *user.Roles)
	// Output: username sample@example.com [agent]
}

func twilioFor(srv *flexapitest.Server, account, token string) *twilio.RestClient {
	c := &client.Client{Credentials: client.NewCredentials(account, token), HTTPClient: srv.HTTPClient()}
	c.SetAccountSid(account)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

const fixtureSeed = `accounts:
  - sid: AC00000000000000000000000000000f01
    auth_token: fixturetoken0123
    instances:
      - sid: GO00000000000000000000000000000f01
        users:
          - flex_user_sid: FU00000000000000000000000000000f01
            username: fixture.agent
            email: fixture@example.com
            roles: [agent]
`

// A fixture made with the control plane's seed is there for twilio-go, and
// the journal shows what the client sent, with no secret in it.
func TestSeedFetchAndJournal(t *testing.T) {
	srv := flexapitest.NewServer(t)
	if _, err := srv.Seed(fixtureSeed); err != nil {
		t.Fatal(err)
	}
	tw := twilioFor(srv, "AC00000000000000000000000000000f01", "fixturetoken0123")
	u, err := tw.FlexV2.FetchFlexUser("GO00000000000000000000000000000f01", "FU00000000000000000000000000000f01")
	if err != nil || *u.Email != "fixture@example.com" {
		t.Fatalf("fetch of the seeded user: %+v %v", u, err)
	}
	res, err := tw.FlexV2.UpdateFlexUserWithMetadata("GO00000000000000000000000000000f01", "FU00000000000000000000000000000f01",
		(&flex.UpdateFlexUserParams{}).SetEmail("changed@example.com").SetLocale("fr-FR"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := srv.Requests(flexapitest.Filter{Method: "POST", Path: "/v2/Instances/*/Users/*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("journal: %+v; want the one update", entries)
	}
	e := entries[0]
	if e.RequestID != res.GetHeaders().Get("Twilio-Request-Id") || e.Status != 200 || e.AccountSID == nil || *e.AccountSID != "AC00000000000000000000000000000f01" ||
		e.Params["Email"] != "changed@example.com" || e.Params["Locale"] != "fr-FR" {
		t.Errorf("journal entry %+v; want the update's request id %s, status, account and parameters", e, res.GetHeaders().Get("Twilio-Request-Id"))
	}
	all, _ := srv.Requests(flexapitest.Filter{})
	b, _ := json.Marshal(all)
	for _, secret := range []string{"fixturetoken0123", srv.AuthToken, srv.AdminToken, "Basic "} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the journal holds %q: %s", secret, b)
		}
	}
	if len(all) != 2 {
		t.Errorf("journal holds %d entries; want the fetch and the update (control-plane calls are not journaled)", len(all))
	}
}

// A 503 fault for one request: twilio-go gets a TwilioRestError 503, then
// the same call succeeds. A 429 carries Retry-After.
func TestFaultTimesAndStatus(t *testing.T) {
	srv := flexapitest.NewServer(t)
	tw := twilioFor(srv, srv.AccountSID, srv.AuthToken)
	one := 1
	rule, err := srv.AddFault(flexapitest.Fault{Path: "/v2/Instances/*/Users/*", Status: 503, Times: &one})
	if err != nil || !strings.HasPrefix(rule.ID, "FR") || rule.Code != 20503 {
		t.Fatalf("AddFault: %+v %v", rule, err)
	}
	_, err = tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID)
	var re *client.TwilioRestError
	if !errors.As(err, &re) || re.Status != 503 || re.Code != 20503 {
		t.Fatalf("with the fault: %v; want a TwilioRestError 503/20503", err)
	}
	if _, err := tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID); err != nil {
		t.Errorf("after the one faulted request: %v", err)
	}
	entries, _ := srv.Requests(flexapitest.Filter{Status: 503})
	if len(entries) != 1 || entries[0].FaultID == nil || *entries[0].FaultID != rule.ID {
		t.Errorf("journal of the faulted request: %+v", entries)
	}

	if _, err := srv.AddFault(flexapitest.Fault{Method: "GET", Status: 429}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "https://flex-api.twilio.com/v2/Instances/"+srv.InstanceSID+"/Users/"+srv.UserSID, nil)
	req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
	res, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" {
		t.Errorf("429 fault: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Faults hit only requests that passed authentication.
	req.SetBasicAuth(srv.AccountSID, "wrong"+srv.AuthToken)
	if res, err := srv.HTTPClient().Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("a wrong secret under a fault: %v %v; want 401", res, err)
	}
}

// A delay is at least what was asked; a dropped connection is a connection
// error for the client, not an answer.
func TestFaultDelayAndDrop(t *testing.T) {
	srv := flexapitest.NewServer(t)
	tw := twilioFor(srv, srv.AccountSID, srv.AuthToken)
	one := 1
	if _, err := srv.AddFault(flexapitest.Fault{DelayMS: 300, Times: &one}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("a 300 ms delay took %v", d)
	}
	// Without times: Go's transport tries a GET again, once, on a reused
	// connection that closed without an answer.
	drop, err := srv.AddFault(flexapitest.Fault{Drop: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID)
	var re *client.TwilioRestError
	if err == nil || errors.As(err, &re) {
		t.Errorf("a dropped connection: %v; want a connection error", err)
	}
	if entries, _ := srv.Requests(flexapitest.Filter{Status: 0, Limit: 1}); len(entries) != 1 || entries[0].Status != 0 || *entries[0].FaultID != drop.ID {
		t.Errorf("the journal of a dropped request: %+v; want status 0 and the fault's id", entries)
	}
	srv.ClearFaults()
	if _, err := tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID); err != nil {
		t.Errorf("after the drop rule is gone: %v", err)
	}
}

// A probability makes some matching requests fail and not others.
func TestFaultProbability(t *testing.T) {
	srv := flexapitest.NewServer(t)
	half := 0.5
	if _, err := srv.AddFault(flexapitest.Fault{Status: 500, Probability: &half}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 200 {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/Instances/"+srv.InstanceSID+"/Users/"+srv.UserSID, nil)
		req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 500 {
			failed++
		}
	}
	if failed < 50 || failed > 150 { // 200 draws at 0.5: outside this is beyond 7 standard deviations
		t.Errorf("%d of 200 requests failed at probability 0.5", failed)
	}
}

// Reset brings back the start-up state: the demo, and no fixture, journal
// or fault.
func TestReset(t *testing.T) {
	srv := flexapitest.NewServer(t)
	srv.Seed(fixtureSeed)
	if _, err := srv.AddFault(flexapitest.Fault{Status: 500, Path: "/v1/*"}); err != nil {
		t.Fatal(err)
	}
	tw := twilioFor(srv, srv.AccountSID, srv.AuthToken)
	tw.FlexV2.UpdateFlexUser(srv.InstanceSID, srv.UserSID, (&flex.UpdateFlexUserParams{}).SetEmail("changed@example.com"))
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	u, err := tw.FlexV2.FetchFlexUser(srv.InstanceSID, srv.UserSID)
	if err != nil || *u.Email != "sample@example.com" {
		t.Errorf("the demo user after reset: %+v %v", u, err)
	}
	if _, err := twilioFor(srv, "AC00000000000000000000000000000f01", "fixturetoken0123").FlexV2.FetchFlexUser("GO00000000000000000000000000000f01", "FU00000000000000000000000000000f01"); err == nil {
		t.Error("the seeded fixture survived reset")
	}
	if entries, _ := srv.Requests(flexapitest.Filter{}); len(entries) != 2 || entries[0].Status != 200 || entries[1].Status != 401 {
		t.Errorf("journal after reset: %+v; want only the two fetches since", entries)
	}
}

// The client refuses every host that is not one of Twilio's Flex hosts, and
// takes their region and edge forms.
func TestHTTPClientSendsOnlyFlexHosts(t *testing.T) {
	srv := flexapitest.NewServer(t)
	for host, ok := range map[string]bool{"flex-api.twilio.com": true, "flex-api.sydney.au1.twilio.com": true, "flex-api.ie1.twilio.com": true,
		"api.twilio.com": false, "example.com": false, "flex-api.twilio.com.evil.example": false} {
		req, _ := http.NewRequest("GET", "https://"+host+"/v2/Instances/"+srv.InstanceSID+"/Users/"+srv.UserSID, nil)
		req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
		res, err := srv.HTTPClient().Do(req)
		if ok && (err != nil || res.StatusCode != 200) || !ok && err == nil {
			t.Errorf("%s: %v %v", host, res, err)
		}
		if err == nil {
			res.Body.Close()
		}
	}
}

// The control plane answers only to its token, in Twilio's error shape.
func TestControlPlaneNeedsItsToken(t *testing.T) {
	srv := flexapitest.NewServer(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + srv.AdminToken} {
		req, _ := http.NewRequest("POST", srv.URL+"/_flexapi/reset", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != 401 || body["code"] != 20003.0 || body["status"] != 401.0 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%q: %d %v", auth, res.StatusCode, body)
		}
	}
}

// A seed that would give two users of an instance one username is refused
// with a 409 that says so, and ensures nothing.
func TestSeedOfATakenUsername(t *testing.T) {
	srv := flexapitest.NewServer(t)
	_, err := srv.Seed(`{"accounts":[{"sid":"AC00000000000000000000000000000c01","auth_token":"conflicttoken012","instances":[{"sid":"GO00000000000000000000000000000c01",
		"users":[{"flex_user_sid":"FU00000000000000000000000000000c01","username":"ana"},{"flex_user_sid":"FU00000000000000000000000000000c02","username":"ana"}]}]}]}`)
	if err == nil || !strings.Contains(err.Error(), ": 409 ") || !strings.Contains(err.Error(), `"code":20409`) || !strings.Contains(err.Error(), "Username") {
		t.Fatalf("seed of two users of one username: %v; want a 409 over the username", err)
	}
	tw := twilioFor(srv, "AC00000000000000000000000000000c01", "conflicttoken012")
	if _, err := tw.FlexV2.FetchFlexUser("GO00000000000000000000000000000c01", "FU00000000000000000000000000000c01"); err == nil {
		t.Error("a user of the refused seed exists")
	}
}
