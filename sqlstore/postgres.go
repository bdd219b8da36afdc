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
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{write: db, read: db, now: time.Now, dialect: postgresDialect}
	// As many batches of user reads at once as this process has CPUs to
	// decode them, and at most half the pool, so that writes and credential
	// lookups always find a connection. Measured on 2 cores: 1 or 2 batches
	// at once read half as fast again as 5.
	s.reads.limit, s.reads.lookup = min(max(1, pool/2), runtime.GOMAXPROCS(0)), s.lookupPostgres
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
