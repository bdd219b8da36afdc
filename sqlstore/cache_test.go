package sqlstore

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
)

// writerEnv makes the test binary a writer process for
// TestCacheSeesWritesOfAnotherProcess: it opens the store named by the
// variable and runs the commands it reads, one a line.
const writerEnv = "FLEXAPI_TEST_CACHE_WRITER"

func init() {
	if db := os.Getenv(writerEnv); db != "" {
		if err := runWriter(db, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// writer changes users of a store, and says when each change is
// acknowledged. It is the other process, or the other replica, of the
// coherence tests.
type writer interface {
	// write sets the e-mail of user i to n@example.com, and, when
	// checkpoint, then runs a checkpoint that starts the WAL over.
	write(i, n int, checkpoint bool) error
}

// storeWriter writes through a second store of this process.
type storeWriter struct {
	s    *Store
	keys []flexapi.UserKey
}

func (w storeWriter) write(i, n int, checkpoint bool) error {
	email := strconv.Itoa(n) + "@example.com"
	if _, err := w.s.UpdateUser(context.Background(), w.keys[i], flexapi.UserUpdate{Email: &email}); err != nil {
		return err
	}
	if checkpoint && w.s.dialect.param == "?" {
		_, err := w.s.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		return err
	}
	return nil
}

func runWriter(db string, in io.Reader, out io.Writer) error {
	s, err := OpenWith(context.Background(), db, Existing)
	if err != nil {
		return err
	}
	defer s.Close()
	w := storeWriter{s: s, keys: coherenceKeys()}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var i, n int
		var checkpoint bool
		if _, err := fmt.Sscan(lines.Text(), &i, &n, &checkpoint); err != nil {
			return err
		}
		if err := w.write(i, n, checkpoint); err != nil {
			return err
		}
		fmt.Fprintln(out, "ok")
	}
	return lines.Err()
}

// processWriter writes through the writer process.
type processWriter struct {
	in  io.Writer
	out *bufio.Scanner
}

func (w processWriter) write(i, n int, checkpoint bool) error {
	fmt.Fprintln(w.in, i, n, checkpoint)
	if !w.out.Scan() || w.out.Text() != "ok" {
		return fmt.Errorf("the writer process did not acknowledge: %q %v", w.out.Text(), w.out.Err())
	}
	return nil
}

const coherenceUsers = 8

func coherenceKeys() []flexapi.UserKey {
	var keys []flexapi.UserKey
	for j := range coherenceUsers {
		keys = append(keys, flexapi.UserKey{AccountSID: "AC000000000000000000000000000000a1",
			InstanceSID: fmt.Sprintf("GO%032d", 1), FlexUserSID: fmt.Sprintf("FU%032d", j)})
	}
	return keys
}

// staleReads writes through w while readers read through s, and counts the
// reads that missed a write acknowledged before they began: each write is
// read back once it is acknowledged, and readers keep every user cached
// meanwhile. Every fifth write is followed by a checkpoint that starts the
// WAL over, which changes the WAL-index header in its own way.
func staleReads(t *testing.T, s *Store, w writer, writes int) int64 {
	t.Helper()
	keys := coherenceKeys()
	ctx := context.Background()
	var acked [coherenceUsers]atomic.Int64 // the newest acknowledged e-mail number of each user
	var stale atomic.Int64
	check := func(i int) {
		floor := acked[i].Load()
		u, err := s.User(ctx, keys[i])
		if err != nil {
			t.Errorf("read of user %d: %v", i, err)
			stale.Add(1)
			return
		}
		if n, _ := strconv.Atoi(strings.TrimSuffix(*u.Email, "@example.com")); int64(n) < floor {
			stale.Add(1)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					check(rand.IntN(coherenceUsers))
				}
			}
		})
	}
	for n := 1; n <= writes; n++ {
		i := n % coherenceUsers
		check(i) // cached, most likely, before the write
		if err := w.write(i, n, n%5 == 0); err != nil {
			t.Fatal(err)
		}
		acked[i].Store(int64(n))
		check(i)
	}
	close(done)
	wg.Wait()
	return stale.Load()
}

