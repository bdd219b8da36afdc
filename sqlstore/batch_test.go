package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
)

// The batched reads are tested from inside the package, so that a test can
// see the batches form: a test of batching that never batched would prove
// nothing.

func open(t *testing.T, dsn string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// biggestBatch makes s note the size of the largest batch it reads.
func biggestBatch(s *Store) *atomic.Int64 {
	var biggest atomic.Int64
	lookup := s.reads.lookup
	s.reads.lookup = func(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error) {
		for n := int64(len(keys)); n > biggest.Load(); {
			if biggest.CompareAndSwap(biggest.Load(), n) {
				break
			}
		}
		return lookup(ctx, keys)
	}
	return &biggest
}

// twoTenants gives accounts A and B an instance each, with n users in each;
// user i's e-mail names its account and number.
func twoTenants(t *testing.T, s *Store, n int) (a, b []flexapi.UserKey) {
	t.Helper()
	ctx := context.Background()
	for i, acc := range []string{"AC000000000000000000000000000000a1", "AC000000000000000000000000000000b1"} {
		in := flexapi.Instance{SID: fmt.Sprintf("GO%032d", i+1), AccountSID: acc}
		if err := s.CreateAccount(ctx, &flexapi.Account{SID: acc}, flexapi.HashSecret("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateInstance(ctx, &in); err != nil {
			t.Fatal(err)
		}
		var users []flexapi.User
		for j := range n {
			email := fmt.Sprintf("%s-%d@example.com", acc[len(acc)-2:], j)
			users = append(users, flexapi.User{FlexUserSID: fmt.Sprintf("FU%032d", j), Email: &email})
			key := flexapi.UserKey{AccountSID: acc, InstanceSID: in.SID, FlexUserSID: users[j].FlexUserSID}
			if i == 0 {
				a = append(a, key)
			} else {
				b = append(b, key)
			}
		}
		if _, err := s.UpsertUsers(ctx, in, users); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// Concurrent reads of different users, of two accounts, present and absent,
// share queries, and each gets the answer to its own question: its user, or
// ENOTFOUND for another account's user (same instance and SID, other
// account) and for an absent one.
func TestBatchedReadsAnswerEachReader(t *testing.T) {
	pgtest.EachStore(t, testBatchedReadsAnswerEachReader)
}

func testBatchedReadsAnswerEachReader(t *testing.T, dsn string) {
	s := open(t, dsn, CacheUsers(0)) // every read a query: the cache would answer most of them

	a, b := twoTenants(t, s, 40)
	biggest := biggestBatch(s)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 100 {
				i := rand.IntN(len(a))
				key, want := a[i], fmt.Sprintf("a1-%d@example.com", i)
				switch rand.IntN(4) {
				case 0: // B's credentials on A's instance: not B's user
					key.AccountSID, want = b[i].AccountSID, ""
				case 1:
					key.FlexUserSID, want = fmt.Sprintf("FU%032d", 900+i), ""
				case 2:
					key, want = b[i], fmt.Sprintf("b1-%d@example.com", i)
				}
				u, err := s.User(ctx, key)
				switch {
				case want == "" && flexapi.ErrorCode(err) != flexapi.ENOTFOUND:
					t.Errorf("User(%v) = %v, %v; want ENOTFOUND", key, u.Email, err)
				case want != "" && (err != nil || u.FlexUserSID != key.FlexUserSID || u.AccountSID != key.AccountSID || *u.Email != want):
					t.Errorf("User(%v) = %+v, %v; want the user with %s", key, u, err, want)
				}
			}
		})
	}
	wg.Wait()
	if biggest.Load() < 2 {
		t.Errorf("32 concurrent readers never shared a query (largest batch %d): batching is not tested", biggest.Load())
	}
	t.Logf("largest batch: %d reads", biggest.Load())
}

// A read never joins a query already in flight: whatever was acknowledged
// before the read began is in its answer, also when the write went through
// another process's store (another replica, or an admin command).
func TestBatchedReadsSeeAcknowledgedWrites(t *testing.T) {
	pgtest.EachStore(t, testBatchedReadsSeeAcknowledgedWrites)
}

func testBatchedReadsSeeAcknowledgedWrites(t *testing.T, dsn string) {
	s := open(t, dsn, CacheUsers(0)) // the batched queries themselves (the cache's coherence: cache_test.go)
	a, _ := twoTenants(t, s, 4)
	writer := open(t, dsn)
	biggest := biggestBatch(s)
	ctx := context.Background()
	var acked [4]atomic.Int64 // the newest acknowledged version of each user
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				i := rand.IntN(len(a))
				floor := acked[i].Load()
				u, err := s.User(ctx, a[i])
				if err != nil || u.Version < floor {
					t.Errorf("read of user %d began after version %d was acknowledged, got version %d (%v)", i, floor, u.Version, err)
					return
				}
			}
		})
	}
	for n := range 200 {
		i := n % len(a)
		email := fmt.Sprintf("w%d@example.com", n)
		u, err := writer.UpdateUser(ctx, a[i], flexapi.UserUpdate{Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		acked[i].Store(u.Version)
	}
	close(done)
	wg.Wait()
	if biggest.Load() < 2 {
		t.Errorf("16 concurrent readers never shared a query: batching is not tested")
	}
}

// A reader that stops waiting gets its context's error at once, and the
// reads after it are served as ever.
func TestBatchedReadGivesUpWithItsContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"))
	a, _ := twoTenants(t, s, 1)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.User(ctx, a[0]); flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
		t.Errorf("read with an expired deadline: %v; want EUNAVAILABLE", err)
	}
	if u, err := s.User(context.Background(), a[0]); err != nil || u.FlexUserSID != a[0].FlexUserSID {
		t.Errorf("read after it: %+v, %v", u, err)
	}
}

