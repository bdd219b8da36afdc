package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// bench holds every server of one run, started once and kept up for all
// rounds, and the scenarios measured against them.
type bench struct {
	baseline *process
	servers  []*process
	stores   []*sqlstore.Store // opened beside a server, for the raw update rate
	cleanups []func()
	subjects []*subject
	starts   []startRow
}

// subject is one row of the table: a scenario against one server. Every round
// measures it once, right after a run of the bare baseline, so that each of
// its ratios comes from two runs seconds apart.
type subject struct {
	store, scenario, mode string
	users                 int
	server                *process
	raw                   *sqlstore.Store // for updates: the store's own rate is measured just before, in the same round
	// beside, when set, is run right beside this subject in every round,
	// before it or after it in turn, so that the two compare directly:
	// two runs seconds apart, with no baseline run between them.
	beside *subject
	rounds []round
}

// round is one paired measurement of a subject.
type round struct {
	run, baseline result
	raw           float64 // the raw store's update rate, for updates
	beside        result  // the run of the subject's beside subject, in this round
}

func (b *bench) stop() {
	for _, s := range b.stores {
		s.Close()
	}
	for _, p := range b.servers {
		p.stop()
	}
	if b.baseline != nil {
		b.baseline.stop()
	}
	for _, f := range b.cleanups {
		f()
	}
}

func (b *bench) add(store, scenario, mode string, users int, server *process) *subject {
	s := &subject{store: store, scenario: scenario, mode: mode, users: users, server: server}
	b.subjects = append(b.subjects, s)
	return s
}

// setUp starts the baselines and a server for every store and size, each
// warmed as a server that has run a while is.
func (b *bench) setUp(c config) error {
	var err error
	if b.baseline, err = startBaseline(c, false); err != nil {
		return err
	}
	contract, err := startBaseline(c, true)
	if err != nil {
		return err
	}
	b.servers = append(b.servers, contract)
	b.add("contract", "headers and log line", "fetch", 1000, contract)
	for _, n := range c.sizes {
		if err := b.setUpEmbedded(c, n, n == mainSize(c.sizes)); err != nil {
			return err
		}
	}
	if c.postgres != "" {
		if err := b.setUpPostgres(c, mainSize(c.sizes)); err != nil {
			return err
		}
	}
	if c.prism {
		p, err := startPrism()
		if err != nil {
			return err
		}
		b.servers = append(b.servers, p)
		b.add("prism", "static mock fetch", "fetch", 1000, p)
	}
	if whole, small := b.wholeCache(); whole != nil {
		whole.beside = small
	}
	return nil
}

func (b *bench) setUpEmbedded(c config, n int, everyScenario bool) error {
	db := filepath.Join(c.work, fmt.Sprintf("flexapi-%d.db", n))
	fmt.Printf("embedded store, %d users: importing …\n", n)
	rate, err := prepare(c, db, n)
	if err != nil {
		return err
	}
	if everyScenario {
		// The raw store writes a copy: its writes, another process's, would
		// make the server's cache start over before every round's fetch.
		if err := copyFile(db, db+".raw"); err != nil {
			return err
		}
	}
	if n > sqlstore.DefaultCacheUsers {
		// The server whose cache holds every user reads a copy too, for
		// the same reason: the updates of the other server on the file,
		// when this size has every scenario, would empty its cache.
		if err := copyFile(db, db+".whole"); err != nil {
			return err
		}
	}
	var startups []time.Duration
	for range 3 {
		p, d, err := startServe(c, db)
		if err != nil {
			return err
		}
		p.stop()
		startups = append(startups, d)
	}
	slices.Sort(startups)
	p, err := b.serve(c, db, min(n, sqlstore.DefaultCacheUsers))
	if err != nil {
		return err
	}
	b.starts = append(b.starts, startRow{users: n, importRate: rate, startup: startups[1], server: p})
	if everyScenario {
		b.addEveryScenario("embedded", n, p)
		// The answers that need no store are the same whatever serves users.
		b.add("embedded", "malformed SID", "malformed", n, p)
		b.add("embedded", "405", "not-allowed", n, p)
	} else {
		b.add("embedded", "fetch", "fetch", n, p)
	}
	if n > sqlstore.DefaultCacheUsers {
		// And with a cache that holds every user, as --cache-size allows.
		whole, err := b.serve(c, db+".whole", n, "--cache-size", strconv.Itoa(n))
		if err != nil {
			return err
		}
		b.starts = append(b.starts, startRow{users: n, cache: n, importRate: rate, startup: startups[1], server: whole})
		b.add("embedded", "fetch, whole cache", "fetch", n, whole)
	}
	if !everyScenario {
		return nil
	}
	return b.rawStore(db+".raw", b.subject("embedded", "update"))
}

