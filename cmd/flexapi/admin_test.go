package main

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
)

func decode(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", out, err)
	}
	return m
}

// The admin commands work on the store of a running server, and what they
// create is served at once.
func TestAdminCommandsWhileServing(t *testing.T) {
	db := newStoreFile(t)
	srv := startServe(t, nil, "--db", db)

	acct := decode(t, mustCLI(t, nil, "accounts", "create", "--db", db, "--friendly-name", "Team A", "--json"))
	sid, token := acct["sid"].(string), acct["auth_token"].(string)
	if _, ok := flexapi.ParseSID("AC", sid); !ok || len(token) != 32 || strings.Trim(token, "0123456789abcdef") != "" {
		t.Fatalf("accounts create: %v; want an AC SID and 32 lowercase hex digits", acct)
	}
	key := decode(t, mustCLI(t, nil, "keys", "create", "--db", db, "--account", sid, "--json"))
	inst := decode(t, mustCLI(t, nil, "instances", "create", "--db", db, "--account", sid, "--json"))
	if len(inst) != 3 || len(key) != 2 {
		t.Errorf("instances create printed %v, keys create %v; want {sid, workspace_sid, default_team_sid} and {sid, secret}", inst, key)
	}
	instance := inst["sid"].(string)
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", db, "--instance", instance, "--username", "ana",
		"--email", "ana@example.com", "--locale", "pt-PT", "--roles", "agent,admin", "--worker-sid", "WK"+strings.Repeat("E", 32), "--json"))
	if user["username"] != "ana" || user["worker_sid"] != "WK"+strings.Repeat("e", 32) || user["version"] != 0.0 || user["user_sid"] == nil {
		t.Errorf("users create printed %v", user)
	}
	userSID := user["flex_user_sid"].(string)

	got := decode(t, mustCLI(t, nil, "users", "get", "--db", db, "--instance", instance, userSID, "--json"))
	if canonical(got) != canonical(user) {
		t.Errorf("users get %v; want %v", got, user)
	}
	list := strings.Split(strings.TrimSpace(mustCLI(t, nil, "users", "list", "--db", db, "--instance", instance, "--json")), "\n")
	if len(list) != 1 || decode(t, list[0])["flex_user_sid"] != userSID {
		t.Errorf("users list: %q", list)
	}
	if out := mustCLI(t, nil, "users", "list", "--db", db, "--instance", instance); !strings.Contains(out, userSID) || !strings.Contains(out, "ana@example.com") {
		t.Errorf("users list as text: %q", out)
	}
	if out := mustCLI(t, nil, "accounts", "list", "--db", db); !strings.Contains(out, sid) || strings.Contains(out, token) {
		t.Errorf("accounts list: %q; want the SID and never the token", out)
	}
	for _, args := range [][]string{{"keys", "list"}, {"instances", "list"}} {
		if out := mustCLI(t, nil, append(args, "--db", db, "--account", sid)...); !strings.Contains(out, sid) {
			t.Errorf("%v: %q", args, out)
		}
	}

	for _, cred := range [][2]string{{sid, token}, {key["sid"].(string), key["secret"].(string)}} {
		u, err := twilioClient(t, srv.url, cred[0], cred[1]).FlexV2.FetchFlexUser(instance, userSID)
		if err != nil || *u.Username != "ana" || *u.AccountSid != sid {
			t.Errorf("fetch with %s: %+v, %v", cred[0][:2], u, err)
		}
	}
	// Secrets live only as hashes: the file never holds the token or secret.
	srv.stop()
	raw, _ := os.ReadFile(db)
	wal, _ := os.ReadFile(db + "-wal")
	for _, s := range []string{token, key["secret"].(string)} {
		if strings.Contains(string(raw)+string(wal), s) {
			t.Errorf("the database file holds a secret in clear")
		}
	}
}

