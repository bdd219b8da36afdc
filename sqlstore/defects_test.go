package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
	"github.com/flexapi/flexapi/sqlstore"
)

func verifies(t *testing.T, s *sqlstore.Store, sid, secret string) bool {
	t.Helper()
	c, err := s.Credential(context.Background(), sid)
	if err != nil {
		t.Fatalf("Credential(%s): %v", sid, err)
	}
	return c.Verify(secret)
}

func applySeed(t *testing.T, s *sqlstore.Store, seed flexapi.Seed) (flexapi.SeedResult, error) {
	t.Helper()
	if err := seed.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return s.ApplySeed(context.Background(), seed)
}

// A seed means its state: the tokens it names are exactly the valid ones,
// what it names nothing of is kept, and a seed that fails changes nothing.
func TestSeedIsTheDocumentsState(t *testing.T) { pgtest.EachStore(t, testSeedIsTheDocumentsState) }

func testSeedIsTheDocumentsState(t *testing.T, dsn string) {
	s := openFile(t, dsn)
	key := "SK00000000000000000000000000000001"
	both := flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: accountA, AuthToken: "primary1", SecondaryToken: "secondary1",
		Keys: []flexapi.SeedKey{{SID: key, Secret: "keysecret1"}}}}}
	if res, err := applySeed(t, s, both); err != nil || len(res.Generated) != 0 {
		t.Fatalf("first seed: %+v %v", res, err)
	}
	if !verifies(t, s, accountA, "primary1") || !verifies(t, s, accountA, "secondary1") || !verifies(t, s, key, "keysecret1") {
		t.Fatal("the seed's tokens do not verify")
	}
	primaryOnly := flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: accountA, AuthToken: "primary1",
		Keys: []flexapi.SeedKey{{SID: key, Secret: "keysecret2"}}}}}
	if _, err := applySeed(t, s, primaryOnly); err != nil {
		t.Fatal(err)
	}
	if verifies(t, s, accountA, "secondary1") || !verifies(t, s, accountA, "primary1") {
		t.Error("a secondary token the seed no longer names still works")
	}
	if verifies(t, s, key, "keysecret1") || !verifies(t, s, key, "keysecret2") {
		t.Error("the key's old secret still works after the seed named another")
	}
	// An account that names no token keeps its own; a new one gets one, shown once.
	res, err := applySeed(t, s, flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: accountA}, {SID: accountB}}})
	if err != nil || len(res.Generated) != 1 || res.Generated[0].SID != accountB {
		t.Fatalf("seed without tokens: %+v %v", res, err)
	}
	if !verifies(t, s, accountA, "primary1") || !verifies(t, s, accountB, res.Generated[0].Secret) {
		t.Error("an unnamed token was not kept, or the generated one does not verify")
	}
	// A seed that fails half-way changes nothing: the instance is account A's.
	newAccount := "AC00000000000000000000000000000003"
	if _, err := applySeed(t, s, flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: accountA,
		Instances: []flexapi.SeedInstance{{SID: instance}}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = applySeed(t, s, flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: newAccount, AuthToken: "newtoken1"},
		{SID: accountB, Instances: []flexapi.SeedInstance{{SID: instance}}}}})
	if flexapi.ErrorCode(err) != flexapi.EINVALID {
		t.Fatalf("a seed that gives account A's instance to B: %v; want EINVALID", err)
	}
	if _, err := s.Credential(context.Background(), newAccount); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("the failed seed left its first account behind: %v", err)
	}
}

// Replicas that start at once with the same seed on an empty store all
// succeed, and so do imports of the same new users at once.
func TestConcurrentSeedsAndImports(t *testing.T) { pgtest.EachStore(t, testConcurrentSeedsAndImports) }

