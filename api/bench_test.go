package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/sqlstore"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// count the handler's allocations and not a recorder's.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchHandler(b *testing.B) http.Handler {
	store, err := sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "flexapi.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	seed(&testing.T{}, store)
	return api.NewHandler(store, api.Config{})
}

// BenchmarkFetch is GET on a user through the whole handler: auth, lookup,
// encoding, headers, log line (discarded).
func BenchmarkFetch(b *testing.B) {
	h := benchHandler(b)
	req := httptest.NewRequest("GET", pathA, nil)
	req.SetBasicAuth(accountA, tokenA)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkUpdate is POST of a new e-mail through the whole handler.
func BenchmarkUpdate(b *testing.B) {
	h := benchHandler(b)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := url.Values{"Email": {fmt.Sprintf("u%d@example.com", i)}}.Encode()
		req := httptest.NewRequest("POST", pathA, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(accountA, tokenA)
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}
