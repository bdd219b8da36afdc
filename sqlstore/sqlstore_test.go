package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
	"github.com/flexapi/flexapi/sqlstore"
)

const (
	accountA = "AC00000000000000000000000000000001"
	accountB = "AC00000000000000000000000000000002"
	instance = "GO00000000000000000000000000000001"
	userSID  = "FU00000000000000000000000000000001"
)

func openFile(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMain says which tests will be skipped, since go test does not.
func TestMain(m *testing.M) {
	if os.Getenv(pgtest.EnvVar) == "" {
		fmt.Println("sqlstore: " + pgtest.EnvVar + " is not set: the postgres subtests are skipped")
	}
	os.Exit(m.Run())
}

// seeded returns a store at dsn with two accounts, an instance of account A
// and one user in it.
func seeded(t *testing.T, dsn string) (*sqlstore.Store, string) {
	t.Helper()
	path := dsn
	s := openFile(t, path)
	ctx := context.Background()
	for _, sid := range []string{accountA, accountB} {
		if err := s.CreateAccount(ctx, &flexapi.Account{SID: sid}, flexapi.HashSecret("token"+sid)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateInstance(ctx, &flexapi.Instance{SID: instance, AccountSID: accountA}); err != nil {
		t.Fatal(err)
	}
	email := "a@example.com"
	u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: userSID, Email: &email, Roles: []string{"agent", "admin"}}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	return s, path
}

var keyA = flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: userSID}

func TestUserRoundTrip(t *testing.T) { pgtest.EachStore(t, testUserRoundTrip) }

func testUserRoundTrip(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	got, err := s.User(context.Background(), keyA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email == nil || *got.Email != "a@example.com" || got.Username != nil || got.Locale != nil {
		t.Errorf("fields: email %v, username %v, locale %v; want a@example.com, nil, nil", got.Email, got.Username, got.Locale)
	}
	if strings.Join(got.Roles, ",") != "agent,admin" || got.Version != 0 {
		t.Errorf("roles %v version %d; want [agent admin] 0", got.Roles, got.Version)
	}
	if got.CreatedDate.IsZero() || !got.CreatedDate.Equal(got.UpdatedDate) || got.CreatedDate.Location() != time.UTC {
		t.Errorf("dates %v / %v; want equal, set, UTC", got.CreatedDate, got.UpdatedDate)
	}
}

func TestRolesNullAndEmpty(t *testing.T) { pgtest.EachStore(t, testRolesNullAndEmpty) }

func testRolesNullAndEmpty(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	for _, roles := range [][]string{nil, {}} {
		u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: flexapi.NewSID("FU"), Roles: roles}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		got, err := s.User(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: u.FlexUserSID})
		if err != nil {
			t.Fatal(err)
		}
		if (got.Roles == nil) != (roles == nil) || len(got.Roles) != 0 {
			t.Errorf("roles %#v came back as %#v", roles, got.Roles)
		}
	}
}

func TestTenancy(t *testing.T) { pgtest.EachStore(t, testTenancy) }

func testTenancy(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	for name, key := range map[string]flexapi.UserKey{
		"other account":   {AccountSID: accountB, InstanceSID: instance, FlexUserSID: userSID},
		"absent user":     {AccountSID: accountA, InstanceSID: instance, FlexUserSID: "FU00000000000000000000000000000009"},
		"absent instance": {AccountSID: accountA, InstanceSID: "GO00000000000000000000000000000009", FlexUserSID: userSID},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.User(ctx, key); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
				t.Errorf("User: err %v; want ENOTFOUND", err)
			}
			email := "x@example.com"
			if _, err := s.UpdateUser(ctx, key, flexapi.UserUpdate{Email: &email}); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
				t.Errorf("UpdateUser: err %v; want ENOTFOUND", err)
			}
		})
	}
	// A user created through another account's instance must be refused.
	u := flexapi.User{AccountSID: accountB, InstanceSID: instance, FlexUserSID: flexapi.NewSID("FU")}
	if err := s.CreateUser(ctx, &u); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("CreateUser in another account's instance: err %v; want ENOTFOUND", err)
	}
}

func TestUpdateUser(t *testing.T) { pgtest.EachStore(t, testUpdateUser) }

