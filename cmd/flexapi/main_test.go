package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	flex "github.com/twilio/twilio-go/rest/flex/v2"

	"github.com/flexapi/flexapi"
)

// TestMain lets a test run the real command in a child process (the test
// binary itself), which a test can then kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("FLEXAPI_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func getenvFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// cli runs one command to completion and returns its standard output.
func cli(t testing.TB, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), append([]string{"flexapi"}, args...), getenvFrom(vars), strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

// cliIn is cli with stdin as standard input.
func cliIn(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), append([]string{"flexapi"}, args...), getenvFrom(nil), strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func mustCLI(t testing.TB, vars map[string]string, args ...string) string {
	t.Helper()
	out, err := cli(t, vars, args...)
	if err != nil {
		t.Fatalf("flexapi %s: %v", strings.Join(args, " "), err)
	}
	return out
}

var listening = regexp.MustCompile(`flexapi listening on (https?://\S+)`)

// server is `flexapi serve` running in this process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() error
}

func startServe(t *testing.T, vars map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"flexapi", "serve", "--addr", "127.0.0.1:0"}, args...),
			getenvFrom(vars), strings.NewReader(""), s.stdout, s.stderr)
	}()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { s.stop() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := listening.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			return s
		}
		select {
		case err := <-done:
			done <- err // for stop, which the cleanup calls
			t.Fatalf("serve ended before listening: %v\n%s", err, s.stderr.String())
		default:
		}
	}
	t.Fatal("serve did not start listening")
	return nil
}

// rewriteHost sends the official client's requests, meant for Twilio, to
// the test server instead: the only change a user makes is the base URL.
type rewriteHost struct{ target *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.target.Scheme, r.target.Host, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

func twilioClient(t *testing.T, base, username, password string) *twilio.RestClient {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(username, password),
		HTTPClient:  &http.Client{Transport: rewriteHost{target}},
	}
	c.SetAccountSid(username)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

func restError(t *testing.T, err error, status, code int) {
	t.Helper()
	var re *client.TwilioRestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T); want *client.TwilioRestError", err, err)
	}
	if re.Status != status || re.Code != code {
		t.Errorf("TwilioRestError status %d code %d; want %d %d (%s)", re.Status, re.Code, status, code, re.Message)
	}
}

const demoToken = "0123456789abcdef0123456789abcdef"

func TestOfficialClientAgainstDemo(t *testing.T) {
	db := newStoreFile(t)
	vars := map[string]string{"TWILIO_AUTH_TOKEN": demoToken}
	srv := startServe(t, vars, "--db", db, "--demo")
	if !strings.Contains(srv.stdout.String(), "curl -u "+flexapi.DemoAccountSID+":$TOKEN") {
		t.Errorf("--demo did not print how to call it:\n%s", srv.stdout.String())
	}
	tw := twilioClient(t, srv.url, flexapi.DemoAccountSID, demoToken)

	u, err := tw.FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
	if err != nil {
		t.Fatal(err)
	}
	if *u.Email != "sample@example.com" || u.Version != 1 || (*u.Roles)[0] != "agent" || u.CreatedDate.Year() != 2024 {
		t.Errorf("fetched %+v; want the reference example", u)
	}
	if *u.Url != srv.url+"/v2/Instances/"+flexapi.DemoInstanceSID+"/Users/"+flexapi.DemoFlexUserSID {
		t.Errorf("url %q", *u.Url)
	}

	params := (&flex.UpdateFlexUserParams{}).SetEmail("new@example.com").SetLocale("es-MX")
	u, err = tw.FlexV2.UpdateFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID, params)
	if err != nil {
		t.Fatal(err)
	}
	if *u.Email != "new@example.com" || *u.Locale != "es-MX" || u.Version != 2 || !u.UpdatedDate.After(*u.CreatedDate) {
		t.Errorf("updated %+v; want the new values at version 2", u)
	}

	_, err = tw.FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, "FU"+strings.Repeat("b", 32))
	restError(t, err, 404, 20404)
	_, err = tw.FlexV2.UpdateFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID, (&flex.UpdateFlexUserParams{}).SetEmail("nope"))
	restError(t, err, 400, 20001)
	_, err = tw.FlexV2.UpdateFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID, (&flex.UpdateFlexUserParams{}).SetUserSid("US1"))
	restError(t, err, 400, 20001)
	_, err = twilioClient(t, srv.url, flexapi.DemoAccountSID, "wrongtoken0000").FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
	restError(t, err, 401, 20003)

	// A restart keeps the data.
	if err := srv.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	srv = startServe(t, vars, "--db", db)
	u, err = twilioClient(t, srv.url, flexapi.DemoAccountSID, demoToken).FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
	if err != nil || *u.Email != "new@example.com" || u.Version != 2 {
		t.Errorf("after restart: %+v, %v; want the update kept", u, err)
	}
}

