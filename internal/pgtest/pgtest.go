// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by FLEXAPI_TEST_POSTGRES_URL, so that tests never see each other's
// data; without the variable, the tests that need it are skipped. EachStore
// runs one test body on SQLite and on PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvVar names the PostgreSQL URL the tests may use.
const EnvVar = "FLEXAPI_TEST_POSTGRES_URL"

// URL returns a URL for a new, empty schema that is dropped when the test
// ends, or skips the test when EnvVar is not set.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip(EnvVar + " is not set: PostgreSQL tests skipped")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse", EnvVar)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "flexapi_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// runner is *testing.T or *testing.B: a test that runs subtests of its kind.
type runner[T any] interface {
	testing.TB
	Run(name string, f func(T)) bool
}

// EachStore runs test on a fresh SQLite file, and on a fresh PostgreSQL
// schema when EnvVar is set (skipped otherwise): one body, both stores.
func EachStore[T runner[T]](t T, test func(t T, dsn string)) {
	t.Run("sqlite", func(t T) { test(t, filepath.Join(t.TempDir(), "flexapi.db")) })
	t.Run("postgres", func(t T) { test(t, URL(t)) })
}
