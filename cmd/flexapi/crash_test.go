package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexapi/flexapi/internal/pgtest"
)

// Crash safety: concurrent updates and creates, a SIGKILL at a random
// moment, a restart; every acknowledged write is there, and what was in
// flight is either whole or absent. Several rounds, on the embedded store,
// and on PostgreSQL when it is available (the replica is killed, not the
// database).
func TestKill9UnderLoad(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { crashRounds(t, newFixture(t).db) })
	t.Run("postgres", func(t *testing.T) { crashRounds(t, pgtest.URL(t)) })
}

// ack is what the server acknowledged for one user, and what was in flight.
type ack struct {
	email, inFlight string
	version         int
}

func crashRounds(t *testing.T, db string) {
	acct := decode(t, mustCLI(t, nil, "accounts", "create", "--db", db, "--json"))
	account, token := acct["sid"].(string), acct["auth_token"].(string)
	instance := decode(t, mustCLI(t, nil, "instances", "create", "--db", db, "--account", account, "--json"))["sid"].(string)
	const updaters = 4
	users := make([]string, updaters)
	acks := make([]ack, updaters)
	for i := range users {
		u := decode(t, mustCLI(t, nil, "users", "create", "--db", db, "--instance", instance, "--json"))
		users[i], acks[i] = u["flex_user_sid"].(string), ack{email: emailOf(u), version: int(u["version"].(float64))}
	}
	created := map[string]string{} // acknowledged creates: SID → username
	rng := rand.New(rand.NewPCG(7, 9))

	for round := range 3 {
		c := startChild(t, nil, "--db", db, "--auth-failures", "0")
		ctx, stop := context.WithCancel(context.Background())
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range updaters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					email := fmt.Sprintf("r%d-n%d@example.com", round, n)
					mu.Lock()
					acks[i].inFlight = email
					mu.Unlock()
					status, body := post(ctx, c.url+"/v2/Instances/"+instance+"/Users/"+users[i], account, token, url.Values{"Email": {email}})
					if status != 200 {
						return // killed
					}
					mu.Lock()
					acks[i] = ack{email: email, version: int(body["version"].(float64))}
					mu.Unlock()
				}
			}()
		}
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					name := fmt.Sprintf("r%d-g%d-n%d", round, g, n)
					status, body := postJSON(ctx, c.url+"/v4/Instances/"+instance+"/Users/Provision", account, token,
						map[string]any{"username": name, "email": name + "@example.com", "full_name": name, "roles": []string{"agent", "admin"}, "worker": map[string]any{}})
					if status != 201 {
						return
					}
					mu.Lock()
					created[body["flex_user_sid"].(string)] = name
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(150+rng.IntN(400)) * time.Millisecond)
		c.cmd.Process.Kill() // SIGKILL
		c.cmd.Wait()
		stop()
		wg.Wait()

		c = startChild(t, nil, "--db", db)
		for i, sid := range users {
			got := fetch(t, c.url+"/v2/Instances/"+instance+"/Users/"+sid, account, token)
			email, version := emailOf(got), int(got["version"].(float64))
			switch {
			case email == acks[i].email && version == acks[i].version:
			case email == acks[i].inFlight && version == acks[i].version+1: // committed, not yet acknowledged
			default:
				t.Errorf("round %d, user %d: %q at version %d; acknowledged %q at %d (in flight %q)",
					round, i, email, version, acks[i].email, acks[i].version, acks[i].inFlight)
			}
			acks[i] = ack{email: email, version: version}
		}
		stored := map[string]map[string]any{}
		for page := c.url + "/v1/Instances/" + instance + "/Users?PageSize=1000"; page != ""; {
			list := fetch(t, page, account, token)
			for _, u := range list["users"].([]any) {
				m := u.(map[string]any)
				stored[m["flex_user_sid"].(string)] = m
			}
			page, _ = list["meta"].(map[string]any)["next_page_url"].(string)
		}
		for sid, name := range created {
			if u, ok := stored[sid]; !ok || u["username"] != name {
				t.Errorf("round %d: acknowledged user %s (%s) is missing or changed: %v", round, sid, name, u)
			}
		}
		for sid, u := range stored { // whole or absent: every field of one create together
			if name, ok := u["username"].(string); ok && (u["email"] != name+"@example.com" || fmt.Sprint(u["roles"]) != "[agent admin]") {
				t.Errorf("round %d: user %s is half there: %v", round, sid, u)
			}
		}
		t.Logf("round %d: %d creates acknowledged so far, %d users stored", round, len(created), len(stored))
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// emailOf is a user's email, "" while it has none (null on the wire), so
// that a user no update reached compares equal to what was created.
func emailOf(u map[string]any) string {
	email, _ := u["email"].(string)
	return email
}

func post(ctx context.Context, u, user, pass string, form url.Values) (int, map[string]any) {
	return send(ctx, u, user, pass, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// postJSON sends body as JSON, as the v4 routes take it.
func postJSON(ctx context.Context, u, user, pass string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	return send(ctx, u, user, pass, "application/json", bytes.NewReader(b))
}

// send POSTs body and decodes the answer; a request that did not get one
// (the server was killed) is status 0.
func send(ctx context.Context, u, user, pass, contentType string, body io.Reader) (int, map[string]any) {
	req, _ := http.NewRequestWithContext(ctx, "POST", u, body)
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func fetch(t *testing.T, u, user, pass string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth(user, pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return m
}
