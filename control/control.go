// Package control is flexapi's control plane, under /_flexapi/: what a test
// suite or an operator needs beside Twilio's API. Fixtures (seed), reset to
// the start-up state, the request journal, fault injection and hard deletion
// of users, behind an admin token.
package control

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/fixture"
)

// Store is what the control plane needs of the store.
type Store interface {
	ApplySeed(ctx context.Context, seed flexapi.Seed) (flexapi.SeedResult, error)
	DeleteEverything(ctx context.Context) error
	Instance(ctx context.Context, sid string) (flexapi.Instance, error)
	User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error)
	DeleteUser(ctx context.Context, key flexapi.UserKey, ifMatch flexapi.IfMatch) error
}

// Config is a control plane's parts.
type Config struct {
	Token   string // the admin token; the plane answers only to it
	Store   Store
	Journal *Journal
	Faults  *Faults
	// StartState brings an emptied store to its start-up state: what
	// --demo, --seed and TWILIO_* ensured. Reset calls it.
	StartState func(ctx context.Context) error
	// PublicURL is the base of the urls it shows; empty takes the request's.
	PublicURL string
	Logger    *slog.Logger
}

// maxSeedBytes bounds a seed document sent to the control plane.
const maxSeedBytes = 16 << 20

type plane struct{ Config }

// Handler serves the control plane's routes under /_flexapi/.
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &plane{cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_flexapi/seed", p.seed)
	mux.HandleFunc("POST /_flexapi/reset", p.reset)
	mux.HandleFunc("GET /_flexapi/requests", p.requests)
	mux.HandleFunc("DELETE /_flexapi/requests", func(w http.ResponseWriter, r *http.Request) {
		p.Journal.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_flexapi/faults", p.addFault)
	mux.HandleFunc("GET /_flexapi/faults", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"faults": p.Faults.Rules()})
	})
	mux.HandleFunc("DELETE /_flexapi/faults", func(w http.ResponseWriter, r *http.Request) {
		p.Faults.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_flexapi/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !p.Faults.Delete(r.PathValue("id")) {
			api.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_flexapi/instances/{InstanceSid}/users/{FlexUserSid}", p.deleteUser)
	mux.HandleFunc("/", api.NotFound)
	return p.authorized(mux)
}

// authorized lets through requests that carry the admin token as a Bearer
// token; any other gets Twilio's 401.
func (p *plane) authorized(next http.Handler) http.Handler {
	want := []byte("Bearer " + p.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flexapi control plane"`)
			api.WriteError(w, http.StatusUnauthorized, 20003, "Authentication Error - the control plane needs Authorization: Bearer <admin token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fail answers err: a bad request's 400 naming what is wrong, a conflict's
// 409 (a username taken, say), an absent resource's 404, and for anything
// else (the store) a 503 or 500.
func (p *plane) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch flexapi.ErrorCode(err) {
	case flexapi.EINVALID:
		api.WriteError(w, http.StatusBadRequest, 20001, flexapi.ErrorMessage(err))
	case flexapi.ECONFLICT:
		api.WriteError(w, http.StatusConflict, 20409, flexapi.ErrorMessage(err))
	case flexapi.ENOTFOUND:
		api.NotFound(w, r)
	case flexapi.EUNAVAILABLE:
		p.Logger.Warn("control plane: store unavailable", "error", err)
		api.WriteError(w, http.StatusServiceUnavailable, 20503, "Service unavailable")
	default:
		p.Logger.Error("control plane", "error", err)
		api.WriteError(w, http.StatusInternalServerError, 20500, "Internal server error")
	}
}

// seedAnswer is what a seed ensured, with the secrets it generated (shown
// only here) and its users as they now are.
type seedAnswer struct {
	Accounts []seededAccount `json:"accounts"`
}

type seededAccount struct {
	SID       string           `json:"sid"`
	AuthToken *string          `json:"auth_token"`
	Keys      []seededKey      `json:"keys"`
	Instances []seededInstance `json:"instances"`
}

type seededKey struct {
	SID    string  `json:"sid"`
	Secret *string `json:"secret"`
}

type seededInstance struct {
	SID          string           `json:"sid"`
	WorkspaceSID string           `json:"workspace_sid"`
	Users        []map[string]any `json:"users"`
}

// seed is POST /_flexapi/seed: the --seed document, applied in one
// transaction.
func (p *plane) seed(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSeedBytes))
	if err != nil {
		p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: at most %d bytes", maxSeedBytes))
		return
	}
	seed, err := fixture.ParseSeed(b)
	if err != nil {
		p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid seed: %s", flexapi.ErrorMessage(err)))
		return
	}
	res, err := p.Store.ApplySeed(r.Context(), seed)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	answer, err := p.answer(r, seed, res)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, answer)
}

func (p *plane) answer(r *http.Request, seed flexapi.Seed, res flexapi.SeedResult) (seedAnswer, error) {
	generated := map[string]*string{}
	for _, g := range res.Generated {
		generated[g.SID] = &g.Secret
	}
	base := p.PublicURL
	if base == "" {
		base = "http://" + r.Host
	}
	a := seedAnswer{Accounts: []seededAccount{}}
	for _, acct := range seed.Accounts {
		sa := seededAccount{SID: acct.SID, AuthToken: generated[acct.SID], Keys: []seededKey{}, Instances: []seededInstance{}}
		for _, k := range acct.Keys {
			sa.Keys = append(sa.Keys, seededKey{SID: k.SID, Secret: generated[k.SID]})
		}
		for _, si := range acct.Instances {
			in, err := p.Store.Instance(r.Context(), si.SID)
			if err != nil {
				return a, err
			}
			inst := seededInstance{SID: in.SID, WorkspaceSID: in.WorkspaceSID, Users: []map[string]any{}}
			for _, u := range si.Users {
				stored, err := p.Store.User(r.Context(), flexapi.UserKey{AccountSID: in.AccountSID, InstanceSID: in.SID, FlexUserSID: u.FlexUserSID})
				if err != nil {
					return a, err
				}
				inst.Users = append(inst.Users, fixture.ExportRecord(stored, base))
			}
			sa.Instances = append(sa.Instances, inst)
		}
		a.Accounts = append(a.Accounts, sa)
	}
	return a, nil
}

// reset is POST /_flexapi/reset: the store back to its start-up state, the
// journal and the faults cleared.
func (p *plane) reset(w http.ResponseWriter, r *http.Request) {
	err := p.Store.DeleteEverything(r.Context())
	if err == nil && p.StartState != nil {
		err = p.StartState(r.Context())
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.Journal.Clear()
	p.Faults.Clear()
	w.WriteHeader(http.StatusNoContent)
}

// requests is GET /_flexapi/requests: the journal, oldest first, filtered.
func (p *plane) requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Method: q.Get("method"), Path: q.Get("path"), AccountSID: q.Get("account_sid")}
	var err error
	if v := q.Get("status"); v != "" {
		if f.Status, err = strconv.Atoi(v); err != nil {
			p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter status: %q is not a number", v))
			return
		}
	}
	if v := q.Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter since: %q is not an RFC 3339 date", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter limit: %q is not a whole number of at least 1", v))
			return
		}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"requests": p.Journal.Entries(f)})
}

