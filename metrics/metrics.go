// Package metrics counts what flexapi does, in Prometheus's format, on a
// registry of its own: requests by route, method and status, their latency,
// the requests in flight, the store's operations and errors, and the build.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

// Metrics is flexapi's registry and the instruments on it. It implements
// api.Observer.
type Metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
	logDropped    prometheus.Counter

	// children are the request series already resolved, by route, method
	// and status: a label lookup costs more than the count itself.
	children sync.Map // requestKey → requestSeries
}

type requestKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New makes the registry, with Go's and the process's own collectors.
func New(version, commit, goVersion string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexapi_http_requests_total", Help: "HTTP requests answered, by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flexapi_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flexapi_http_requests_in_flight", Help: "HTTP requests being answered now.",
		}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flexapi_store_operation_duration_seconds", Help: "Time of a store operation, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 5},
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexapi_store_errors_total", Help: "Store operations that failed (not counting absent resources), by operation and kind.",
		}, []string{"operation", "kind"}),
	}
	m.logDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flexapi_log_lines_dropped_total", Help: "Request log lines dropped because the log's reader did not keep up.",
	})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "flexapi_build_info", Help: "Always 1; the labels say which flexapi this is.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion},
	})
	build.Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.storeDuration, m.storeErrors, m.logDropped, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// RequestStarted counts a request in flight.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestDone records an answered request. Its labels take few values (the
// api package bounds them), so their series are kept once resolved.
func (m *Metrics) RequestDone(route, method string, status int, d time.Duration) {
	m.inFlight.Dec()
	key := requestKey{route, method, status}
	v, ok := m.children.Load(key)
	if !ok {
		v, _ = m.children.LoadOrStore(key, requestSeries{
			count:    m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route, method),
		})
	}
	series := v.(requestSeries)
	series.count.Inc()
	series.duration.Observe(d.Seconds())
}

// LogLineDropped counts a request log line that was dropped.
func (m *Metrics) LogLineDropped() { m.logDropped.Inc() }

// ObserveCache reports, at every scrape, what stats says of the embedded
// store's cache of users. The cache counts by itself, so that a read from
// memory pays for no Prometheus series.
func (m *Metrics) ObserveCache(stats func() flexapi.CacheStats) {
	m.registry.MustRegister(cacheCollector{stats})
}

type cacheCollector struct{ stats func() flexapi.CacheStats }

var (
	cacheCapacity  = prometheus.NewDesc("flexapi_cache_capacity_users", "Most users the embedded store's cache keeps (--cache-size, rounded up).", nil, nil)
	cacheEntries   = prometheus.NewDesc("flexapi_cache_entries", "Entries the cache holds, by kind: user, or absent for keys found to name no user.", []string{"kind"}, nil)
	cacheHits      = prometheus.NewDesc("flexapi_cache_hits_total", "User reads answered from memory.", nil, nil)
	cacheMisses    = prometheus.NewDesc("flexapi_cache_misses_total", "User reads that asked the database.", nil, nil)
	cacheEvictions = prometheus.NewDesc("flexapi_cache_evictions_total", "Entries pushed out of the cache to make room.", nil, nil)
	cacheResets    = prometheus.NewDesc("flexapi_cache_resets_total", "Times the cache forgot every entry at once, for a commit it could not account for (another process's, say).", nil, nil)
)

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheCapacity, cacheEntries, cacheHits, cacheMisses, cacheEvictions, cacheResets} {
		ch <- d
	}
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(cacheCapacity, prometheus.GaugeValue, float64(st.Capacity))
	ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(st.Users), "user")
	ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(st.Absent), "absent")
	ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(cacheEvictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(cacheResets, prometheus.CounterValue, float64(st.Resets))
}

// Store wraps s so that every operation is timed and every failure counted.
func (m *Metrics) Store(s api.Store) api.Store {
	st := &store{inner: s, m: m, durations: map[string]prometheus.Observer{}}
	for _, op := range storeOperations {
		st.durations[op] = m.storeDuration.WithLabelValues(op)
	}
	return st
}

// storeOperations are the operations timed, resolved to their series once:
// looking a series up by its labels cost more than the rest of a cached read.
var storeOperations = []string{"credential", "user", "update_user", "provision_user", "deprovision_user",
	"teams", "team", "account_instance", "users", "ping"}

type store struct {
	inner     api.Store
	m         *Metrics
	durations map[string]prometheus.Observer // by operation; read only
}

// done records an operation that started at start; errp points to its
// result, read when the deferred call runs, after the operation returned.
func (s *store) done(op string, start time.Time, errp *error) {
	duration, ok := s.durations[op]
	if !ok {
		duration = s.m.storeDuration.WithLabelValues(op)
	}
	duration.Observe(time.Since(start).Seconds())
	switch code := flexapi.ErrorCode(*errp); code {
	case "", flexapi.ENOTFOUND, flexapi.EPRECONDITION, flexapi.EINVALID, flexapi.ECONFLICT:
		// answers about the request, not failures of the store
	default:
		s.m.storeErrors.WithLabelValues(op, code).Inc()
	}
}

func (s *store) Credential(ctx context.Context, sid string) (c flexapi.Credential, err error) {
	defer s.done("credential", time.Now(), &err)
	return s.inner.Credential(ctx, sid)
}

func (s *store) User(ctx context.Context, key flexapi.UserKey) (u flexapi.User, err error) {
	defer s.done("user", time.Now(), &err)
	return s.inner.User(ctx, key)
}

func (s *store) UpdateUser(ctx context.Context, key flexapi.UserKey, upd flexapi.UserUpdate) (u flexapi.User, err error) {
	defer s.done("update_user", time.Now(), &err)
	return s.inner.UpdateUser(ctx, key, upd)
}

func (s *store) ProvisionUser(ctx context.Context, account, instance string, p flexapi.Provision) (u flexapi.User, created bool, err error) {
	defer s.done("provision_user", time.Now(), &err)
	return s.inner.ProvisionUser(ctx, account, instance, p)
}

func (s *store) DeprovisionUser(ctx context.Context, key flexapi.UserKey) (err error) {
	defer s.done("deprovision_user", time.Now(), &err)
	return s.inner.DeprovisionUser(ctx, key)
}

func (s *store) Teams(ctx context.Context, account, instance string) (teams []flexapi.Team, err error) {
	defer s.done("teams", time.Now(), &err)
	return s.inner.Teams(ctx, account, instance)
}

func (s *store) Team(ctx context.Context, account, instance, sid string) (t flexapi.Team, err error) {
	defer s.done("team", time.Now(), &err)
	return s.inner.Team(ctx, account, instance, sid)
}

func (s *store) AccountInstance(ctx context.Context, account string) (in flexapi.Instance, err error) {
	defer s.done("account_instance", time.Now(), &err)
	return s.inner.AccountInstance(ctx, account)
}

func (s *store) Users(ctx context.Context, q flexapi.UserQuery) (users []flexapi.User, more bool, err error) {
	defer s.done("users", time.Now(), &err)
	return s.inner.Users(ctx, q)
}

func (s *store) Ping(ctx context.Context) (err error) {
	defer s.done("ping", time.Now(), &err)
	return s.inner.Ping(ctx)
}
