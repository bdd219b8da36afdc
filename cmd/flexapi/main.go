// Command flexapi serves the Flex API v2 FlexUser resource and manages the
// accounts, keys, instances and users of its store.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
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
  flexapi accounts create|list           manage accounts
  flexapi keys create|list               manage API keys
  flexapi instances create|list          manage Flex instances
  flexapi users create|get|list          manage FlexUsers
  flexapi migrate                        bring the store's schema up to date
  flexapi version                        print the version

Every command takes --db (env FLEXAPI_DB): a SQLite file (default flexapi.db),
sqlite:PATH, or :memory:. Run "flexapi COMMAND -h" for a command's flags.
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
		return runSub(ctx, e, cmd, rest, map[string]command{"create": createAccount, "list": listAccounts})
	case "keys":
		return runSub(ctx, e, cmd, rest, map[string]command{"create": createKey, "list": listKeys})
	case "instances":
		return runSub(ctx, e, cmd, rest, map[string]command{"create": createInstance, "list": listInstances})
	case "users":
		return runSub(ctx, e, cmd, rest, map[string]command{"create": createUser, "get": getUser, "list": listUsers})
	case "migrate":
		return runMigrate(ctx, e, rest)
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

func runSub(ctx context.Context, e *env, name string, args []string, cmds map[string]command) error {
	if len(args) > 0 {
		if c, ok := cmds[args[0]]; ok {
			return c(ctx, e, args[1:])
		}
	}
	verbs := ""
	for _, v := range []string{"create", "get", "list"} {
		if _, ok := cmds[v]; ok {
			verbs += "|" + v
		}
	}
	return usageError{fmt.Errorf("usage: flexapi %s %s [flags]", name, verbs[1:])}
}

func versionString() string {
	version, commit, goVersion := "devel", "unknown", "unknown"
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
	return fmt.Sprintf("flexapi %s (commit %s, %s)", version, commit, goVersion)
}
