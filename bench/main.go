// Command bench measures flexapi against a bare net/http server in one run,
// with the same load generator (wrk), settings and credentials, and prints
// the ratios. The machine is shared and noisy: read the ratios, not the
// absolute figures.
//
//	go run ./bench [-sizes 1000,100000,1000000] [-rounds 5] [-duration 2s] [-warm-up 0s] [-connections 64]
//	               [-postgres postgres://…] [-prism]
//	go run ./bench soak [-minutes 10] [-rate 2000] [-users 10000]
//	go run ./bench ab [-against HEAD] [-users 100000] [-rounds 5] [-postgres postgres://…]
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	account  = "AC0000000000000000000000000000be01"
	instance = "GO0000000000000000000000000000be01"
	token    = "0123456789abcdef0123456789abcdef"
)

type config struct {
	sizes       []int
	duration    time.Duration
	warmUp      time.Duration // an unmeasured run before each measured one
	rounds      int
	connections int
	postgres    string
	prism       bool
	work        string   // scratch folder
	flexapi     string   // the built binary
	env         []string // added to the environment of every serve started, as KEY=VALUE
}

func main() {
	if (len(os.Args) == 5 || len(os.Args) == 6) && os.Args[1] == "baseline" {
		serveBaseline(os.Args[2], os.Args[3], os.Args[4], len(os.Args) == 6 && os.Args[5] == "contract")
		return
	}
	subcommands := map[string]func([]string) error{"soak": runSoak, "ab": runAB}
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		if err := subcommands[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var c config
	sizes := flag.String("sizes", "1000,100000,1000000", "numbers of users to measure with")
	flag.DurationVar(&c.duration, "duration", 2*time.Second, "length of each load run, in whole seconds")
	flag.DurationVar(&c.warmUp, "warm-up", warmUpRun, "length of the unmeasured run of the same scenario before each load run (0: none)")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds: each measures every scenario once, each run right after a run of the baseline")
	flag.IntVar(&c.connections, "connections", 64, "concurrent connections of the load generator")
	flag.StringVar(&c.postgres, "postgres", "", "also measure over this PostgreSQL database (a schema of its own is made and dropped)")
	flag.BoolVar(&c.prism, "prism", false, "also measure Stoplight Prism mocking flexapi's OpenAPI document (installed with npm ci in "+prismDir+")")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		c.sizes = append(c.sizes, n)
	}
	if c.rounds < 1 {
		return errors.New("-rounds: at least one")
	}
	if err := c.checkRunLengths(); err != nil {
		return err
	}
	if err := ensureWrk(); err != nil {
		return err
	}
	cleanup, err := c.workspace("flexapi-bench-")
	if err != nil {
		return err
	}
	defer cleanup()

	var b bench
	defer b.stop()
	if err := b.setUp(c); err != nil {
		return err
	}
	for i := range b.starts {
		if b.starts[i].before, err = b.starts[i].server.reads(); err != nil {
			return err
		}
	}
	if err := b.measure(c); err != nil {
		return err
	}
	return b.report(c)
}

// workspace makes a scratch folder with a freshly built flexapi in it, and
// returns what removes it.
func (c *config) workspace(prefix string) (cleanup func(), err error) {
	if c.work, err = os.MkdirTemp("", prefix); err != nil {
		return nil, err
	}
	cleanup = func() { os.RemoveAll(c.work) }
	c.flexapi = filepath.Join(c.work, "flexapi")
	fmt.Println("building flexapi …")
	if b, err := exec.Command("go", "build", "-o", c.flexapi, "./cmd/flexapi").CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("go build: %v\n%s (run bench from the repository's root)", err, b)
	}
	return cleanup, nil
}

// checkRunLengths refuses a run length wrk cannot take: it counts in whole
// seconds, and 500ms would otherwise fail only once the servers are up, with
// wrk's usage text.
func (c config) checkRunLengths() error {
	if err := wholeSeconds("-duration", c.duration); err != nil {
		return err
	}
	if c.warmUp == 0 { // no warm-up
		return nil
	}
	return wholeSeconds("-warm-up", c.warmUp)
}

// wrkDuration is the run length as wrk takes it, and as reports print it:
// whole seconds (90s, where Go would write 1m30s).
func (c config) wrkDuration() string { return strconv.Itoa(int(c.duration/time.Second)) + "s" }

