package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns flexapi's own OpenAPI document.
func OpenAPIDocument() []byte { return openAPIDocument }

// serveOpenAPI serves the document; in strict mode without the extensions,
// so that it describes exactly what the server does.
func serveOpenAPI(strict bool) http.HandlerFunc {
	doc := openAPIDocument
	if strict {
		doc = withoutExtensions(openAPIDocument)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.Write(doc)
	}
}

// withoutExtensions drops every operation marked "x-flexapi-extension" and
// every path left without operations.
func withoutExtensions(doc []byte) []byte {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(err) // the embedded document is checked by the tests
	}
	paths, _ := d["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		left := 0
		for method, op := range ops {
			o, isOp := op.(map[string]any)
			if !isOp || method == "parameters" {
				continue
			}
			if o["x-flexapi-extension"] == true {
				delete(ops, method)
			} else {
				left++
			}
		}
		if left == 0 {
			delete(paths, p)
		}
	}
	out, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return out
}

// healthz says the process is alive; it checks nothing else on purpose, so
// that an orchestrator does not restart a server whose store is down.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether the store answers, so that a load balancer can route
// around a replica that cannot serve.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeErrorBody(w, http.StatusServiceUnavailable, codeUnavailable, "Service unavailable", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
