package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A client that trickles its headers is cut off at the read-header timeout.
func TestSlowClientIsCutOff(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:", "--read-header-timeout", "300ms")
	u, _ := url.Parse(srv.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn) // returns when the server closes the connection
		closed <- time.Since(start)
	}()
	header := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)
	for i := 0; i < len(header); i++ {
		select {
		case d := <-closed:
			if d > 3*time.Second {
				t.Errorf("cut off only after %v", d)
			}
			t.Logf("cut off after %v with %d of the header's bytes sent", d.Round(time.Millisecond), i)
			return
		default:
		}
		if _, err := conn.Write([]byte{header[i]}); err != nil {
			t.Logf("cut off after %v", time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server waited %v for a trickled header", time.Since(start))
}

// No token, secret or database password appears in any log line, output or
// error body during a run that creates, uses, rotates and fails credentials.
func TestSecretsNeverLeak(t *testing.T) {
	f := newFixture(t)
	srv := startServe(t, nil, "--db", f.db, "--log-format", "json", "--credential-cache=-1s")
	key := decode(t, mustCLI(t, nil, "keys", "create", "--db", f.db, "--account", f.account, "--json"))
	second := decode(t, mustCLI(t, nil, "accounts", "rotate-token", "--db", f.db, f.account, "--json"))["secondary_auth_token"].(string)
	secrets := []string{f.token, key["secret"].(string), second}

	var bodies []string
	for _, cred := range [][2]string{{f.account, f.token}, {key["sid"].(string), key["secret"].(string)}, {f.account, second},
		{f.account, f.token + "x"}, {key["sid"].(string), f.token}, {"AC" + strings.Repeat("9", 32), second}} {
		for _, path := range []string{"/v2/Instances/" + f.instance + "/Users", "/v2/Instances/" + f.instance + "/Users/FU" + strings.Repeat("1", 32), "/nowhere"} {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.url+path, nil)
			req.SetBasicAuth(cred[0], cred[1])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			bodies = append(bodies, fmt.Sprint(res.Header)+string(b))
		}
	}
	list := mustCLI(t, nil, "keys", "list", "--db", f.db) + mustCLI(t, nil, "accounts", "list", "--db", f.db, "--json")
	srv.stop()
	for _, s := range secrets {
		for name, text := range map[string]string{"log": srv.stderr.String(), "serve output": srv.stdout.String(),
			"responses": strings.Join(bodies, "\n"), "list commands": list} {
			if strings.Contains(text, s) {
				t.Errorf("a secret appears in the %s", name)
			}
		}
	}
	if !strings.Contains(srv.stderr.String(), `"status":401`) {
		t.Error("the log has no 401 line: the run did not exercise failures")
	}
}