func testUpdateUser(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	before, _ := s.User(ctx, keyA)
	same := "a@example.com"
	got, err := s.UpdateUser(ctx, keyA, flexapi.UserUpdate{Email: &same})
	if err != nil || got.Version != 0 || !got.UpdatedDate.Equal(before.UpdatedDate) {
		t.Fatalf("no-op update: version %d, updated %v, err %v; want 0, %v, nil", got.Version, got.UpdatedDate, err, before.UpdatedDate)
	}
	locale, email := "de-DE", "b@example.com"
	got, err = s.UpdateUser(ctx, keyA, flexapi.UserUpdate{Locale: &locale, Email: &email})
	if err != nil || got.Version != 1 || *got.Locale != "de-DE" || *got.Email != "b@example.com" {
		t.Fatalf("update: %+v, %v; want version 1 with the new values", got, err)
	}
	again, _ := s.User(ctx, keyA)
	if again.Version != 1 || *again.Locale != "de-DE" || strings.Join(again.Roles, ",") != "agent,admin" {
		t.Errorf("read back: version %d locale %v roles %v", again.Version, again.Locale, again.Roles)
	}
}

// Concurrent writers never lose an update: every change is one atomic
// read-modify-write, so the version counts them all.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	pgtest.EachStore(t, testConcurrentUpdatesLoseNothing)
}

func testConcurrentUpdatesLoseNothing(t *testing.T, dsn string) {
	s, path := seeded(t, dsn)
	other := openFile(t, path) // a second process's view of the same file
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store := s
			if w%2 == 1 {
				store = other
			}
			for i := range each {
				email := "w" + string(rune('a'+w)) + "-" + string(rune('a'+i)) + "@example.com"
				if _, err := store.UpdateUser(ctx, keyA, flexapi.UserUpdate{Email: &email}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, _ := s.User(ctx, keyA)
	if got.Version != writers*each {
		t.Errorf("version after %d changes = %d", writers*each, got.Version)
	}
}

func TestCredentials(t *testing.T) { pgtest.EachStore(t, testCredentials) }

func testCredentials(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	c, err := s.Credential(ctx, accountA)
	if err != nil || c.AccountSID != accountA || !c.Verify("token"+accountA) || c.Verify("token"+accountB) {
		t.Fatalf("account credential %+v, %v", c, err)
	}
	if err := s.SetSecondaryToken(ctx, accountA, flexapi.HashSecret("second")); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Credential(ctx, accountA)
	if !c.Verify("second") || !c.Verify("token"+accountA) {
		t.Error("primary and secondary tokens must both be accepted")
	}
	key := flexapi.APIKey{SID: flexapi.NewSID("SK"), AccountSID: accountB}
	if err := s.CreateKey(ctx, &key, flexapi.HashSecret("keysecret")); err != nil {
		t.Fatal(err)
	}
	c, err = s.Credential(ctx, key.SID)
	if err != nil || c.AccountSID != accountB || !c.Verify("keysecret") {
		t.Fatalf("key credential %+v, %v; want account B's, verifying", c, err)
	}
	if err := s.SetAccountStatus(ctx, accountB, flexapi.AccountSuspended); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.Credential(ctx, key.SID); c.Verify("keysecret") {
		t.Error("the key of a suspended account still verifies")
	}
	for _, sid := range []string{"AC00000000000000000000000000000009", "SK00000000000000000000000000000009", "XX1"} {
		if _, err := s.Credential(ctx, sid); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			t.Errorf("Credential(%q): err %v; want ENOTFOUND", sid, err)
		}
	}
}

func TestConflictsAndMissingParents(t *testing.T) {
	pgtest.EachStore(t, testConflictsAndMissingParents)
}

func testConflictsAndMissingParents(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	if err := s.CreateAccount(ctx, &flexapi.Account{SID: accountA}, "h"); flexapi.ErrorCode(err) != flexapi.ECONFLICT {
		t.Errorf("duplicate account: %v; want ECONFLICT", err)
	}
	if err := s.CreateInstance(ctx, &flexapi.Instance{SID: instance, AccountSID: accountA}); flexapi.ErrorCode(err) != flexapi.ECONFLICT {
		t.Errorf("duplicate instance: %v; want ECONFLICT", err)
	}
	u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: userSID}
	if err := s.CreateUser(ctx, &u); flexapi.ErrorCode(err) != flexapi.ECONFLICT {
		t.Errorf("duplicate user: %v; want ECONFLICT", err)
	}
	orphan := flexapi.Instance{SID: flexapi.NewSID("GO"), AccountSID: "AC00000000000000000000000000000009"}
	if err := s.CreateInstance(ctx, &orphan); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("instance of a missing account: %v; want ENOTFOUND", err)
	}
	if err := s.SetPrimaryToken(ctx, "AC00000000000000000000000000000009", "h"); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("token of a missing account: %v; want ENOTFOUND", err)
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	pgtest.EachStore(t, testReopenKeepsDataAndMigratesOnce)
}

