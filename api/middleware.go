package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// requestInfo travels with a request so that the log line can name who made it.
type requestInfo struct {
	id         string
	accountSID string
	faultID    string
	idHeader   [1]string // the Twilio-Request-Id header's value, allocated with the rest
}

type ctxKey struct{}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxKey{}).(*requestInfo)
	if ri == nil {
		return &requestInfo{}
	}
	return ri
}

func requestID(ctx context.Context) string { return info(ctx).id }

// NewRequestID is Twilio's shape of request id: RQ and 32 hex digits, from
// the runtime's generator (ChaCha8, seeded from the system's randomness) at
// about half the cost of crypto/rand (48-67 against 99-129 ns). An id is a
// name, not a secret: it needs to be unique, and 128 random bits are.
// Exported for servers that answer in flexapi's shape (the benchmark's
// contract baseline).
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	id := [34]byte{'R', 'Q'}
	hex.Encode(id[2:], b[:])
	return string(id[:])
}

// exchange is what observe keeps of one request, allocated at once.
type exchange struct {
	info requestInfo
	rec  recorder
	ctx  requestContext
}

// observe gives every response its request id, duration and CORS headers,
// turns panics into Twilio's 500, and logs one line per request.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.observer.RequestStarted()
		x := &exchange{rec: recorder{ResponseWriter: w, start: start}}
		ri, rec := &x.info, &x.rec
		ri.id = NewRequestID()
		ri.idHeader[0] = ri.id
		// Headers are assigned by their canonical keys: Set would canonicalise
		// each again.
		w.Header()["Twilio-Request-Id"] = ri.idHeader[:]
		if r.URL.Path != "/metrics" { // what the server counts is not for other origins' scripts
			s.cors.apply(w.Header(), r.Header.Get("Origin"))
		}
		if r.ContentLength != 0 {
			// A body gets a deadline of its own, far shorter than the
			// server's read timeout: a trickled body is cut off before it
			// can hold a slot for long.
			http.NewResponseController(w).SetReadDeadline(start.Add(s.bodyTimeout))
		}
		// One context for the whole request: it names the request for the
		// log, and bounds the store's work so that a store that does not
		// answer gives a 503 rather than a hung client.
		ctx := &x.ctx
		ctx.init(r.Context(), ri, start.Add(s.timeout))
		defer ctx.release()
		r = r.WithContext(ctx)
		var body *captured
		if s.journal != nil && isTwilioPath(r.URL.Path) {
			body = &captured{ReadCloser: r.Body}
			r.Body = body
			defer func() { s.journal.Record(s.entry(r, ri, body, start, rec.status)) }()
		}

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("request_id", ri.id), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if !rec.wrote {
					writeErrorBody(rec, http.StatusInternalServerError, codeInternal, "", "Internal server error")
				}
			}
			took := time.Since(start)
			s.observer.RequestDone(route(r), methodLabel(r.Method), rec.status, took)
			if s.access != nil {
				s.access.log(accessEntry{time: start, method: r.Method, path: r.URL.EscapedPath(), status: rec.status,
					durationMS: float64(took.Microseconds()) / 1000, requestID: ri.id, accountSID: ri.accountSID, bytes: rec.bytes})
				return
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.EscapedPath()),
				slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", ri.id),
				slog.String("account_sid", ri.accountSID),
				slog.Int("bytes", rec.bytes),
			)
		}()
		next.ServeHTTP(rec, r)
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK)
		}
	})
}

// methodLabel is the request's method as a label of few values: a method
// that HTTP does not define is "other", so made-up methods cannot grow the
// metrics without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// route is the pattern that ServeMux matched, without its method, as a label
// of few values.
func route(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	if p == "" || p == "/" {
		return "unmatched"
	}
	return p
}

// recorder notes the status and size, and stamps Twilio-Request-Duration at
// the last moment headers can still change.
type recorder struct {
	http.ResponseWriter
	start  time.Time
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		return
	}
	r.wrote, r.status = true, status
	r.Header()["Twilio-Request-Duration"] = durationHeader(time.Since(r.start))
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// durationHeader is Twilio-Request-Duration's value: seconds, three
// decimals. Those under a second are made once and shared.
func durationHeader(d time.Duration) []string {
	if ms := (d + time.Millisecond/2) / time.Millisecond; ms >= 0 && ms < time.Duration(len(sharedDurations)) {
		return sharedDurations[ms]
	}
	return []string{strconv.FormatFloat(d.Seconds(), 'f', 3, 64)}
}

var sharedDurations = func() [][]string {
	values := make([][]string, 1000)
	for ms := range values {
		values[ms] = []string{strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)}
	}
	return values
}()

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// canonicalPathsOnly answers every path that is not in canonical form with a
// Twilio 404 before ServeMux sees it: ServeMux would redirect such paths, and
// the official clients take any 3xx for success.
func canonicalPathsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.URL.RawPath != "" || !strings.HasPrefix(p, "/") || path.Clean(p) != p {
			NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsPolicy decides the CORS headers of every response.
type corsPolicy struct {
	anyOrigin bool
	origins   []string
	methods   string
	fixed     http.Header // the headers that do not depend on the request
}

const (
	corsHeaders = "Accept, Authorization, Content-Type, If-Match, If-None-Match"
	corsExpose  = "ETag, Twilio-Request-Id, Twilio-Request-Duration"
)

func newCORSPolicy(origins []string) corsPolicy {
	c := corsPolicy{origins: origins, methods: "GET, POST, OPTIONS"}
	c.anyOrigin = len(origins) == 0 || slices.Contains(origins, "*")
	c.fixed = http.Header{}
	c.fixed.Set("Access-Control-Allow-Methods", c.methods)
	c.fixed.Set("Access-Control-Allow-Headers", corsHeaders)
	c.fixed.Set("Access-Control-Expose-Headers", corsExpose)
	if c.anyOrigin {
		c.fixed.Set("Access-Control-Allow-Origin", "*")
		c.fixed.Set("Access-Control-Allow-Credentials", "false")
	}
	return c
}

// apply sets the CORS headers for a request from origin. With a configured
// list, a matching origin is reflected and may send credentials; any other
// origin gets no Access-Control-Allow-Origin, so browsers refuse the response.
func (c corsPolicy) apply(h http.Header, origin string) {
	for k, v := range c.fixed {
		h[k] = v // shared: header values are replaced, never changed in place
	}
	switch {
	case c.anyOrigin:
	case origin != "" && slices.Contains(c.origins, origin):
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Access-Control-Allow-Credentials"] = allowCredentials
		h.Add("Vary", "Origin")
	default:
		h["Access-Control-Allow-Credentials"] = denyCredentials
		h.Add("Vary", "Origin")
	}
}

var allowCredentials, denyCredentials = []string{"true"}, []string{"false"}

// preflight answers a browser's CORS preflight; the headers are already set.
func (s *server) preflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
