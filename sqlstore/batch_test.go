package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
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
	s.reads.lookup = func(ctx context.Context, keys []flexapi.UserKey) (*sql.Rows, error) {
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
	s.reads.lookup = func(ctx context.Context, keys []flexapi.UserKey) (*sql.Rows, error) {
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
