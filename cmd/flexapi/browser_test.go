package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
)

// browserPage calls flexapi from another origin with fetch() and an
// Authorization header, as a Flex front end does, and writes what it saw
// into the page for --dump-dom to print.
const browserPage = `<!doctype html><html><body><pre id="out">pending</pre><script>
(async () => {
  const out = document.getElementById("out");
  try {
    const res = await fetch(%q, {
      method: "POST",
      headers: {"Authorization": "Basic " + btoa(%q), "Content-Type": "application/x-www-form-urlencoded", "If-Match": "*"},
      body: "Locale=de-AT",
    });
    const body = await res.json();
    out.textContent = "status=" + res.status + " locale=" + body.locale +
      " request_id=" + res.headers.get("Twilio-Request-Id") + " etag=" + res.headers.get("ETag");
  } catch (e) {
    out.textContent = "blocked: " + e.name;
  }
})();
</script></body></html>`

// TestBrowserCORS drives headless Chromium (Debian's, installed by .ci/run):
// from an allowed origin the preflight passes, the body is read, and
// Twilio-Request-Id and ETag are readable from script; from another origin
// the browser refuses the response.
func TestBrowserCORS(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run does)")
	}
	// The pages need flexapi's address and flexapi needs a page's origin:
	// the pages read the address when the browser asks for them.
	var target atomic.Pointer[string]
	page := func() *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, browserPage, *target.Load(), flexapi.DemoAccountSID+":"+demoToken)
		}))
	}
	allowed, other := page(), page()
	defer allowed.Close()
	defer other.Close()
	srv := startServe(t, map[string]string{"TWILIO_AUTH_TOKEN": demoToken}, "--db", ":memory:", "--demo", "--cors-origins", allowed.URL)
	url := srv.url + "/v2/Instances/" + flexapi.DemoInstanceSID + "/Users/" + flexapi.DemoFlexUserSID
	target.Store(&url)

	got := dumpDOM(t, chromium, allowed.URL)
	want := regexp.MustCompile(`status=200 locale=de-AT request_id=RQ[0-9a-f]{32} etag="2"`)
	if !want.MatchString(got) {
		t.Errorf("from the allowed origin the page saw: %s", got)
	}
	if got := dumpDOM(t, chromium, other.URL); !strings.Contains(got, "blocked: TypeError") {
		t.Errorf("from another origin the page saw: %s; want the browser to refuse", got)
	}
}

func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("chromium printed no page: %s", out)
	}
	return m[1]
}