// coherenceStore makes a store at dsn with the users of coherenceKeys.
func coherenceStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s := open(t, dsn)
	a, _ := twoTenants(t, s, coherenceUsers)
	if a[0] != coherenceKeys()[0] {
		t.Fatalf("twoTenants made %v, not the users of coherenceKeys", a[0])
	}
	return s
}

// A write acknowledged through another store on the same database, another
// replica or another process's store on the same file, is seen by every read
// that begins after it, also when the read could come from the cache.
func TestCacheSeesWritesOfAnotherStore(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, dsn string) {
		s := coherenceStore(t, dsn)
		if s.dialect.param == "?" && s.cache == nil {
			t.Fatalf("a store on a SQLite file has no cache: %s", s.CacheOff())
		}
		w := storeWriter{s: open(t, dsn), keys: coherenceKeys()}
		if n := staleReads(t, s, w, 300); n > 0 {
			t.Errorf("%d reads missed a write acknowledged before they began", n)
		}
	})
}

func TestCacheSeesWritesOfAnotherProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+db)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process: %v", err)
		}
	}()
	if n := staleReads(t, s, processWriter{in: in, out: bufio.NewScanner(out)}, 300); n > 0 {
		t.Errorf("%d reads missed a write acknowledged by another process before they began", n)
	}
}

// The coherence test can fail: against a cache that does not look at the
// WAL-index, it finds stale reads.
func TestCoherenceTestCatchesAnUncheckedCache(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	s.cache.checkWAL = false
	w := storeWriter{s: open(t, db), keys: coherenceKeys()}
	if n := staleReads(t, s, w, 50); n == 0 {
		t.Error("no stale read found against a cache that never checks the WAL-index")
	}
}

// uncachedUser reads key from db through a store of its own that keeps no
// cache: what the file holds.
func uncachedUser(t *testing.T, db string, key flexapi.UserKey) flexapi.User {
	t.Helper()
	u, err := open(t, db, CacheUsers(0)).User(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fromCache is key's user as the cache holds it.
func fromCache(t *testing.T, s *Store, key flexapi.UserKey) flexapi.User {
	t.Helper()
	u, found, _, _ := s.cache.get(key)
	if !found {
		t.Fatalf("%s is not cached", key.FlexUserSID)
	}
	return u
}

// A write through the store itself changes only the user it wrote: the
// commit is known to be the only one since the header the cache holds. An
// update keeps the user as the file now holds it.
func TestOwnWritesChangeOnlyTheirUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	keys := coherenceKeys()
	ctx := context.Background()
	for _, k := range keys {
		if _, err := s.User(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for n := range 20 { // past the WAL's first frames, and through restarts of it
		email := fmt.Sprintf("own%d@example.com", n)
		if _, err := s.UpdateUser(ctx, keys[0], flexapi.UserUpdate{Email: &email}); err != nil {
			t.Fatal(err)
		}
		if got, want := fromCache(t, s, keys[0]), uncachedUser(t, db, keys[0]); !reflect.DeepEqual(got, want) || *got.Email != email {
			t.Fatalf("after write %d, the cache holds\n%+v\nand the file\n%+v", n, got, want)
		}
		if n%7 == 6 {
			if _, err := s.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				t.Fatal(err)
			}
			s.User(ctx, keys[1]) // the cache notices the checkpoint and starts over
		}
		if !cached(s, keys[1]) {
			t.Fatalf("after write %d, the cache forgot a user that was not written", n)
		}
	}
}

// Provision and deprovision keep the users they write as the file holds
// them: a new user, one deactivated and one reactivated, with a worker's
// attributes and every field a provision sets. The rest stay cached.
func TestLifecycleWritesKeepTheirUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	keys := coherenceKeys()
	ctx := context.Background()
	if _, err := s.User(ctx, keys[1]); err != nil {
		t.Fatal(err)
	}
	p := flexapi.Provision{Username: "kept", Email: "kept@example.com", FullName: "Kept User",
		Roles: []string{"agent", "wfo.quality_process_manager"}, WorkerAttributes: `{"skills":["billing"]}`}
	key := flexapi.UserKey{AccountSID: keys[0].AccountSID, InstanceSID: keys[0].InstanceSID} // its SID once made
	steps := []struct {
		name  string
		write func() error
	}{
		{"a new user's provision", func() error {
			u, created, err := s.ProvisionUser(ctx, key.AccountSID, key.InstanceSID, p)
			if err == nil && !created {
				err = fmt.Errorf("user %s was not created", u.FlexUserSID)
			}
			key.FlexUserSID = u.FlexUserSID
			return err
		}},
		{"a deprovision", func() error { return s.DeprovisionUser(ctx, key) }},
		{"a reactivating provision", func() error {
			p.Email, p.WorkerAttributes = "back@example.com", ""
			_, _, err := s.ProvisionUser(ctx, key.AccountSID, key.InstanceSID, p)
			return err
		}},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got, want := fromCache(t, s, key), uncachedUser(t, db, key); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s, the cache holds\n%+v\nand the file\n%+v", step.name, got, want)
		}
		if !cached(s, keys[1]) {
			t.Fatalf("after %s, the cache forgot a user that was not written", step.name)
		}
	}
	if u := fromCache(t, s, key); u.Deactivated() || *u.Email != "back@example.com" {
		t.Errorf("the reactivated user is cached as %+v", u)
	}
}

