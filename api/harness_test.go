package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/sqlstore"
)

// Fixtures: account A owns instance GO…1 with user FU…1; account B owns
// instance GO…2 and nothing else.
const (
	accountA  = "AC0000000000000000000000000000000a"
	accountB  = "AC0000000000000000000000000000000b"
	tokenA    = "0123456789abcdef0123456789abcdef"
	tokenB    = "fedcba9876543210fedcba9876543210"
	instanceA = "GO00000000000000000000000000000001"
	instanceB = "GO00000000000000000000000000000002"
	userA     = "FU00000000000000000000000000000001"
	pathA     = "/v2/Instances/" + instanceA + "/Users/" + userA
)

var credA = [2]string{accountA, tokenA}

// harness is a real server on a loopback port over a real SQLite file.
type harness struct {
	t     *testing.T
	store *sqlstore.Store
	api.Store
	srv    *httptest.Server
	logs   *syncBuffer
	router routers.Router
}

func newHarness(t *testing.T, cfg api.Config) *harness {
	t.Helper()
	return newHarnessOn(t, filepath.Join(t.TempDir(), "flexapi.db"), cfg)
}

// newHarnessOn is newHarness on the store dsn (a SQLite file or a
// PostgreSQL schema).
func newHarnessOn(t *testing.T, dsn string, cfg api.Config) *harness {
	t.Helper()
	store, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, store: store, Store: store, logs: &syncBuffer{}}
	seed(t, store)
	return h.start(cfg)
}

// start serves h.Store (which a test may wrap to inject a fault).
func (h *harness) start(cfg api.Config) *harness {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(h.logs, nil))
	}
	if cfg.CredentialTTL == 0 {
		cfg.CredentialTTL = -1 // tests change credentials and expect it at once
	}
	if h.srv != nil {
		h.srv.Close()
	}
	h.srv = httptest.NewServer(api.NewHandler(h.Store, cfg))
	h.t.Cleanup(h.srv.Close)
	h.router = openAPIRouter(h.t, h.srv.URL)
	return h
}

func seed(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAccount(ctx, &flexapi.Account{SID: accountA}, flexapi.HashSecret(tokenA)))
	must(s.CreateAccount(ctx, &flexapi.Account{SID: accountB}, flexapi.HashSecret(tokenB)))
	must(s.CreateInstance(ctx, &flexapi.Instance{SID: instanceA, AccountSID: accountA}))
	must(s.CreateInstance(ctx, &flexapi.Instance{SID: instanceB, AccountSID: accountB}))
	str := func(v string) *string { return &v }
	must(s.CreateUser(ctx, &flexapi.User{AccountSID: accountA, InstanceSID: instanceA, FlexUserSID: userA,
		Username: str("agent.one"), Email: str("one@example.com"), Locale: str("en-US"), Roles: []string{"agent"}}))
}

type request struct {
	method, path string
	auth         [2]string
	form         url.Values
	body         string // used when form is nil
	header       map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends req to the server and checks every response against the project's
// OpenAPI document wherever the document describes the route.
func (h *harness) do(req request) response {
	h.t.Helper()
	body := req.body
	if req.form != nil {
		body = req.form.Encode()
	}
	hr, err := http.NewRequest(req.method, h.srv.URL+req.path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if req.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.auth[0] != "" {
		hr.SetBasicAuth(req.auth[0], req.auth[1])
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	resp := response{status: res.StatusCode, header: res.Header, body: b}
	h.validate(req, body, resp)
	return resp
}

// openAPIRouter loads the document that the server serves, as its users
// would, so that responses are checked against what it says of itself.
func openAPIRouter(t *testing.T, base string) routers.Router {
	t.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document is invalid: %v", err)
	}
	doc.Servers = nil // match any host: the test server's port is random
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

func (h *harness) validate(req request, body string, resp response) {
	h.t.Helper()
	hr := httptest.NewRequest(req.method, req.path, strings.NewReader(body))
	route, params, err := h.router.FindRoute(hr)
	if err != nil {
		return // a path or method the document does not describe
	}
	in := &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.status,
		Header:                 resp.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(resp.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %s", req.method, req.path, resp.status, err, resp.body)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
