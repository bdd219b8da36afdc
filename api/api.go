// Package api serves the Flex API v2 FlexUser resource over HTTP the way
// Twilio does on the wire: routes, Basic auth, Twilio's error bodies and
// headers. It knows the store only through the small Store interface.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
)

// Store is what the HTTP layer needs from storage.
type Store interface {
	// Credential returns the secrets of an account or API key SID, or ENOTFOUND.
	Credential(ctx context.Context, sid string) (flexapi.Credential, error)
	// User returns a user as its account sees it, or ENOTFOUND.
	User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error)
	// UpdateUser changes a user atomically and returns it as it now is.
	UpdateUser(ctx context.Context, key flexapi.UserKey, upd flexapi.UserUpdate) (flexapi.User, error)
	// Users returns a page of an instance's users in SID order, and whether
	// more lie beyond it in the direction of travel.
	Users(ctx context.Context, q flexapi.UserQuery) ([]flexapi.User, bool, error)
	// ProvisionUser creates the user with p's username in the instance, or
	// brings the existing one to p (created says which).
	ProvisionUser(ctx context.Context, account, instance string, p flexapi.Provision) (u flexapi.User, created bool, err error)
	// DeprovisionUser deactivates a user.
	DeprovisionUser(ctx context.Context, key flexapi.UserKey) error
	// Teams lists an instance's teams; Team returns one.
	Teams(ctx context.Context, account, instance string) ([]flexapi.Team, error)
	Team(ctx context.Context, account, instance, sid string) (flexapi.Team, error)
	// AccountInstance returns the account's (oldest) Flex instance.
	AccountInstance(ctx context.Context, account string) (flexapi.Instance, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// Config is how the handler presents itself.
type Config struct {
	// PublicURL is the base of every resource url, e.g.
	// https://flex-api.twilio.com; empty takes the request's scheme and host.
	PublicURL string
	// CORSOrigins lists the origins that browsers may call from; empty or
	// "*" allows any origin, without credentials.
	CORSOrigins []string
	// MaxBodyBytes caps a request body; larger ones get 413.
	MaxBodyBytes int64
	// Logger receives the server's warnings and errors, and one line per
	// request unless AccessLog is set; nil discards.
	Logger *slog.Logger
	// AccessLog, when set, takes the line of each request instead of Logger:
	// the same fields, written asynchronously.
	AccessLog *AccessLog
	// StoreTimeout bounds the store's work for one request, so that a store
	// that does not answer gives a 503 rather than a hung client. Zero means
	// DefaultStoreTimeout.
	StoreTimeout time.Duration
	// CredentialTTL is how long a verified Authorization header is trusted
	// without asking the store again: the longest a rotated token, revoked
	// key or suspended account may still work. Zero means
	// DefaultCredentialTTL; negative turns the cache off.
	CredentialTTL time.Duration
	// MaxInFlight caps the requests served at once; past it, 503 at once.
	// Zero means no cap.
	MaxInFlight int
	// MaxInFlightPerAccount caps the requests one account has in flight at
	// once; past it, 429. Zero means no cap.
	MaxInFlightPerAccount int
	// BodyTimeout is the time a client has to send a request's body, from
	// when the handler starts; a slower body is cut off, so that trickled
	// bodies cannot hold slots. Zero means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// RateLimit is each account's sustained requests a second, with bursts
	// of RateBurst; past it, 429 with Retry-After. Zero turns it off.
	RateLimit float64
	RateBurst int
	// AuthFailures is how many failed authentications a second one client
	// address may make with one username, with bursts of ten; past it, the
	// failures get 429. Credentials that verify are always served. Zero
	// turns it off.
	AuthFailures float64
	// Observer hears of every request, for metrics; nil hears nothing.
	Observer Observer
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// SeparateOperations leaves /healthz, /readyz and /metrics to
	// OperationsHandler, so that the API's port exposes only the API.
	SeparateOperations bool
	// Journal, when set, records every request to Twilio's paths.
	Journal Journal
	// Faults, when set, make matching requests fail on purpose.
	Faults Faults
	// Admin, when set, is served under /_flexapi/: flexapi's control plane.
	Admin http.Handler
}

// Observer is told of each request as it starts and ends. route is the
// pattern it matched ("/v2/Instances/{InstanceSid}/Users/{FlexUserSid}"), or
// "unmatched".
type Observer interface {
	RequestStarted()
	RequestDone(route, method string, status int, d time.Duration)
}

type noObserver struct{}

func (noObserver) RequestStarted()                                {}
func (noObserver) RequestDone(string, string, int, time.Duration) {}

// Defaults of Config.
const (
	DefaultMaxBodyBytes  = 64 << 10 // far above any form of the FlexUser resource
	DefaultStoreTimeout  = 5 * time.Second
	DefaultCredentialTTL = time.Second
	DefaultBodyTimeout   = 5 * time.Second
)

type server struct {
	store     Store
	log       *slog.Logger
	publicURL string
	cors      corsPolicy
	maxBody   int64
	timeout   time.Duration
	creds     credentialCache
	observer  Observer

	access       *AccessLog
	journal      Journal
	faults       Faults
	maxInFlight  int
	bodyTimeout  time.Duration
	accountSlots *accountSlots // requests in flight of each account
	perAccount   *buckets      // requests of each account
	authFailed   *buckets      // failed authentications of each client address and username
}

// NewHandler returns the HTTP handler of the whole server: the API, and the
// operations endpoints unless cfg.SeparateOperations.
func NewHandler(store Store, cfg Config) http.Handler {
	s := newServer(store, cfg)
	mux := http.NewServeMux()
	s.routeAPI(mux)
	if !cfg.SeparateOperations {
		s.routeOperations(mux, cfg.Metrics)
	}
	if cfg.Admin != nil {
		mux.Handle("/_flexapi/", cfg.Admin)
	}
	mux.HandleFunc("/", NotFound)
	return s.observe(s.limitInFlight(canonicalPathsOnly(mux)))
}

// OperationsHandler serves only /healthz, /readyz and /metrics, for a
// listener of their own (serve --ops-addr).
func OperationsHandler(store Store, cfg Config) http.Handler {
	s := newServer(store, cfg)
	mux := http.NewServeMux()
	s.routeOperations(mux, cfg.Metrics)
	mux.HandleFunc("/", NotFound)
	return s.observe(canonicalPathsOnly(mux))
}

func newServer(store Store, cfg Config) *server {
	s := &server{
		store:        store,
		log:          cfg.Logger,
		publicURL:    strings.TrimRight(cfg.PublicURL, "/"),
		cors:         newCORSPolicy(cfg.CORSOrigins),
		maxBody:      cfg.MaxBodyBytes,
		timeout:      cfg.StoreTimeout,
		observer:     cfg.Observer,
		access:       cfg.AccessLog,
		journal:      cfg.Journal,
		faults:       cfg.Faults,
		maxInFlight:  cfg.MaxInFlight,
		bodyTimeout:  cfg.BodyTimeout,
		accountSlots: newAccountSlots(cfg.MaxInFlightPerAccount),
		perAccount:   newBuckets(cfg.RateLimit, cfg.RateBurst),
		authFailed:   newBuckets(cfg.AuthFailures, 10),
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = DefaultBodyTimeout
	}
	s.creds.ttl = cfg.CredentialTTL
	if s.creds.ttl == 0 {
		s.creds.ttl = DefaultCredentialTTL
	}
	if s.timeout <= 0 {
		s.timeout = DefaultStoreTimeout
	}
	if s.observer == nil {
		s.observer = noObserver{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	return s
}

// routeAPI is every route of Twilio's that flexapi serves, on one screen,
// and the OpenAPI document that describes them.
func (s *server) routeAPI(mux *http.ServeMux) {
	const (
		v2User        = "/v2/Instances/{InstanceSid}/Users/{FlexUserSid}"
		v1Users       = "/v1/Instances/{InstanceSid}/Users"
		v4Users       = "/v4/Instances/{InstanceSid}/Users"
		v4User        = "/v4/Instances/{InstanceSid}/Users/{FlexUserSid}"
		v4Provision   = "/v4/Instances/{InstanceSid}/Users/Provision"
		v4Deprovision = "/v4/Instances/{InstanceSid}/Users/Deprovision"
		v4Tokens      = "/v4/Instances/{InstanceSid}/Users/{FlexUserSid}/Tokens"
		v1Teams       = "/v1/Instances/{InstanceSid}/Teams"
		v1Team        = "/v1/Instances/{InstanceSid}/Teams/{TeamSid}"
		configuration = "/v1/Configuration"
	)
	route := func(path string, handlers map[string]http.Handler) {
		for method, h := range handlers {
			mux.Handle(method+" "+path, h)
		}
		mux.HandleFunc("OPTIONS "+path, s.preflight)
		mux.Handle(path, methodNotAllowed(allowed(handlers)))
	}
	route(v2User, map[string]http.Handler{
		"GET":  s.authed(forUser(s.fetchUser)),
		"POST": s.authed(forUser(s.updateUser)),
	})
	route(v1Users, map[string]http.Handler{"GET": s.authed(forInstance(s.listUsers))})
	route(v4Users, map[string]http.Handler{"GET": s.authed(forInstance(s.lookupUsers))})
	// Provision and Deprovision share the shape of a user's path (a pattern
	// of their own for every method would conflict with GET on a user), so
	// the user path's 405 names their methods for them.
	mux.Handle("GET "+v4User, s.authed(forUser(s.fetchUserV4)))
	mux.HandleFunc("OPTIONS "+v4User, s.preflight)
	postOnly, getOnly := methodNotAllowed("POST, OPTIONS"), methodNotAllowed("GET, OPTIONS")
	mux.HandleFunc(v4User, func(w http.ResponseWriter, r *http.Request) {
		if sid := r.PathValue("FlexUserSid"); sid == "Provision" || sid == "Deprovision" {
			postOnly.ServeHTTP(w, r)
			return
		}
		getOnly.ServeHTTP(w, r)
	})
	mux.Handle("POST "+v4Provision, s.authed(forInstance(s.provisionUser)))
	mux.Handle("GET "+v4Provision, postOnly)
	mux.Handle("POST "+v4Deprovision, s.authed(forInstance(s.deprovisionUser)))
	mux.Handle("GET "+v4Deprovision, postOnly)
	route(v4Tokens, map[string]http.Handler{"POST": s.authed(forUser(s.createToken))})
	route(v1Teams, map[string]http.Handler{"GET": s.authed(forInstance(s.listTeams))})
	route(v1Team, map[string]http.Handler{"GET": s.authed(forInstance(s.fetchTeam))})
	route(configuration, map[string]http.Handler{"GET": s.authed(s.fetchConfiguration)})
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("/openapi.json", methodNotAllowed("GET"))
}

// allowed is the Allow header of a path served by handlers.
func allowed(handlers map[string]http.Handler) string {
	var methods []string
	for _, m := range []string{"GET", "POST"} {
		if handlers[m] != nil {
			methods = append(methods, m)
		}
	}
	return strings.Join(append(methods, "OPTIONS"), ", ")
}

// routeOperations is the probes and, when given, the metrics.
func (s *server) routeOperations(mux *http.ServeMux, metrics http.Handler) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("/healthz", methodNotAllowed("GET"))
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("/readyz", methodNotAllowed("GET"))
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
		mux.Handle("/metrics", methodNotAllowed("GET"))
	}
}
