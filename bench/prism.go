package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// prismDir holds the pinned Prism, installed from its lock file when missing.
const prismDir = "bench/prism"

// startPrism starts Stoplight Prism mocking flexapi's own OpenAPI document,
// to be driven with the same load as flexapi: the static mock users would
// otherwise pick. It keeps no state and takes any credentials, so every user
// "exists".
func startPrism() (*process, error) {
	prism := filepath.Join(prismDir, "node_modules", ".bin", "prism")
	if _, err := os.Stat(prism); err != nil {
		fmt.Println("Prism is missing: installing it with npm ci …")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--silent")
		cmd.Dir = prismDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("npm ci in %s: %v\n%s", prismDir, err, out)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(prism, "mock", "--host", host, "--port", port, "api/openapi.json")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, addr: addr}
	if _, err := waitReady(p.url() + "/healthz"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
