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
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	sysunix "golang.org/x/sys/unix"

	"github.com/flexapi/flexapi"
	"github.com/jackc/pgx/v5/pgxpool"
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
	pg      *pgxpool.Pool // PostgreSQL: the pool of the reads of users
	file    *storeFile    // SQLite on disk: the file the store must still be
	now     func() time.Time
	dialect dialect
	hot     hotStatements
	reads   userReads
	writes  *writeQueue // SQLite's; PostgreSQL takes concurrent writes
	cache   *userCache  // nil: every read asks the database
	// afterCommit, for tests, runs between a write's commit and the cache's
	// bookkeeping of it: where another process's commit can slip in.
	afterCommit func()
	pin         *sql.Conn // holds the -shm file open while the cache maps it
	cacheOff    string    // why there is no cache, when it was asked for
}

// hotStatements are the reads of every request, and the statements of an
// update, prepared once: parsing the SQL again for each request cost a
// quarter of a fetch, and a fifth of an update.
type hotStatements struct {
	account, key *sql.Stmt
	users        map[int]*sql.Stmt // SQLite's, by number of keys; see usersByKeyQueries
	// lockUser and updateUser are prepared on the write connections, for
	// their transactions (Tx.StmtContext).
	lockUser, updateUser *sql.Stmt
}

func (s *Store) prepareHot(ctx context.Context) error {
	var err error
	prepareOn := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, query)
		return st
	}
	prepare := func(query string) *sql.Stmt { return prepareOn(s.read, query) }
	if s.pg == nil { // PostgreSQL reads users through pgx, which prepares them itself
		s.hot.users = map[int]*sql.Stmt{}
		for n, q := range s.dialect.usersByKeyQueries() {
			s.hot.users[n] = prepare(q)
		}
	}
	s.hot.account = prepare(`SELECT sid, status, primary_token_hash, secondary_token_hash FROM accounts WHERE sid = $1`)
	s.hot.key = prepare(`SELECT k.account_sid, a.status, k.secret_hash
		FROM api_keys k JOIN accounts a ON a.sid = k.account_sid WHERE k.sid = $1`)
	s.hot.lockUser = prepareOn(s.write, `SELECT `+userColumns+` FROM users
		WHERE instance_sid = $1 AND flex_user_sid = $2 AND account_sid = $3`+s.dialect.lockRow)
	s.hot.updateUser = prepareOn(s.write, `UPDATE users SET email = $1, user_sid = $2, locale = $3, updated_date = $4, version = $5
		WHERE instance_sid = $6 AND flex_user_sid = $7`)
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
	// lockInstance makes a read of an instance's row hold it against other
	// upserts of its users (but not against inserts that refer to it).
	lockInstance string
	// lockMigrations and lockSeeds serialise replicas that start at once.
	lockMigrations, lockSeeds string
	// arrays says that a list may be bound as one array parameter.
	arrays bool
	// randomHex is an expression of 32 random lowercase hex digits.
	randomHex string
}

var (
	sqliteDialect   = dialect{param: "?", randomHex: "lower(hex(randomblob(16)))"}
	postgresDialect = dialect{
		param:          "$",
		lockRow:        " FOR UPDATE",
		lockInstance:   " FOR NO KEY UPDATE",
		lockMigrations: "SELECT pg_advisory_xact_lock(7283902461)",
		lockSeeds:      "SELECT pg_advisory_xact_lock(7283902462)",
		arrays:         true,
		randomHex:      "replace(gen_random_uuid()::text, '-', '')",
	}
)

// Access says what Open may do to the database.
type Access int

// The ways to open a store.
const (
	// Create makes a SQLite file that does not exist yet, and brings the
	// schema up to date: for serve and migrate.
	Create Access = iota
	// Existing requires the SQLite file to exist already, so that a
	// mistyped path is an error rather than a new empty store.
	Existing
	// ReadOnly requires the store to exist and writes nothing to it, so
	// that it can be read on a read-only file system.
	ReadOnly
)

// Open opens the store named by dsn, creating it if need be, and brings its
// schema up to date. dsn is a file path, "sqlite:PATH", ":memory:" for a
// store that lives as long as the process, or a postgres:// URL.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return OpenWith(ctx, dsn, Create, opts...)
}

// Option is a setting of a store beyond its access.
type Option func(*options)

type options struct{ cacheUsers int }

// CacheUsers bounds how many users a store on a SQLite file keeps in memory
// (DefaultCacheUsers unless set; 0 turns the cache off). PostgreSQL stores
// keep none: only the database knows what other replicas wrote.
func CacheUsers(n int) Option { return func(o *options) { o.cacheUsers = max(0, n) } }

