// Package flexapitest runs flexapi in-process for Go tests, the way
// net/http/httptest runs a handler: a real HTTP server on 127.0.0.1 with a
// store in memory, the reference page's demo user, no credential cache, and
// the control plane (seed, reset, request journal, faults) as Go methods.
//
//	srv := flexapitest.NewServer(t)
//	c := &client.Client{Credentials: client.NewCredentials(srv.AccountSID, srv.AuthToken), HTTPClient: srv.HTTPClient()}
//
// HTTPClient sends Twilio's Flex hosts to the server and refuses every other
// host, so that an application under test can keep its Twilio client as it
// is but for the *http.Client.
package flexapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/control"
	"github.com/flexapi/flexapi/fixture"
	"github.com/flexapi/flexapi/sqlstore"
)

// Server is a running flexapi and what a test needs to call it.
type Server struct {
	URL         string // http://127.0.0.1:PORT
	AccountSID  string // the demo account
	AuthToken   string // its token
	InstanceSID string // the demo instance
	UserSID     string // the demo user, the reference page's example
	AdminToken  string // the control plane's token

	srv   *httptest.Server
	store *sqlstore.Store
}

// Entry is one request of the journal.
type Entry = api.Entry

// Filter selects journal entries, as GET /_flexapi/requests does.
type Filter = control.Filter

// Fault is a fault rule, as POST /_flexapi/faults takes it.
type Fault = control.Rule

// NewServer starts a Server and stops it when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("flexapitest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server; Close stops it.
func Start() (*Server, error) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		return nil, err
	}
	s := &Server{AccountSID: flexapi.DemoAccountSID, AuthToken: flexapi.NewSecret(), InstanceSID: flexapi.DemoInstanceSID,
		UserSID: flexapi.DemoFlexUserSID, AdminToken: flexapi.NewSecret(), store: store}
	demo := func(ctx context.Context) error {
		_, err := store.ApplySeed(ctx, fixture.DemoSeed(s.AuthToken))
		return err
	}
	if err := demo(ctx); err != nil {
		store.Close()
		return nil, err
	}
	journal, faults := control.NewJournal(control.DefaultJournalSize), &control.Faults{}
	quiet := slog.New(slog.DiscardHandler)
	h := api.NewHandler(store, api.Config{
		CredentialTTL: -1, // a test that changes credentials sees it at once
		Journal:       journal, Faults: faults, Logger: quiet,
		Admin: control.Handler(control.Config{Token: s.AdminToken, Store: store, Journal: journal, Faults: faults, StartState: demo, Logger: quiet}),
	})
	s.srv = httptest.NewUnstartedServer(h)
	s.srv.Config.DisableGeneralOptionsHandler = true
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server and forgets its store.
func (s *Server) Close() {
	s.srv.Close()
	s.store.Close()
}

// flexHost matches Twilio's Flex hosts: flex-api.twilio.com, and its region
// and edge forms (flex-api.REGION.twilio.com, flex-api.EDGE.REGION.twilio.com).
var flexHost = regexp.MustCompile(`^flex-api(\.[a-z0-9-]+){0,2}\.twilio\.com$`)

// HTTPClient returns a client that sends requests for Twilio's Flex hosts
// to the server and refuses requests for any other host.
func (s *Server) HTTPClient() *http.Client {
	target, _ := url.Parse(s.URL)
	return &http.Client{Transport: toServer{target: target}, Timeout: 30 * time.Second}
}

type toServer struct{ target *url.URL }

func (t toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if !flexHost.MatchString(r.URL.Hostname()) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("flexapitest: %s is not a Twilio Flex host; this client sends only those to the test server", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.target.Scheme, t.target.Host, t.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// Seed applies a seed document (the --seed format, YAML or JSON) as POST
// /_flexapi/seed does, and returns its answer (generated secrets included).
func (s *Server) Seed(doc string) (json.RawMessage, error) {
	var answer json.RawMessage
	return answer, s.call("POST", "/_flexapi/seed", []byte(doc), http.StatusOK, &answer)
}

// Reset brings the store back to its start-up state (the demo) and clears
// the journal and the faults.
func (s *Server) Reset() error {
	return s.call("POST", "/_flexapi/reset", nil, http.StatusNoContent, nil)
}

// Requests returns the journal's entries that f selects, oldest first.
func (s *Server) Requests(f Filter) ([]Entry, error) {
	q := url.Values{}
	for k, v := range map[string]string{"method": f.Method, "path": f.Path, "account_sid": f.AccountSID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page struct {
		Requests []Entry `json:"requests"`
	}
	err := s.call("GET", "/_flexapi/requests?"+q.Encode(), nil, http.StatusOK, &page)
	return page.Requests, err
}

// ClearRequests empties the journal.
func (s *Server) ClearRequests() error {
	return s.call("DELETE", "/_flexapi/requests", nil, http.StatusNoContent, nil)
}

// AddFault adds a fault rule and returns it with its ID.
func (s *Server) AddFault(f Fault) (Fault, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return f, err
	}
	var added Fault
	return added, s.call("POST", "/_flexapi/faults", b, http.StatusCreated, &added)
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() error {
	return s.call("DELETE", "/_flexapi/faults", nil, http.StatusNoContent, nil)
}

// DeleteUser hard-deletes a user, as fixtures may (Twilio's API deactivates).
func (s *Server) DeleteUser(instanceSID, flexUserSID string) error {
	return s.call("DELETE", "/_flexapi/instances/"+instanceSID+"/users/"+flexUserSID, nil, http.StatusNoContent, nil)
}

// call sends a control-plane request and decodes its answer into out.
func (s *Server) call(method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("flexapitest: %s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
