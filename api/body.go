package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"unicode/utf8"

	"github.com/flexapi/flexapi"
)

// jsonBody is a v4 request's JSON object, by key.
type jsonBody map[string]json.RawMessage

// parseJSON reads a JSON body within the size limit: exactly one object, in
// valid UTF-8. A body without a Content-Type is read as JSON too; a body of
// any other declared type is refused. An empty body is an empty object.
func (s *server) parseJSON(w http.ResponseWriter, r *http.Request) (jsonBody, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: Content-Type must be application/json, not %q", ct)
		}
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, s.bodyError(err, "it could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return jsonBody{}, nil
	}
	var body jsonBody
	dec := json.NewDecoder(bytes.NewReader(b))
	if !utf8.Valid(b) || dec.Decode(&body) != nil || body == nil || dec.More() {
		return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: not a single JSON object")
	}
	return body, nil
}

// bodyError says what went wrong reading a request's body: too large (413),
// too slow, or unreadable as what (400).
func (s *server) bodyError(err error, what string) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return flexapi.Errorf(flexapi.EINVALID, "Invalid request body: it did not arrive within %v", s.bodyTimeout)
	}
	return flexapi.Errorf(flexapi.EINVALID, "Invalid request body: %s", what)
}

// str reads a string field; present is false when it is absent or null.
func (b jsonBody) str(name string) (v string, present bool, err error) {
	raw, ok := b[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if json.Unmarshal(raw, &v) != nil {
		return "", false, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter %s: must be a string", name)
	}
	return v, true, nil
}

// required reads a string field that must be there.
func (b jsonBody) required(name string) (string, error) {
	v, ok, err := b.str(name)
	if err == nil && !ok {
		err = flexapi.Errorf(flexapi.EINVALID, "Invalid parameter %s: required", name)
	}
	return v, err
}
