package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/flexapi/flexapi"
)

// Twilio error codes, and flexapi's own in the same style (listed in the README).
const (
	codeInvalid          = 20001
	codeUnauthorized     = 20003
	codeMethodNotAllowed = 20004
	codeNotFound         = 20404
	codeConflict         = 20409 // flexapi's own
	codePrecondition     = 20412 // flexapi's own
	codeTooLarge         = 20413 // flexapi's own
	codeTooManyRequests  = 20429
	codeInternal         = 20500
	codeUnavailable      = 20503
)

// writeError is the one place where errors become HTTP responses.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrorBody(w, http.StatusRequestEntityTooLarge, codeTooLarge, "",
			"Request body too large: the limit is "+strconv.FormatInt(tooLarge.Limit, 10)+" bytes")
		return
	}
	switch flexapi.ErrorCode(err) {
	case flexapi.ENOTFOUND:
		NotFound(w, r)
	case flexapi.EINVALID:
		writeErrorBody(w, http.StatusBadRequest, codeInvalid, "", flexapi.ErrorMessage(err))
	case flexapi.EPRECONDITION:
		writeErrorBody(w, http.StatusPreconditionFailed, codePrecondition, "", flexapi.ErrorMessage(err))
	case flexapi.ECONFLICT:
		writeErrorBody(w, http.StatusConflict, codeConflict, "", flexapi.ErrorMessage(err))
	case flexapi.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeErrorBody(w, http.StatusUnauthorized, codeUnauthorized, "Your AccountSid or AuthToken was incorrect.", flexapi.ErrorMessage(err))
	case flexapi.EUNAVAILABLE:
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "store unavailable",
			slog.String("request_id", requestID(r.Context())), slog.Any("error", err))
		writeErrorBody(w, http.StatusServiceUnavailable, codeUnavailable, "", "Service unavailable")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestID(r.Context())), slog.Any("error", err))
		writeErrorBody(w, http.StatusInternalServerError, codeInternal, "", "Internal server error")
	}
}

// NotFound is the 404 of every absent, malformed or foreign resource alike,
// so that nobody can tell another account's resources from absent ones.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeErrorBody(w, http.StatusNotFound, codeNotFound, "",
		"The requested resource ", r.URL.EscapedPath(), " was not found")
}

func methodNotAllowed(allow string) http.Handler {
	allowed := []string{allow} // shared: header values are replaced, never changed in place
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Allow"] = allowed
		writeErrorBody(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "",
			"The requested resource ", r.URL.EscapedPath(), " does not support the attempted HTTP method ", r.Method)
	})
}

// writeErrorBody answers Twilio's error shape, {"code", "detail" when there
// is one, "message" (the parts joined), "more_info", "status"}, its keys in
// Twilio's (alphabetical) order. It writes by hand, byte for byte what
// encoding/json makes of that struct (TestErrorBodiesEncodeAsEncodingJSON),
// into a pooled buffer: answers that need no store, such as a malformed
// SID's 404 or a 405, then cost about as little as /healthz.
func writeErrorBody(w http.ResponseWriter, status, code int, detail string, message ...string) {
	buf := bodies.Get().(*[]byte)
	b := append((*buf)[:0], `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	if detail != "" {
		b = append(b, `,"detail":`...)
		b = appendString(b, detail)
	}
	b = append(b, `,"message":`...)
	b = appendJoined(b, message...)
	b = append(b, `,"more_info":"https://www.twilio.com/docs/errors/`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, '}')
	writeBody(w, status, b)
	*buf = b
	bodies.Put(buf)
}

// WriteJSON answers v as JSON, with its length, for flexapi's own handlers too.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here, so this is a programming error.
		panic(err)
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	if len(body) > netHTTPBuffer {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// netHTTPBuffer is what net/http holds of a response before it sends any of
// it. A body that fits, written by a handler that then returns, gets its
// Content-Length from net/http itself, outside the header map (every header
// in the map costs a hash, a copy at WriteHeader, a sort and a check when
// written). A larger body states its length here, or it would go out
// chunked.
const netHTTPBuffer = 2048

// jsonType is shared by every response: header values are only ever
// replaced, never changed in place.
var jsonType = []string{"application/json"}