func testReopenKeepsDataAndMigratesOnce(t *testing.T, dsn string) {
	s, path := seeded(t, dsn)
	ctx := context.Background()
	email := "kept@example.com"
	if _, err := s.UpdateUser(ctx, keyA, flexapi.UserUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	again := openFile(t, path)
	got, err := again.User(ctx, keyA)
	if err != nil || *got.Email != email || got.Version != 1 {
		t.Fatalf("after reopen: %v %v; want kept@example.com at version 1", got.Email, err)
	}
	v, err := again.SchemaVersion(ctx)
	if err != nil || v != 2 {
		t.Errorf("SchemaVersion = %d, %v; want 2", v, err)
	}
}

func TestMemoryStoresAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := openFile(t, ":memory:"), openFile(t, ":memory:")
	if err := a.CreateAccount(ctx, &flexapi.Account{SID: accountA}, "h"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Accounts(ctx); len(got) != 0 {
		t.Errorf("a second :memory: store sees %d accounts; want 0", len(got))
	}
	if got, _ := a.Accounts(ctx); len(got) != 1 {
		t.Errorf("the :memory: store lost its account: %d", len(got))
	}
}

// A write lock held elsewhere beyond the busy timeout is "unavailable", which
// the HTTP layer answers with 503 rather than 500.
func TestLockedStoreIsUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the busy timeout")
	}
	s, path := seeded(t, filepath.Join(t.TempDir(), "flexapi.db"))
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	email := "x@example.com"
	_, err = s.UpdateUser(context.Background(), keyA, flexapi.UserUpdate{Email: &email})
	if flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
		t.Errorf("update under a foreign lock: %v; want EUNAVAILABLE", err)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, dsn := range []string{"", "sqlite:", "postgres://u:p@127.0.0.1/db", filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := sqlstore.Open(context.Background(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; want an error", dsn)
		} else if strings.Contains(err.Error(), "u:p") {
			t.Errorf("Open(%q) error shows the password: %v", dsn, err)
		}
	}
}

func TestUpsertUsers(t *testing.T) { pgtest.EachStore(t, testUpsertUsers) }

func testUpsertUsers(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	in := flexapi.Instance{SID: instance, AccountSID: accountA}
	name := func(v string) *string { return &v }
	batch := []flexapi.User{
		{FlexUserSID: userSID, Email: name("a@example.com"), Roles: []string{"agent", "admin"}}, // the same as stored
		{FlexUserSID: "FU00000000000000000000000000000002", Username: name("new"), Version: 7,
			CreatedDate: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)},
		{FlexUserSID: "FU00000000000000000000000000000002", Username: name("changed in the same batch")},
	}
	res, err := s.UpsertUsers(ctx, in, batch)
	if err != nil || res != (sqlstore.UpsertResult{Inserted: 1, Updated: 1, Unchanged: 1}) {
		t.Fatalf("UpsertUsers: %+v %v", res, err)
	}
	got, _ := s.User(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: "FU00000000000000000000000000000002"})
	if *got.Username != "changed in the same batch" || got.Version != 8 || got.CreatedDate.Year() != 2020 || got.UpdatedDate.Year() == 2020 {
		t.Errorf("after insert then update: %+v", got)
	}
	if res, _ := s.UpsertUsers(ctx, in, []flexapi.User{got}); res.Unchanged != 1 {
		t.Errorf("upserting a user as stored: %+v; want unchanged", res)
	}
	same, _ := s.User(ctx, keyA)
	if same.Version != 0 {
		t.Errorf("an unchanged user's version moved to %d", same.Version)
	}
	changed := same
	changed.Email = name("b@example.com")
	if res, err := s.UpsertUsers(ctx, in, []flexapi.User{changed}); err != nil || res.Updated != 1 {
		t.Fatalf("upserting a changed user: %+v %v", res, err)
	}
	if got, _ := s.User(ctx, keyA); *got.Email != "b@example.com" || got.Version != 1 || !got.CreatedDate.Equal(same.CreatedDate) {
		t.Errorf("after an update through upsert: %+v", got)
	}
}

