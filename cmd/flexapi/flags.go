package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// usageError is a mistake on the command line; main exits 2 for it.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("flexapi "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a mistake gets one line of ours; -h prints the flags, below
	return fs
}

// arguments are the positional arguments of the commands that take some,
// for their -h.
var arguments = map[string]string{
	"users get": "--instance GO… FU…", "users delete": "--instance GO… FU…", "users list": "--instance GO…",
	"users create": "--instance GO…", "accounts rotate-token": "AC…", "accounts suspend": "AC…",
	"accounts activate": "AC…", "keys revoke": "SK…", "instances delete": "GO…", "import": "--instance GO… FILE|-",
	"export": "--instance GO…", "healthcheck": "[URL]",
}

// printHelp is a command's -h: its synopsis and its flags with their
// defaults, on standard output.
func printHelp(fs *flag.FlagSet, e *env) {
	name := strings.TrimPrefix(fs.Name(), "flexapi ")
	fmt.Fprintf(e.stdout, "usage: %s [flags] %s\n\nflags:\n", fs.Name(), arguments[name])
	fs.SetOutput(e.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
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
				printHelp(fs, e)
				return err // the flags were printed: nothing more to say
			}
			return usageError{fmt.Errorf("%v (%s -h lists its flags)", err, fs.Name())}
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
				err = usageError{fmt.Errorf("%s=%q: want %s", envName(f.Name), v, expected(f))}
			}
		}
	})
	return err
}

// expected says what a flag's value must be, in words.
func expected(f *flag.Flag) string {
	getter, _ := f.Value.(flag.Getter)
	if getter == nil {
		return "a valid value"
	}
	switch getter.Get().(type) {
	case bool:
		return "true or false"
	case int, int64, uint, uint64:
		return "a whole number"
	case float64:
		return "a number"
	case time.Duration:
		return "a duration such as 500ms, 5s or 2m"
	}
	return "a valid value"
}

func envName(flagName string) string {
	return "FLEXAPI_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

const dbUsage = "store: a SQLite file, sqlite:PATH, :memory:, or a postgres:// URL"

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "flexapi.db", dbUsage)
}
