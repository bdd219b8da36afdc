// Package api serves the Flex API v2 FlexUser resource over HTTP the way
// Twilio does on the wire: routes, Basic auth, Twilio's error bodies and
// headers. It knows the store only through the small Store interface.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

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
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
}

// DefaultMaxBodyBytes is far above any form of the FlexUser resource.
const DefaultMaxBodyBytes = 64 << 10

type server struct {
	store     Store
	log       *slog.Logger
	publicURL string
	cors      corsPolicy
	maxBody   int64
}

// NewHandler returns the HTTP handler of the whole server.
func NewHandler(store Store, cfg Config) http.Handler {
	s := &server{
		store:     store,
		log:       cfg.Logger,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		cors:      newCORSPolicy(cfg.CORSOrigins),
		maxBody:   cfg.MaxBodyBytes,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}

	const user = "/v2/Instances/{InstanceSid}/Users/{FlexUserSid}"
	mux := http.NewServeMux()
	mux.Handle("GET "+user, s.authed(s.fetchUser))
	mux.Handle("POST "+user, s.authed(s.updateUser))
	mux.HandleFunc("OPTIONS "+user, s.preflight)
	mux.Handle(user, methodNotAllowed("GET, POST, OPTIONS"))

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("/healthz", methodNotAllowed("GET"))
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("/readyz", methodNotAllowed("GET"))
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("/openapi.json", methodNotAllowed("GET"))

	mux.HandleFunc("/", notFound)
	return s.observe(canonicalPathsOnly(mux))
}
