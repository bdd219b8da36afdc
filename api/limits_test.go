package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"testing"

	"github.com/flexapi/flexapi/api"
)

func TestRateLimitPerAccount(t *testing.T) {
	h := newHarness(t, api.Config{RateLimit: 0.5, RateBurst: 3})
	for i := range 3 {
		if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
			t.Fatalf("request %d within the burst: %d", i, res.status)
		}
	}
	res := h.do(request{method: "GET", path: pathA, auth: credA})
	checkTwilioError(t, res, 429, 20429, "Too many requests")
	if s, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q; want the 1 to 2 s until the next token", res.header.Get("Retry-After"))
	}
	// Another account has a bucket of its own.
	if res := h.do(request{method: "GET", path: "/v1/Instances/" + instanceB + "/Users", auth: [2]string{accountB, tokenB}}); res.status != 200 {
		t.Errorf("account B after A's limit: %d", res.status)
	}
}

func TestFailedAuthenticationIsSlowedDown(t *testing.T) {
	h := newHarness(t, api.Config{AuthFailures: 0.5})
	for range 10 {
		checkTwilioError(t, h.do(request{method: "GET", path: pathA, auth: [2]string{accountA, "wrong" + tokenB}}), 401, 20003, "")
	}
	res := h.do(request{method: "GET", path: pathA, auth: [2]string{accountA, "wrong" + tokenB}})
	checkTwilioError(t, res, 429, 20429, "Too many requests")
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Successes do not count against the client: another address is free.
	h2 := newHarness(t, api.Config{AuthFailures: 0.5})
	for range 20 {
		if res := h2.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
			t.Fatalf("good credentials: %d", res.status)
		}
	}
}

// Past MaxInFlight requests, the next gets 503 at once instead of a queue.
func TestInFlightCap(t *testing.T) {
	h := newHarness(t, api.Config{MaxInFlight: 1})
	body, writer := io.Pipe()
	inFlight := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { close(inFlight) }})
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+pathA, body)
	req.SetBasicAuth(accountA, tokenA)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	form := url.Values{"Locale": {"en-NZ"}}.Encode()
	req.ContentLength = int64(len(form))
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	<-inFlight // the first request holds the only slot
	res := h.do(request{method: "GET", path: pathA, auth: credA})
	checkTwilioError(t, res, 503, 20503, "Service unavailable")
	writer.Write([]byte(form))
	writer.Close()
	if status := <-done; status != 200 {
		t.Errorf("the request in flight: %d", status)
	}
	if res := h.do(request{method: "GET", path: pathA, auth: credA}); res.status != 200 {
		t.Errorf("after the slot freed: %d", res.status)
	}
}
