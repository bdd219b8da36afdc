package api

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flexapi/flexapi"
)

// userJSON is the wire form of a FlexUser: the reference page's 15 fields in
// its order, every one present, null where unknown. It writes its JSON by
// hand, byte for byte what encoding/json would write for the same fields, so
// that a fetch encodes without reflection and into a reused buffer.
type userJSON struct {
	user       flexapi.User
	base, host string // the url is base + host + the user's path, written without building it
}

// UserPath is the path of a user's resource.
func UserPath(instanceSID, flexUserSID string) string {
	return "/v2/Instances/" + instanceSID + "/Users/" + flexUserSID
}

// Representation returns the wire form of u, with its url under baseURL. It
// marshals with encoding/json.
func Representation(u flexapi.User, baseURL string) json.Marshaler {
	return representation(u, baseURL)
}

func representation(u flexapi.User, baseURL string) userJSON {
	return userJSON{user: u, base: baseURL}
}

func (j userJSON) MarshalJSON() ([]byte, error) { return j.appendJSON(nil), nil }

func (j userJSON) appendJSON(b []byte) []byte {
	u := &j.user
	b = append(b, `{"account_sid":`...)
	b = appendString(b, u.AccountSID)
	b = append(b, `,"instance_sid":`...)
	b = appendString(b, u.InstanceSID)
	b = append(b, `,"user_sid":`...)
	b = appendOptional(b, u.UserSID)
	b = append(b, `,"flex_user_sid":`...)
	b = appendString(b, u.FlexUserSID)
	b = append(b, `,"worker_sid":`...)
	b = appendOptional(b, u.WorkerSID)
	b = append(b, `,"workspace_sid":`...)
	b = appendOptional(b, u.WorkspaceSID)
	b = append(b, `,"flex_team_sid":`...)
	b = appendOptional(b, u.FlexTeamSID)
	b = append(b, `,"username":`...)
	b = appendOptional(b, u.Username)
	b = append(b, `,"email":`...)
	b = appendOptional(b, u.Email)
	b = append(b, `,"locale":`...)
	b = appendOptional(b, u.Locale)
	b = append(b, `,"roles":`...)
	b = appendRoles(b, u.Roles)
	b = append(b, `,"created_date":`...)
	b = appendDate(b, u.CreatedDate)
	b = append(b, `,"updated_date":`...)
	b = appendDate(b, u.UpdatedDate)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, u.Version, 10)
	b = append(b, `,"url":`...)
	b = appendJoined(b, j.base, j.host, "/v2/Instances/", u.InstanceSID, "/Users/", u.FlexUserSID)
	return append(b, '}')
}

