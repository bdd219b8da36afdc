package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// runAB measures the working tree's flexapi against another build of it, both
// servers up at once on copies of one store and warmed alike, in interleaved
// pairs of runs: each round runs every scenario once on each, in a random
// order of scenarios and of the two builds. It prints new/old ratios of
// requests a second, p99 and the server's CPU a request, as medians over the
// rounds: how a change is judged on a shared, noisy machine.
//
//	go run ./bench ab [-against HEAD] [-users 100000] [-rounds 5] [-duration 3s] [-warm-up 0s]
//	                  [-scenarios fetch,healthz,miss,update] [-postgres URL]
//	                  [-new-flags "…"] [-old-flags "…"] [-new-env "…"] [-old-env "…"]
func runAB(args []string) error {
	fs := flag.NewFlagSet("ab", flag.ContinueOnError)
	against := fs.String("against", "HEAD", "the git revision of the old build; \".\" for the working tree's (to compare flags)")
	users := fs.Int("users", 100_000, "users in each store")
	scenarios := fs.String("scenarios", "fetch,healthz,miss,update", "scenarios of bench's load script: fetch, miss, healthz, update, mixed, malformed, not-allowed")
	newFlags := fs.String("new-flags", "", "extra flags of the new build's serve, space-separated")
	oldFlags := fs.String("old-flags", "", "extra flags of the old build's serve, space-separated")
	newEnv := fs.String("new-env", "", "extra environment of the new build's serve, space-separated KEY=VALUE (GOMAXPROCS=1, say)")
	oldEnv := fs.String("old-env", "", "extra environment of the old build's serve, space-separated KEY=VALUE")
	var c config
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "length of each load run, in whole seconds")
	fs.DurationVar(&c.warmUp, "warm-up", warmUpRun, "length of the unmeasured run of the same scenario before each load run (0: none)")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved pairs of runs of each scenario")
	fs.IntVar(&c.connections, "connections", 64, "concurrent connections of the load generator")
	fs.StringVar(&c.postgres, "postgres", "", "serve from this PostgreSQL database (a schema of its own for each build) instead of SQLite files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rounds < 1 || *users < 1 {
		return errors.New("-rounds and -users: at least one")
	}
	if err := c.checkRunLengths(); err != nil {
		return err
	}
	if err := ensureWrk(); err != nil {
		return err
	}
	cleanup, err := c.workspace("flexapi-ab-")
	if err != nil {
		return err
	}
	defer cleanup()
	old := c
	if *against != "." {
		if old.flexapi, err = buildRevision(c.work, *against); err != nil {
			return err
		}
	}
	c.env, old.env = strings.Fields(*newEnv), strings.Fields(*oldEnv)
	sides := []*abSide{{name: "new", c: c, flags: strings.Fields(*newFlags)}, {name: "old", c: old, flags: strings.Fields(*oldFlags)}}
	for _, s := range sides {
		defer s.stop()
		if err := s.start(*users); err != nil {
			return fmt.Errorf("%s build: %w", s.name, err)
		}
	}
	modes := strings.Split(*scenarios, ",")
	pairs := make(map[string][]round) // each a run of the new build against one of the old
	for r := range c.rounds {
		fmt.Printf("round %d of %d …\n", r+1, c.rounds)
		for _, i := range rand.Perm(len(modes)) {
			var runs [2]result
			for _, j := range rand.Perm(2) {
				if runs[j], err = sides[j].run(modes[i], *users); err != nil {
					return err
				}
			}
			pairs[modes[i]] = append(pairs[modes[i]], round{run: runs[0], baseline: runs[1]})
		}
	}
	reportAB(c, *against, *users, modes, pairs)
	return nil
}

// abSide is one build under test: its server and what it cleans up.
type abSide struct {
	name     string
	c        config
	flags    []string
	server   *process
	cleanups []func()
}

// start makes the side's own store of n users, serves it and warms it.
func (s *abSide) start(n int) error {
	db := filepath.Join(s.c.work, s.name+".db")
	if s.c.postgres != "" {
		dsn, drop, err := postgresSchema(s.c.postgres)
		if err != nil {
			return err
		}
		s.cleanups = append(s.cleanups, drop)
		db = dsn
	}
	fmt.Printf("%s build, %d users: importing …\n", s.name, n)
	if _, err := prepare(s.c, db, n); err != nil {
		return err
	}
	p, _, err := startServe(s.c, db, s.flags...)
	if err != nil {
		return err
	}
	s.server = p
	return warm(p.url(), n)
}

func (s *abSide) stop() {
	if s.server != nil {
		s.server.stop()
	}
	for _, f := range s.cleanups {
		f()
	}
}

// run is one load run of mode against the side's server.
func (s *abSide) run(mode string, users int) (result, error) {
	r, err := s.server.load(s.c, mode, users)
	if err == nil && r.errors > 0 {
		err = fmt.Errorf("%s build, %s: %d errors", s.name, mode, r.errors)
	}
	return r, err
}

// buildRevision builds flexapi as it was at rev, from git's archive of it.
func buildRevision(work, rev string) (string, error) {
	src := filepath.Join(work, "old-source")
	if err := os.Mkdir(src, 0o700); err != nil {
		return "", err
	}
	fmt.Printf("building flexapi at %s …\n", rev)
	tarball := src + ".tar"
	for _, args := range [][]string{{"git", "archive", "-o", tarball, rev}, {"tar", "-x", "-f", tarball, "-C", src}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	bin := filepath.Join(work, "flexapi-old")
	build := exec.Command("go", "build", "-o", bin, "./cmd/flexapi")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build at %s: %v\n%s", rev, err, out)
	}
	return bin, nil
}

func reportAB(c config, against string, users int, modes []string, pairs map[string][]round) {
	store := "SQLite"
	if c.postgres != "" {
		store = "PostgreSQL"
	}
	fmt.Printf("\nflexapi ab, %s: the working tree (new) against %s (old), %s, %d users, wrk -t2 -c%d -d%s, %d interleaved pairs\n",
		runTime(), against, store, users, c.connections, c.wrkDuration(), c.rounds)
	fmt.Println(thisMachine())
	fmt.Println("ratios are new/old, medians over the pairs (lowest–highest); CPU is the server's, from /proc")
	fmt.Println()
	t := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "scenario\tnew req/s\told req/s\treq/s new/old\tp99 new/old\tnew CPU a request\told CPU a request\tCPU new/old\t")
	newCPU := func(r round) float64 { return float64(r.run.cpu) }
	oldCPU := func(r round) float64 { return float64(r.baseline.cpu) }
	for _, m := range modes {
		ps := pairs[m]
		fmt.Fprintf(t, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", m,
			median(ps, rps), median(ps, func(r round) float64 { return r.baseline.rps }),
			spanned(ps, ratio), spanned(ps, p99Ratio),
			time.Duration(median(ps, newCPU)).Round(100*time.Nanosecond), time.Duration(median(ps, oldCPU)).Round(100*time.Nanosecond),
			spanned(ps, cpuRatio))
	}
	t.Flush()
}
