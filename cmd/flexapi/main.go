// Command flexapi serves the Flex API v2 FlexUser resource and manages the
// accounts, keys, instances and users of its store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/flexapi/flexapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "flexapi:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// env is what a command may touch of the outside world; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `flexapi serves the Flex API v2 FlexUser resource.

Usage:
  flexapi serve [flags]                  run the HTTP server
  flexapi accounts create|list|rotate-token|suspend|activate
  flexapi keys create|list|revoke
  flexapi instances create|list|delete
  flexapi users create|get|list|delete
  flexapi import --instance GO… FILE     upsert users from JSON Lines or CSV
  flexapi export --instance GO…          write an instance's users as JSON Lines
  flexapi reset [--all]                  delete every user (--all: everything)
  flexapi cert [--hosts H,…] [--dir D]   a local CA and a TLS certificate
  flexapi healthcheck [URL]              exit 0 when URL's /readyz answers 200
  flexapi migrate                        bring the store's schema up to date
  flexapi version                        print the version

Every command takes --db (env FLEXAPI_DB): a SQLite file (default flexapi.db),
sqlite:PATH, :memory:, or a postgres:// URL. Every flag also reads
FLEXAPI_<NAME> from the environment. "flexapi COMMAND -h" lists a command's
flags with their defaults.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return runServe(ctx, e, rest)
	case "accounts":
		return runSub(ctx, e, cmd, rest, []verb{{"create", createAccount}, {"list", listAccounts},
			{"rotate-token", rotateToken}, {"suspend", setStatus(flexapi.AccountSuspended)}, {"activate", setStatus(flexapi.AccountActive)}})
	case "keys":
		return runSub(ctx, e, cmd, rest, []verb{{"create", createKey}, {"list", listKeys}, {"revoke", revokeKey}})
	case "instances":
		return runSub(ctx, e, cmd, rest, []verb{{"create", createInstance}, {"list", listInstances}, {"delete", deleteInstance}})
	case "users":
		return runSub(ctx, e, cmd, rest, []verb{{"create", createUser}, {"get", getUser}, {"list", listUsers}, {"delete", deleteUser}})
	case "import":
		return runImport(ctx, e, rest)
	case "export":
		return runExport(ctx, e, rest)
	case "reset":
		return runReset(ctx, e, rest)
	case "cert":
		return runCert(ctx, e, rest)
	case "migrate":
		return runMigrate(ctx, e, rest)
	case "healthcheck":
		return runHealthcheck(ctx, e, rest)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// command is one admin subcommand such as "accounts create".
type command func(ctx context.Context, e *env, args []string) error

type verb struct {
	name string
	run  command
}

func runSub(ctx context.Context, e *env, name string, args []string, verbs []verb) error {
	var names []string
	for _, v := range verbs {
		if len(args) > 0 && args[0] == v.name {
			return v.run(ctx, e, args[1:])
		}
		names = append(names, v.name)
	}
	line := fmt.Sprintf("usage: flexapi %s %s [flags]", name, strings.Join(names, "|"))
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(e.stdout, line)
		return nil
	}
	return usageError{errors.New(line)}
}

func versionString() string {
	version, commit, goVersion := buildInfo()
	return fmt.Sprintf("flexapi %s (commit %s, %s)", version, commit, goVersion)
}

// buildInfo says which flexapi this is, from what the Go toolchain recorded.
func buildInfo() (version, commit, goVersion string) {
	version, commit, goVersion = "devel", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return version, commit, goVersion
}