func wholeSeconds(flag string, d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return fmt.Errorf("%s %v: wrk runs for whole seconds (1s, 2s, 1m30s …)", flag, d)
	}
	return nil
}

// mainSize is the size at which every scenario runs: 100,000 when asked for.
func mainSize(sizes []int) int {
	if slices.Contains(sizes, 100_000) {
		return 100_000
	}
	return sizes[len(sizes)/2]
}

func ensureWrk() error {
	if _, err := exec.LookPath("wrk"); err == nil {
		return nil
	}
	fmt.Println("wrk is missing: installing it with apt-get …")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "wrk"}} {
		if out, err := exec.Command("apt-get", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// result is one load run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	requests int
	cpu      time.Duration // the server process's CPU a request (not PostgreSQL's), when measured
}

// startRow is a server's start-up, memory and cache.
type startRow struct {
	users      int
	cache      int // --cache-size, or 0 for the default
	importRate float64
	startup    time.Duration
	server     *process
	before     reads // when the rounds began
}

// wrkRun drives url with the scenario for the configured time; load has
// probed it first.
func wrkRun(c config, url, mode string, users int) (result, error) {
	script := filepath.Join(c.work, "bench.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return result{}, err
	}
	cmd := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(c.connections), "-d"+c.wrkDuration(), "--latency", "-s", script, url)
	nonce := strconv.Itoa(rand.IntN(1 << 30)) // see wrkScript
	cmd.Env = append(os.Environ(), "BENCH_USERS="+strconv.Itoa(users), "BENCH_INSTANCE="+instance, "BENCH_MODE="+mode, "BENCH_NONCE="+nonce,
		"BENCH_AUTH="+base64.StdEncoding.EncodeToString([]byte(account+":"+token)))
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "{") {
			line = l
		}
	}
	var w struct {
		Requests     int     `json:"requests"`
		Seconds      float64 `json:"seconds"`
		P50us        int64   `json:"p50_us"`
		P99us        int64   `json:"p99_us"`
		SocketErrors int     `json:"socket_errors"`
		StatusErrors int     `json:"status_errors"`
	}
	if err := json.Unmarshal([]byte(line), &w); err != nil {
		return result{}, fmt.Errorf("wrk printed no figures: %s", out)
	}
	// wrk counts the answers of 400 and up. Where every answer is a 404 or
	// a 405 by design, the errors are the answers below 400; probe checked
	// that the answer is the right one.
	errs := w.SocketErrors + w.StatusErrors
	if want := expectedStatus[mode]; want >= 400 {
		errs = w.SocketErrors + w.Requests - w.StatusErrors
	}
	return result{rps: float64(w.Requests) / w.Seconds, requests: w.Requests,
		p50: time.Duration(w.P50us) * time.Microsecond, p99: time.Duration(w.P99us) * time.Microsecond, errors: errs}, nil
}

// expectedStatus is the status of every answer of the modes whose answers
// are all alike (an update or a mixed run changes what it reads).
var expectedStatus = map[string]int{"fetch": http.StatusOK, "healthz": http.StatusOK, "miss": http.StatusNotFound,
	"malformed": http.StatusNotFound, "not-allowed": http.StatusMethodNotAllowed}

