package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexapi/flexapi/api"
)

// The access log's lines carry what slog's did, in its JSON and text shapes,
// and Close writes every line logged before it.
func TestAccessLogLines(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var out syncBuffer
			log := api.NewAccessLog(&out, format, nil)
			h := newHarness(t, api.Config{AccessLog: log})
			res := h.do(request{method: "GET", path: pathA, auth: credA})
			h.do(request{method: "GET", path: "/nowhere"})
			log.Close()
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 { // the harness's own GET /openapi.json, then these two
				t.Fatalf("%d lines; want 3:\n%s", len(lines), out.String())
			}
			lines = lines[1:]
			if format == "text" {
				want := "level=INFO msg=request method=GET path=" + pathA + " status=200 duration_ms="
				if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], " request_id="+res.header.Get("Twilio-Request-Id")+" account_sid="+accountA+" bytes=") ||
					!strings.Contains(lines[1], `account_sid="" bytes=`) {
					t.Errorf("text lines:\n%s", out.String())
				}
				return
			}
			var first map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
				t.Fatalf("%v: %s", err, lines[0])
			}
			for k, v := range map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": pathA, "status": 200.0,
				"request_id": res.header.Get("Twilio-Request-Id"), "account_sid": accountA, "bytes": float64(len(res.body))} {
				if first[k] != v {
					t.Errorf("%s = %v; want %v", k, first[k], v)
				}
			}
			if _, ok := first["duration_ms"].(float64); !ok || first["time"] == nil {
				t.Errorf("line lacks duration_ms or time: %s", lines[0])
			}
		})
	}
}

// blockedWriter never returns from Write until released.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	return len(p), nil
}

// A reader of the log that does not keep up never blocks a request: lines
// past what may wait are dropped and counted.
func TestSlowLogReaderNeverBlocksRequests(t *testing.T) {
	w := blockedWriter{release: make(chan struct{})}
	var dropped atomic.Int64
	log := api.NewAccessLog(w, "json", func() { dropped.Add(1) })
	h := api.NewHandler(newHarness(t, api.Config{}).store, api.Config{AccessLog: log, CredentialTTL: -1})
	req := httptest.NewRequest("GET", "/healthz", nil)
	for range 40_000 { // about 6 MB of lines, past the 4 MiB that may wait
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if dropped.Load() == 0 {
		t.Error("no line was dropped while the reader was stuck")
	}
	close(w.release)
	log.Close()
	t.Logf("%d of 40000 lines dropped while the reader was stuck", dropped.Load())
}

// A line reaches the log's reader soon after it is logged, without more
// lines or Close to push it out, and so does one logged after the writer
// has gone back to sleep: the writer, which sleeps while no line waits, is
// woken by the first.
func TestAccessLogWritesLinesWithoutClose(t *testing.T) {
	var out syncBuffer
	log := api.NewAccessLog(&out, "text", nil)
	defer log.Close()
	for i, id := range []string{"RQ-first", "RQ-after-a-quiet-spell"} {
		log.Log("GET", "/healthz", 200, time.Millisecond, id, "", 2)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), "request_id="+id) {
			if time.Now().After(deadline) {
				t.Fatalf("line %d not written 5 s after it was logged; the reader has:\n%s", i+1, out.String())
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // several flush periods: the writer sleeps again
	}
}
