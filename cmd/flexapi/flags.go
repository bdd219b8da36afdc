package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// usageError is a mistake on the command line; main exits 2 for it.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("flexapi "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// fromEnv says which of a command's flags FLEXAPI_<NAME> may set: serve's
// flags, and the store (and the url base the server shows) of every command.
// An admin command's other flags come from its command line only, so that a
// variable left in the environment cannot turn `reset` into `reset --all`.
type fromEnv func(flagName string) bool

var (
	allFromEnv   fromEnv = func(string) bool { return true }
	storeFromEnv fromEnv = func(name string) bool { return name == "db" || name == "public-url" }
	noneFromEnv  fromEnv = func(string) bool { return false }
)

// parse reads args, then fills every flag that env allows and that is not
// given on the command line from FLEXAPI_<NAME> (dashes become underscores),
// so that the command line wins over the environment, which wins over the
// default.
func parse(fs *flag.FlagSet, e *env, args []string, env fromEnv) error {
	fs.VisitAll(func(f *flag.Flag) {
		if env(f.Name) {
			f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name))
		}
	})
	// Flags may follow arguments too (users get FU… --json), as people type them.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err // the flags were printed: nothing more to say
			}
			return usageError{err}
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional, args = append(positional, args[0]), args[1:]
	}
	fs.Parse(append([]string{"--"}, positional...)) // makes fs.Args() the positional ones
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if !env(f.Name) || given[f.Name] || err != nil {
			return
		}
		if v := e.getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usageError{fmt.Errorf("%s: %v", envName(f.Name), serr)}
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "FLEXAPI_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

const dbUsage = "store: a SQLite file, sqlite:PATH, :memory:, or a postgres:// URL"

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "flexapi.db", dbUsage)
}