// addEveryScenario adds fetch, miss, /healthz, update and mixed against p.
func (b *bench) addEveryScenario(store string, n int, p *process) {
	for _, mode := range []string{"fetch", "miss", "healthz", "update", "mixed"} {
		b.add(store, mode, mode, n, p)
	}
}

// subject is the store's subject of that scenario.
func (b *bench) subject(store, scenario string) *subject {
	for _, s := range b.subjects {
		if s.store == store && s.scenario == scenario {
			return s
		}
	}
	return nil
}

// copyFile copies a closed SQLite file (its WAL checkpointed into it).
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// serve starts flexapi serve on db and fetches its first warm users once.
func (b *bench) serve(c config, db string, warmUsers int, flags ...string) (*process, error) {
	p, _, err := startServe(c, db, flags...)
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, p)
	return p, warm(p.url(), warmUsers)
}

// rawStore opens db beside its server, for the update subject's raw rate.
func (b *bench) rawStore(db string, update *subject) error {
	store, err := sqlstore.Open(context.Background(), db)
	if err != nil {
		return err
	}
	b.stores = append(b.stores, store)
	update.raw = store
	return nil
}

func (b *bench) setUpPostgres(c config, n int) error {
	dsn, drop, err := postgresSchema(c.postgres)
	if err != nil {
		return err
	}
	b.cleanups = append(b.cleanups, drop)
	fmt.Printf("postgres, %d users: importing …\n", n)
	if _, err := prepare(c, dsn, n); err != nil {
		return err
	}
	p, _, err := startServe(c, dsn)
	if err != nil {
		return err
	}
	b.servers = append(b.servers, p)
	b.addEveryScenario("postgres", n, p)
	return b.rawStore(dsn, b.subject("postgres", "update"))
}

// measure runs the rounds: in each, every subject once, in a new random
// order, each run right after a run of the bare baseline.
func (b *bench) measure(c config) error {
	for r := range c.rounds {
		fmt.Printf("round %d of %d …\n", r+1, c.rounds)
		for _, i := range rand.Perm(len(b.subjects)) {
			s := b.subjects[i]
			var one round
			var err error
			if one.baseline, err = b.baseline.load(c, "fetch", 1000); err != nil {
				return err
			}
			if s.raw != nil {
				if one.raw, err = rawUpdateRate(c, s.raw, s.users); err != nil {
					return err
				}
			}
			if one.run, one.beside, err = s.loadBeside(c, r%2 == 1); err != nil {
				return err
			}
			s.rounds = append(s.rounds, one)
		}
	}
	return nil
}

// load runs s's scenario once against its server.
func (s *subject) load(c config) (result, error) { return s.server.load(c, s.mode, s.users) }

// loadBeside runs s, and its beside subject when it has one, that one
// first when besideFirst.
func (s *subject) loadBeside(c config, besideFirst bool) (run, beside result, err error) {
	if s.beside != nil && besideFirst {
		if beside, err = s.beside.load(c); err != nil {
			return run, beside, err
		}
	}
	if run, err = s.load(c); err != nil || s.beside == nil || besideFirst {
		return run, beside, err
	}
	beside, err = s.beside.load(c)
	return run, beside, err
}