// addFault is POST /_flexapi/faults.
func (p *plane) addFault(w http.ResponseWriter, r *http.Request) {
	var rule Rule
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		msg := "Invalid fault: a JSON object of method, path, account_sid, status, code, message, delay_ms, drop, times, probability"
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			msg = "Invalid fault: not valid JSON"
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			msg = "Invalid fault: unknown field " + name
		}
		p.fail(w, r, flexapi.Errorf(flexapi.EINVALID, "%s", msg))
		return
	}
	if err := rule.check(); err != nil {
		p.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, p.Faults.Add(rule))
}

// deleteUser is DELETE /_flexapi/instances/{GO}/users/{FU}: a hard delete,
// for fixtures (Twilio's API only deactivates).
func (p *plane) deleteUser(w http.ResponseWriter, r *http.Request) {
	instance, ok1 := flexapi.ParseSID(flexapi.InstancePrefix, r.PathValue("InstanceSid"))
	user, ok2 := flexapi.ParseSID(flexapi.FlexUserPrefix, r.PathValue("FlexUserSid"))
	if !ok1 || !ok2 {
		api.NotFound(w, r)
		return
	}
	in, err := p.Store.Instance(r.Context(), instance)
	if err == nil {
		err = p.Store.DeleteUser(r.Context(), flexapi.UserKey{AccountSID: in.AccountSID, InstanceSID: instance, FlexUserSID: user}, nil)
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
