package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	flex "github.com/twilio/twilio-go/rest/flex/v2"
)

// child is `flexapi serve` in a process of its own, so that it can be killed.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "FLEXAPI_TEST_MAIN=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return &child{cmd: cmd, url: m[1]}
		}
	}
	t.Fatal("the child did not start listening")
	return nil
}

// Every update acknowledged before a kill -9 is there after the restart.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	db := newStoreFile(t)
	env := []string{"TWILIO_AUTH_TOKEN=" + demoToken}
	for round := range 3 {
		c := startChild(t, env, "--db", db, "--demo")
		tw := twilioClient(t, c.url, flexapi.DemoAccountSID, demoToken)
		var last *flex.FlexV2FlexUser
		for i := range 20 {
			email := fmt.Sprintf("r%d-u%d@example.com", round, i)
			u, err := tw.FlexV2.UpdateFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID, (&flex.UpdateFlexUserParams{}).SetEmail(email))
			if err != nil {
				t.Fatal(err)
			}
			last = u
		}
		if err := c.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush anything
			t.Fatal(err)
		}
		c.cmd.Wait()

		c = startChild(t, env, "--db", db)
		got, err := twilioClient(t, c.url, flexapi.DemoAccountSID, demoToken).FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Email != *last.Email || got.Version != last.Version {
			t.Errorf("round %d: after kill -9, email %s version %d; want the last acknowledged %s at %d",
				round, *got.Email, got.Version, *last.Email, last.Version)
		}
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// SIGTERM lets a request in flight finish before the process ends.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	srv := startServe(t, map[string]string{"TWILIO_AUTH_TOKEN": demoToken}, "--db", ":memory:", "--demo")
	body, writer := io.Pipe()
	// The server answers "100 Continue" when the handler starts to read the
	// body: from then on the request is in flight on the server's side.
	inFlight := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { close(inFlight) },
	})
	req, _ := http.NewRequestWithContext(ctx, "POST",
		srv.url+"/v2/Instances/"+flexapi.DemoInstanceSID+"/Users/"+flexapi.DemoFlexUserSID, body)
	req.SetBasicAuth(flexapi.DemoAccountSID, demoToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	form := url.Values{"Locale": {"it-IT"}}.Encode()
	req.ContentLength = int64(len(form))

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		done <- result{status: res.StatusCode, body: string(b)}
	}()
	<-inFlight

	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	waitFor(t, func() bool { return strings.Contains(srv.stderr.String(), "shutting down") })
	writer.Write([]byte(form))
	writer.Close()

	r := <-done
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"locale":"it-IT"`) {
		t.Errorf("in-flight request: %d %q %v; want 200 with the update", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("serve returned %v; want nil after a graceful stop", err)
	}
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