func TestUsersPaging(t *testing.T) { pgtest.EachStore(t, testUsersPaging) }

func testUsersPaging(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	var all []string
	for i := 2; i <= 11; i++ {
		u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: fmt.Sprintf("FU%032d", i)}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	q := flexapi.UserQuery{AccountSID: accountA, InstanceSID: instance, Limit: 4}
	for {
		page, more, err := s.Users(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			all = append(all, u.FlexUserSID)
		}
		if !more {
			break
		}
		q.After = page[len(page)-1].FlexUserSID
	}
	if len(all) != 11 || !slices.IsSorted(all) {
		t.Errorf("paged through %d users (sorted %v); want 11 in order", len(all), slices.IsSorted(all))
	}
	back, more, err := s.Users(ctx, flexapi.UserQuery{AccountSID: accountA, InstanceSID: instance, Limit: 4, Before: all[6]})
	if err != nil || !more || len(back) != 4 || back[0].FlexUserSID != all[2] || back[3].FlexUserSID != all[5] {
		t.Errorf("the page before %s: %d users, more %v, %v", all[6], len(back), more, err)
	}
	if _, _, err := s.Users(ctx, flexapi.UserQuery{AccountSID: accountB, InstanceSID: instance, Limit: 4}); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("another account's instance: %v; want ENOTFOUND", err)
	}
	email := "a@example.com"
	if page, _, _ := s.Users(ctx, flexapi.UserQuery{AccountSID: accountA, InstanceSID: instance, Limit: 50, Email: &email}); len(page) != 1 {
		t.Errorf("Email filter: %d users; want 1", len(page))
	}
}

func TestDeletes(t *testing.T) { pgtest.EachStore(t, testDeletes) }

func testDeletes(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	if err := s.DeleteUser(ctx, keyA, flexapi.IfMatch{5}); flexapi.ErrorCode(err) != flexapi.EPRECONDITION {
		t.Errorf("DeleteUser with a stale If-Match: %v; want EPRECONDITION", err)
	}
	if err := s.DeleteUser(ctx, keyA, flexapi.IfMatch{0}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, keyA, nil); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("a second DeleteUser: %v; want ENOTFOUND", err)
	}
	u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: userSID}
	s.CreateUser(ctx, &u)
	if err := s.DeleteInstance(ctx, instance); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, keyA); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("a user of a deleted instance: %v; want ENOTFOUND", err)
	}
	if err := s.PromoteSecondaryToken(ctx, accountA); flexapi.ErrorCode(err) != flexapi.EINVALID {
		t.Errorf("promote without a secondary: %v; want EINVALID", err)
	}
	s.SetSecondaryToken(ctx, accountA, flexapi.HashSecret("second"))
	if err := s.PromoteSecondaryToken(ctx, accountA); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Credential(ctx, accountA)
	if !c.Verify("second") || c.Verify("token"+accountA) || len(c.SecretHashes) != 1 {
		t.Errorf("after promote: %d hashes; want only the promoted token", len(c.SecretHashes))
	}
	if err := s.DeleteEverything(ctx); err != nil {
		t.Fatal(err)
	}
	if accts, _ := s.Accounts(ctx); len(accts) != 0 {
		t.Errorf("%d accounts after DeleteEverything", len(accts))
	}
}

// Replicas that start at once apply each migration once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	pgtest.EachStore(t, testConcurrentOpenMigratesOnce)
}

func testConcurrentOpenMigratesOnce(t *testing.T, dsn string) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlstore.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s := openFile(t, dsn)
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != 2 {
		t.Errorf("SchemaVersion = %d, %v; want 2", v, err)
	}
}

// A username belongs to one user of an instance, however users are made:
// a write that would give a second user one is refused with ECONFLICT and
// leaves the store as it was. Another instance may have the same one, a
// batch may hand one over from one user to another, and two users that
// share one from before (as an older flexapi let them) keep their other
// changes.
func TestUsernamesAreUniqueWithinAnInstance(t *testing.T) {
	pgtest.EachStore(t, testUsernamesAreUniqueWithinAnInstance)
}

