package main

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi/internal/pgtest"
)

// On both stores, bad text in any field is a row rejected or a 400 naming
// the field, and never a 500 that loses the good rows beside it.
func TestBadFieldsOnEveryStore(t *testing.T) { pgtest.EachStore(t, testBadFields) }

func testBadFields(t *testing.T, dsn string) {
	mustCLI(t, nil, "migrate", "--db", dsn)
	f := newFixtureOn(t, dsn)
	var b strings.Builder
	for i := range 9 {
		fmt.Fprintf(&b, `{"flex_user_sid":"FU%032x","username":"u%d","email":"u%d@example.com","roles":["agent"]}`+"\n", i, i, i)
	}
	b.WriteString(`{"username":"nul\u0000inside"}` + "\n")                      // line 10
	b.WriteString("{\"username\":\"bad \xff byte\"}\n")                         // line 11
	b.WriteString(`{"username":"` + strings.Repeat("a", 60_000) + "\"}\n")      // line 12
	b.WriteString(`{"username":"esc","email":"e\u001b[2J@example.com"}` + "\n") // line 13
	out, err := cli(t, nil, "import", "--db", dsn, "--instance", f.instance, writeFile(t, "users.jsonl", b.String()))
	if err == nil || !strings.HasPrefix(out, "13 rows: 9 inserted, 0 updated, 0 unchanged, 4 rejected\n") {
		t.Fatalf("import: %v\n%.2000s", err, out)
	}
	for _, want := range []string{"line 10: Invalid parameter Username: control character U+0000", "line 11: the line is not valid UTF-8",
		"line 12: Invalid parameter Username: must be 1 to 256 characters, not 60000", "line 13: Invalid parameter Email: control character"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%.2000s", want, out)
		}
	}
	if len(out) > 4000 {
		t.Errorf("the summary repeats the 60,000-character value: %d bytes", len(out))
	}

	srv := startServe(t, nil, "--db", dsn)
	user := fmt.Sprintf("FU%032x", 0)
	u := srv.url + "/v2/Instances/" + f.instance + "/Users/" + user
	for _, form := range []url.Values{
		{"Email": {"a\x00@example.com"}}, {"Email": {"\xff@example.com"}}, {"Email": {strings.Repeat("a", 300) + "@example.com"}},
		{"Locale": {"en\x1b"}}, {"Locale": {"\xffen"}},
	} {
		status, body := post(t.Context(), u, f.account, f.token, form)
		var param string
		for k := range form {
			param = k
		}
		if status != 400 || !strings.Contains(fmt.Sprint(body["message"]), "parameter "+param) {
			t.Errorf("update %q: %d %v; want 400 naming %s", form.Encode(), status, body, param)
		}
	}
	if got := fetch(t, u, f.account, f.token); got["email"] != "u0@example.com" || got["version"] != float64(0) {
		t.Errorf("after refused updates the user is %v; want it unchanged", got)
	}
	if _, err := cli(t, nil, "users", "create", "--db", dsn, "--instance", f.instance, "--username", "a\x1b[31m"); err == nil || !strings.Contains(err.Error(), "Username") {
		t.Errorf("users create with an escape in the username: %v; want an error naming Username", err)
	}
}

// What is already stored never reaches the operator's terminal raw.
func TestUsersListEscapesControlCharacters(t *testing.T) {
	f := newFixture(t)
	if _, err := sqliteDB(t, f.db).ExecContext(t.Context(), `INSERT INTO users (instance_sid, flex_user_sid, account_sid, username, created_date, updated_date)
		VALUES ($1, $2, $3, $4, 0, 0)`, f.instance, "FU"+strings.Repeat("e", 32), f.account, "\x1b]0;owned\x07\x1b[2Jname\xff"); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, nil, "users", "list", "--db", f.db, "--instance", f.instance)
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `\x1b]0;owned\a\x1b[2Jname\xff`) {
		t.Errorf("users list printed %q; want the control characters escaped", out)
	}
}

// Answers outside flexapi's handler: OPTIONS * is a Twilio 404, not Go's
// empty 200.
func TestOptionsAsterisk(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:")
	u, _ := url.Parse(srv.url)
	res := rawRequest(t, u.Host, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(res, "HTTP/1.1 404") || !strings.Contains(res, `"code":20404`) {
		t.Errorf("OPTIONS *: %q", res)
	}
}

// The answers that Go's HTTP server gives before any handler runs are the
// ones the README lists, so that the list stays true.
func TestAnswersBeforeTheHandler(t *testing.T) {
	srv := startServe(t, nil, "--db", ":memory:")
	u, _ := url.Parse(srv.url)
	for _, tt := range []struct{ request, status, body string }{
		{"GET /healthz HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n", "HTTP/1.1 400 Bad Request", "text/plain"},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n", "HTTP/1.1 417 Expectation Failed", "Content-Length: 0"},
		{"GET /healthz HTTP/2.5\r\nHost: x\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported", "text/plain"},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large", "text/plain"},
	} {
		if res := rawRequest(t, u.Host, tt.request); !strings.HasPrefix(res, tt.status) || !strings.Contains(res, tt.body) {
			t.Errorf("%.40q: %.120q; want %s with %s", tt.request, res, tt.status, tt.body)
		}
	}
	if res, err := http.Get(srv.url + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Errorf("the server after them: %v %v", res, err)
	}
}

// sqliteDB opens a store's file directly, to put there what no write path
// of flexapi would.
func sqliteDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawRequest writes request on a new connection and returns all the server
// answered before it closed the connection or went quiet.
func rawRequest(t *testing.T, host, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}