// appendString writes s as a JSON string. Plain printable ASCII, which SIDs,
// dates, e-mails and locales nearly always are, is copied as it is; anything
// else goes through encoding/json, for its escaping of quotes, controls,
// HTML characters, line separators and invalid UTF-8.
func appendString(b []byte, s string) []byte {
	if !plain(s) {
		quoted, _ := json.Marshal(s)
		return append(b, quoted...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJoined writes the parts as one JSON string.
func appendJoined(b []byte, parts ...string) []byte {
	for _, p := range parts {
		if !plain(p) {
			return appendString(b, strings.Join(parts, ""))
		}
	}
	b = append(b, '"')
	for _, p := range parts {
		b = append(b, p...)
	}
	return append(b, '"')
}

// plain reports whether s is printable ASCII that JSON writes as it is.
func plain(s string) bool {
	for i := range len(s) {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte is true for the bytes that encoding/json copies as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

func appendOptional(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendRoles(b []byte, roles []string) []byte {
	if roles == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r)
	}
	return append(b, ']')
}

// appendDate writes RFC 3339 in UTC with second precision; an unknown date is
// null, never "", which official clients fail to decode.
func appendDate(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// forUser reads the path's SIDs for a handler of one user; a malformed SID
// is answered like an absent user.
func forUser(h func(http.ResponseWriter, *http.Request, flexapi.UserKey)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, accountSID string) {
		instance, ok1 := flexapi.ParseSID(flexapi.InstancePrefix, r.PathValue("InstanceSid"))
		user, ok2 := flexapi.ParseSID(flexapi.FlexUserPrefix, r.PathValue("FlexUserSid"))
		if !ok1 || !ok2 {
			NotFound(w, r)
			return
		}
		h(w, r, flexapi.UserKey{AccountSID: accountSID, InstanceSID: instance, FlexUserSID: user})
	}
}

// forInstance reads the path's instance SID for a handler of an instance's
// users; a malformed SID is answered like an absent instance.
func forInstance(h func(w http.ResponseWriter, r *http.Request, accountSID, instance string)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, accountSID string) {
		instance, ok := flexapi.ParseSID(flexapi.InstancePrefix, r.PathValue("InstanceSid"))
		if !ok {
			NotFound(w, r)
			return
		}
		h(w, r, accountSID, instance)
	}
}

func (s *server) fetchUser(w http.ResponseWriter, r *http.Request, key flexapi.UserKey) {
	u, err := s.store.User(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if noneMatch := r.Header.Get("If-None-Match"); noneMatch != "" && etagListMatches(noneMatch, u.Version, false) {
		w.Header()["Etag"] = etagHeader(u.Version)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeUser(w, r, http.StatusOK, u)
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request, key flexapi.UserKey) {
	form, err := s.parseForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var upd flexapi.UserUpdate
	upd.Email = formValue(form, "Email")
	upd.UserSID = formValue(form, "UserSid")
	upd.Locale = formValue(form, "Locale")
	upd.IfMatch = ifMatch(r)
	if err := upd.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.UpdateUser(r.Context(), key, upd)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusOK, u)
}

// parseForm reads a form-encoded body within the size limit. A body without
// a Content-Type is read as a form too, as clients that build requests by hand
// often send it so; a body of any other declared type is refused rather than
// silently ignored.
func (s *server) parseForm(w http.ResponseWriter, r *http.Request) (map[string][]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
		return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: Content-Type must be application/x-www-form-urlencoded, not %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		return nil, s.bodyError(err, "not a valid form-encoded body")
	}
	return r.PostForm, nil
}

// formValue returns the first value of a parameter, or nil when it is absent.
func formValue(form map[string][]string, name string) *string {
	if v, ok := form[name]; ok && len(v) > 0 {
		return &v[0]
	}
	return nil
}

func (s *server) baseURL(r *http.Request) string {
	base, host := s.urlBase(r)
	return base + host
}

// urlBase is where the URLs of the server's answers start, in two parts
// that make it when joined: the public URL, or the request's scheme and host.
func (s *server) urlBase(r *http.Request) (string, string) {
	switch {
	case s.publicURL != "":
		return s.publicURL, ""
	case r.TLS != nil:
		return "https://", r.Host
	}
	return "http://", r.Host
}

func (s *server) writeUser(w http.ResponseWriter, r *http.Request, status int, u flexapi.User) {
	buf := bodies.Get().(*[]byte)
	base, host := s.urlBase(r)
	body := userJSON{user: u, base: base, host: host}.appendJSON((*buf)[:0])
	w.Header()["Etag"] = etagHeader(u.Version) // the key canonical, as Set would make it
	writeBody(w, status, body)
	*buf = body
	bodies.Put(buf)
}

// bodies are buffers for the representations of users: the body is copied
// into the connection's buffer by Write, so the buffer serves again at once.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// etag is a user's entity tag: its version, which every change moves.
func etag(version int64) string {
	return `"` + strconv.FormatInt(version, 10) + `"`
}

// etagHeader is the ETag header's value for version; the first versions'
// are made once and shared (header values are replaced, never changed).
func etagHeader(version int64) []string {
	if version >= 0 && version < int64(len(sharedETags)) {
		return sharedETags[version]
	}
	return []string{etag(version)}
}

var sharedETags = func() [][]string {
	tags := make([][]string, 1024)
	for v := range tags {
		tags[v] = []string{etag(int64(v))}
	}
	return tags
}()

// ifMatch reads If-Match into the store's guard: absent or "*" lets any
// version of an existing user through; otherwise only the versions named.
func ifMatch(r *http.Request) flexapi.IfMatch {
	h := r.Header.Values("If-Match")
	if len(h) == 0 {
		return nil
	}
	m := flexapi.IfMatch{}
	for _, tag := range splitETags(strings.Join(h, ",")) {
		if tag == "*" {
			return nil
		}
		if v, ok := parseETag(tag, true); ok {
			m = append(m, v)
		}
	}
	return m
}

// etagListMatches reports whether an If-None-Match list names version (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagListMatches(list string, version int64, strong bool) bool {
	for _, tag := range splitETags(list) {
		if v, ok := parseETag(tag, strong); tag == "*" || ok && v == version {
			return true
		}
	}
	return false
}

func splitETags(list string) []string {
	var tags []string
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// parseETag reads one of our tags, "N" or, unless strong, W/"N".
func parseETag(tag string, strong bool) (int64, bool) {
	if rest, weak := strings.CutPrefix(tag, "W/"); weak {
		if strong {
			return 0, false
		}
		tag = rest
	}
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64)
	return v, err == nil && v >= 0
}