func testUsernamesAreUniqueWithinAnInstance(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	name := func(s string) *string { return &s }
	newUser := func(username string) flexapi.User {
		return flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: flexapi.NewSID("FU"), Username: name(username)}
	}
	absent := func(u flexapi.User) {
		t.Helper()
		if _, err := s.User(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: u.FlexUserSID}); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			t.Errorf("user %s of a refused write: %v, want not found", u.FlexUserSID, err)
		}
	}
	conflict := func(what string, err error) {
		t.Helper()
		if flexapi.ErrorCode(err) != flexapi.ECONFLICT || !strings.Contains(flexapi.ErrorMessage(err), "Username") {
			t.Errorf("%s: %v, want a conflict over the username", what, err)
		}
	}
	in := flexapi.Instance{SID: instance, AccountSID: accountA}

	alice := newUser("alice")
	if err := s.CreateUser(ctx, &alice); err != nil {
		t.Fatal(err)
	}
	second := newUser("alice")
	conflict("CreateUser of a taken username", s.CreateUser(ctx, &second))
	absent(second)

	other := flexapi.Instance{SID: flexapi.NewSID("GO"), AccountSID: accountA}
	if err := s.CreateInstance(ctx, &other); err != nil {
		t.Fatal(err)
	}
	elsewhere := newUser("alice")
	elsewhere.InstanceSID = other.SID
	if err := s.CreateUser(ctx, &elsewhere); err != nil {
		t.Errorf("the same username in another instance: %v", err)
	}

	twins := []flexapi.User{newUser("bob"), newUser("bob")}
	_, err := s.UpsertUsers(ctx, in, twins)
	conflict("an upsert of two new users of one username", err)
	absent(twins[0])
	absent(twins[1])

	renamed := flexapi.User{FlexUserSID: userSID, Username: name("alice")}
	_, err = s.UpsertUsers(ctx, in, []flexapi.User{renamed})
	conflict("an upsert that renames a user to a taken username", err)
	if u, err := s.User(ctx, keyA); err != nil || u.Username != nil || u.Version != 0 {
		t.Errorf("the user an upsert was refused for: %+v, %v; want it unchanged", u, err)
	}

	handedOver := newUser("alice")
	_, err = s.UpsertUsers(ctx, in, []flexapi.User{{FlexUserSID: alice.FlexUserSID, Username: name("carol")}, handedOver})
	if err != nil {
		t.Errorf("an upsert that hands a username over to a new user: %v", err)
	}

	// Two users that share a username from before: one of them changes,
	// keeping it.
	raw := rawDB(t, dsn)
	defer raw.Close()
	old := newUser("dave")
	if _, err := raw.Exec(`INSERT INTO users (instance_sid, flex_user_sid, account_sid, username, created_date, updated_date)
		VALUES ('` + instance + `', '` + old.FlexUserSID + `', '` + accountA + `', 'carol', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	email := "carol@example.com"
	if _, err := s.UpsertUsers(ctx, in, []flexapi.User{{FlexUserSID: old.FlexUserSID, Username: name("carol"), Email: &email}}); err != nil {
		t.Errorf("an upsert of a user that shares its username from before, keeping it: %v", err)
	}
}

// Writers racing for one new username make one user of it: writes into an
// instance take turns.
func TestConcurrentUsersOfOneUsername(t *testing.T) {
	pgtest.EachStore(t, testConcurrentUsersOfOneUsername)
}

func testConcurrentUsersOfOneUsername(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	ctx := context.Background()
	in := flexapi.Instance{SID: instance, AccountSID: accountA}
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			username := "erin"
			u := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: flexapi.NewSID("FU"), Username: &username}
			if i%2 == 0 {
				errs <- s.CreateUser(ctx, &u)
				return
			}
			_, err := s.UpsertUsers(ctx, in, []flexapi.User{u})
			errs <- err
		}()
	}
	made := 0
	for range writers {
		switch err := <-errs; {
		case err == nil:
			made++
		case flexapi.ErrorCode(err) != flexapi.ECONFLICT:
			t.Errorf("a racing writer: %v", err)
		}
	}
	username := "erin"
	users, _, err := s.Users(ctx, flexapi.UserQuery{AccountSID: accountA, InstanceSID: instance, Username: &username, Limit: 10})
	if made != 1 || err != nil || len(users) != 1 {
		t.Errorf("%d writers succeeded and %d users hold the username (%v); want 1 and 1", made, len(users), err)
	}
}