func TestAdminTextOutputShowsTokenOnce(t *testing.T) {
	db := newStoreFile(t)
	out := mustCLI(t, nil, "accounts", "create", "--db", db, "--sid", "AC"+strings.Repeat("1", 32), "--auth-token", "mytoken12345678")
	if !strings.Contains(out, "AC"+strings.Repeat("1", 32)) || !strings.Contains(out, "mytoken12345678") {
		t.Errorf("accounts create: %q", out)
	}
	if _, err := cli(t, nil, "accounts", "create", "--db", db, "--sid", "AC"+strings.Repeat("1", 32)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second account with the same SID: %v; want 'already exists'", err)
	}
	if out := mustCLI(t, nil, "migrate", "--db", db); !strings.Contains(out, "schema up to date (version 2)") {
		t.Errorf("migrate: %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	db := newStoreFile(t)
	tests := []struct {
		args []string
		vars map[string]string
		want string
	}{
		{nil, nil, "no command"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"serve", "--bogus"}, nil, "bogus"},
		{[]string{"serve", "--log-format", "xml"}, nil, "log-format"},
		{[]string{"serve"}, map[string]string{"FLEXAPI_DEMO": "maybe"}, "FLEXAPI_DEMO"},
		{[]string{"accounts"}, nil, "usage"},
		{[]string{"accounts", "create", "--db", db, "--sid", "AC12"}, nil, "--sid"},
		{[]string{"accounts", "create", "--db", db, "--auth-token", "has space"}, nil, "letters and digits"},
		{[]string{"keys", "create", "--db", db}, nil, "--account"},
		{[]string{"users", "create", "--db", db, "--instance", "GO1"}, nil, "--instance"},
		{[]string{"users", "get", "--db", db}, nil, "--instance"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := cli(t, tt.vars, tt.args...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v; want a usage error mentioning %q", err, tt.want)
			}
		})
	}
	// Mistakes are one line in flexapi's words, naming what was wrong.
	db2 := newStoreFile(t)
	inst2 := decode(t, mustCLI(t, nil, "instances", "create", "--db", db2, "--account",
		decode(t, mustCLI(t, nil, "accounts", "create", "--db", db2, "--json"))["sid"].(string), "--json"))["sid"].(string)
	for _, tt := range []struct {
		args  []string
		vars  map[string]string
		want  string
		usage bool
	}{
		{[]string{"serve", "--bogus"}, nil, "flag provided but not defined: -bogus (flexapi serve -h lists its flags)", true},
		{[]string{"serve"}, map[string]string{"FLEXAPI_DEMO": "maybe"}, `FLEXAPI_DEMO="maybe": want true or false`, true},
		{[]string{"serve"}, map[string]string{"FLEXAPI_READ_BODY_TIMEOUT": "5"}, "want a duration such as 500ms, 5s or 2m", true},
		{[]string{"serve", "--public-url", "flex-api.twilio.com"}, nil, "--public-url \"flex-api.twilio.com\": want an http:// or https:// URL", true},
		{[]string{"users", "get", "--db", db2, "--instance", inst2, "FU12"}, nil, `the FU… argument (the user) must be FU and 32 hex digits, got "FU12"`, true},
		{[]string{"users", "create", "--db", db2, "--instance", inst2, "--public-url", "localhost:8080"}, nil, `--public-url "localhost:8080": want an http:// or https:// URL`, true},
		{[]string{"export", "--db", db2, "--instance", inst2, "--public-url", "http://h/?x=1"}, nil, `--public-url "http://h/?x=1": want an http:// or https:// URL`, true},
		{[]string{"keys", "revoke", "--db", db2, "SK1"}, nil, "the SK… argument must be SK and 32 hex digits", true},
		{[]string{"instances", "create", "--db", db2, "--account", "AC" + strings.Repeat("9", 32)}, nil, "there is no account AC" + strings.Repeat("9", 32), false},
	} {
		out, err := cli(t, tt.vars, tt.args...)
		var u usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &u) != tt.usage || strings.Contains(err.Error(), "main.") {
			t.Errorf("%v: %v (usage error %v); want %q", tt.args, err, errors.As(err, &u), tt.want)
		}
		if strings.Contains(out, "-db string") {
			t.Errorf("%v printed the flags: %q", tt.args, out)
		}
	}
	if out := mustCLI(t, nil, "users", "list", "--db", db2, "--instance", inst2); regexp.MustCompile(`FU[0-9a-f]{32}`).MatchString(out) {
		t.Errorf("users create with a bad --public-url made a user: %s", out)
	}
	if out, err := cli(t, nil, "users", "get", "-h"); !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(out, "usage: flexapi users get [flags] --instance GO… FU…\n") || !strings.Contains(out, "-json") {
		t.Errorf("users get -h: %q; want the synopsis with its arguments and the flags", out)
	}
	if out := mustCLI(t, nil, "accounts", "--help"); !strings.Contains(out, "create|list|rotate-token|suspend|activate") {
		t.Errorf("accounts --help: %q; want its subcommands", out)
	}
	csv := "username\nana\n"
	if _, err := cliIn(t, csv, "import", "--db", db2, "--instance", inst2, "-"); err == nil || !strings.Contains(err.Error(), "pass --format csv") {
		t.Errorf("import - of CSV without --format: %v; want a hint to pass --format csv", err)
	}
	if out, err := cliIn(t, csv, "import", "--db", db2, "--instance", inst2, "--format", "csv", "-"); err != nil || !strings.HasPrefix(out, "1 row: 1 inserted") {
		t.Errorf("import - --format csv: %q %v", out, err)
	}

	// A user with a bad e-mail is refused with the parameter's name.
	acct := decode(t, mustCLI(t, nil, "accounts", "create", "--db", db, "--json"))
	inst := decode(t, mustCLI(t, nil, "instances", "create", "--db", db, "--account", acct["sid"].(string), "--json"))
	if _, err := cli(t, nil, "users", "create", "--db", db, "--instance", inst["sid"].(string), "--email", "x"); err == nil || !strings.Contains(err.Error(), "Email") {
		t.Errorf("users create --email x: %v; want an error naming Email", err)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"serve", "-h"}, 0},
		{[]string{"serve", "--bogus"}, 2},
		{[]string{"users", "list", "--db", filepath.Join(t.TempDir(), "x.db"), "--instance", "GO" + strings.Repeat("0", 32)}, 1},
	} {
		cmd := exec.Command(os.Args[0], tt.args...)
		cmd.Env = append(os.Environ(), "FLEXAPI_TEST_MAIN=1")
		out, err := cmd.CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if code != tt.code {
			t.Errorf("flexapi %v: exit %d; want %d\n%s", tt.args, code, tt.code, out)
		}
	}
}
