package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn with any password replaced, fit for logs.
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Connection defaults, each overridable in the URL's query: a replica should
// fail a request fast rather than hang when PostgreSQL is away.
const (
	defaultPoolMaxConns     = 10
	defaultConnectTimeout   = "2"    // seconds
	defaultStatementTimeout = "5000" // milliseconds
)

func openPostgres(ctx context.Context, dsn string, access Access) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("the PostgreSQL URL does not parse") // the URL may hold a password: do not echo it
	}
	q := u.Query()
	pool := defaultPoolMaxConns
	if v := q.Get("pool_max_conns"); v != "" {
		if pool, err = strconv.Atoi(v); err != nil || pool < 1 {
			return nil, fmt.Errorf("pool_max_conns=%q: want a whole number of at least 1", v)
		}
		q.Del("pool_max_conns")
	}
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", defaultConnectTimeout)
	}
	if !q.Has("statement_timeout") {
		q.Set("statement_timeout", defaultStatementTimeout)
	}
	u.RawQuery = q.Encode()

	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	// The reads of users go straight through pgx, on connections of their
	// own: batchesAtOnce of them, and at most half the pool, so that writes
	// and credential lookups always find a connection.
	readers := min(max(1, pool/2), batchesAtOnce())
	config, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		db.Close()
		return nil, err
	}
	config.MaxConns = int32(readers)
	reads, err := pgxpool.NewWithConfig(ctx, config) // connects when first asked
	if err != nil {
		db.Close()
		return nil, err
	}
	db.SetMaxOpenConns(max(1, pool-readers))
	db.SetMaxIdleConns(max(1, pool-readers))
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{write: db, read: db, pg: reads, now: time.Now, dialect: postgresDialect}
	s.reads.limit, s.reads.lookup = readers, s.lookupPostgres
	if access == ReadOnly {
		err = s.checkSchema(ctx)
	} else {
		err = s.migrate(ctx)
	}
	if err == nil {
		err = s.prepareHot(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	return s, nil
}

// postgresUnavailable reports whether err means the database cannot be
// reached or is shutting down, rather than that a statement was wrong.
func postgresUnavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	if code, ok := postgresCode(err); ok {
		// 08: connection exception; 57: operator intervention (shutdown);
		// 53: insufficient resources (too many connections, disk full).
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57") || strings.HasPrefix(code, "53")
	}
	return strings.Contains(err.Error(), "conn closed")
}

func postgresCode(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, true
	}
	return "", false
}

// scanPostgresUser reads a row of the user lookups, asked for in text
// format, from pgx's raw values: its strings share one allocation, and the
// optional ones a second, where scanning each into a value of its own cost a
// dozen. A NULL is a nil value.
func scanPostgresUser(row pgx.CollectableRow) (flexapi.User, error) {
	const texts = 13 // userColumnList up to worker_attributes; then the numbers
	v := row.RawValues()
	if len(v) != len(userColumnList) {
		return flexapi.User{}, fmt.Errorf("a user row of %d columns", len(v))
	}
	var b strings.Builder
	var ends [texts]int
	size := 0
	for _, c := range v[:texts] {
		size += len(c)
	}
	b.Grow(size)
	for i, c := range v[:texts] {
		b.Write(c)
		ends[i] = b.Len()
	}
	all := b.String()
	text := func(i int) string {
		if i == 0 {
			return all[:ends[0]]
		}
		return all[ends[i-1]:ends[i]]
	}
	u := flexapi.User{AccountSID: text(0), InstanceSID: text(1), FlexUserSID: text(2), WorkerAttributes: text(12)}
	set := make([]string, 8)
	for i, f := range optionals(&u) {
		if v[3+i] != nil {
			set[i] = text(3 + i)
			*f = &set[i]
		}
	}
	var err error
	if v[11] != nil {
		if u.Roles, err = decodeRoles(text(11)); err != nil {
			return u, err
		}
	}
	var numbers [4]int64 // deactivated, created, updated, version
	for i, c := range v[texts:] {
		if c != nil {
			if numbers[i], err = strconv.ParseInt(string(c), 10, 64); err != nil {
				return u, err
			}
		}
	}
	if v[texts] != nil {
		u.DeactivatedDate = fromUnix(numbers[0])
	}
	u.CreatedDate, u.UpdatedDate, u.Version = fromUnix(numbers[1]), fromUnix(numbers[2]), numbers[3]
	return u, nil
}
