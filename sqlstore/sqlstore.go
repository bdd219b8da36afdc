// Package sqlstore keeps flexapi's state in SQL: SQLite through a pure-Go
// driver (no cgo) for one machine, or PostgreSQL through pgx for many
// stateless replicas. One body of SQL serves both; every write is one
// transaction, so a change is either whole or absent, also across a crash.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL store. It is safe for concurrent use, also by several
// processes on one database (the admin commands next to a running server, or
// replicas over one PostgreSQL).
type Store struct {
	write   *sql.DB // SQLite: one connection, so writers queue instead of failing busy
	read    *sql.DB
	now     func() time.Time
	dialect dialect
	hot     hotStatements
	reads   userReads
}

// hotStatements are the reads of every request, prepared once: parsing the
// SQL again for each request cost a quarter of a fetch.
type hotStatements struct {
	account, key *sql.Stmt
	users        map[int]*sql.Stmt // by number of keys; see usersByKeyQueries
}

func (s *Store) prepareHot(ctx context.Context) error {
	var err error
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.read.PrepareContext(ctx, query)
		return st
	}
	s.hot.users = map[int]*sql.Stmt{}
	for n, q := range s.dialect.usersByKeyQueries() {
		s.hot.users[n] = prepare(q)
	}
	s.hot.account = prepare(`SELECT sid, status, primary_token_hash, secondary_token_hash FROM accounts WHERE sid = $1`)
	s.hot.key = prepare(`SELECT k.account_sid, a.status, k.secret_hash
		FROM api_keys k JOIN accounts a ON a.sid = k.account_sid WHERE k.sid = $1`)
	return wrap(err)
}

// dialect is what differs between the two databases.
type dialect struct {
	// param marks the parameters of built statements. The fixed ones are
	// written $1, $2 …, which both bind by number; but SQLite takes $N (and
	// ?N) as a name, at a cost that grows with the count, so long statements
	// use its plain ?, bound in order.
	param string
	// lockRow makes a read inside a transaction hold the row until commit.
	// SQLite needs none: a write transaction holds the whole database.
	lockRow string
	// lockMigrations serialises replicas that start at once.
	lockMigrations string
	// arrays says that a list may be bound as one array parameter.
	arrays bool
}

var (
	sqliteDialect   = dialect{param: "?"}
	postgresDialect = dialect{
		param:          "$",
		lockRow:        " FOR UPDATE",
		lockMigrations: "SELECT pg_advisory_xact_lock(7283902461)",
		arrays:         true,
	}
)

// Open opens the store named by dsn and brings its schema up to date.
// dsn is a file path, "sqlite:PATH", ":memory:" for a store that lives as
// long as the process, or a postgres:// URL.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	file := strings.TrimPrefix(dsn, "sqlite:")
	if file == "" {
		return nil, errors.New("empty database path")
	}
	s := &Store{now: time.Now, dialect: sqliteDialect}
	var err error
	if file == ":memory:" {
		// Every connection to :memory: is a database of its own, so one
		// connection serves reads and writes alike.
		s.write, err = sql.Open("sqlite", "file::memory:?"+pragmas(false))
		s.read = s.write
	} else {
		s.write, err = sql.Open("sqlite", fileURI(file, true))
		if err == nil {
			s.read, err = sql.Open("sqlite", fileURI(file, false))
		}
	}
	if err != nil {
		return nil, err
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	s.reads.limit, s.reads.lookup = 1, s.lookupSQLite // :memory: has one connection
	if s.read != s.write {
		s.read.SetMaxOpenConns(8)
		s.read.SetMaxIdleConns(8)
		// SQLite reads are work for this process's CPUs: more batches at
		// once than CPUs would only make each smaller.
		s.reads.limit = runtime.GOMAXPROCS(0)
	}
	// Processes that open a new file at once can find it busy while one of
	// them switches it to WAL, which SQLite reports at once rather than
	// after the busy timeout: try again for as long as that timeout.
	err = s.migrate(ctx)
	for deadline := time.Now().Add(5 * time.Second); flexapi.ErrorCode(err) == flexapi.EUNAVAILABLE && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = s.migrate(ctx)
	}
	if err == nil {
		err = s.prepareHot(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	return s, nil
}

// pragmas are the connection settings. WAL with synchronous=NORMAL makes a
// commit durable against a crash of the process (kill -9); a power loss may
// undo the last commits before the next checkpoint, but never corrupts.
func pragmas(writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		// Taking the write lock at BEGIN makes a read-modify-write atomic
		// across processes and avoids deadlocks between upgrading readers.
		q.Set("_txlock", "immediate")
	}
	return q.Encode()
}

func fileURI(file string, writer bool) string {
	q := pragmas(writer)
	if writer {
		q += "&_pragma=journal_mode(WAL)"
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q
}

// Close releases the database.
func (s *Store) Close() error {
	for _, st := range append([]*sql.Stmt{s.hot.account, s.hot.key}, slices.Collect(maps.Values(s.hot.users))...) {
		if st != nil {
			st.Close()
		}
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Ping reports whether the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.read.PingContext(ctx))
}

// SchemaVersion returns the number of the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrap(err)
}

// migrate applies the embedded migrations that the database lacks, in one
// write transaction, so that processes starting at once apply each only once.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect.lockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.dialect.lockMigrations); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, name := range names {
			base := path.Base(name)
			version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", base)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				version, base, s.now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in a write transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrap(err)
	}
	return wrap(tx.Commit())
}

// wrap turns driver errors into flexapi errors where users can act on them.
func wrap(err error) error {
	if err == nil || flexapi.ErrorCode(err) != flexapi.EINTERNAL {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &flexapi.Error{Code: flexapi.ENOTFOUND, Message: "not found", Err: err}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return &flexapi.Error{Code: flexapi.ECONFLICT, Message: "already exists", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &flexapi.Error{Code: flexapi.ENOTFOUND, Message: "the resource it belongs to does not exist", Err: err}
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return &flexapi.Error{Code: flexapi.EUNAVAILABLE, Message: "store unavailable", Err: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || postgresUnavailable(err) {
		return &flexapi.Error{Code: flexapi.EUNAVAILABLE, Message: "store unavailable", Err: err}
	}
	if code, ok := postgresCode(err); ok {
		switch code {
		case "23505": // unique_violation
			return &flexapi.Error{Code: flexapi.ECONFLICT, Message: "already exists", Err: err}
		case "23503": // foreign_key_violation
			return &flexapi.Error{Code: flexapi.ENOTFOUND, Message: "the resource it belongs to does not exist", Err: err}
		}
	}
	return err
}

func unix(t time.Time) int64 { return t.Unix() }

func fromUnix(n int64) time.Time { return time.Unix(n, 0).UTC() }