// probe sends one request of mode, as the load script does, and checks its
// status: wrk counts answers of 400 and up alike, so that a run of 404s that
// became 401s or 500s would pass for one that did not.
func probe(url, mode string, users int) error {
	want, ok := expectedStatus[mode]
	if !ok {
		return nil
	}
	method, path := http.MethodGet, fmt.Sprintf("/v2/Instances/%s/Users/FU%032x", instance, 0)
	switch mode {
	case "miss":
		path = fmt.Sprintf("/v2/Instances/%s/Users/FU%032x", instance, users)
	case "healthz":
		path = "/healthz"
	case "malformed":
		path = fmt.Sprintf("/v2/Instances/%s/Users/FU%d", instance, 0)
	case "not-allowed":
		method = http.MethodDelete
	}
	req, err := http.NewRequest(method, url+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(account, token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s%s answered %s; the %s scenario expects %d", method, url, path, res.Status, mode, want)
	}
	return nil
}

// warmUpRun is how long the unmeasured run before each load run lasts by
// default: none. In a run of bench every server idles a minute or more
// between its runs, and on one machine the first seconds after such an idle
// cost the 1,000,000-user server more CPU a request than the seconds after;
// -warm-up takes that out of the figures where it shows. On the next
// machine it did not show (the README's Performance section gives both), so
// runs stay comparable with earlier ones by default.
const warmUpRun = 0

// load checks one request of the scenario, drives the process with it for
// the configured time, after an unmeasured run of c.warmUp, and notes the
// CPU it spent a request.
func (p *process) load(c config, mode string, users int) (result, error) {
	if err := probe(p.url(), mode, users); err != nil {
		return result{}, err
	}
	if c.warmUp > 0 {
		warm := c
		warm.duration = c.warmUp
		if _, err := wrkRun(warm, p.url(), mode, users); err != nil {
			return result{}, err
		}
	}
	before, err := p.cpuTime()
	if err != nil {
		return result{}, err
	}
	r, err := wrkRun(c, p.url(), mode, users)
	if err != nil {
		return result{}, err
	}
	after, err := p.cpuTime()
	if err != nil {
		return result{}, err
	}
	if r.requests > 0 {
		r.cpu = (after - before) / time.Duration(r.requests)
	}
	return r, nil
}

// process is a server that bench started and will stop.
type process struct {
	cmd  *exec.Cmd
	addr string
}

func (p *process) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func (p *process) url() string { return "http://" + p.addr }

// rssMiB is the resident memory of the process now.
func (p *process) rssMiB() float64 {
	status, err := p.procFile("status")
	if err != nil {
		return 0
	}
	rss, _ := procField(status, "VmRSS")
	kb, _ := strconv.ParseFloat(strings.TrimSuffix(rss, " kB"), 64)
	return kb / 1024
}

// procFile reads the process's file name under /proc.
func (p *process) procFile(name string) ([]byte, error) {
	return os.ReadFile(fmt.Sprintf("/proc/%d/%s", p.cmd.Process.Pid, name))
}

// procField is the value of the line "key: value" of a /proc file such as
// status, io or cpuinfo (whose keys are padded with tabs before the colon).
func procField(file []byte, key string) (string, bool) {
	for _, line := range strings.Split(string(file), "\n") {
		if k, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(value), true
		}
	}
	return "", false
}

// cpuTime is the user and system CPU the process has used, from /proc.
// Linux counts it in clock ticks of 1/100 s (USER_HZ) on every platform Go
// supports.
func (p *process) cpuTime() (time.Duration, error) {
	b, err := p.procFile("stat")
	if err != nil {
		return 0, err
	}
	// The fields after the command's name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", p.cmd.Process.Pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// diskReadMiB is what the process has had read from the disk for it so far
// (read_bytes of /proc/PID/io): its reads of files that were not in the
// system's memory.
func (p *process) diskReadMiB() (float64, error) {
	b, err := p.procFile("io")
	if err != nil {
		return 0, err
	}
	n, err := readBytes(b)
	return float64(n) / (1 << 20), err
}

// readBytes is the read_bytes field of a /proc/PID/io.
func readBytes(io []byte) (int64, error) {
	n, ok := procField(io, "read_bytes")
	if !ok {
		return 0, errors.New("no read_bytes in /proc/PID/io")
	}
	return strconv.ParseInt(n, 10, 64)
}

// reads are where a server's reads have gone so far: to its cache or past
// it, and to the disk.
type reads struct {
	cache   cacheCounts
	diskMiB float64
}

func (p *process) reads() (reads, error) {
	cache, err := p.cacheCounts()
	if err != nil {
		return reads{}, err
	}
	disk, err := p.diskReadMiB()
	return reads{cache: cache, diskMiB: disk}, err
}

// cacheCounts are a server's cache hits and misses so far, from its metrics.
type cacheCounts struct{ hits, misses float64 }

func (p *process) cacheCounts() (cacheCounts, error) {
	res, err := http.Get(p.url() + "/metrics")
	if err != nil {
		return cacheCounts{}, err
	}
	defer res.Body.Close()
	var c cacheCounts
	found := 0
	scanner := bufio.NewScanner(res.Body)
	for scanner.Scan() {
		name, v, _ := strings.Cut(scanner.Text(), " ")
		switch name {
		case "flexapi_cache_hits_total":
			c.hits, err = strconv.ParseFloat(v, 64)
		case "flexapi_cache_misses_total":
			c.misses, err = strconv.ParseFloat(v, 64)
		default:
			continue
		}
		if err != nil {
			return c, err
		}
		found++
	}
	if found != 2 {
		return c, fmt.Errorf("%s/metrics shows no cache counters", p.url())
	}
	return c, scanner.Err()
}

// hitRate is the share of reads answered from the cache since before.
func (c cacheCounts) hitRate(before cacheCounts) float64 {
	hits, misses := c.hits-before.hits, c.misses-before.misses
	return hits / (hits + misses)
}

func serveBaseline(addr, auth, size string, contract bool) {
	n, _ := strconv.Atoi(size)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, runBaseline(ln, auth, n, contract))
}