// OpenWith opens the store named by dsn as access allows.
func OpenWith(ctx context.Context, dsn string, access Access, opts ...Option) (*Store, error) {
	o := options{cacheUsers: DefaultCacheUsers}
	for _, opt := range opts {
		opt(&o)
	}
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn, access)
	}
	file := strings.TrimPrefix(dsn, "sqlite:")
	if file == "" {
		return nil, errors.New("empty database path")
	}
	s := &Store{now: time.Now, dialect: sqliteDialect, writes: &writeQueue{}}
	var err error
	switch {
	case file == ":memory:":
		// Every connection to :memory: is a database of its own, so one
		// connection serves reads and writes alike.
		s.write, err = sql.Open("sqlite", "file::memory:?"+pragmas(false))
		s.read = s.write
	case access == ReadOnly:
		if s.file, err = statStoreFile(file); err == nil {
			s.read, err = sql.Open("sqlite", readOnlyURI(file))
			s.write = s.read
		}
	default:
		if access == Existing {
			s.file, err = statStoreFile(file)
		}
		if err == nil {
			s.write, err = sql.Open("sqlite", fileURI(file, true))
		}
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
	s.reads.limit, s.reads.lookup = 1, s.lookupSQLite // one connection
	if s.read != s.write {
		s.read.SetMaxOpenConns(8)
		s.read.SetMaxIdleConns(8)
		s.reads.limit = batchesAtOnce()
	}
	if access == ReadOnly {
		err = s.checkSchema(ctx)
	} else {
		// Processes that open a new file at once can find it busy while one
		// of them switches it to WAL, which SQLite reports at once rather
		// than after the busy timeout: try again for as long as that timeout.
		err = s.migrate(ctx)
		for deadline := time.Now().Add(5 * time.Second); flexapi.ErrorCode(err) == flexapi.EUNAVAILABLE && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			err = s.migrate(ctx)
		}
	}
	if err == nil && s.file == nil && file != ":memory:" {
		s.file, err = statStoreFile(file) // the file as it is now that it exists
	}
	if err == nil {
		err = s.prepareHot(ctx)
	}
	switch {
	case err != nil || o.cacheUsers == 0:
	case s.read == s.write: // :memory: or read-only: the one connection cannot be pinned
		s.cacheOff = "the store has a single connection"
	default:
		err = s.startCache(ctx, file, o.cacheUsers)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	return s, nil
}

// startCache keeps users in memory, checked against the WAL-index, when the
// file is in WAL mode with a WAL-index of the known layout; otherwise every
// read asks the database, as it must.
func (s *Store) startCache(ctx context.Context, file string, size int) error {
	pin, err := s.read.Conn(ctx)
	if err != nil {
		return wrap(err)
	}
	var mode string
	if err := pin.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		pin.Close()
		return wrap(err)
	}
	wal, err := openWALIndex(file)
	if mode != "wal" || err != nil {
		s.cacheOff = fmt.Sprintf("journal mode %s, WAL-index: %v", mode, err)
		pin.Close()
		return nil
	}
	s.pin, s.cache = pin, newUserCache(wal, size)
	return nil
}

// CacheSize is the most users the store keeps in memory, a little more than
// asked for: 0 when every read asks the database, and then CacheOff says why.
func (s *Store) CacheSize() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.perShard * cacheShards
}

// CacheStats says what the store's cache of users holds and has done: all
// zero when it has none.
func (s *Store) CacheStats() flexapi.CacheStats {
	if s.cache == nil {
		return flexapi.CacheStats{}
	}
	return s.cache.stats()
}

// CacheOff says why a store asked to cache users does not.
func (s *Store) CacheOff() string { return s.cacheOff }

// storeFile is the SQLite file a store was opened on. If it is deleted or
// replaced while the store is open, writes would go to a file that no longer
// has a name and be lost at the next start: the store refuses them instead.
type storeFile struct {
	path string
	info os.FileInfo
}

func statStoreFile(path string) (*storeFile, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no flexapi store at %s (flexapi serve or flexapi migrate creates one)", path)
	}
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", path)
	}
	return &storeFile{path: path, info: info}, nil
}

// check reports EUNAVAILABLE when the file is gone or another file has
// taken its name.
func (f *storeFile) check() error {
	if f == nil {
		return nil
	}
	info, err := os.Stat(f.path)
	if err != nil || !os.SameFile(info, f.info) {
		return &flexapi.Error{Code: flexapi.EUNAVAILABLE, Message: "store unavailable",
			Err: fmt.Errorf("the database file %s was removed or replaced while in use", f.path)}
	}
	return nil
}

// checkSchema makes sure that a store opened read-only has every migration
// this flexapi knows, since it cannot apply them.
func (s *Store) checkSchema(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("not a flexapi store: %w", err)
	}
	if v < len(names) {
		return fmt.Errorf("the store's schema is at version %d, this flexapi needs %d: run flexapi migrate", v, len(names))
	}
	return nil
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

