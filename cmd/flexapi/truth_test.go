package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The store's file is the truth: deleted under a running server, it turns
// /readyz to 503 and refuses writes, rather than acknowledging writes that
// the next start would lose.
func TestDeletedStoreFileUnderServe(t *testing.T) {
	f := newFixture(t)
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance, "--json"))["flex_user_sid"].(string)
	srv := startServe(t, nil, "--db", f.db)
	u := srv.url + "/v2/Instances/" + f.instance + "/Users/" + user
	if status, body := post(t.Context(), u, f.account, f.token, map[string][]string{"Locale": {"en-GB"}}); status != 200 {
		t.Fatalf("update before: %d %v", status, body)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(f.db + suffix)
	}
	if res, err := http.Get(srv.url + "/readyz"); err != nil || res.StatusCode != 503 {
		t.Errorf("/readyz with the file gone: %v %v; want 503", res, err)
	}
	if status, body := post(t.Context(), u, f.account, f.token, map[string][]string{"Locale": {"fr-FR"}}); status != 503 {
		t.Errorf("update with the file gone: %d %v; want 503", status, body)
	}
}

// An admin command names the missing store instead of making an empty one.
func TestAdminCommandOnAMissingStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	for _, args := range [][]string{{"accounts", "list"}, {"accounts", "create"}, {"reset", "--all"}, {"users", "list", "--instance", "GO" + strings.Repeat("1", 32)}} {
		_, err := cli(t, nil, append(args, "--db", db)...)
		if err == nil || !strings.Contains(err.Error(), "no flexapi store at "+db) {
			t.Errorf("%v: %v; want it to say there is no store", args, err)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("an admin command made %s", db)
	}
}

// list, get and export work on a read-only file system (a read-only bind
// mount, which needs root).
func TestReadOnlyCommandsOnAReadOnlyFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a read-only bind mount needs root")
	}
	f := newFixture(t)
	user := decode(t, mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance, "--username", "ro", "--json"))["flex_user_sid"].(string)
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o755)
	if out, err := exec.Command("mount", "--bind", "-o", "ro", filepath.Dir(f.db), ro).CombinedOutput(); err != nil {
		t.Skipf("cannot make a read-only mount here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	db := filepath.Join(ro, filepath.Base(f.db))
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o600); err == nil {
		t.Fatal("the mount is writable")
	}
	if out := mustCLI(t, nil, "users", "list", "--db", db, "--instance", f.instance); !strings.Contains(out, user) {
		t.Errorf("users list: %q", out)
	}
	if out := mustCLI(t, nil, "users", "get", "--db", db, "--instance", f.instance, user); !strings.Contains(out, `"ro"`) {
		t.Errorf("users get: %q", out)
	}
	if out := mustCLI(t, nil, "export", "--db", db, "--instance", f.instance); !strings.Contains(out, user) {
		t.Errorf("export: %q", out)
	}
	if out := mustCLI(t, nil, "accounts", "list", "--db", db); !strings.Contains(out, f.account) {
		t.Errorf("accounts list: %q", out)
	}
}

// FLEXAPI_<NAME> sets serve's flags and the store, and no other flag of an
// admin command.
func TestEnvironmentSetsOnlyServeFlagsAndTheStore(t *testing.T) {
	f := newFixture(t)
	mustCLI(t, nil, "users", "create", "--db", f.db, "--instance", f.instance)
	vars := map[string]string{"FLEXAPI_ALL": "1", "FLEXAPI_SID": "GO" + strings.Repeat("9", 32), "FLEXAPI_DB": f.db}
	if out := mustCLI(t, vars, "reset"); !strings.Contains(out, "1 users deleted") {
		t.Errorf("reset with FLEXAPI_ALL=1: %q; want users only", out)
	}
	if out := mustCLI(t, nil, "accounts", "list", "--db", f.db); !strings.Contains(out, f.account) {
		t.Error("FLEXAPI_ALL=1 made reset delete the accounts")
	}
	created := decode(t, mustCLI(t, vars, "instances", "create", "--account", f.account, "--json"))["sid"]
	if created == vars["FLEXAPI_SID"] {
		t.Error("FLEXAPI_SID leaked into instances create")
	}
	// The url the CLI prints names the server's base, as serve's does.
	user := decode(t, mustCLI(t, map[string]string{"FLEXAPI_PUBLIC_URL": "https://flex.example.com"}, "users", "create", "--db", f.db, "--instance", f.instance, "--json"))
	if u, _ := user["url"].(string); !strings.HasPrefix(u, "https://flex.example.com/v2/Instances/") {
		t.Errorf("url with FLEXAPI_PUBLIC_URL: %q", u)
	}
}
