package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
	"github.com/flexapi/flexapi/sqlstore"
)

// A store made by a flexapi before the lifecycle migrates: its instances
// get a workspace and a default team, its users the SIDs they lacked, and
// what they had is kept.
func TestStoreOfSchema1Migrates(t *testing.T) { pgtest.EachStore(t, testStoreOfSchema1Migrates) }

// rawDB opens the database at dsn without a store, to put there what no
// write path of flexapi would; the caller closes it.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if sqlstore.IsPostgres(dsn) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func testStoreOfSchema1Migrates(t *testing.T, dsn string) {
	db := rawDB(t, dsn)
	schema1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{string(schema1),
		`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO accounts (sid, primary_token_hash, created_date) VALUES ('` + accountA + `', 'x', 0)`,
		`INSERT INTO instances (sid, account_sid, created_date) VALUES ('` + instance + `', '` + accountA + `', 0)`,
		`INSERT INTO users (instance_sid, flex_user_sid, account_sid, username, worker_sid, created_date, updated_date)
			VALUES ('` + instance + `', '` + userSID + `', '` + accountA + `', 'old', 'WK00000000000000000000000000000001', 0, 0)`,
		`INSERT INTO users (instance_sid, flex_user_sid, account_sid, username, created_date, updated_date)
			VALUES ('` + instance + `', 'FU00000000000000000000000000000002', '` + accountA + `', 'bare', 0, 0)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	db.Close()

	s := openFile(t, dsn)
	ctx := context.Background()
	in, err := s.Instance(ctx, instance)
	if err != nil || !strings.HasPrefix(in.WorkspaceSID, "WS") || !strings.HasPrefix(in.DefaultTeamSID, "QO") {
		t.Fatalf("instance after migration: %+v %v", in, err)
	}
	team, err := s.Team(ctx, accountA, instance, in.DefaultTeamSID)
	if err != nil || team.FriendlyName != "default" || team.MemberCount != 2 {
		t.Errorf("default team: %+v %v; want default with 2 members", team, err)
	}
	for _, sid := range []string{userSID, "FU00000000000000000000000000000002"} {
		u, err := s.User(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: sid})
		if err != nil {
			t.Fatal(err)
		}
		for prefix, v := range map[string]*string{"US": u.UserSID, "WK": u.WorkerSID, "WS": u.WorkspaceSID, "QO": u.FlexTeamSID} {
			if v == nil {
				t.Fatalf("%s: no %s SID after migration", sid, prefix)
			}
			if got, ok := flexapi.ParseSID(prefix, *v); !ok || got != *v {
				t.Errorf("%s: %q is not a canonical %s SID", sid, *v, prefix)
			}
		}
		if *u.WorkspaceSID != in.WorkspaceSID || *u.FlexTeamSID != in.DefaultTeamSID {
			t.Errorf("%s: workspace %s team %s; want the instance's", sid, *u.WorkspaceSID, *u.FlexTeamSID)
		}
	}
	kept, _ := s.User(ctx, flexapi.UserKey{AccountSID: accountA, InstanceSID: instance, FlexUserSID: userSID})
	if *kept.WorkerSID != "WK00000000000000000000000000000001" || *kept.Username != "old" {
		t.Errorf("the migration changed what the user had: %v %v", *kept.WorkerSID, *kept.Username)
	}
}
