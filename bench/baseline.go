package main

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
)

// runBaseline serves the yardstick: a minimal net/http server that checks
// the same Basic credentials as flexapi and answers every request with a
// constant body of the size of a user's representation. Whatever flexapi
// does beyond that is its own cost.
func runBaseline(ln net.Listener, auth string, bodySize int) error {
	body := make([]byte, bodySize)
	for i := range body {
		body[i] = 'x'
	}
	body[0], body[len(body)-1] = '"', '"' // a JSON string, to be fair to decoders
	want := []byte("Basic " + auth)
	length := strconv.Itoa(len(body))
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		w.Write(body)
	}))
}
