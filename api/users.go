package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/flexapi/flexapi"
)

// userJSON is the wire form of a FlexUser: the reference page's 15 fields in
// its order, every one present, null where unknown.
type userJSON struct {
	AccountSID   string   `json:"account_sid"`
	InstanceSID  string   `json:"instance_sid"`
	UserSID      *string  `json:"user_sid"`
	FlexUserSID  string   `json:"flex_user_sid"`
	WorkerSID    *string  `json:"worker_sid"`
	WorkspaceSID *string  `json:"workspace_sid"`
	FlexTeamSID  *string  `json:"flex_team_sid"`
	Username     *string  `json:"username"`
	Email        *string  `json:"email"`
	Locale       *string  `json:"locale"`
	Roles        []string `json:"roles"`
	CreatedDate  *string  `json:"created_date"`
	UpdatedDate  *string  `json:"updated_date"`
	Version      int64    `json:"version"`
	URL          string   `json:"url"`
}

// UserPath is the path of a user's resource.
func UserPath(instanceSID, flexUserSID string) string {
	return "/v2/Instances/" + instanceSID + "/Users/" + flexUserSID
}

// Representation returns the wire form of u, with its url under baseURL.
func Representation(u flexapi.User, baseURL string) any {
	return userJSON{
		AccountSID:   u.AccountSID,
		InstanceSID:  u.InstanceSID,
		UserSID:      u.UserSID,
		FlexUserSID:  u.FlexUserSID,
		WorkerSID:    u.WorkerSID,
		WorkspaceSID: u.WorkspaceSID,
		FlexTeamSID:  u.FlexTeamSID,
		Username:     u.Username,
		Email:        u.Email,
		Locale:       u.Locale,
		Roles:        u.Roles,
		CreatedDate:  formatDate(u.CreatedDate),
		UpdatedDate:  formatDate(u.UpdatedDate),
		Version:      u.Version,
		URL:          baseURL + UserPath(u.InstanceSID, u.FlexUserSID),
	}
}

// formatDate is RFC 3339 in UTC with second precision; an unknown date is
// null, never "", which official clients fail to decode.
func formatDate(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// userKey reads the path's SIDs; ok is false when either is malformed, which
// is answered like an absent user.
func userKey(r *http.Request, accountSID string) (flexapi.UserKey, bool) {
	instance, ok1 := flexapi.ParseSID(flexapi.InstancePrefix, r.PathValue("InstanceSid"))
	user, ok2 := flexapi.ParseSID(flexapi.FlexUserPrefix, r.PathValue("FlexUserSid"))
	return flexapi.UserKey{AccountSID: accountSID, InstanceSID: instance, FlexUserSID: user}, ok1 && ok2
}

func (s *server) fetchUser(w http.ResponseWriter, r *http.Request, accountSID string) {
	key, ok := userKey(r, accountSID)
	if !ok {
		notFound(w, r)
		return
	}
	u, err := s.store.User(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, u)
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request, accountSID string) {
	key, ok := userKey(r, accountSID)
	if !ok {
		notFound(w, r)
		return
	}
	form, err := s.parseForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var upd flexapi.UserUpdate
	upd.Email = formValue(form, "Email")
	upd.UserSID = formValue(form, "UserSid")
	upd.Locale = formValue(form, "Locale")
	if err := upd.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.UpdateUser(r.Context(), key, upd)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, u)
}

// parseForm reads a form-encoded body within the size limit. A body of any
// other type is refused rather than silently ignored.
func (s *server) parseForm(w http.ResponseWriter, r *http.Request) (map[string][]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		ct, _, _ = mime.ParseMediaType(ct)
	}
	if ct != "application/x-www-form-urlencoded" && (ct != "" || r.ContentLength != 0) {
		return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: Content-Type must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid request body: not a valid form-encoded body")
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
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *server) writeUser(w http.ResponseWriter, r *http.Request, u flexapi.User) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(u.Version, 10)+`"`)
	writeJSON(w, http.StatusOK, Representation(u, s.baseURL(r)))
}
