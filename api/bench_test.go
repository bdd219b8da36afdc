package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// BenchmarkFetchNotYours compares what it costs account B to ask for A's
// user with what it costs to ask for a user that does not exist: the two
// answers are the same bytes, and must cost the same time, so that timing
// tells nobody which SIDs exist. Each iteration asks both, one after the
// other, and the medians of each are reported (ns), with their difference.
func BenchmarkFetchNotYours(b *testing.B) {
	h := benchHandler(b)
	absent := httptest.NewRequest("GET", "/v2/Instances/"+instanceA+"/Users/FU"+strings.Repeat("9", 32), nil)
	foreign := httptest.NewRequest("GET", pathA, nil)
	absent.SetBasicAuth(accountB, tokenB)
	foreign.SetBasicAuth(accountB, tokenB)
	w := &discard{h: http.Header{}}
	var absentNs, foreignNs []float64
	ask := func(req *http.Request) float64 {
		clear(w.h)
		start := time.Now()
		h.ServeHTTP(w, req)
		return float64(time.Since(start).Nanoseconds())
	}
	for b.Loop() {
		absentNs = append(absentNs, ask(absent))
		foreignNs = append(foreignNs, ask(foreign))
	}
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	ma, mf := median(absentNs), median(foreignNs)
	b.ReportMetric(ma, "absent-ns")
	b.ReportMetric(mf, "foreign-ns")
	b.ReportMetric(mf-ma, "foreign-minus-absent-ns")
}
