package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/metrics"
)

// Made-up methods, sent without credentials, do not become metric labels.
func TestMetricLabelsAreBounded(t *testing.T) {
	m := metrics.New("test", "test", "test")
	h := newHarness(t, api.Config{Observer: m, Metrics: m.Handler()})
	for i := range 300 {
		res := h.do(request{method: fmt.Sprintf("M%03d", i), path: pathA})
		if res.status != 405 && res.status != 401 {
			t.Fatalf("method M%03d: status %d", i, res.status)
		}
	}
	res := h.do(request{method: "GET", path: "/metrics"})
	methods := map[string]bool{}
	for _, m := range regexp.MustCompile(`flexapi_http_requests_total\{[^}]*method="([^"]*)"`).FindAllStringSubmatch(string(res.body), -1) {
		methods[m[1]] = true
	}
	if len(methods) == 0 || len(methods) > 3 || !methods["other"] {
		t.Errorf("method labels %v; want the made-up methods counted as \"other\"", methods)
	}
	if res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("/metrics has Access-Control-Allow-Origin %q: other origins' scripts could read it", res.header.Get("Access-Control-Allow-Origin"))
	}
}

// Only failures are throttled, per address and username: requests without
// credentials never count, and credentials that verify are always served.
func TestWrongSecretNeverLocksOutTheRightOne(t *testing.T) {
	h := newHarness(t, api.Config{AuthFailures: 0.1})
	for i := range 30 { // a client that sends credentials only after a 401 challenge
		if res := h.do(request{method: "GET", path: pathA}); res.status != 401 {
			t.Fatalf("request %d without credentials: %d; want 401, never 429", i, res.status)
		}
	}
	wrong := [2]string{accountA, "wrong" + tokenB}
	for i := range 10 {
		checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: wrong}), 401, 20003, "")
		if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
			t.Fatalf("the right secret after %d wrong ones: %d", i+1, res.status)
		}
	}
	res := h.do(request{method: "GET", path: pathA, auth: wrong})
	checkTwilioError(t, res, 429, 20429, "Too many requests")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
		t.Errorf("the right secret once its failures are throttled: %d", res.status)
	}
	// Another username from the same address has failures of its own.
	checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: [2]string{accountB, "wrong" + tokenA}}), 401, 20003, "")
	// A body too large with the right secret is too large, not throttled.
	big := request{method: "POST", path: pathA, auth: credA, body: "Email=" + strings.Repeat("a", 2<<20),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
	checkTwilioError(t, h.do(big), 413, 20413, "")
}

// trickle starts a POST whose body is promised but sent a byte at a time,
// and returns once the handler has started reading it (the server's 100
// Continue), or with the first status line when the server answers at once.
func trickle(t *testing.T, base string, cred [2]string) (conn net.Conn, answered string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := http.NewRequest("POST", base+pathA, nil)
	req.SetBasicAuth(cred[0], cred[1])
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
		pathA, u.Host, req.Header.Get("Authorization"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer to the request's headers: %v", err)
	}
	if strings.HasPrefix(line, "HTTP/1.1 100") {
		go func() { // a byte every 50 ms: 5 s for the body
			for range 100 {
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		return conn, ""
	}
	return conn, line
}

// One account that trickles its bodies holds only its share of the slots,
// and only until the body deadline; every other account is served.
func TestOneAccountCannotTakeEverySlot(t *testing.T) {
	h := newHarness(t, api.Config{MaxInFlight: 4, MaxInFlightPerAccount: 2, BodyTimeout: 500 * time.Millisecond})
	start := time.Now()
	var held []net.Conn
	for i := range 2 {
		conn, answered := trickle(t, h.srv.URL, credA)
		if answered != "" {
			t.Fatalf("trickle %d was answered at once: %q", i, answered)
		}
		held = append(held, conn)
	}
	if _, answered := trickle(t, h.srv.URL, credA); !strings.HasPrefix(answered, "HTTP/1.1 429") {
		t.Errorf("a third request of the same account: %q; want 429 at once", answered)
	}
	res := h.do(request{method: "GET", path: "/v2/Instances/" + instanceB + "/Users/" + userA, auth: [2]string{accountB, tokenB}})
	if res.status != 404 {
		t.Errorf("another account while the first trickles: %d; want its answer (404), not %d", res.status, res.status)
	}
	for i, conn := range held {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(conn)
		if !strings.Contains(string(b), "HTTP/1.1 400") || !strings.Contains(string(b), "did not arrive within") {
			t.Errorf("trickle %d got %q; want a 400 once its body deadline passed", i, b)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the trickled bodies held their slots for %v; the body deadline is 500ms", d)
	}
	// Their answers are sent after their slots are given back: the account is
	// served again.
	for i := range 3 {
		res := h.do(request{method: "GET", path: "/v2/Instances/" + instanceA + "/Users/" + userA, auth: credA})
		if res.status != 200 {
			t.Errorf("request %d of the account after its trickles ended: %d; want 200", i, res.status)
		}
	}
}

// A malformed query value is a 400 naming the parameter, not ignored.
func TestMalformedQueryIsNamed(t *testing.T) {
	h := newHarness(t, api.Config{})
	res := h.do(request{method: "GET", path: "/v1/Instances/" + instanceA + "/Users?PageSize=%zz", auth: credA})
	checkTwilioError(t, res, 400, 20001, "")
	if !strings.Contains(string(res.body), "PageSize") {
		t.Errorf("the error does not name PageSize: %s", res.body)
	}
	res = h.do(request{method: "GET", path: "/v4/Instances/" + instanceA + "/Users?Username=%FF", auth: credA})
	checkTwilioError(t, res, 400, 20001, "")
}
