package api

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns flexapi's own OpenAPI document.
func OpenAPIDocument() []byte { return openAPIDocument }

// serveOpenAPI serves the document.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.Write(openAPIDocument)
}

// healthz says the process is alive; it checks nothing else on purpose, so
// that an orchestrator does not restart a server whose store is down.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, healthy)
}

var healthy = []byte(`{"status":"ok"}`)

// readyz says whether the store answers, so that a load balancer can route
// around a replica that cannot serve.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeErrorBody(w, http.StatusServiceUnavailable, codeUnavailable, "", "Service unavailable")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