// decodeRoles reads whatever rolesValue writes exactly as encoding/json
// would, on the fast path and off it.
func TestDecodeRolesAgreesWithEncodingJSON(t *testing.T) {
	lists := [][]string{
		{}, {"agent"}, {"agent", "admin", "supervisor"}, {""}, {"", ""}, {"a,b", "c"}, {`a","b`},
		{`"`}, {`\`}, {"<b>&</b>"}, {"é", "日本"}, {"\u2028", "\x00", "\xff"}, {" spaced ", "tab\t"},
	}
	for range 200 {
		var l []string
		for range rand.IntN(4) {
			b := make([]byte, rand.IntN(5))
			for i := range b {
				b[i] = `a,"\[] é<`[rand.IntN(10)]
			}
			l = append(l, string(b))
		}
		lists = append(lists, append([]string{}, l...))
	}
	for _, l := range lists {
		stored := rolesValue(l).(string)
		got, err := decodeRoles(stored)
		var want []string
		json.Unmarshal([]byte(stored), &want)
		if err != nil || !slices.Equal(got, want) || got == nil {
			t.Errorf("decodeRoles(%s) = %q, %v; want %q", stored, got, err, want)
		}
	}
	for _, odd := range []string{`[ "a" ]`, `["a" ,"b"]`, "[\n]"} {
		got, err := decodeRoles(odd)
		var want []string
		json.Unmarshal([]byte(odd), &want)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("decodeRoles(%s) = %q, %v; want %q", odd, got, err, want)
		}
	}
	if _, err := decodeRoles(`["a"`); err == nil {
		t.Error("a broken array decoded")
	}
}

// A read gives up at its own deadline even when the query serving it hangs,
// deaf to cancellation (a store behind a broken network): a request gets its
// 503 on time, and the store serves again once the query returns.
func TestBatchedReadGivesUpWhileItsQueryHangs(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"))
	a, _ := twoTenants(t, s, 1)
	release := make(chan struct{})
	lookup := s.reads.lookup
	s.reads.lookup = func(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error) {
		<-release
		return lookup(context.Background(), keys)
	}
	answered := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.User(ctx, a[0])
		answered <- err
	}()
	select {
	case err := <-answered:
		if flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
			t.Errorf("read whose query hangs: %v; want EUNAVAILABLE", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a read with a 50 ms deadline was still waiting after 5 s on a hung query")
	}
	close(release)
	if u, err := s.User(context.Background(), a[0]); err != nil || u.FlexUserSID != a[0].FlexUserSID {
		t.Errorf("read after the store answers again: %+v, %v", u, err)
	}
}

