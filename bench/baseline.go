package main

import (
	"crypto/subtle"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/flexapi/flexapi/api"
)

// runBaseline serves the yardstick: a minimal net/http server that checks
// the same Basic credentials as flexapi and answers every request with a
// constant body of the size of a user's representation. Whatever flexapi
// does beyond that is its own cost.
//
// With contract, it also does what the wire contract asks of every response,
// each done cheaply: Twilio's request id and duration, the CORS headers, an
// ETag, and one log line per request through flexapi's asynchronous access
// log. flexapi against it is the cost of flexapi itself; it against the bare
// one is the cost of the contract.
func runBaseline(ln net.Listener, auth string, bodySize int, contract bool) error {
	body := make([]byte, bodySize)
	for i := range body {
		body[i] = 'x'
	}
	body[0], body[len(body)-1] = '"', '"' // a JSON string, to be fair to decoders
	want := []byte("Basic " + auth)
	jsonType := []string{"application/json"}
	// Neither sets Content-Length: net/http states it for a body that fits its
	// buffer, as it does for flexapi's answers, without a header of the map.
	if !contract {
		return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	log := api.NewAccessLog(null, "json", nil)
	defer log.Close()
	shared := map[string][]string{ // header values that do not change, shared by every response
		"Access-Control-Allow-Origin":      {"*"},
		"Access-Control-Allow-Methods":     {"GET, POST, OPTIONS"},
		"Access-Control-Allow-Headers":     {"Accept, Authorization, Content-Type, If-Match, If-None-Match"},
		"Access-Control-Allow-Credentials": {"false"},
		"Access-Control-Expose-Headers":    {"ETag, Twilio-Request-Id, Twilio-Request-Duration"},
		"Etag":                             {`"0"`},
	}
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := api.NewRequestID()
		h := w.Header()
		h["Twilio-Request-Id"] = []string{id}
		for k, v := range shared {
			h[k] = v
		}
		status := http.StatusOK
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			status = http.StatusUnauthorized
		}
		h["Content-Type"] = jsonType
		h["Twilio-Request-Duration"] = []string{strconv.FormatFloat(time.Since(start).Seconds(), 'f', 3, 64)}
		w.WriteHeader(status)
		if status == http.StatusOK {
			w.Write(body)
		}
		log.Log(r.Method, r.URL.EscapedPath(), status, time.Since(start), id, "AC", len(body))
	}))
}