// startBaseline starts the bare baseline, or with contract the baseline that
// also does the wire contract's per-response work (bench/baseline.go).
func startBaseline(c config, contract bool) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	size := len(sampleRepresentation())
	args := []string{"baseline", addr, base64.StdEncoding.EncodeToString([]byte(account + ":" + token)), strconv.Itoa(size)}
	if contract {
		args = append(args, "contract")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, addr: addr}
	if _, err := waitReady(p.url() + "/"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// rawUpdateRate is the store's own update rate, with as many concurrent
// writers as the load generator has connections: the ceiling for updates
// through HTTP.
func rawUpdateRate(c config, store *sqlstore.Store, n int) (float64, error) {
	var done, failed atomic.Int64
	deadline := time.Now().Add(c.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				k := rand.IntN(n)
				email := fmt.Sprintf("raw%d-%d-%d@example.com", w, i, k)
				key := flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: fmt.Sprintf("FU%032x", k)}
				if _, err := store.UpdateUser(context.Background(), key, flexapi.UserUpdate{Email: &email}); err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("raw store update: %d of %d failed", f, f+done.Load())
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// median of the figures that f picks from each round.
func median(rounds []round, f func(round) float64) float64 {
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// spanned is the median of f over the rounds, with its lowest and highest.
func spanned(rounds []round, f func(round) float64) string {
	lo, hi := f(rounds[0]), f(rounds[0])
	for _, r := range rounds[1:] {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", median(rounds, f), lo, hi)
}

func ratio(r round) float64    { return r.run.rps / r.baseline.rps }
func p99Ratio(r round) float64 { return float64(r.run.p99) / float64(r.baseline.p99) }
func cpuRatio(r round) float64 { return float64(r.run.cpu) / float64(r.baseline.cpu) }
func rps(r round) float64      { return r.run.rps }

// besideRatio and besideCPURatio compare a run with its beside subject's run
// in the same round.
func besideRatio(r round) float64    { return r.run.rps / r.beside.rps }
func besideCPURatio(r round) float64 { return float64(r.run.cpu) / float64(r.beside.cpu) }

func (b *bench) report(c config) error {
	var all []round // every baseline run, for its own row
	for _, s := range b.subjects {
		for _, r := range s.rounds {
			all = append(all, round{run: r.baseline})
		}
	}
	contract := b.subjects[0]
	fmt.Printf("\nflexapi bench, %s, wrk -t2 -c%d -d%s, %d rounds, %d cores\n", runTime(), c.connections, c.wrkDuration(), c.rounds, numCPU())
	fmt.Println(thisMachine())
	fmt.Println("figures are medians over the rounds; a ratio is the median of a run against the baseline run just before it (lowest–highest round)")
	fmt.Println("CPU a request is the server process's own, from /proc (PostgreSQL's is not counted)")
	fmt.Println()
	t := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "store\tusers\tscenario\treq/s\tp50\tp99\terrors\t× baseline\t× contract\tp99 × baseline\tCPU a request\tCPU × baseline\t")
	row := func(store string, users int, scenario string, rounds []round, vsBaseline, vsContract, p99, cpuVsBaseline string) {
		errs := 0
		for _, r := range rounds {
			errs += r.run.errors
		}
		p50, p99th, cpu := "-", "-", "-"
		if rounds[0].run.p50 > 0 { // the raw store's rate has no latencies
			p50 = time.Duration(median(rounds, func(r round) float64 { return float64(r.run.p50) })).Round(time.Microsecond).String()
			p99th = time.Duration(median(rounds, func(r round) float64 { return float64(r.run.p99) })).Round(time.Microsecond).String()
			cpu = time.Duration(median(rounds, func(r round) float64 { return float64(r.run.cpu) })).Round(100 * time.Nanosecond).String()
		}
		fmt.Fprintf(t, "%s\t%d\t%s\t%.0f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", store, users, scenario, median(rounds, rps), p50, p99th,
			errs, vsBaseline, vsContract, p99, cpu, cpuVsBaseline)
	}
	row("baseline", 1000, "net/http constant", all, "-", "-", "-", "-")
	for _, s := range b.subjects {
		vsBaseline := spanned(s.rounds, ratio)
		vsContract := "-"
		if s != contract {
			vsContract = fmt.Sprintf("%.2f", median(against(s, contract), ratio))
		}
		p99 := fmt.Sprintf("%.2f", median(s.rounds, p99Ratio))
		cpu := fmt.Sprintf("%.2f", median(s.rounds, cpuRatio))
		if s.raw != nil {
			row(s.store, s.users, "raw store update", rawRounds(s), "-", "-", "-", "-")
			vsRaw := func(r round) float64 { return r.run.rps / r.raw }
			vsBaseline, vsContract, p99, cpu = spanned(s.rounds, vsRaw)+" × raw store", "-", "-", "-"
		}
		row(s.store, s.users, s.scenario, s.rounds, vsBaseline, vsContract, p99, cpu)
	}
	t.Flush()
	b.reportWholeCache()
	fmt.Println()
	t = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "users\tcache\timport users/s\tstart-up to ready (median of 3)\tresident memory after the rounds\treads from the cache in the rounds\tread from the disk in the rounds\t")
	for _, s := range b.starts {
		cache := "default"
		if s.cache > 0 {
			cache = strconv.Itoa(s.cache)
		}
		after, err := s.server.reads()
		if err != nil {
			return err
		}
		fmt.Fprintf(t, "%d\t%s\t%.0f\t%s\t%.1f MiB\t%.1f %%\t%.1f MiB\t\n", s.users, cache, s.importRate, s.startup.Round(100*time.Microsecond),
			s.server.rssMiB(), 100*after.cache.hitRate(s.before.cache), after.diskMiB-s.before.diskMiB)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Println(reclaimNote(damonAdmin))
	return nil
}

// wholeCache is the subject of fetch with a cache that holds every user,
// and fetch at the smallest size, which it is measured against; nil when
// the run has not both.
func (b *bench) wholeCache() (whole, small *subject) {
	for _, s := range b.subjects {
		switch {
		case s.scenario == "fetch, whole cache":
			whole = s
		case s.store == "embedded" && s.scenario == "fetch" && (small == nil || s.users < small.users):
			small = s
		}
	}
	if whole == nil || small == nil {
		return nil, nil
	}
	return whole, small
}

// reportWholeCache prints fetch with a cache that holds every user against
// fetch at the smallest size: as the median of the pairs of runs side by
// side in each round, and as the two subjects' ratios to their own
// baseline runs, which compounds the noise of four runs.
func (b *bench) reportWholeCache() {
	whole, small := b.wholeCache()
	if whole == nil || len(whole.rounds) != len(small.rounds) {
		return
	}
	fmt.Printf("\nfetch at %d users, cache holding all: %s × fetch at %d users run beside it in each round (CPU a request %.2f×);\n",
		whole.users, spanned(whole.rounds, besideRatio), small.users, median(whole.rounds, besideCPURatio))
	fmt.Printf("  %s as the ratio of their ratios to their own baseline runs\n", spanned(against(whole, small), ratio))
}

// against pairs each round of s with the same round of yardstick, each as
// its ratio to its own bare baseline run.
func against(s, yardstick *subject) []round {
	out := make([]round, len(s.rounds))
	for i, r := range s.rounds {
		out[i] = round{run: result{rps: ratio(r)}, baseline: result{rps: ratio(yardstick.rounds[i])}}
	}
	return out
}

func rawRounds(s *subject) []round {
	out := make([]round, len(s.rounds))
	for i, r := range s.rounds {
		out[i] = round{run: result{rps: r.raw}}
	}
	return out
}
