package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/flexapi/flexapi/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
	"github.com/flexapi/flexapi/sqlstore"
)

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportRejectsBadRowsAndKeepsTheRest(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	for i := range 10 {
		if i%2 == 0 {
			fmt.Fprintf(&b, `{"flex_user_sid":"FU%032x","username":"u%d","email":"u%d@example.com","roles":["agent"]}`+"\n", i, i, i)
		} else {
			fmt.Fprintf(&b, `{"username":"u%d","locale":"de-CH"}`+"\n", i)
		}
	}
	b.WriteString("\n")                                                // line 11: blank, skipped
	b.WriteString(`{"username": "broken"` + "\n")                      // line 12
	b.WriteString(`{"username":"x","email":"not an address"}` + "\n")  // line 13
	b.WriteString(`{"username":"y","favourite_colour":"blue"}` + "\n") // line 14
	b.WriteString(`{"flex_user_sid":"FU123","username":"z"}` + "\n")   // line 15
	path := writeFile(t, "users.jsonl", b.String())

	out, err := cli(t, nil, "import", "--db", f.db, "--instance", f.instance, path)
	if err == nil || !strings.Contains(err.Error(), "4 rows rejected") {
		t.Errorf("import error %v; want 4 rows rejected", err)
	}
	if !strings.HasPrefix(out, "14 rows: 10 inserted, 0 updated, 0 unchanged, 4 rejected\n") {
		t.Errorf("summary: %q", out)
	}
	for _, want := range []string{"rejected line 12: ", "rejected line 13: Invalid parameter Email", "rejected line 14: ", "favourite_colour", "rejected line 15: Invalid parameter flex_user_sid"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	users := strings.Split(strings.TrimSpace(mustCLI(t, nil, "users", "list", "--db", f.db, "--instance", f.instance, "--json")), "\n")
	if len(users) != 10 {
		t.Errorf("%d users stored; want the 10 good rows", len(users))
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, `{"username":"u%d","email":"u%d@example.com","locale":"en-GB","roles":["agent","admin"],"worker_sid":"WK%032x"}`+"\n", i, i, i)
	}
	b.WriteString(`{"username":"nulls","roles":[]}` + "\n")
	b.WriteString(`{"username":"full","full_name":"Full Name","roles":["supervisor"],"worker_attributes":{"skills":["sales"],"level":3}}` + "\n")
	b.WriteString(`{"username":"gone","full_name":"Gone","deactivated":true,"deactivated_date":"2025-01-02T03:04:05Z"}` + "\n")
	mustCLI(t, nil, "import", "--db", f.db, "--instance", f.instance, writeFile(t, "in.jsonl", b.String()))
	exported := filepath.Join(t.TempDir(), "out.jsonl")
	mustCLI(t, nil, "export", "--db", f.db, "--instance", f.instance, "--out", exported)

	// Back into the same instance: nothing changes.
	out := mustCLI(t, nil, "import", "--db", f.db, "--instance", f.instance, exported)
	if !strings.HasPrefix(out, "28 rows: 0 inserted, 0 updated, 28 unchanged, 0 rejected") {
		t.Errorf("re-import: %q", out)
	}
	// Into another instance: the same users, dates and versions.
	other := decode(t, mustCLI(t, nil, "instances", "create", "--db", f.db, "--account", f.account, "--json"))["sid"].(string)
	if out := mustCLI(t, nil, "import", "--db", f.db, "--instance", other, exported); !strings.HasPrefix(out, "28 rows: 28 inserted") {
		t.Errorf("import into another instance: %q", out)
	}
	first, _ := os.ReadFile(exported)
	second := mustCLI(t, nil, "export", "--db", f.db, "--instance", other)
	if want := strings.ReplaceAll(string(first), f.instance, other); second != want {
		t.Errorf("the second export differs from the first but for the instance:\n%s\n---\n%s", second, want)
	}
	lines := strings.Split(strings.TrimSpace(second), "\n")
	byName := map[string]map[string]any{}
	for _, l := range lines {
		var u map[string]any
		json.Unmarshal([]byte(l), &u)
		byName[fmt.Sprint(u["username"])] = u
		if u["version"] != 0.0 || u["created_date"] == nil || u["user_sid"] == nil || u["workspace_sid"] == nil || u["flex_team_sid"] == nil {
			t.Errorf("exported %v", u)
		}
	}
	if full := byName["full"]; len(lines) != 28 || full["full_name"] != "Full Name" || fmt.Sprint(full["worker_attributes"]) != "map[level:3 skills:[sales]]" {
		t.Errorf("exported %d lines; full %v", len(lines), full)
	}
	if gone := byName["gone"]; gone["deactivated"] != true || gone["deactivated_date"] != "2025-01-02T03:04:05Z" || gone["worker_sid"] != nil {
		t.Errorf("the deactivated user exported as %v", gone)
	}
}

// One row is "1 row", in the summary and in the error.
func TestImportOfOneBadRow(t *testing.T) {
	f := newFixture(t)
	out, err := cli(t, nil, "import", "--db", f.db, "--instance", f.instance, writeFile(t, "u.jsonl", `{"email":"bad-address"}`+"\n"))
	if err == nil || err.Error() != "1 row rejected" || !strings.HasPrefix(out, "1 row: 0 inserted, 0 updated, 0 unchanged, 1 rejected\n") {
		t.Errorf("import of one bad row: %q, %v", out, err)
	}
}

