package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return string(b)
}

// value reads one sample of the text format, or -1.
func value(text, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db)
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance, "--json"))["flex_user_sid"].(string)
	get := func(user, pass string) {
		req, _ := http.NewRequest("GET", srv.url+"/v2/Instances/"+f.instance+"/Users/"+user, nil)
		req.SetBasicAuth(f.account, pass)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get(user, f.token)
	before := scrape(t, srv.url)
	const ok = `flexapi_http_requests_total{method="GET",route="/v2/Instances/{InstanceSid}/Users/{FlexUserSid}",status="200"}`
	const denied = `flexapi_http_requests_total{method="GET",route="/v2/Instances/{InstanceSid}/Users/{FlexUserSid}",status="401"}`
	for range 3 {
		get(user, f.token)
	}
	get(user, "wrongtoken123")
	http.Get(srv.url + "/no/such/path")
	after := scrape(t, srv.url)

	if got := value(after, ok) - value(before, ok); got != 3 {
		t.Errorf("200s counted %v; want 3 more", got)
	}
	// The user was read once before: the three reads since come from the
	// cache, and the one with a wrong token reads nothing.
	const hits, misses = "flexapi_cache_hits_total", "flexapi_cache_misses_total"
	if got := value(after, hits) - value(before, hits); got != 3 || value(after, misses) != value(before, misses) {
		t.Errorf("cache hits %v → %v, misses %v → %v; want 3 more hits, no more misses",
			value(before, hits), value(after, hits), value(before, misses), value(after, misses))
	}
	if value(after, `flexapi_cache_entries{kind="user"}`) != 1 || value(after, "flexapi_cache_capacity_users") < 100_000 {
		t.Errorf("cache entries %v, capacity %v; want 1 user, room for the default 100,000",
			value(after, `flexapi_cache_entries{kind="user"}`), value(after, "flexapi_cache_capacity_users"))
	}
	if value(after, denied) != 1 {
		t.Errorf("401s counted %v; want 1", value(after, denied))
	}
	for _, want := range []string{
		`flexapi_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`flexapi_http_request_duration_seconds_bucket{method="GET",route="/v2/Instances/{InstanceSid}/Users/{FlexUserSid}",le="0.005"}`,
		`flexapi_http_requests_in_flight 1`, // the scrape itself
		`flexapi_store_operation_duration_seconds_count{operation="user"}`,
		`flexapi_store_operation_duration_seconds_count{operation="credential"}`,
		`flexapi_build_info{commit=`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(after, f.token) {
		t.Error("/metrics shows a token")
	}
}

// Without a cache there are no cache metrics to mislead.
func TestNoCacheMetricsWithoutCache(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db, "--cache-size", "0")
	if text := scrape(t, srv.url); strings.Contains(text, "flexapi_cache_") {
		t.Errorf("/metrics of a server without a cache shows cache metrics")
	}
}

// With --ops-addr the probes and metrics leave the API's port for their own.
func TestOpsAddr(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:", "--ops-addr", "127.0.0.1:0", "--log-format", "json")
	m := regexp.MustCompile(`"msg":"operations listening","addr":"([^"]+)"`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no operations address in the log: %s", srv.stderr.String())
	}
	ops := "http://" + m[1]
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if got := status(t, ops, path, "", ""); got != 200 {
			t.Errorf("%s on the operations port: %d", path, got)
		}
		if got := status(t, srv.url, path, "", ""); got != 404 {
			t.Errorf("%s on the API port: %d; want 404", path, got)
		}
	}
	if got := status(t, srv.url, "/openapi.json", "", ""); got != 200 {
		t.Errorf("/openapi.json on the API port: %d", got)
	}
}