// sampleRepresentation is a generated user's body, for the baseline's size.
func sampleRepresentation() string {
	return fmt.Sprintf(`{"account_sid":"%s","instance_sid":"%s","user_sid":"US%032x","flex_user_sid":"FU%032x","worker_sid":"WK%032x","workspace_sid":null,"flex_team_sid":null,"username":"agent12345","email":"agent12345@example.com","locale":"en-US","roles":["agent"],"created_date":"2026-11-27T06:00:00Z","updated_date":"2026-11-27T06:00:00Z","version":0,"url":"http://127.0.0.1:40000/v2/Instances/%s/Users/FU%032x"}`,
		account, instance, 12345, 12345, 12345, instance, 12345)
}

// prepare makes a store at db holding n generated users, through the
// flexapi command, and returns the import rate.
func prepare(c config, db string, n int) (float64, error) {
	for _, args := range [][]string{
		{"migrate", "--db", db}, // the admin commands refuse a store that does not exist yet
		{"accounts", "create", "--db", db, "--sid", account, "--auth-token", token},
		{"instances", "create", "--db", db, "--account", account, "--sid", instance},
	} {
		if out, err := exec.Command(c.flexapi, args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("flexapi %s: %v\n%s", args[0], err, out)
		}
	}
	file := filepath.Join(c.work, fmt.Sprintf("users-%d.jsonl", n))
	if err := generate(file, n); err != nil {
		return 0, err
	}
	start := time.Now()
	if out, err := exec.Command(c.flexapi, "import", "--db", db, "--instance", instance, file).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("flexapi import: %v\n%s", err, out)
	}
	rate := float64(n) / time.Since(start).Seconds()
	return rate, os.Remove(file)
}

func generate(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		fmt.Fprintf(w, `{"flex_user_sid":"FU%032x","user_sid":"US%032x","worker_sid":"WK%032x","username":"agent%d","email":"agent%d@example.com","locale":"en-US","roles":["agent"]}`+"\n", i, i, i, i, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// startServe starts `flexapi serve` on db and returns it once /readyz says
// ready, with the time that took.
func startServe(c config, db string, flags ...string) (*process, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(c.flexapi, append([]string{"serve", "--db", db, "--addr", addr, "--log-format", "json"}, flags...)...)
	cmd.Stdout, cmd.Stderr = nil, nil // the null device: the log is written, as in production, and dropped
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &process{cmd: cmd, addr: addr}
	if _, err := waitReady(p.url() + "/readyz"); err != nil {
		p.stop()
		return nil, 0, err
	}
	return p, time.Since(start), nil
}

// freeAddr is a loopback address with a port free now, for a server to
// listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(url string) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		if res, err := client.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, errors.New(url + " did not answer within 30 s")
}

// warm fetches users 0 … n-1 once each, as a server that has run for a while
// has: the embedded store's cache then holds them (with the default size, at
// most DefaultCacheUsers of them).
func warm(base string, n int) error {
	fmt.Printf("  fetching %d users once …\n", n)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(account+":"+token))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var next atomic.Int64
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/Instances/%s/Users/FU%032x", base, instance, i), nil)
				req.Header.Set("Authorization", auth)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("warm-up fetch of user %d: %s", i, res.Status)
					return
				}
			}
			errs <- nil
		}()
	}
	var err error
	for range 16 {
		err = errors.Join(err, <-errs)
	}
	return err
}
