package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

var (
	requestIDPattern = regexp.MustCompile(`^RQ[0-9a-f]{32}$`)
	durationPattern  = regexp.MustCompile(`^\d+\.\d{3}$`)
)

// checkTwilioError asserts Twilio's error shape, keys in Twilio's order.
func checkTwilioError(t *testing.T, res response, status int, code float64, message string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status %d; want %d (%s)", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	body := res.json(t)
	if body["code"] != code || body["status"] != float64(status) {
		t.Errorf("code %v status %v; want %v %d", body["code"], body["status"], code, status)
	}
	if message != "" && body["message"] != message {
		t.Errorf("message %q; want %q", body["message"], message)
	}
	if body["more_info"] != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", int(code)) {
		t.Errorf("more_info %v", body["more_info"])
	}
	keys := keysInOrder(t, res.body)
	want := []string{"code", "message", "more_info", "status"}
	if status == 401 {
		want = []string{"code", "detail", "message", "more_info", "status"}
	}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("keys %v; want %v", keys, want)
	}
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	key := flexapi.APIKey{SID: flexapi.NewSID("SK"), AccountSID: accountA}
	if err := h.store.CreateKey(ctx, &key, flexapi.HashSecret("keysecret0123456789")); err != nil {
		t.Fatal(err)
	}
	if err := h.store.SetSecondaryToken(ctx, accountA, flexapi.HashSecret("secondary0123456789")); err != nil {
		t.Fatal(err)
	}
	const noCreds, invalid = "Authentication Error - No credentials provided", "Authentication Error - invalid username"
	tests := []struct {
		name    string
		auth    [2]string
		header  string // a raw Authorization header instead of auth
		path    string
		status  int
		message string
	}{
		{"primary token", credA, "", pathA, 200, ""},
		{"secondary token", [2]string{accountA, "secondary0123456789"}, "", pathA, 200, ""},
		{"API key", [2]string{key.SID, "keysecret0123456789"}, "", pathA, 200, ""},
		{"account SID in capitals", [2]string{strings.ToUpper(accountA[:2]) + strings.ToUpper(accountA[2:]), tokenA}, "", pathA, 200, ""},
		{"no credentials", [2]string{}, "", pathA, 401, noCreds},
		{"bearer token", [2]string{}, "Bearer " + tokenA, pathA, 401, noCreds},
		{"wrong token", [2]string{accountA, tokenB}, "", pathA, 401, invalid},
		{"another account's token", [2]string{accountB, tokenA}, "", pathA, 401, invalid},
		{"unknown account", [2]string{"AC" + strings.Repeat("9", 32), tokenA}, "", pathA, 401, invalid},
		{"not a SID", [2]string{"admin", tokenA}, "", pathA, 401, invalid},
		{"key with a wrong secret", [2]string{key.SID, tokenA}, "", pathA, 401, invalid},
		{"checked before the path", [2]string{}, "", "/v2/Instances/nonsense/Users/nonsense", 401, noCreds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request{method: "GET", path: tt.path, auth: tt.auth}
			if tt.header != "" {
				req.header = map[string]string{"Authorization": tt.header}
			}
			res := h.do(req)
			if tt.status == 200 {
				if res.status != 200 || res.json(t)["account_sid"] != accountA {
					t.Errorf("got %d %s; want 200 for account A", res.status, res.body)
				}
				return
			}
			checkTwilioError(t, res, 401, 20003, tt.message)
			if got := res.header.Get("WWW-Authenticate"); got != `Basic realm="Twilio API"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if got := res.json(t)["detail"]; got != "Your AccountSid or AuthToken was incorrect." {
				t.Errorf("detail %q", got)
			}
		})
	}

	t.Run("suspended account", func(t *testing.T) {
		if err := h.store.SetAccountStatus(ctx, accountA, flexapi.AccountSuspended); err != nil {
			t.Fatal(err)
		}
		defer h.store.SetAccountStatus(ctx, accountA, flexapi.AccountActive)
		for _, auth := range [][2]string{credA, {key.SID, "keysecret0123456789"}} {
			checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: auth}), 401, 20003, invalid)
		}
	})
}

// Another account's user must be indistinguishable from an absent one.
func TestAnotherAccountSeesNotFound(t *testing.T) {
	h := newHarness(t, api.Config{})
	ctx := context.Background()
	credB := [2]string{accountB, tokenB}
	instance, user := flexapi.NewSID("GO"), flexapi.NewSID("FU")
	path := api.UserPath(instance, user)

	absent := h.do(request{method: "GET", path: path, auth: credB})
	absentPost := h.do(request{method: "POST", path: path, auth: credB, form: url.Values{"Email": {"b@example.com"}}})
	if err := h.store.CreateInstance(ctx, &flexapi.Instance{SID: instance, AccountSID: accountA}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateUser(ctx, &flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: user}); err != nil {
		t.Fatal(err)
	}
	foreign := h.do(request{method: "GET", path: path, auth: credB})
	foreignPost := h.do(request{method: "POST", path: path, auth: credB, form: url.Values{"Email": {"b@example.com"}}})

	for _, pair := range [][2]response{{absent, foreign}, {absentPost, foreignPost}} {
		checkTwilioError(t, pair[1], 404, 20404, "The requested resource "+path+" was not found")
		if !bytes.Equal(pair[0].body, pair[1].body) {
			t.Errorf("bodies differ:\nabsent:  %s\nforeign: %s", pair[0].body, pair[1].body)
		}
		for _, hdr := range []http.Header{pair[0].header, pair[1].header} {
			for _, k := range []string{"Twilio-Request-Id", "Twilio-Request-Duration", "Date"} {
				hdr.Del(k)
			}
		}
		if fmt.Sprint(pair[0].header) != fmt.Sprint(pair[1].header) {
			t.Errorf("headers differ:\nabsent:  %v\nforeign: %v", pair[0].header, pair[1].header)
		}
	}
	if got := h.do(request{method: "GET", path: path, auth: credA}).json(t); got["email"] != nil || got["version"] != 0.0 {
		t.Errorf("account B's update reached account A's user: %v", got)
	}
}

// faultStore injects faults that a healthy SQLite file cannot produce on demand.
type faultStore struct {
	api.Store
	err   error
	panic bool
}

func (f faultStore) User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error) {
	if f.panic {
		panic("injected fault")
	}
	return flexapi.User{}, f.err
}

func TestErrorTable(t *testing.T) {
	h := newHarness(t, api.Config{})
	malformed := []string{
		"/v2/Instances/GO123/Users/" + userA,
		"/v2/Instances/" + instanceA + "/Users/FU123",
		"/v2/Instances/" + instanceA + "/Users/" + "US" + userA[2:],
		"/v2/Instances/" + instanceA + "/Users/" + userA[:33] + "g",
	}
	for _, p := range malformed {
		checkTwilioError(t, h.do(request{method: "GET", path: p, auth: credA}), 404, 20404, "The requested resource "+p+" was not found")
	}
	for _, p := range []string{"/", "/v2", "/v2/Instances", "/v2/Instances/" + instanceA, "/v1/Instances/" + instanceA + "/Users/" + userA, "/favicon.ico"} {
		checkTwilioError(t, h.do(request{method: "GET", path: p, auth: credA}), 404, 20404, "The requested resource "+p+" was not found")
	}
	for _, m := range []string{"PUT", "PATCH"} {
		res := h.do(request{method: m, path: pathA, auth: credA})
		checkTwilioError(t, res, 405, 20004, "The requested resource "+pathA+" does not support the attempted HTTP method "+m)
		if got := res.header.Get("Allow"); got != "GET, POST, OPTIONS" {
			t.Errorf("%s: Allow %q", m, got)
		}
	}
	checkTwilioError(t, h.do(request{method: "POST", path: "/healthz"}), 405, 20004, "")

	h.Store = faultStore{Store: h.store, err: &flexapi.Error{Code: flexapi.EUNAVAILABLE, Message: "store unavailable", Err: errors.New("connection refused")}}
	h.start(api.Config{})
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: credA}), 503, 20503, "Service unavailable")

	h.Store = faultStore{Store: h.store, err: errors.New("disk on fire: /secret/path")}
	h.start(api.Config{})
	res := h.do(request{method: "GET", path: pathA, auth: credA})
	checkTwilioError(t, res, 500, 20500, "Internal server error")
	if strings.Contains(string(res.body), "disk on fire") || !strings.Contains(h.logs.String(), "disk on fire") {
		t.Error("the fault's details must reach the log and only the log")
	}

	h.Store = faultStore{Store: h.store, panic: true}
	h.start(api.Config{})
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: credA}), 500, 20500, "Internal server error")
}

// The standard ServeMux would answer these paths with a 301; official clients
// take a 3xx for success, so each must be a Twilio 404. They are sent over a
// raw connection so that no client cleans them first.
func TestNoRedirects(t *testing.T) {
	h := newHarness(t, api.Config{})
	paths := []string{
		"//v2/Instances/" + instanceA + "/Users/" + userA,
		"/v2//Instances/" + instanceA + "/Users/" + userA,
		pathA + "/",
		pathA + "//",
		"/v2/./Instances/" + instanceA + "/Users/" + userA,
		"/v2/Instances/" + instanceA + "/Users/./" + userA,
		"/v2/Instances/" + instanceA + "/Users/../Users/" + userA,
		"/v2/Instances/" + instanceA + "/Users/" + userA + "/..",
		"/v2/Instances/" + instanceA + "/Users%2F" + userA,
		"/v2/Instances/" + instanceA + "%2FUsers%2F" + userA,
		"/v2/Instances/" + instanceA + "/Users/" + userA + "%2F",
		"/healthz/",
		"/./healthz",
	}
	for _, p := range paths {
		for _, method := range []string{"GET", "POST"} {
			status, header, body := rawRequest(t, h.srv.URL, method, p, credA)
			if status != 404 || header.Get("Location") != "" {
				t.Errorf("%s %s: %d (Location %q); want 404 without a redirect", method, p, status, header.Get("Location"))
			}
			var e map[string]any
			if json.Unmarshal(body, &e) != nil || e["code"] != 20404.0 || e["message"] != "The requested resource "+p+" was not found" {
				t.Errorf("%s %s: body %s; want Twilio's 404 naming the path", method, p, body)
			}
			if !requestIDPattern.MatchString(header.Get("Twilio-Request-Id")) {
				t.Errorf("%s %s: no request id", method, p)
			}
		}
	}
}

func rawRequest(t *testing.T, base, method, path string, auth [2]string) (int, http.Header, []byte) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(method, base, nil)
	req.SetBasicAuth(auth[0], auth[1])
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		method, path, u.Host, req.Header.Get("Authorization"))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res.StatusCode, res.Header, buf.Bytes()
}

func TestHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t, api.Config{})
	reqs := []request{
		{method: "GET", path: pathA, auth: credA},
		{method: "POST", path: pathA, auth: credA, form: url.Values{"Email": {"bad"}}},
		{method: "GET", path: pathA},
		{method: "GET", path: "/nowhere", auth: credA},
		{method: "PUT", path: pathA, auth: credA},
		{method: "OPTIONS", path: pathA},
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/openapi.json"},
	}
	seen := map[string]bool{}
	for _, req := range reqs {
		before := time.Now().Truncate(time.Second)
		res := h.do(req)
		after := time.Now()
		if dates := res.header.Values("Date"); len(dates) != 1 {
			t.Errorf("%s %s: Date %q; want one", req.method, req.path, dates)
		} else if d, err := http.ParseTime(dates[0]); err != nil || !strings.HasSuffix(dates[0], " GMT") || d.Before(before) || d.After(after) {
			t.Errorf("%s %s: Date %q, not a GMT time between %v and %v (%v)", req.method, req.path, dates[0], before, after, err)
		}
		id := res.header.Get("Twilio-Request-Id")
		if !requestIDPattern.MatchString(id) || seen[id] {
			t.Errorf("%s %s: Twilio-Request-Id %q; want a new RQ id", req.method, req.path, id)
		}
		seen[id] = true
		if d := res.header.Get("Twilio-Request-Duration"); !durationPattern.MatchString(d) {
			t.Errorf("%s %s: Twilio-Request-Duration %q", req.method, req.path, d)
		}
		for k, want := range map[string]string{
			"Access-Control-Allow-Origin":      "*",
			"Access-Control-Allow-Methods":     "GET, POST, OPTIONS",
			"Access-Control-Allow-Credentials": "false",
		} {
			if got := res.header.Get(k); got != want {
				t.Errorf("%s %s: %s %q; want %q", req.method, req.path, k, got, want)
			}
		}
		for k, want := range map[string][]string{
			"Access-Control-Allow-Headers":  {"Authorization", "Content-Type", "If-Match", "If-None-Match"},
			"Access-Control-Expose-Headers": {"Twilio-Request-Id", "ETag"},
		} {
			for _, w := range want {
				if !strings.Contains(res.header.Get(k), w) {
					t.Errorf("%s %s: %s %q lacks %s", req.method, req.path, k, res.header.Get(k), w)
				}
			}
		}
	}
}

func TestPreflight(t *testing.T) {
	h := newHarness(t, api.Config{CORSOrigins: []string{"https://app.example.com"}})
	preflight := func(origin string) response {
		return h.do(request{method: "OPTIONS", path: pathA, header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}})
	}
	res := preflight("https://app.example.com")
	if res.status != 204 || res.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		res.header.Get("Access-Control-Allow-Credentials") != "true" || res.header.Get("Access-Control-Max-Age") == "" {
		t.Errorf("allowed origin: %d %v", res.status, res.header)
	}
	if res = preflight("https://evil.example.net"); res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an origin outside the list got Access-Control-Allow-Origin %q", res.header.Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(res.header.Get("Vary"), "Origin") {
		t.Errorf("Vary %q; want Origin, since the answer depends on it", res.header.Get("Vary"))
	}
	get := h.do(request{method: "GET", path: pathA, auth: credA, header: map[string]string{"Origin": "https://app.example.com"}})
	if get.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("GET from an allowed origin: %v", get.header)
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	h := newHarness(t, api.Config{})
	h.logs.Reset()
	res := h.do(request{method: "POST", path: pathA, auth: credA, form: url.Values{"Locale": {"en-AU"}}})
	h.do(request{method: "GET", path: pathA, auth: [2]string{accountA, "wrong" + tokenB}})
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines; want 2:\n%s", len(lines), h.logs.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"method": "POST", "path": pathA, "status": 200.0, "account_sid": accountA,
		"request_id": res.header.Get("Twilio-Request-Id")}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("log %s = %v; want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Errorf("log line lacks duration_ms: %s", lines[0])
	}
	if strings.Contains(h.logs.String(), tokenA) || strings.Contains(h.logs.String(), tokenB) {
		t.Error("a token reached the log")
	}
}

func TestOperations(t *testing.T) {
	h := newHarness(t, api.Config{})
	if res := h.do(request{method: "GET", path: "/healthz"}); res.status != 200 {
		t.Errorf("/healthz %d", res.status)
	}
	if res := h.do(request{method: "GET", path: "/readyz"}); res.status != 200 {
		t.Errorf("/readyz %d", res.status)
	}
	res := h.do(request{method: "GET", path: "/openapi.json"})
	if res.status != 200 || !bytes.Equal(res.body, api.OpenAPIDocument()) {
		t.Errorf("/openapi.json %d; want the embedded document", res.status)
	}
	h.store.Close()
	checkTwilioError(t, h.do(request{method: "GET", path: "/readyz"}), 503, 20503, "Service unavailable")
	if res := h.do(request{method: "GET", path: "/healthz"}); res.status != 200 {
		t.Errorf("/healthz %d with the store gone; want 200 (the process lives)", res.status)
	}
}

// A verified credential is trusted for the TTL, and no longer: a suspension
// takes effect within it. Failures are never cached.
func TestCredentialCache(t *testing.T) {
	const ttl = 300 * time.Millisecond
	h := newHarness(t, api.Config{CredentialTTL: ttl})
	ctx := context.Background()
	if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
		t.Fatalf("first fetch: %d", res.status)
	}
	if err := h.store.SetAccountStatus(ctx, accountA, flexapi.AccountSuspended); err != nil {
		t.Fatal(err)
	}
	suspended := time.Now()
	res := h.do(request{method: "GET", path: pathA, auth: credA})
	if time.Since(suspended) < ttl && res.status != 200 {
		t.Errorf("within the TTL: %d; want the cached 200", res.status)
	}
	time.Sleep(ttl - time.Since(suspended) + 50*time.Millisecond)
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: credA}), 401, 20003, "")

	h.store.SetAccountStatus(ctx, accountA, flexapi.AccountActive)
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: [2]string{accountA, tokenB}}), 401, 20003, "")
	if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
		t.Errorf("after activation: %d", res.status)
	}
}

// waitingStore never answers a read: it waits for its context, as a store
// that does not answer does.
type waitingStore struct{ api.Store }

func (w waitingStore) User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error) {
	<-ctx.Done()
	return flexapi.User{}, &flexapi.Error{Code: flexapi.EUNAVAILABLE, Message: "store unavailable", Err: ctx.Err()}
}

// A store that does not answer gives a 503 at the store timeout, not a hung
// client (without the timeout, this test hangs).
func TestStoreTimeoutGives503(t *testing.T) {
	h := newHarness(t, api.Config{})
	h.Store = waitingStore{Store: h.store}
	h.start(api.Config{StoreTimeout: 100 * time.Millisecond})
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: credA}), 503, 20503, "Service unavailable")
}

// TestResponsesStateTheirLength: a body that fits net/http's buffer gets its
// Content-Length from net/http, a larger one from writeBody; neither goes out
// chunked, small or large, answer or error.
func TestResponsesStateTheirLength(t *testing.T) {
	h := newHarness(t, api.Config{})
	createUsers(t, h, 20)
	for _, req := range []request{
		{method: "GET", path: pathA, auth: credA},                        // a user, some 600 bytes
		{method: "GET", path: usersA + "?PageSize=20", auth: credA},      // a page of users, past 2 KiB
		{method: "GET", path: "/v2/Instances/" + instanceA + "/Users/x"}, // an error
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/openapi.json"},
	} {
		hr, _ := http.NewRequest(req.method, h.srv.URL+req.path, nil)
		if req.auth[0] != "" {
			hr.SetBasicAuth(req.auth[0], req.auth[1])
		}
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.ContentLength != int64(len(body)) || len(res.TransferEncoding) > 0 || len(body) == 0 {
			t.Errorf("%s %s: Content-Length %d, Transfer-Encoding %q, for a body of %d bytes", req.method, req.path,
				res.ContentLength, res.TransferEncoding, len(body))
		}
	}
}