// readOnlyURI opens a file for reading only. immutable=1 lets SQLite read a
// WAL store where it cannot create the -shm file (a read-only file system),
// but ignores a -wal file: that is safe only when no -wal file holds commits,
// which is so after the last writer closed the store cleanly.
func readOnlyURI(file string) string {
	q := "mode=ro&" + pragmas(false)
	if wal, err := os.Stat(file + "-wal"); errors.Is(err, fs.ErrNotExist) || err == nil && wal.Size() == 0 {
		if sysunix.Access(filepath.Dir(file), sysunix.W_OK) != nil {
			q += "&immutable=1"
		}
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q
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
	if s.pin != nil {
		s.pin.Close()
	}
	defer func() {
		if s.cache != nil {
			s.cache.wal.release() // after every connection: see walIndex
		}
	}()
	for _, st := range append([]*sql.Stmt{s.hot.account, s.hot.key}, slices.Collect(maps.Values(s.hot.users))...) {
		if st != nil {
			st.Close()
		}
	}
	if s.pg != nil {
		s.pg.Close()
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Ping reports whether the store answers, and is still the file it was
// opened on.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.file.check(); err != nil {
		return err
	}
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
			if fill := backfills[version]; fill != nil {
				if err := fill(s, ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", base, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				version, base, s.now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

// backfills give existing rows what a migration's new columns ask of them,
// in the migration's transaction, where SQL alone cannot say it for both
// databases.
var backfills = map[int]func(s *Store, ctx context.Context, tx *sql.Tx) error{
	2: (*Store).backfillLifecycle,
}

// backfillLifecycle gives every instance a workspace and a default team, and
// every user the SIDs a real Flex user has: a unified user, a worker, the
// instance's workspace and default team.
func (s *Store) backfillLifecycle(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE workspace_sid IS NULL`)
	if err != nil {
		return err
	}
	instances, err := collect(rows, scanInstance)
	if err != nil {
		return err
	}
	for _, in := range instances {
		in.WorkspaceSID, in.DefaultTeamSID = flexapi.NewSID(flexapi.WorkspacePrefix), flexapi.NewSID(flexapi.FlexTeamPrefix)
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET workspace_sid = $1, default_team_sid = $2 WHERE sid = $3`,
			in.WorkspaceSID, in.DefaultTeamSID, in.SID); err != nil {
			return err
		}
		if err := s.insertDefaultTeam(ctx, tx, in); err != nil {
			return err
		}
	}
	for _, stmt := range []string{
		`UPDATE users SET workspace_sid = (SELECT i.workspace_sid FROM instances i WHERE i.sid = users.instance_sid) WHERE workspace_sid IS NULL`,
		`UPDATE users SET flex_team_sid = (SELECT i.default_team_sid FROM instances i WHERE i.sid = users.instance_sid) WHERE flex_team_sid IS NULL`,
		`UPDATE users SET user_sid = 'US' || ` + s.dialect.randomHex + ` WHERE user_sid IS NULL`,
		`UPDATE users SET worker_sid = 'WK' || ` + s.dialect.randomHex + ` WHERE worker_sid IS NULL`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a write transaction and commits when it returns nil and
// the store's file is still where it was. The cache forgets everything it
// holds if fn committed anything.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTxFor(ctx, nil, fn)
}

// inTxFor is inTx for a write of the users that wrote names once fn has run
// (they may depend on what fn found), so that the cache changes only them.
// fn returns errNothingWritten when it found nothing to change: the
// transaction is then rolled back, and inTxFor returns nil.
func (s *Store) inTxFor(ctx context.Context, wrote func() []userWrite, fn func(*sql.Tx) error) error {
	if s.writes == nil {
		return s.writeTx(ctx, wrote, fn)
	}
	return s.writes.do(ctx, func() error { return s.writeTx(ctx, wrote, fn) })
}

// writeTx is inTxFor's transaction, run in the write queue's turn on SQLite.
func (s *Store) writeTx(ctx context.Context, wrote func() []userWrite, fn func(*sql.Tx) error) error {
	if err := s.file.check(); err != nil {
		return err
	}
	var before walHeader
	committed := false
	if s.cache != nil {
		done := s.cache.writeBegun()
		defer func() {
			// Only a commit that wrote may pass for the next commit after
			// before: were this one empty, a commit of another process just
			// after it would pass for it.
			var written []userWrite
			if committed && wrote != nil {
				written = wrote()
			}
			if s.afterCommit != nil {
				s.afterCommit()
			}
			done(before, s.cache.wal.header(), written)
		}()
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	// After a commit this does nothing; otherwise it frees the write
	// connection, also when fn panics.
	defer tx.Rollback()
	if s.cache != nil {
		before = s.cache.wal.header() // the write lock is held: nobody else commits now
	}
	if err := fn(tx); err != nil {
		if errors.Is(err, errNothingWritten) {
			return nil
		}
		return wrap(err)
	}
	if err := s.file.check(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrap(err)
	}
	committed = true
	return nil
}

// errNothingWritten is what a write's fn returns when it found nothing to
// change.
var errNothingWritten = errors.New("sqlstore: nothing to write")

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