func TestImportCSV(t *testing.T) {
	f := newFixture(t)
	csvText := "flex_user_sid,username,email,locale,roles,version\n" +
		"FU" + strings.Repeat("a", 32) + ",ana,ana@example.com,pt-BR,\"agent,admin\",3\n" +
		",bo,,,\"[\"\"supervisor\"\"]\",\n" +
		",cy,bad-address,,,\n" +
		",\"unterminated,x\n"
	out, err := cli(t, nil, "import", "--db", f.db, "--instance", f.instance, writeFile(t, "u.csv", csvText))
	if err == nil || !strings.HasPrefix(out, "4 rows: 2 inserted, 0 updated, 0 unchanged, 2 rejected") {
		t.Fatalf("csv import: %q %v", out, err)
	}
	if !strings.Contains(out, "rejected line 4: Invalid parameter Email") {
		t.Errorf("summary: %q", out)
	}
	ana := decode(t, mustCLI(t, nil, "users", "get", "--db", f.db, "--instance", f.instance, "FU"+strings.Repeat("a", 32), "--json"))
	if fmt.Sprint(ana["roles"]) != "[agent admin]" || ana["version"] != 3.0 || ana["locale"] != "pt-BR" {
		t.Errorf("ana: %v", ana)
	}
	list := mustCLI(t, nil, "users", "list", "--db", f.db, "--instance", f.instance, "--json")
	if !strings.Contains(list, `"email":null,`) || !strings.Contains(list, `"locale":null,"roles":["supervisor"]`) || !strings.Contains(list, `"username":"bo"`) {
		t.Errorf("bo: %s", list)
	}
	if _, err := cli(t, nil, "import", "--db", f.db, "--instance", f.instance, writeFile(t, "x.csv", "username,shoe_size\nx,42\n")); err == nil ||
		!strings.Contains(err.Error(), "shoe_size") {
		t.Errorf("unknown CSV column: %v", err)
	}
}

// stopAfter is a reader whose import is interrupted (as by Ctrl-C) once it
// has handed out n rows.
type stopAfter struct {
	fixture.Reader
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Next() (int, fixture.Record, error) {
	if s.n == 0 {
		s.cancel()
	}
	s.n--
	return s.Reader.Next()
}

func TestInterruptedImportLeavesWholeBatches(t *testing.T) {
	f := newFixture(t)
	path := generateUsers(t, 5000)
	store, err := sqlstore.Open(context.Background(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	in, _ := store.Instance(context.Background(), f.instance)
	file, _ := os.Open(path)
	defer file.Close()
	ctx, cancel := context.WithCancel(context.Background())
	jsonl, _ := fixture.NewReader(file, path, "jsonl")
	reader := &stopAfter{Reader: jsonl, n: 2500, cancel: cancel}
	sum, err := fixture.Import(ctx, store, in, reader, 1000, func(int) {})
	if err == nil {
		t.Fatal("the interrupted import reported no error")
	}
	n := 0
	for _, err := range store.AllUsers(context.Background(), f.instance) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	// The writer may or may not have committed the second batch when the
	// interruption came; the third, half read, must not be there at all.
	if n%1000 != 0 || n > 2000 || n != sum.Inserted {
		t.Errorf("after an interruption at row 2500: %d users stored, %d reported; want whole batches of 1000, at most 2000", n, sum.Inserted)
	}
}

// generateUsers writes n users as JSON Lines, as an export would.
func generateUsers(t testing.TB, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "generated.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"flex_user_sid":"FU%032x","user_sid":"US%032x","worker_sid":"WK%032x","username":"agent%d","email":"agent%d@example.com","locale":"en-US","roles":["agent"]}`+"\n",
			i, i, i, i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// BenchmarkImport measures `flexapi import` of 100,000 generated users into a
// fresh embedded store, then the same file again (which must change nothing).
func BenchmarkImport(b *testing.B) {
	benchmarkImport(b, func() string { return newStoreFile(b) })
}

// BenchmarkImportPostgres is the same into a fresh PostgreSQL schema.
func BenchmarkImportPostgres(b *testing.B) {
	benchmarkImport(b, func() string { return pgtest.URL(b) })
}

func benchmarkImport(b *testing.B, newDB func() string) {
	const n = 100_000
	path := generateUsers(b, n)
	for b.Loop() {
		b.StopTimer()
		db := newDB()
		acct := flexapi.NewSID("AC")
		inst := flexapi.NewSID("GO")
		mustCLI(&testing.T{}, nil, "accounts", "create", "--db", db, "--sid", acct)
		mustCLI(&testing.T{}, nil, "instances", "create", "--db", db, "--account", acct, "--sid", inst)
		b.StartTimer()
		out, err := cli(&testing.T{}, nil, "import", "--db", db, "--instance", inst, path)
		if err != nil || !strings.HasPrefix(out, fmt.Sprintf("%d rows: %d inserted", n, n)) {
			b.Fatalf("import: %q %v", out, err)
		}
		b.StopTimer()
		again, err := cli(&testing.T{}, nil, "import", "--db", db, "--instance", inst, path)
		if err != nil || !strings.HasPrefix(again, fmt.Sprintf("%d rows: 0 inserted, 0 updated, %d unchanged", n, n)) {
			b.Fatalf("the second import of the same file changed something: %q %v", again, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// peakRSSMiB reads the process's high-water mark of resident memory.
func peakRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb / 1024
		}
	}
	return 0
}