// A read whose pooled connection PostgreSQL has dropped (a restart, or an
// operator ending its backend) is asked again on a new one: the request is
// served, not failed with a 503.
func TestReadsOutliveDroppedConnections(t *testing.T) {
	dsn := pgtest.URL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("flexapi_dropped_%d", rand.Int64())
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	s := open(t, u.String())
	a, _ := twoTenants(t, s, 8)
	readAll := func() error {
		var wg sync.WaitGroup
		errs := make(chan error, len(a))
		for _, k := range a { // at once, so that every connection of the reads is used
			wg.Go(func() {
				if _, err := s.User(context.Background(), k); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	if err := readAll(); err != nil {
		t.Fatal(err)
	}

	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var ended int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		name).Scan(&ended); err != nil || ended == 0 {
		t.Fatalf("ended %d backends: %v", ended, err)
	}
	for left := 1; left > 0; time.Sleep(5 * time.Millisecond) { // until they are gone
		if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&left); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := readAll(); err != nil {
			t.Fatalf("a read after its connections were dropped: %v", err)
		}
	}
}

// The reads of users decode every column as written, alone and in batches:
// set and unset optional strings (an empty one too), multi-byte text, roles
// unknown, empty and several, deactivated or not. On PostgreSQL they have a
// decoder of their own (scanPostgresUser); the store's other reads, through
// database/sql, must agree with it.
func TestReadsDecodeEveryColumn(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, dsn string) {
		s := open(t, dsn, CacheUsers(0))
		twoTenants(t, s, 0)
		ctx := context.Background()
		str := func(s string) *string { return &s }
		date := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
		full := flexapi.User{UserSID: str("US1"), WorkerSID: str("WK1"), WorkspaceSID: str("WS1"), FlexTeamSID: str("QO1"),
			Username: str("agent.1"), FullName: str("Ágnes 日本 \"q\" \\"), Email: str(""), Locale: str("en-US"),
			Roles: []string{"agent", "", `super"visor`}, WorkerAttributes: `{"skills":["x"]}`, Version: 41,
			CreatedDate: date(1764650000), UpdatedDate: date(1764650001), DeactivatedDate: date(1764650002)}
		some := flexapi.User{Locale: str("fr"), Roles: []string{}, CreatedDate: date(1), UpdatedDate: date(2)}
		bare := flexapi.User{CreatedDate: date(1764650000), UpdatedDate: date(1764650000)}
		want := map[flexapi.UserKey]flexapi.User{}
		for i, u := range []flexapi.User{full, some, bare} {
			u.AccountSID, u.InstanceSID, u.FlexUserSID = "AC000000000000000000000000000000a1", fmt.Sprintf("GO%032d", 1), fmt.Sprintf("FU%032d", i)
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			want[flexapi.UserKey{AccountSID: u.AccountSID, InstanceSID: u.InstanceSID, FlexUserSID: u.FlexUserSID}] = u
		}
		for key, u := range want {
			got, err := s.User(ctx, key)
			if err != nil || !reflect.DeepEqual(got, u) {
				t.Errorf("read alone: %v\n%+v\nwant\n%+v", err, got, u)
			}
		}
		var keys []flexapi.UserKey
		for key := range want {
			keys = append(keys, key)
		}
		batch, err := s.reads.lookup(ctx, keys)
		if err != nil || len(batch) != len(want) {
			t.Fatalf("a batch of %d: %d users, %v", len(keys), len(batch), err)
		}
		for _, got := range batch {
			if u := want[flexapi.UserKey{AccountSID: got.AccountSID, InstanceSID: got.InstanceSID, FlexUserSID: got.FlexUserSID}]; !reflect.DeepEqual(got, u) {
				t.Errorf("read in a batch:\n%+v\nwant\n%+v", got, u)
			}
		}
		for got, err := range s.AllUsers(ctx, fmt.Sprintf("GO%032d", 1)) {
			if u := want[flexapi.UserKey{AccountSID: got.AccountSID, InstanceSID: got.InstanceSID, FlexUserSID: got.FlexUserSID}]; err != nil || !reflect.DeepEqual(got, u) {
				t.Errorf("listed: %v\n%+v\nwant\n%+v", err, got, u)
			}
		}
	})
}

// A batch's keys travel to PostgreSQL as array literals: a SID holding a
// quote, a backslash, a comma, braces or the word NULL still names its own
// user, and only it.
func TestBatchedLookupQuotesEveryKey(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, dsn string) {
		s := open(t, dsn, CacheUsers(0))
		twoTenants(t, s, 0)
		ctx := context.Background()
		account, instance := "AC000000000000000000000000000000a1", fmt.Sprintf("GO%032d", 1)
		sids := []string{`FU"a`, `FU\b`, `FU,c`, `{FU}`, `NULL`, `FU d`, `FU\"e`, ``}
		var keys []flexapi.UserKey
		for _, sid := range sids {
			u := flexapi.User{AccountSID: account, InstanceSID: instance, FlexUserSID: sid, Username: &sid}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: sid})
		}
		keys = append(keys, flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: `FU"a","FU\b`})
		users, err := s.reads.lookup(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			if u.Username == nil || *u.Username != u.FlexUserSID {
				t.Errorf("user %q has the username %v", u.FlexUserSID, u.Username)
			}
			got = append(got, u.FlexUserSID)
		}
		slices.Sort(got)
		slices.Sort(sids)
		if !slices.Equal(got, sids) {
			t.Errorf("a batch of %d keys found %q; want %q", len(keys), got, sids)
		}
	})
}

// watchfulContext counts the calls of Done: what watching it costs a
// request's context is a timer.
type watchfulContext struct {
	context.Context
	watched atomic.Int64
}

func (c *watchfulContext) Done() <-chan struct{} {
	c.watched.Add(1)
	return c.Context.Done()
}

// A read answered within its store's patience never watches its context; a
// read that waits longer does, and gives up when it ends
// (TestBatchedReadGivesUpWhileItsQueryHangs).
func TestAnsweredReadsLeaveTheirContextAlone(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"), CacheUsers(0))
	s.reads.patience = time.Hour // however slow the machine, every read here is answered within it
	a, b := twoTenants(t, s, 8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	reads := make([]*watchfulContext, 0, len(a)+len(b))
	for _, key := range append(a, b...) {
		c := &watchfulContext{Context: ctx}
		reads = append(reads, c)
		wg.Go(func() {
			if u, err := s.User(c, key); err != nil || u.FlexUserSID != key.FlexUserSID {
				t.Errorf("read of %v: %+v, %v", key, u, err)
			}
		})
	}
	wg.Wait()
	for i, c := range reads {
		if n := c.watched.Load(); n != 0 {
			t.Errorf("read %d watched its context %d times", i, n)
		}
	}
}
