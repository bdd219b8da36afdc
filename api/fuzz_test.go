package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/sqlstore"
)

// FuzzHandler sends arbitrary methods, paths, headers and bodies, with valid
// credentials so that they reach the routes, parsing and store. No input may
// cause a panic, a 500, a redirect, or a body that is not a JSON object.
func FuzzHandler(f *testing.F) {
	store, err := sqlstore.Open(context.Background(), filepath.Join(f.TempDir(), "flexapi.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	seed(&testing.T{}, store)
	h := api.NewHandler(store, api.Config{MaxBodyBytes: 4096})
	auth := httptest.NewRequest("GET", "/", nil)
	auth.SetBasicAuth(accountA, tokenA)
	authorization := auth.Header.Get("Authorization")

	f.Add("GET", pathA, "", "")
	f.Add("POST", pathA, "application/x-www-form-urlencoded", "Email=a%40example.com&Locale=en-US&UserSid=US"+strings.Repeat("a", 32))
	f.Add("POST", usersA, "application/x-www-form-urlencoded", "Username=x&Roles=agent&Roles=admin&WorkerSid=WK1")
	f.Add("GET", usersA+"?PageSize=2&PageToken=PAxyz&Email=a", "", "")
	f.Add("DELETE", pathA+"/../x", "", "")
	f.Add("OPTIONS", "//v2/%2F", "", "")
	f.Add("PATCH", "/v2/Instances/GO%00/Users", "text/plain", "\x00\xff")
	v4 := "/v4/Instances/" + instanceA + "/Users"
	f.Add("POST", v4+"/Provision", "application/json", `{"username":"u\u0000","email":"u@example.com","full_name":"U","roles":["agent"],"worker":{"attributes":{"a":1}}}`)
	f.Add("POST", v4+"/Provision", "application/json", `{"username":"ana","email":"ana@example.com","full_name":"Ana","roles":["wfo.full_access"],"worker":{}}`)
	f.Add("POST", v4+"/Deprovision", "application/json", `{"flex_user_sid":"`+userA+`"}`)
	f.Add("POST", v4+"/"+userA+"/Tokens", "application/json", `{"ttl":1e9}`)
	f.Add("GET", v4+"?Username=%E2%82", "", "")
	f.Add("GET", "/v1/Instances/"+instanceA+"/Teams/QO1", "", "")
	f.Add("GET", "/v1/Configuration", "", "")
	f.Fuzz(func(t *testing.T, method, target, contentType, body string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: fuzz\r\nAuthorization: " + authorization +
			"\r\nContent-Type: " + contentType + "\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // not HTTP: the server's own parser refuses it before flexapi sees it
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 || res.StatusCode >= 300 && res.StatusCode < 400 && res.StatusCode != 304 {
			t.Fatalf("%s %q: status %d: %s", method, target, res.StatusCode, rec.Body.String())
		}
		if res.StatusCode == 204 || res.StatusCode == 304 {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &obj); err != nil || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %q: status %d, Content-Type %q, body not a JSON object: %q", method, target, res.StatusCode,
				res.Header.Get("Content-Type"), rec.Body.String())
		}
		// Whatever a write path took in holds only text the field rules allow.
		for _, field := range []string{"username", "full_name", "email", "locale"} {
			if v, ok := obj[field].(string); ok && res.StatusCode < 300 {
				if err := flexapi.ValidateText(field, v, flexapi.MaxTextLength); err != nil {
					t.Fatalf("%s %q stored %s %q: %v", method, target, field, v, err)
				}
			}
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
