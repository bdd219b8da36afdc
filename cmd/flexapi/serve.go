package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/control"
	"github.com/flexapi/flexapi/fixture"
	"github.com/flexapi/flexapi/internal/heapfloor"
	"github.com/flexapi/flexapi/internal/lazydeadline"
	"github.com/flexapi/flexapi/metrics"
	"github.com/flexapi/flexapi/sqlstore"
)

// Server limits: generous for any real client, tight enough that a slow or
// stuck one cannot hold a connection for long.
const (
	readHeaderTimeout = 5 * time.Second // the default of --read-header-timeout
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 32 << 10
)

// defaultHeapFloorMiB lets a small heap grow to 64 MiB between collections
// (internal/heapfloor), as a server's would that holds a cache of some
// 30,000 users anyway.
const defaultHeapFloorMiB = 64

// serveOptions are serve's flags, parsed; api holds the handler's part.
type serveOptions struct {
	addr, db, seed, logFormat      string
	adminToken, adminAddr          string
	journalSize, cacheUsers        int
	heapFloorMiB                   int
	tlsCert, tlsKey                string
	opsAddr, pprofAddr             string
	demo                           bool
	headerTimeout, shutdownTimeout time.Duration
	api                            api.Config
}

func parseServe(e *env, args []string) (serveOptions, error) {
	var o serveOptions
	var corsOrigins string
	fs := newFlags("serve", e)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.db, "db", "flexapi.db", dbUsage)
	fs.StringVar(&o.api.PublicURL, "public-url", "", "base URL of resource urls, e.g. https://flex-api.twilio.com (default: the request's scheme and host)")
	fs.BoolVar(&o.demo, "demo", false, "add the reference page's example account, instance and user if absent")
	fs.Bool("strict", false, "no effect any more: flexapi serves only Twilio's routes (kept so that scripts that pass it still start)")
	fs.IntVar(&o.cacheUsers, "cache-size", sqlstore.DefaultCacheUsers, "users an embedded store keeps in memory, checked against every commit to the file by any process (0: off; PostgreSQL keeps none)")
	fs.StringVar(&o.seed, "seed", "", "a YAML or JSON file of accounts, keys, instances and users to ensure at start-up")
	fs.StringVar(&corsOrigins, "cors-origins", "*", "comma-separated origins that browsers may call from, or *")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.Int64Var(&o.api.MaxBodyBytes, "max-body-bytes", api.DefaultMaxBodyBytes, "largest accepted request body")
	fs.DurationVar(&o.api.StoreTimeout, "store-timeout", api.DefaultStoreTimeout, "longest a request may wait on the store before it gets 503")
	fs.DurationVar(&o.api.CredentialTTL, "credential-cache", api.DefaultCredentialTTL, "how long a verified credential is trusted without the store (the longest a revoked one may still work); negative turns it off")
	fs.DurationVar(&o.headerTimeout, "read-header-timeout", readHeaderTimeout, "time a client has to send its request's headers; slower ones are cut off")
	fs.IntVar(&o.api.MaxInFlight, "max-in-flight", 1024, "requests served at once; past it, 503 at once (0: no cap)")
	fs.IntVar(&o.api.MaxInFlightPerAccount, "max-in-flight-per-account", 256, "requests one account may have in flight at once; past it, 429 (0: no cap)")
	fs.DurationVar(&o.api.BodyTimeout, "read-body-timeout", api.DefaultBodyTimeout, "time a client has to send a request's body; slower ones are cut off with 400")
	fs.Float64Var(&o.api.RateLimit, "rate-limit", 0, "each account's sustained requests a second; past it, 429 (0: off)")
	fs.IntVar(&o.api.RateBurst, "rate-burst", 100, "requests an account may make at once above --rate-limit")
	fs.Float64Var(&o.api.AuthFailures, "auth-failures", 1, "failed authentications a second from one client address with one username, after a burst of 10; past it, those failures get 429 (0: off)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS (and HTTP/2) with this certificate (PEM), e.g. from flexapi cert")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	fs.StringVar(&o.adminToken, "admin-token", "", "turns on the control plane (/_flexapi/) for requests with Authorization: Bearer TOKEN (--demo makes one when empty)")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "serve the control plane on this address instead of the API's")
	fs.IntVar(&o.journalSize, "journal-size", control.DefaultJournalSize, "requests the control plane's journal keeps")
	fs.StringVar(&o.opsAddr, "ops-addr", "", "serve /healthz, /readyz and /metrics on this address instead of the API's (off when empty)")
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty")
	fs.IntVar(&o.heapFloorMiB, "heap-floor-mib", defaultHeapFloorMiB, "MiB the heap may grow to before the garbage collector runs, however little is live (0: Go's own 4); at most a quarter of GOMEMLIMIT or of a cgroup's memory limit, and off when GOGC is set")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to let requests in flight finish on SIGINT/SIGTERM")
	if err := parse(fs, e, args, allFromEnv); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	if o.heapFloorMiB < 0 {
		return o, usageError{fmt.Errorf("--heap-floor-mib %d: want 0 or more", o.heapFloorMiB)}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if err := checkPublicURL(o.api.PublicURL); err != nil {
		return o, err
	}
	if o.demo && o.adminToken == "" {
		o.adminToken = flexapi.NewSecret()
	}
	if o.adminAddr != "" && o.adminToken == "" {
		return o, usageError{errors.New("--admin-addr needs --admin-token")}
	}
	o.api.CORSOrigins = splitList(corsOrigins)
	o.api.SeparateOperations = o.opsAddr != ""
	return o, nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	o, err := parseServe(e, args)
	if err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, o.logFormat)
	if err != nil {
		return err
	}
	defer heapfloor.Keep(uint64(o.heapFloorMiB) << 20)()
	tlsConfig, err := o.tlsConfig()
	if err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, o.db, sqlstore.CacheUsers(o.cacheUsers))
	if err != nil {
		return err
	}
	defer store.Close()
	if o.cacheUsers > 0 && store.CacheSize() == 0 && !sqlstore.IsPostgres(o.db) {
		logger.Warn("no user cache: every fetch reads the database", "reason", store.CacheOff())
	}
	demoToken, ensureState, err := startState(ctx, e, store, o, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	ln = lazydeadline.Listener(ln) // the timeouts below, without a runtime timer moved for each

	m := metrics.New(buildInfo())
	if store.CacheSize() > 0 {
		m.ObserveCache(store.CacheStats)
	}
	instrumented := m.Store(store)
	o.api.Logger, o.api.Observer, o.api.Metrics = logger, m, m.Handler()
	o.api.AccessLog = api.NewAccessLog(e.stderr, o.logFormat, m.LogLineDropped)
	defer o.api.AccessLog.Close() // after the server has stopped: every line of it is written
	if o.adminToken != "" {
		plane := o.controlPlane(store, ensureState, logger)
		if o.adminAddr == "" {
			o.api.Admin = plane
		} else {
			stop, err := serveOperations(o.adminAddr, plane, logger)
			if err != nil {
				return fmt.Errorf("--admin-addr: %w", err)
			}
			defer stop()
		}
	}
	srv := &http.Server{
		Handler:           api.NewHandler(instrumented, o.api),
		ReadHeaderTimeout: o.headerTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// OPTIONS * reaches the handler, which answers it like any unknown
		// path, instead of Go's empty 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:                  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:                    tlsConfig,
	}
	if o.opsAddr != "" {
		stop, err := serveOperations(o.opsAddr, api.OperationsHandler(instrumented, o.api), logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.pprofAddr != "" {
		stop, err := startProfiler(o.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	// One write: whoever waits for the listening line has the demo's lines too.
	var banner strings.Builder
	fmt.Fprintf(&banner, "flexapi listening on %s://%s (store %s)\n", scheme, ln.Addr(), sqlstore.Redact(o.db))
	if o.demo {
		printDemo(&banner, scheme, ln.Addr(), demoToken, o.adminToken, o.caFile())
	}
	io.WriteString(e.stdout, banner.String())
	logger.Info("listening", "addr", ln.Addr().String(), "db", sqlstore.Redact(o.db), "cache_users", store.CacheSize())
	return serveUntilDone(ctx, srv, ln, o.shutdownTimeout, logger)
}

// checkPublicURL accepts an absolute http or https URL with no query or
// fragment: the base that resource urls start with.
func checkPublicURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return usageError{fmt.Errorf("--public-url %q: want an http:// or https:// URL such as https://flex-api.twilio.com, with no query", v)}
	}
	return nil
}

// controlPlane makes the journal and the faults that the API feeds and
// the control plane shows, and the control plane's handler.
func (o *serveOptions) controlPlane(store *sqlstore.Store, ensureState func(context.Context) error, logger *slog.Logger) http.Handler {
	journal, faults := control.NewJournal(o.journalSize), &control.Faults{}
	o.api.Journal, o.api.Faults = journal, faults
	return control.Handler(control.Config{Token: o.adminToken, Store: store, Journal: journal, Faults: faults,
		StartState: ensureState, PublicURL: o.api.PublicURL, Logger: logger})
}

// caFile is where flexapi cert put the CA of --tls-cert, if it did.
func (o serveOptions) caFile() string {
	ca := filepath.Join(filepath.Dir(o.tlsCert), "ca.pem")
	if _, err := os.Stat(ca); err != nil {
		return "CA.pem"
	}
	return ca
}

func (o serveOptions) tlsConfig() (*tls.Config, error) {
	if o.tlsCert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// startState makes the store hold what the environment, --seed and --demo
// ask for. It returns the demo token to show, and the function that does it
// again on an emptied store (the control plane's reset), with the same seed
// and the same demo token.
func startState(ctx context.Context, e *env, store *sqlstore.Store, o serveOptions, logger *slog.Logger) (shown string, ensure func(context.Context) error, err error) {
	var seed *flexapi.Seed
	if o.seed != "" {
		s, err := fixture.ReadSeed(o.seed)
		if err != nil {
			return "", nil, err
		}
		seed = &s
	}
	token, fromEnv := e.getenv("TWILIO_AUTH_TOKEN"), true
	if token == "" {
		token, fromEnv = flexapi.NewSecret(), false
	}
	ensure = func(ctx context.Context) error {
		if err := ensureEnvAccount(ctx, e, store, logger); err != nil {
			return err
		}
		if seed != nil {
			res, err := applySeed(ctx, store, *seed)
			if err != nil {
				return err
			}
			logger.Info("seed applied", "file", o.seed, "users_inserted", res.Users.Inserted, "users_updated", res.Users.Updated, "users_unchanged", res.Users.Unchanged)
			for _, g := range res.Generated {
				fmt.Fprintf(e.stdout, "The seed named no secret for %s; it has this one, shown only now: %s\n", g.SID, g.Secret)
			}
		}
		if o.demo {
			return ensureDemo(ctx, store, token, fromEnv)
		}
		return nil
	}
	shown = token
	if fromEnv {
		shown = "$TWILIO_AUTH_TOKEN"
	}
	return shown, ensure, ensure(ctx)
}

// serveUntilDone serves until ctx ends, then lets requests in flight finish
// for up to timeout.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig; HTTP/2 is offered by ALPN
			return
		}
		served <- srv.Serve(ln)
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format must be text or json, not %q", format)}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ensureEnvAccount makes TWILIO_ACCOUNT_SID exist with TWILIO_AUTH_TOKEN, so
// that an application configured for Twilio works unchanged.
func ensureEnvAccount(ctx context.Context, e *env, store *sqlstore.Store, logger *slog.Logger) error {
	sid, token := e.getenv("TWILIO_ACCOUNT_SID"), e.getenv("TWILIO_AUTH_TOKEN")
	if sid == "" || token == "" {
		return nil
	}
	canonical, ok := flexapi.ParseSID(flexapi.AccountPrefix, sid)
	if !ok {
		return fmt.Errorf("TWILIO_ACCOUNT_SID %q is not an account SID (AC and 32 hex digits)", sid)
	}
	if err := checkToken("TWILIO_AUTH_TOKEN", token); err != nil {
		return err
	}
	created, err := ensureAccount(ctx, store, canonical, token, "from TWILIO_ACCOUNT_SID")
	if err != nil {
		return err
	}
	logger.Info("account from environment ready", "account_sid", canonical, "created", created)
	v := e.getenv("FLEXAPI_INSTANCE_SID")
	if v == "" {
		return nil
	}
	instance, ok := flexapi.ParseSID(flexapi.InstancePrefix, v)
	if !ok {
		return usageError{fmt.Errorf("FLEXAPI_INSTANCE_SID %q is not an instance SID (GO and 32 hex digits)", v)}
	}
	err = store.CreateInstance(ctx, &flexapi.Instance{SID: instance, AccountSID: canonical})
	if flexapi.ErrorCode(err) == flexapi.ECONFLICT {
		in, ierr := store.Instance(ctx, instance)
		if ierr != nil {
			return ierr
		}
		if in.AccountSID != canonical {
			return fmt.Errorf("FLEXAPI_INSTANCE_SID %s belongs to account %s, not TWILIO_ACCOUNT_SID %s", instance, in.AccountSID, canonical)
		}
		err = nil
	}
	return err
}

// ensureAccount creates the account if absent, or makes token its primary
// auth token if neither of its tokens is token already. A replica that
// starts at the same moment may create the account first: then it is
// checked again.
func ensureAccount(ctx context.Context, store *sqlstore.Store, sid, token, name string) (created bool, err error) {
	for try := 0; ; try++ {
		cred, err := store.Credential(ctx, sid)
		switch {
		case flexapi.ErrorCode(err) == flexapi.ENOTFOUND:
			err = store.CreateAccount(ctx, &flexapi.Account{SID: sid, FriendlyName: name}, flexapi.HashSecret(token))
			if flexapi.ErrorCode(err) == flexapi.ECONFLICT && try == 0 {
				continue
			}
			return err == nil, err
		case err != nil:
			return false, err
		}
		for _, h := range cred.SecretHashes {
			if flexapi.SecretMatches(h, token) {
				return false, nil
			}
		}
		return false, store.SetPrimaryToken(ctx, sid, flexapi.HashSecret(token))
	}
}

// checkToken accepts what the official clients accept in credentials.
func checkToken(name, token string) error {
	if err := flexapi.ValidateSecret(name, token); err != nil {
		return usageError{errors.New(flexapi.ErrorMessage(err))}
	}
	return nil
}

// serveOperations serves the probes and metrics on a listener of their own.
func serveOperations(addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--ops-addr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		DisableGeneralOptionsHandler: true}
	go srv.Serve(ln)
	logger.Info("operations listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// startProfiler serves net/http/pprof on its own listener, never on the API's.
func startProfiler(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	go srv.Serve(ln)
	logger.Info("profiler listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
