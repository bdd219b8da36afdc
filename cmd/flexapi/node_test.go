package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeClient runs the official Node twilio package (compat/node, pinned
// by its lock file) against a real flexapi serve. It needs node and
// `npm ci` in compat/node, which .ci/run does; elsewhere it says why it skips.
func TestNodeClient(t *testing.T) {
	dir, _ := filepath.Abs("../../compat/node")
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "twilio")); err != nil {
		t.Skip("compat/node has no node_modules: run npm ci there")
	}
	srv := startServe(t, nil, "--db", ":memory:", "--seed", "../../testdata/flexapi-seed.yaml", "--admin-token", "nodeadmintoken123")
	cmd := exec.Command("node", "--test", "--test-reporter=spec", "flexuser.test.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"FLEXAPI_URL="+srv.url,
		"TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001",
		"TWILIO_AUTH_TOKEN=ci0123456789token",
		"FLEXAPI_INSTANCE=GO00000000000000000000000000000001",
		"FLEXAPI_USER=FU00000000000000000000000000000001",
		"FLEXAPI_ADMIN_TOKEN=nodeadmintoken123",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}
