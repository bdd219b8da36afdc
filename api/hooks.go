package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Entry is one request to Twilio's paths as the request journal keeps it:
// what the application sent (never its credentials) and what it got.
type Entry struct {
	RequestID  string         `json:"request_id"`
	Time       time.Time      `json:"time"`
	Method     string         `json:"method"`
	Path       string         `json:"path"`
	Query      map[string]any `json:"query"`
	Params     map[string]any `json:"params"`
	Status     int            `json:"status"`
	AccountSID *string        `json:"account_sid"`
	DurationMS float64        `json:"duration_ms"`
	FaultID    *string        `json:"fault_id"`
}

// Journal keeps the requests to Twilio's paths.
type Journal interface {
	Record(Entry)
}

// Fault is what a fault rule does to a request it matches, after the
// request has passed authentication: wait Delay, then answer Status with a
// Twilio error (Code, Message), or Drop the connection without an answer.
type Fault struct {
	ID      string
	Delay   time.Duration
	Status  int
	Code    int
	Message string
	Drop    bool
}

// Faults decides which requests fail on purpose.
type Faults interface {
	// Match returns the fault for a request, spending one of its times.
	Match(method, path, accountSID string) (Fault, bool)
}

// isTwilioPath says whether path is under Twilio's versions, whose requests
// the journal records and faults may hit.
func isTwilioPath(path string) bool {
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v4/")
}

// captured keeps what a handler read of a request's body, for the journal.
type captured struct {
	io.ReadCloser
	buf bytes.Buffer
}

func (c *captured) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

// entry is the journal's record of a request that got status.
func (s *server) entry(r *http.Request, ri *requestInfo, body *captured, start time.Time, status int) Entry {
	e := Entry{RequestID: ri.id, Time: start.UTC(), Method: r.Method, Path: r.URL.EscapedPath(), Status: status,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
		e.Query = fields(q)
	}
	if body != nil && body.buf.Len() > 0 {
		e.Params = bodyFields(r.Header.Get("Content-Type"), body.buf.Bytes())
	}
	if ri.accountSID != "" {
		e.AccountSID = &ri.accountSID
	}
	if ri.faultID != "" {
		e.FaultID = &ri.faultID
	}
	return e
}

// bodyFields are the fields of a form or JSON body; nil when it is neither.
func bodyFields(contentType string, b []byte) map[string]any {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return m
	}
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return nil
	}
	return fields(q)
}

// fields turns form values into a JSON object: one value as a string,
// repeated ones as a list.
func fields(v url.Values) map[string]any {
	if len(v) == 0 {
		return nil
	}
	m := make(map[string]any, len(v))
	for k, vs := range v {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return m
}

// applyFault does what f says to a request, and reports whether the request
// ends there.
func (s *server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case f.Drop:
		// net/http closes the connection (HTTP/2: resets the stream)
		// without an answer: what a client sees of a dropped connection.
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeErrorBody(w, f.Status, f.Code, "", f.Message)
		return true
	}
	return false
}

// WriteError writes a Twilio error body, for flexapi's own handlers.
func WriteError(w http.ResponseWriter, status, code int, message string) {
	writeErrorBody(w, status, code, "", message)
}

// TwilioCode is the Twilio error code of an HTTP status, for errors whose
// code nobody chose: 20000 and the status, as Twilio's 20404 and 20503 are.
func TwilioCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return codeInvalid
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	}
	code, _ := strconv.Atoi("20" + strconv.Itoa(status))
	return code
}