func testConcurrentSeedsAndImports(t *testing.T, dsn string) {
	for round := range 3 {
		base := dsn
		if !sqlstore.IsPostgres(dsn) {
			base = filepath.Join(t.TempDir(), fmt.Sprintf("round%d.db", round))
		} else if round > 0 {
			base = pgtest.URL(t)
		}
		users := make([]flexapi.User, 50)
		for i := range users {
			users[i] = flexapi.User{FlexUserSID: fmt.Sprintf("FU%032x", i+1)}
		}
		seed := flexapi.Seed{Accounts: []flexapi.SeedAccount{{SID: accountA, AuthToken: "token1234",
			Keys:      []flexapi.SeedKey{{SID: "SK00000000000000000000000000000001", Secret: "secret1234"}},
			Instances: []flexapi.SeedInstance{{SID: instance, Users: users}}}}}
		if err := seed.Validate(); err != nil {
			t.Fatal(err)
		}
		in := flexapi.Instance{SID: instance, AccountSID: accountA}
		more := make([]flexapi.User, 200)
		for i := range more {
			more[i] = flexapi.User{FlexUserSID: fmt.Sprintf("FU%032x", 1000+i)}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			wg.Go(func() {
				s, err := sqlstore.Open(context.Background(), base)
				if err != nil {
					errs <- err
					return
				}
				defer s.Close()
				if _, err := s.ApplySeed(context.Background(), seed); err != nil {
					errs <- fmt.Errorf("seed: %w", err)
					return
				}
				if _, err := s.UpsertUsers(context.Background(), in, more); err != nil {
					errs <- fmt.Errorf("import: %w", err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		s := openFile(t, base)
		n := 0
		for _, err := range s.AllUsers(context.Background(), instance) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 250 {
			t.Errorf("round %d: %d users; want 250", round, n)
		}
	}
}

// A store that cannot answer is never "not found".
func TestFailingStoreIsNotNotFound(t *testing.T) {
	dsn := pgtest.URL(t)
	seeded(t, dsn)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("statement_timeout", "300")
	u.RawQuery = q.Encode()
	short, err := sqlstore.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	locker, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	tx, err := locker.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`LOCK TABLE instances, accounts IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	user := flexapi.User{AccountSID: accountA, InstanceSID: instance, FlexUserSID: "FU00000000000000000000000000000009"}
	if err := short.CreateUser(context.Background(), &user); flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
		t.Errorf("CreateUser with the instances table locked: %v; want EUNAVAILABLE", err)
	}
	if err := short.PromoteSecondaryToken(context.Background(), accountA); flexapi.ErrorCode(err) == flexapi.ENOTFOUND {
		t.Errorf("PromoteSecondaryToken with the accounts table locked: %v; want a failure, not ENOTFOUND", err)
	}
}

// Through the api's Store, a user query always names its account.
func TestUserQueryNamesItsAccount(t *testing.T) { pgtest.EachStore(t, testUserQueryNamesItsAccount) }

func testUserQueryNamesItsAccount(t *testing.T, dsn string) {
	s, _ := seeded(t, dsn)
	users, _, err := s.Users(context.Background(), flexapi.UserQuery{InstanceSID: instance, Limit: 10})
	if err == nil || len(users) != 0 {
		t.Errorf("Users without an account: %d users, %v; want an error", len(users), err)
	}
	if _, err := s.User(context.Background(), flexapi.UserKey{InstanceSID: instance, FlexUserSID: userSID}); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
		t.Errorf("User without an account: %v; want ENOTFOUND", err)
	}
}

// A SQLite file deleted or replaced under an open store refuses writes and
// fails Ping, instead of acknowledging writes that the next start loses.
func TestDeletedFileRefusesWrites(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(fmt.Sprintf("replaced=%v", replace), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flexapi.db")
			s, _ := seeded(t, path)
			if err := s.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
			if replace {
				openFile(t, path) // a new, empty store under the same name
			}
			if err := s.Ping(context.Background()); flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
				t.Errorf("Ping: %v; want EUNAVAILABLE", err)
			}
			email := "b@example.com"
			if _, err := s.UpdateUser(context.Background(), keyA, flexapi.UserUpdate{Email: &email}); flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
				t.Errorf("UpdateUser: %v; want EUNAVAILABLE", err)
			}
		})
	}
}

// An admin command's store must exist: a mistyped path is an error, and
// no file is made.
func TestOpenExistingRefusesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	for _, access := range []sqlstore.Access{sqlstore.Existing, sqlstore.ReadOnly} {
		if s, err := sqlstore.OpenWith(context.Background(), path, access); err == nil {
			s.Close()
			t.Errorf("access %d: opened a store that does not exist", access)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was made: %v", err)
	}
}