// The first write into a WAL that no commit has touched since the file was
// opened, as after a restart of the server, keeps the cache too: SQLite
// draws the WAL's salts anew then.
func TestFirstOwnWriteAfterOpenKeepsTheCache(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	coherenceStore(t, db).Close() // the last connection gone, SQLite removes the WAL
	s := open(t, db)
	keys := coherenceKeys()
	ctx := context.Background()
	if _, err := s.User(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	email := "first@example.com"
	if _, err := s.UpdateUser(ctx, keys[1], flexapi.UserUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	if !cached(s, keys[0]) || s.CacheStats().Resets != 0 {
		t.Errorf("after the first write since the file was opened, the cache forgot the user not written (%+v)", s.CacheStats())
	}
}

// Concurrent writes of this process keep the rest cached too: each write's
// bookkeeping is done before the next write begins, so that each finds the
// cache at the header just before its own commit.
func TestConcurrentOwnWritesChangeOnlyTheirUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	keys := coherenceKeys()
	ctx := context.Background()
	kept, written := keys[0], keys[1:]
	if _, err := s.User(ctx, kept); err != nil {
		t.Fatal(err)
	}
	resets := s.CacheStats().Resets
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 { // readers, whose fills race the writes' bookkeeping
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.User(ctx, written[i%len(written)]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 32 {
		k := written[w%len(written)]
		writers.Add(1)
		go func() {
			defer writers.Done()
			for n := range 20 {
				email := fmt.Sprintf("w%d-%d@example.com", w, n)
				if _, err := s.UpdateUser(ctx, k, flexapi.UserUpdate{Email: &email}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if !cached(s, kept) || s.CacheStats().Resets != resets {
		t.Errorf("after 640 concurrent writes of other users, the cache holds the one not written: %v; resets %d → %d",
			cached(s, kept), resets, s.CacheStats().Resets)
	}
	for _, k := range written {
		got, err := s.User(ctx, k)
		if want := uncachedUser(t, db, k); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after the writes, the store answers\n%+v (%v)\nand the file holds\n%+v", got, err, want)
		}
	}
}

// firstUserCached makes a store with the users of coherenceKeys, the first
// of them read into its cache.
func firstUserCached(t *testing.T) (*Store, []flexapi.UserKey) {
	t.Helper()
	s := coherenceStore(t, filepath.Join(t.TempDir(), "flexapi.db"))
	keys := coherenceKeys()
	if _, err := s.User(context.Background(), keys[0]); err != nil {
		t.Fatal(err)
	}
	return s, keys
}

// A write of this process that begins while another's bookkeeping is still
// to come waits for it: else it would find the cache a commit behind, and
// forget everything.
func TestOwnWriteWaitsForTheLastOnesBookkeeping(t *testing.T) {
	s, keys := firstUserCached(t)
	ctx := context.Background()
	second := make(chan error, 1)
	s.afterCommit = func() {
		s.afterCommit = nil
		go func() {
			email := "second@example.com"
			_, err := s.UpdateUser(ctx, keys[2], flexapi.UserUpdate{Email: &email})
			second <- err
		}()
		time.Sleep(50 * time.Millisecond) // room for the second write to commit, were it not held
	}
	email := "first@example.com"
	if _, err := s.UpdateUser(ctx, keys[1], flexapi.UserUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if !cached(s, keys[0]) {
		t.Error("two writes of other users in a row made the cache forget the one not written")
	}
}

// A reader held up after it read a header that a write of this process
// had just made, while that write's bookkeeping and another whole write go
// on, does not take its header, now an old one, for another process's
// commit: the cache keeps what it holds.
func TestStalledReaderDoesNotResetTheCache(t *testing.T) {
	s, keys := firstUserCached(t)
	ctx := context.Background()
	resets := s.CacheStats().Resets
	readHeader, resume, readerDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	s.cache.stalled = func() {
		s.cache.stalled = nil
		close(readHeader)
		<-resume
	}
	s.afterCommit = func() { // the first write's commit is made, its bookkeeping to come
		s.afterCommit = nil
		go func() {
			s.cache.current()
			close(readerDone)
		}()
		<-readHeader
	}
	for i, email := range []string{"one@example.com", "two@example.com"} {
		if _, err := s.UpdateUser(ctx, keys[1+i], flexapi.UserUpdate{Email: &email}); err != nil {
			t.Fatal(err)
		}
	}
	close(resume)
	<-readerDone
	if !cached(s, keys[0]) || s.CacheStats().Resets != resets {
		t.Errorf("after a stalled read, the user not written is cached: %v; resets %d → %d", cached(s, keys[0]), resets, s.CacheStats().Resets)
	}
}

// A write of this process that changes nothing does not pass another
// process's commit, made just after it, for its own.
func TestEmptyOwnWriteDoesNotHideAnotherCommit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	other, err := Open(context.Background(), db, CacheUsers(0))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	keys := coherenceKeys()
	ctx := context.Background()
	same, err := s.User(ctx, keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	email := "elsewhere@example.com"
	s.afterCommit = func() {
		s.afterCommit = nil
		if _, err := other.UpdateUser(ctx, keys[0], flexapi.UserUpdate{Email: &email}); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.UpdateUser(ctx, keys[1], flexapi.UserUpdate{Email: same.Email}); err != nil { // changes nothing
		t.Fatal(err)
	}
	if u, err := s.User(ctx, keys[0]); err != nil || u.Email == nil || *u.Email != email {
		t.Fatalf("after another process's write: %v, %v; want %s", u.Email, err, email)
	}
}

func cached(s *Store, key flexapi.UserKey) bool {
	_, _, hit, _ := s.cache.get(key)
	return hit
}

// Reads of absent users are cached too, and the cache holds no more users
// than it was given room for.
func TestCacheIsBounded(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	open(t, db) // makes the file
	s, err := Open(context.Background(), db, CacheUsers(128))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ := twoTenants(t, s, 300)
	ctx := context.Background()
	for _, k := range a {
		if _, err := s.User(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	absent := flexapi.UserKey{AccountSID: a[0].AccountSID, InstanceSID: a[0].InstanceSID, FlexUserSID: fmt.Sprintf("FU%032d", 999)}
	if _, err := s.User(ctx, absent); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Fatalf("absent user: %v", err)
	}
	if !cached(s, absent) {
		t.Error("a read of an absent user is not cached")
	}
	held := s.cache.stats().Users
	if held > s.CacheSize() || held < 128 || s.CacheSize() > 4*128 {
		t.Errorf("the cache holds %d users, room for %d, asked for 128", held, s.CacheSize())
	}
	if _, err := s.User(ctx, absent); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Fatalf("absent user from the cache: %v", err)
	}
	// Reads of many made-up SIDs take room of their own, bounded, and push
	// out no user.
	for i := range 2000 {
		k := absent
		k.FlexUserSID = fmt.Sprintf("FU%032d", 1000+i)
		if _, err := s.User(ctx, k); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			t.Fatalf("absent user: %v", err)
		}
	}
	st := s.cache.stats()
	users, absents := st.Users, st.Absent
	if users != held || absents > s.CacheSize()/8+cacheShards || absents < 10 {
		t.Errorf("after 2,000 absent users: %d users held (%d before), %d absent ones", users, held, absents)
	}
}

// Every entry reads back as it was put, however often the shards' blobs
// were moved, and the blobs take room in proportion to the entries held,
// however many were replaced, pushed out or left in an old epoch.
func TestCacheBlobsStayWithTheirEntries(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"), CacheUsers(1000))
	c := s.cache
	key := func(i int) flexapi.UserKey {
		return flexapi.UserKey{AccountSID: "AC" + strings.Repeat("a", 32), InstanceSID: "GO" + strings.Repeat("b", 32), FlexUserSID: fmt.Sprintf("FU%032d", i)}
	}
	const users, absent = 3000, 300 // three times the room for each
	for round := range 12 {
		if round == 6 { // as a write of another process does
			st := c.state.Load()
			c.state.Store(&cacheState{header: st.header, epoch: st.epoch + 1})
		}
		st := c.current()
		want := make(map[flexapi.UserKey]flexapi.User)
		for i := range users + absent {
			k := key(i)
			if i >= users {
				c.put(st, k, nil)
				continue
			}
			email := fmt.Sprintf("u%d-%d-%s@example.com", i, round, strings.Repeat("x", i%97)) // lengths vary
			u := flexapi.User{AccountSID: k.AccountSID, InstanceSID: k.InstanceSID, FlexUserSID: k.FlexUserSID, Email: &email, Roles: []string{"agent"}, Version: int64(round)}
			c.put(st, k, &u)
			want[k] = u
		}
		held, heldAbsent := 0, 0
		for i := range users + absent {
			got, found, hit, _ := c.get(key(i))
			switch {
			case i >= users && found:
				t.Fatalf("round %d: absent user %d found: %+v", round, i, got)
			case i >= users && hit:
				heldAbsent++
			case found:
				held++
				if !reflect.DeepEqual(got, want[key(i)]) {
					t.Fatalf("round %d: user %d reads\n%+v\nwant\n%+v", round, i, got, want[key(i)])
				}
			}
		}
		if held < 1000 || heldAbsent < 1000/8 {
			t.Errorf("round %d: %d users and %d absent ones held, room for 1000 and 125", round, held, heldAbsent)
		}
		for i := range c.shards {
			sh := &c.shards[i]
			live := 0
			for _, t := range []entries{sh.m, sh.absent} {
				for _, e := range t.slots {
					live += int(e.n) // 0 in a free slot
				}
			}
			if limit := max(minBlobs, live*3/2); cap(sh.blobs) > limit {
				t.Fatalf("round %d: shard %d has %d bytes of blobs for %d bytes of entries", round, i, cap(sh.blobs), live)
			}
		}
	}
}

// The cache counts its hits, misses, evictions and resets, for operators
// sizing it.
func TestCacheCountsWhatItDoes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	s := coherenceStore(t, db)
	keys := coherenceKeys()
	ctx := context.Background()
	absent := keys[0]
	absent.FlexUserSID = fmt.Sprintf("FU%032d", 999999)
	want := s.CacheStats()
	check := func(when string) {
		t.Helper()
		if got := s.CacheStats(); got != want {
			t.Fatalf("%s: %+v; want %+v", when, got, want)
		}
	}
	read := func(k flexapi.UserKey) {
		t.Helper()
		if _, err := s.User(ctx, k); err != nil && flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			t.Fatal(err)
		}
	}
	if want.Capacity != s.CacheSize() || want.Hits+want.Misses != 0 || want.Users != 0 {
		t.Fatalf("a new store's cache: %+v", want)
	}
	read(keys[0])
	want.Misses, want.Users = 1, 1 // the writes that made the users reset it, each (no keys given)
	check("first read")
	read(keys[0])
	want.Hits = 1
	check("second read")
	read(absent)
	read(absent)
	want.Misses, want.Hits, want.Absent = 2, 2, 1
	check("two reads of an absent user")
	email := "counted@example.com"
	if _, err := s.UpdateUser(ctx, keys[1], flexapi.UserUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	read(keys[0])
	want.Hits, want.Users = 3, 2 // the user written is kept as written
	check("a read after the store's own write of another user")
	other := "another@example.com"
	if _, err := open(t, db).UpdateUser(ctx, keys[1], flexapi.UserUpdate{Email: &other}); err != nil {
		t.Fatal(err)
	}
	read(keys[0])
	want.Misses, want.Resets = 3, want.Resets+1 // the stale entry is replaced: still two users held
	check("a read after another store's write")

	db = filepath.Join(t.TempDir(), "small.db")
	a, _ := twoTenants(t, open(t, db), 300)
	small := open(t, db, CacheUsers(1))
	for _, k := range a {
		if _, err := small.User(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got := small.CacheStats()
	if got.Users > got.Capacity || got.Users+int(got.Evictions) != len(a) || got.Misses != uint64(len(a)) {
		t.Errorf("%d users read into room for %d: %+v", len(a), got.Capacity, got)
	}
}

// A store that cannot watch the WAL-index keeps no cache, and says why.
func TestNoCacheWithoutWAL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "flexapi.db")
	open(t, db).Close()
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA journal_mode=DELETE`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	s, err := OpenWith(context.Background(), db, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cache != nil || s.CacheOff() == "" {
		t.Errorf("a store not in WAL mode caches users (off: %q)", s.CacheOff())
	}
}

// benchAgent is the i-th user of the cache's benchmarks, shaped like
// bench's: SIDs, username, e-mail, locale, a role.
func benchAgent(i int) flexapi.User {
	name, email, locale := fmt.Sprintf("agent%d", i), fmt.Sprintf("agent%d@example.com", i), "en-US"
	return flexapi.User{FlexUserSID: fmt.Sprintf("FU%032x", i), Username: &name, Email: &email,
		Locale: &locale, Roles: []string{"agent"}}
}

// BenchmarkCachedUserMemory reports the heap that the cache takes per user
// held, for users shaped like bench's (SIDs, username, e-mail, locale, a
// role).
func BenchmarkCachedUserMemory(b *testing.B) {
	const n = 20_000
	db := filepath.Join(b.TempDir(), "flexapi.db")
	s, err := Open(context.Background(), db, CacheUsers(n))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	in := flexapi.Instance{SID: fmt.Sprintf("GO%032d", 1), AccountSID: "AC000000000000000000000000000000a1"}
	if err := s.CreateAccount(ctx, &flexapi.Account{SID: in.AccountSID}, flexapi.HashSecret("x")); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateInstance(ctx, &in); err != nil {
		b.Fatal(err)
	}
	var users []flexapi.User
	for i := range n {
		users = append(users, benchAgent(i))
	}
	if _, err := s.UpsertUsers(ctx, in, users); err != nil {
		b.Fatal(err)
	}
	keys := make([]flexapi.UserKey, n)
	for i := range keys {
		keys[i] = flexapi.UserKey{AccountSID: in.AccountSID, InstanceSID: in.SID, FlexUserSID: users[i].FlexUserSID}
	}
	users = nil
	for b.Loop() {
		for i := range s.cache.shards {
			s.cache.shards[i].m, s.cache.shards[i].blobs = entries{}, nil // the old ones are garbage by the next GC
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, k := range keys {
			if _, err := s.User(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := s.cache.stats().Users; got != n {
			b.Fatalf("the cache holds %d users, want %d", got, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/user")
	}
}

// BenchmarkCachedRead is a read from a full cache of 1,000 users, which
// fit in the processor's caches, and of 1,000,000, which do not: each read
// then waits on memory for the entry and the blob. The users are picked at
// random, their keys written into one buffer, as a request's path is.
func BenchmarkCachedRead(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "flexapi.db"), CacheUsers(n))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const account, instance = "AC000000000000000000000000000000a1", "GO00000000000000000000000000000001"
			st := s.cache.current()
			for i := range n {
				u := benchAgent(i)
				u.AccountSID, u.InstanceSID = account, instance
				s.cache.put(st, flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: u.FlexUserSID}, &u)
			}
			sid := []byte("FU00000000000000000000000000000000")
			b.ReportAllocs()
			for b.Loop() {
				for i, v := 33, rand.IntN(n); i >= 2; i, v = i-1, v>>4 {
					sid[i] = "0123456789abcdef"[v&15]
				}
				key := flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: unsafe.String(&sid[0], len(sid))}
				if _, found, _, _ := s.cache.get(key); !found {
					b.Fatalf("user %s not found in the cache", key.FlexUserSID)
				}
			}
		})
	}
}