func TestDemoWithPublicURLEqualsTheReferenceExample(t *testing.T) {
	vars := map[string]string{"TWILIO_AUTH_TOKEN": demoToken, "FLEXAPI_DB": ":memory:", "FLEXAPI_PUBLIC_URL": "https://flex-api.twilio.com"}
	srv := startServe(t, vars, "--demo")
	req, _ := http.NewRequest("GET", srv.url+"/v2/Instances/"+flexapi.DemoInstanceSID+"/Users/"+flexapi.DemoFlexUserSID, nil)
	req.SetBasicAuth(flexapi.DemoAccountSID, demoToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got, want any
	json.NewDecoder(res.Body).Decode(&got)
	example, err := os.ReadFile("../../testdata/reference-example.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(example, &want)
	if b1, b2 := canonical(got), canonical(want); b1 != b2 {
		t.Errorf("demo body differs from the reference example:\n got %s\nwant %s", b1, b2)
	}
}

func canonical(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

func TestDemoWithoutTokenPrintsAWorkingOne(t *testing.T) {
	db := newStoreFile(t)
	for round := range 2 { // the second start finds the demo present
		srv := startServe(t, nil, "--db", db, "--demo")
		m := regexp.MustCompile(`export TOKEN=([0-9a-f]{32})`).FindStringSubmatch(srv.stdout.String())
		if m == nil {
			t.Fatalf("round %d: no token printed:\n%s", round, srv.stdout.String())
		}
		tw := twilioClient(t, srv.url, flexapi.DemoAccountSID, m[1])
		u, err := tw.FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
		if err != nil {
			t.Fatalf("round %d: the printed token does not work: %v", round, err)
		}
		// --demo adds the example if absent: a change to it stays.
		if round == 0 {
			tw.FlexV2.UpdateFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID, (&flex.UpdateFlexUserParams{}).SetLocale("ja-JP"))
		} else if *u.Locale != "ja-JP" {
			t.Errorf("round %d: --demo put the example back over a change: locale %s", round, *u.Locale)
		}
		if strings.Contains(srv.stderr.String(), m[1]) {
			t.Errorf("round %d: the token reached the log", round)
		}
		srv.stop()
	}
}

func TestEnvironmentAccount(t *testing.T) {
	sid := "AC" + strings.Repeat("c", 32)
	db := newStoreFile(t)
	vars := map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "firsttoken123456"}
	srv := startServe(t, vars, "--db", db)
	srv.stop()
	vars["TWILIO_AUTH_TOKEN"] = "secondtoken123456"
	srv = startServe(t, vars, "--db", db)
	inst := strings.TrimSpace(mustCLI(t, nil, "instances", "create", "--db", db, "--account", sid, "--json"))
	var in map[string]string
	json.Unmarshal([]byte(inst), &in)
	_, err := twilioClient(t, srv.url, sid, "secondtoken123456").FlexV2.FetchFlexUser(in["sid"], "FU"+strings.Repeat("d", 32))
	restError(t, err, 404, 20404) // authenticated: the user is simply absent
	_, err = twilioClient(t, srv.url, sid, "firsttoken123456").FlexV2.FetchFlexUser(in["sid"], "FU"+strings.Repeat("d", 32))
	restError(t, err, 401, 20003)
}
