package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
)

// adminCall sends a control-plane request with token and returns the status
// and body.
func adminCall(t *testing.T, method, u, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Without an admin token the control plane is absent; --demo makes one and
// prints it; reset brings back what --seed and --demo ensured.
func TestControlPlaneOfServe(t *testing.T) {
	off := startServe(t, nil, "--db", ":memory:")
	if status, body := adminCall(t, "POST", off.url+"/_flexapi/reset", "anything", ""); status != 404 || !strings.Contains(body, `"code":20404`) {
		t.Errorf("control plane without --admin-token: %d %s; want Twilio's 404", status, body)
	}

	dir := t.TempDir()
	seedPath := filepath.Join(dir, "seed.yaml")
	os.WriteFile(seedPath, []byte(seedYAML), 0o600)
	srv := startServe(t, nil, "--db", ":memory:", "--demo", "--seed", seedPath)
	m := regexp.MustCompile(`export FLEXAPI_ADMIN_TOKEN=([0-9a-f]{32})`).FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("--demo printed no admin token:\n%s", srv.stdout.String())
	}
	admin := m[1]
	if status, _ := adminCall(t, "POST", srv.url+"/_flexapi/reset", "", ""); status != 401 {
		t.Errorf("reset without the token: %d; want 401", status)
	}
	token := regexp.MustCompile(`export TOKEN=([0-9a-f]{32})`).FindStringSubmatch(srv.stdout.String())[1]
	demoUser := srv.url + "/v2/Instances/" + flexapi.DemoInstanceSID + "/Users/" + flexapi.DemoFlexUserSID
	seeded := srv.url + "/v2/Instances/GO000000000000000000000000000000c1/Users/FU000000000000000000000000000000c1"
	post(t.Context(), demoUser, flexapi.DemoAccountSID, token, map[string][]string{"Email": {"changed@example.com"}})
	post(t.Context(), seeded, "AC000000000000000000000000000000c1", "citoken0123456789", map[string][]string{"Email": {"changed@example.com"}})
	status, body := adminCall(t, "POST", srv.url+"/_flexapi/seed", admin,
		`{"accounts":[{"sid":"AC000000000000000000000000000000d1","instances":[{"sid":"GO000000000000000000000000000000d1"}]}]}`)
	var answer struct {
		Accounts []struct {
			SID       string  `json:"sid"`
			AuthToken *string `json:"auth_token"`
		} `json:"accounts"`
	}
	json.Unmarshal([]byte(body), &answer)
	if status != 200 || len(answer.Accounts) != 1 || answer.Accounts[0].AuthToken == nil {
		t.Fatalf("seed: %d %s; want the account with its generated token", status, body)
	}
	if status, _ := adminCall(t, "POST", srv.url+"/_flexapi/reset", admin, ""); status != 204 {
		t.Fatalf("reset: %d", status)
	}
	if got := fetch(t, demoUser, flexapi.DemoAccountSID, token); got["email"] != "sample@example.com" {
		t.Errorf("the demo user after reset: %v; want the example's e-mail, with the printed token still working", got["email"])
	}
	if got := fetch(t, seeded, "AC000000000000000000000000000000c1", "citoken0123456789"); got["email"] != "one@example.com" {
		t.Errorf("the --seed user after reset: %v; want the seed's e-mail", got["email"])
	}
	req, _ := http.NewRequest("GET", srv.url+"/v1/Instances/GO000000000000000000000000000000d1/Users", nil)
	req.SetBasicAuth("AC000000000000000000000000000000d1", *answer.Accounts[0].AuthToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("the account seeded after start-up, after reset: %v %v; want it gone (401)", res, err)
	}
}

// --admin-addr puts the control plane on a listener of its own.
func TestAdminAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := startServe(t, nil, "--db", ":memory:", "--admin-token", "admintoken1234", "--admin-addr", addr)
	if status, _ := adminCall(t, "GET", srv.url+"/_flexapi/faults", "admintoken1234", ""); status != 404 {
		t.Errorf("the API's port with --admin-addr: %d; want 404", status)
	}
	if status, body := adminCall(t, "GET", "http://"+addr+"/_flexapi/faults", "admintoken1234", ""); status != 200 || body != `{"faults":[]}` {
		t.Errorf("the admin address: %d %s", status, body)
	}
}

// flexapi healthcheck succeeds when /readyz answers 200, and fails otherwise.
func TestHealthcheck(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:")
	if out, err := cli(t, nil, "healthcheck", srv.url); err != nil || !strings.Contains(out, "ready") {
		t.Errorf("healthcheck of a running server: %q %v", out, err)
	}
	if _, err := cli(t, nil, "healthcheck", srv.url+"/nowhere"); err == nil {
		t.Error("healthcheck of a path that answers 404 succeeded")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := cli(t, nil, "healthcheck", closed); err == nil {
		t.Error("healthcheck of a closed port succeeded")
	}
}

// TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and FLEXAPI_INSTANCE_SID make that
// account and that instance, so an application configured for Twilio works
// unchanged.
func TestEnvironmentInstance(t *testing.T) {
	vars := map[string]string{"TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000e01", "TWILIO_AUTH_TOKEN": "envtoken12345678",
		"FLEXAPI_INSTANCE_SID": "GO00000000000000000000000000000e01"}
	srv := startServe(t, vars, "--db", ":memory:")
	list := fetch(t, srv.url+"/v1/Instances/GO00000000000000000000000000000e01/Users", vars["TWILIO_ACCOUNT_SID"], vars["TWILIO_AUTH_TOKEN"])
	if users, _ := list["users"].([]any); users == nil {
		t.Errorf("the environment's instance: %v", list)
	}
	cfg := fetch(t, srv.url+"/v1/Configuration", vars["TWILIO_ACCOUNT_SID"], vars["TWILIO_AUTH_TOKEN"])
	if cfg["flex_instance_sid"] != vars["FLEXAPI_INSTANCE_SID"] {
		t.Errorf("configuration: %v", cfg["flex_instance_sid"])
	}
}

// The request lines, written asynchronously, are all there once serve has
// stopped gracefully, each with its request id.
func TestRequestLinesSurviveShutdown(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:", "--log-format", "json")
	var ids []string
	for range 5 {
		res, err := http.Get(srv.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		ids = append(ids, res.Header.Get("Twilio-Request-Id"))
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !strings.Contains(srv.stderr.String(), `"msg":"request","method":"GET","path":"/healthz","status":200,`) ||
			!strings.Contains(srv.stderr.String(), `"request_id":"`+id+`"`) {
			t.Errorf("no line for request %s in:\n%s", id, srv.stderr.String())
		}
	}
}
