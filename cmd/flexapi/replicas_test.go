package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	flex "github.com/twilio/twilio-go/rest/flex/v2"

	"github.com/flexapi/flexapi/internal/pgtest"
)

// Two replicas over one PostgreSQL database behave as one server: a write
// through one is read at once through the other, and racing updates through
// both lose nothing. With FLEXAPI_TEST_POSTGRES_CTL=1 the test also stops
// the machine's PostgreSQL cluster mid-test (CI runs it on its own, since
// other tests share the cluster) and checks 503s and recovery.
func TestReplicasOverPostgres(t *testing.T) {
	dsn := pgtest.URL(t)
	acct := decode(t, mustCLI(t, nil, "accounts", "create", "--db", dsn, "--json"))
	account, token := acct["sid"].(string), acct["auth_token"].(string)
	instance := decode(t, mustCLI(t, nil, "instances", "create", "--db", dsn, "--account", account, "--json"))["sid"].(string)
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", dsn, "--instance", instance, "--json"))["flex_user_sid"].(string)

	a, b := startChild(t, nil, "--db", dsn), startChild(t, nil, "--db", dsn)
	ta, tb := twilioClient(t, a.url, account, token), twilioClient(t, b.url, account, token)

	if _, err := ta.FlexV2.UpdateFlexUser(instance, user, (&flex.UpdateFlexUserParams{}).SetEmail("via-a@example.com")); err != nil {
		t.Fatal(err)
	}
	got, err := tb.FlexV2.FetchFlexUser(instance, user)
	if err != nil || *got.Email != "via-a@example.com" || got.Version != 1 {
		t.Fatalf("read through B after a write through A: %+v %v", got, err)
	}

	const perReplica = 200
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tw := ta
			if w%2 == 1 {
				tw = tb
			}
			for i := range perReplica / 4 {
				p := (&flex.UpdateFlexUserParams{}).SetEmail(fmt.Sprintf("w%d-%d@example.com", w, i))
				if _, err := tw.FlexV2.UpdateFlexUser(instance, user, p); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got, _ = ta.FlexV2.FetchFlexUser(instance, user); got.Version != 1+2*perReplica {
		t.Errorf("after 2 × %d updates split across the replicas: version %d; want %d", perReplica, got.Version, 1+2*perReplica)
	}

	if os.Getenv("FLEXAPI_TEST_POSTGRES_CTL") != "1" {
		t.Log("FLEXAPI_TEST_POSTGRES_CTL is not 1: the outage part is skipped")
		return
	}
	cluster := postgresCluster(t)
	pgctl(t, cluster, "stop")
	stopped := time.Now()
	t.Cleanup(func() { pgctl(t, cluster, "start") }) // whatever happens below
	var first503 time.Duration
	for time.Since(stopped) < 2*time.Second {
		if status(t, a.url, "/readyz", "", "") == 503 && status(t, b.url, "/v2/Instances/"+instance+"/Users/"+user, account, token) == 503 {
			first503 = time.Since(stopped)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if first503 == 0 {
		t.Fatal("no 503 within 2 s of stopping PostgreSQL")
	}
	t.Logf("503 and not ready %v after PostgreSQL stopped", first503.Round(time.Millisecond))
	if status(t, a.url, "/healthz", "", "") != 200 {
		t.Error("the replica died with its database")
	}
	if m := scrape(t, a.url); !strings.Contains(m, `flexapi_store_errors_total{kind="unavailable",operation="ping"}`) {
		t.Error("/metrics does not count the store's failures")
	}

	pgctl(t, cluster, "start")
	started := time.Now()
	for status(t, a.url, "/v2/Instances/"+instance+"/Users/"+user, account, token) != 200 ||
		status(t, b.url, "/readyz", "", "") != 200 {
		if time.Since(started) > 30*time.Second {
			t.Fatal("the replicas did not recover within 30 s of PostgreSQL's start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("full service %v after PostgreSQL started", time.Since(started).Round(time.Millisecond))
	if got, err = tb.FlexV2.FetchFlexUser(instance, user); err != nil || got.Version != 1+2*perReplica {
		t.Errorf("after the outage: %+v %v", got, err)
	}
}

func status(t *testing.T, base, path, user, pass string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// postgresCluster names the machine's cluster, e.g. "15".
func postgresCluster(t *testing.T) string {
	dirs, _ := filepath.Glob("/etc/postgresql/*/main")
	if len(dirs) != 1 {
		t.Skipf("no single PostgreSQL cluster under /etc/postgresql: %v", dirs)
	}
	return filepath.Base(filepath.Dir(dirs[0]))
}

func pgctl(t *testing.T, version, action string) {
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "already running") && !strings.Contains(string(out), "not running") {
		t.Errorf("pg_ctlcluster %s: %v %s", action, err, out)
	}
}

// A password in the PostgreSQL URL reaches neither the output nor the log.
func TestPostgresPasswordNeverShown(t *testing.T) {
	dsn := pgtest.URL(t) // trust authentication: any password is accepted
	withPassword := strings.Replace(dsn, "postgres://postgres@", "postgres://postgres:Sup3rSecretPassw0rd@", 1)
	if withPassword == dsn {
		t.Skip("the test URL has no user to add a password to")
	}
	srv := startServe(t, nil, "--db", withPassword, "--log-format", "json")
	out := mustCLI(t, nil, "migrate", "--db", withPassword)
	_, err := cli(t, nil, "users", "list", "--db", withPassword, "--instance", "GO"+strings.Repeat("0", 32))
	srv.stop()
	for name, text := range map[string]string{"serve output": srv.stdout.String(), "serve log": srv.stderr.String(),
		"migrate output": out, "error": fmt.Sprint(err)} {
		if strings.Contains(text, "Sup3rSecretPassw0rd") {
			t.Errorf("the password is in the %s: %s", name, text)
		}
	}
	if !strings.Contains(srv.stdout.String(), "xxxxx") {
		t.Errorf("the store is not named, redacted, in the output: %s", srv.stdout.String())
	}
}
