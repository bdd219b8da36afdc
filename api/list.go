package api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/flexapi/flexapi"
)

// listMeta is Twilio's paging object.
type listMeta struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
	NextPageURL     *string `json:"next_page_url"`
	Key             string  `json:"key"`
}

type userList struct {
	Users []any    `json:"users"`
	Meta  listMeta `json:"meta"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// Page tokens are opaque to clients: "PA" (after) or "PB" (before) and the
// boundary SID in base64url. Keyset paging keeps them valid while users come
// and go: a page never repeats or skips a user that stays.
const (
	tokenAfter  = "PA"
	tokenBefore = "PB"
)

func pageToken(kind, sid string) string {
	return kind + base64.RawURLEncoding.EncodeToString([]byte(sid))
}

func parsePageToken(token string) (kind, sid string, err error) {
	invalid := flexapi.Errorf(flexapi.EINVALID, "Invalid parameter PageToken: %q is not a page token of this list", token)
	if len(token) < 2 || token[:2] != tokenAfter && token[:2] != tokenBefore {
		return "", "", invalid
	}
	raw, derr := base64.RawURLEncoding.DecodeString(token[2:])
	sid, ok := flexapi.ParseSID(flexapi.FlexUserPrefix, string(raw))
	if derr != nil || !ok {
		return "", "", invalid
	}
	return token[:2], sid, nil
}

// listUsers is GET /v1/Instances/{InstanceSid}/Users, with Twilio's paging
// (PageSize, Page, PageToken): every user, deactivated ones included.
func (s *server) listUsers(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	params, err := queryParams(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := flexapi.UserQuery{AccountSID: accountSID, InstanceSID: instance, Limit: defaultPageSize}
	page, token, err := readPaging(params, &q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, more, err := s.store.Users(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	base := s.baseURL(r)
	link := func(page int, token string) string {
		v := url.Values{}
		v.Set("PageSize", strconv.Itoa(q.Limit))
		v.Set("Page", strconv.Itoa(page))
		if token != "" {
			v.Set("PageToken", token)
		}
		return base + r.URL.Path + "?" + v.Encode()
	}
	list := userList{Users: make([]any, len(users)), Meta: listMeta{
		Page: page, PageSize: q.Limit, FirstPageURL: link(0, ""), URL: link(page, token), Key: "users",
	}}
	for i, u := range users {
		list.Users[i] = userObject(u)
	}
	if len(users) > 0 {
		// Going up there is more when the store says so; going down, the
		// page we came from lies above.
		if q.Before != "" || more {
			next := link(page+1, pageToken(tokenAfter, users[len(users)-1].FlexUserSID))
			list.Meta.NextPageURL = &next
		}
		if q.After != "" || q.Before != "" && more {
			prev := link(max(page-1, 0), pageToken(tokenBefore, users[0].FlexUserSID))
			list.Meta.PreviousPageURL = &prev
		}
	}
	WriteJSON(w, http.StatusOK, list)
}

// readPaging reads PageSize, Page and PageToken into q.
func readPaging(params url.Values, q *flexapi.UserQuery) (page int, token string, err error) {
	if v := params.Get("PageSize"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > maxPageSize {
			return 0, "", flexapi.Errorf(flexapi.EINVALID, "Invalid parameter PageSize: %q is not a whole number from 1 to %d", v, maxPageSize)
		}
		q.Limit = n
	}
	if v := params.Get("Page"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return 0, "", flexapi.Errorf(flexapi.EINVALID, "Invalid parameter Page: %q is not a whole number from 0", v)
		}
		page = n
	}
	if token = params.Get("PageToken"); token != "" {
		kind, sid, terr := parsePageToken(token)
		if terr != nil {
			return 0, "", terr
		}
		if kind == tokenAfter {
			q.After = sid
		} else {
			q.Before = sid
		}
	}
	return page, token, nil
}

// queryParams parses a query string as url.ParseQuery does, but refuses a
// malformed one with a 400 that names the parameter, where url.Values would
// drop it silently and answer as if it had not been sent.
func queryParams(raw string) (url.Values, error) {
	v := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(key)
		if err != nil {
			return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid query: the parameter name %q is not valid URL encoding", key)
		}
		val, err := url.QueryUnescape(value)
		if err != nil {
			return nil, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter %s: the value is not valid URL encoding", k)
		}
		v.Add(k, val)
	}
	return v, nil
}
