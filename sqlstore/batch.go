package sqlstore

import (
	"cmp"
	"context"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/flexapi/flexapi"
	"github.com/jackc/pgx/v5"
)

// userReads gathers the user reads of concurrent requests into few queries.
// Every query pays a fixed price whatever its size (a round trip to
// PostgreSQL; a read transaction, a pooled connection and a statement run in
// SQLite), so under load one query for many reads costs far less than one
// each. A read joins only a batch that has not been sent yet, never one in
// flight, so it sees every write committed before it was asked for: the same
// promise as a query of its own. A read that finds a query slot free is sent
// at once: batching adds no wait when the store keeps up.
type userReads struct {
	mu       sync.Mutex
	waiting  []*userRead
	running  int // batches being read
	limit    int // most batches read at once
	lookup   func(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error)
	patience time.Duration // zero: readPatience
	patient  chan struct{} // closed at the end of the current spell of patience; nil between spells
}

// readPatience is how long a read waits for its answer before it watches
// its context too. Most reads are answered within a few milliseconds, and
// watching a request's context costs it a timer (some 4 % of the CPU of a
// fetch over PostgreSQL, whose every read waits); a read whose context ends
// before its answer comes learns of it at most this late.
const readPatience = 100 * time.Millisecond

type userRead struct {
	ctx  context.Context
	key  flexapi.UserKey
	user flexapi.User
	err  error
	done chan struct{}
}

// batchesAtOnce is how many batches a store reads at once: half the CPUs
// this process may use, at least one. A batch keeps a CPU busy while it
// decodes, and the HTTP side needs the others; and the fewer batches at
// once, the more keys each has, and the less each read costs the database.
// Measured on 2 cores at 100,000 users, one batch at a time against two
// (3 interleaved pairs of 3 s runs): PostgreSQL fetches 1.01-1.06x a
// second, for 0.76x PostgreSQL's CPU a fetch and 0.96x flexapi's, p99
// 0.88-0.95x; SQLite misses 1.00-1.04x. Three or four at once were slower
// again than two.
func batchesAtOnce() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// maxBatch bounds the keys of one query.
const maxBatch = 64

// read returns the user named by key, or ENOTFOUND. The queries run on
// goroutines of their own, so that a read gives up at its own deadline (or
// when its patience ends, if that is later) even when the query serving it
// waits on a store that does not answer.
func (b *userReads) read(ctx context.Context, key flexapi.UserKey) (flexapi.User, error) {
	r := &userRead{ctx: ctx, key: key, done: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, r)
	if b.running < b.limit {
		b.running++
		go b.serve()
	}
	spell := b.spell()
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.user, r.err
	case <-spell:
	}
	select {
	case <-r.done:
		return r.user, r.err
	case <-ctx.Done():
		return flexapi.User{}, wrap(ctx.Err())
	}
}

// spell returns the channel that ends the current spell of patience,
// beginning one if none is under way: one timer for all the reads that
// wait meanwhile, rather than one each. b.mu is held.
func (b *userReads) spell() <-chan struct{} {
	if b.patient == nil {
		end := make(chan struct{})
		b.patient = end
		time.AfterFunc(cmp.Or(b.patience, readPatience), func() {
			b.mu.Lock()
			b.patient = nil
			b.mu.Unlock()
			close(end)
		})
	}
	return b.patient
}

// serve reads batches while reads wait.
func (b *userReads) serve() {
	for batch := b.next(); batch != nil; batch = b.next() {
		b.run(batch)
	}
}

// next takes the oldest waiting reads, or gives up the caller's slot when
// none wait. Taking and giving up under one lock means that no read is left
// waiting with nobody to serve it.
func (b *userReads) next() []*userRead {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiting) == 0 {
		b.running--
		return nil
	}
	n := min(len(b.waiting), maxBatch)
	batch := b.waiting[:n:n]
	if b.waiting = b.waiting[n:]; len(b.waiting) == 0 {
		b.waiting = nil // the served reads go with their batch, not with the queue
	}
	return batch
}

// run reads one batch and hands each read its answer.
func (b *userReads) run(batch []*userRead) {
	keys := make([]flexapi.UserKey, 0, len(batch))
	for _, r := range batch {
		if r.ctx.Err() == nil { // a read nobody awaits any more is not asked for
			keys = append(keys, r.key)
		}
	}
	var found map[[2]string]flexapi.User // nil when nothing was asked: every lookup misses
	var err error
	if len(keys) > 0 {
		ctx, cancel := batchContext(batch)
		found, err = b.query(ctx, keys)
		cancel()
	}
	for _, r := range batch {
		u, ok := found[[2]string{r.key.InstanceSID, r.key.FlexUserSID}]
		switch {
		case r.ctx.Err() != nil:
			r.err = wrap(r.ctx.Err())
		case err != nil:
			r.err = err
		case !ok || u.AccountSID != r.key.AccountSID:
			r.err = flexapi.Errorf(flexapi.ENOTFOUND, "not found")
		default:
			r.user = u
		}
		close(r.done)
	}
}

func (b *userReads) query(ctx context.Context, keys []flexapi.UserKey) (map[[2]string]flexapi.User, error) {
	users, err := b.lookup(ctx, keys)
	if err != nil {
		return nil, wrap(err)
	}
	found := make(map[[2]string]flexapi.User, len(users))
	for _, u := range users {
		found[[2]string{u.InstanceSID, u.FlexUserSID}] = u
	}
	return found, nil
}

// batchContext bounds a batch's query by the latest deadline among its
// reads: it serves them all, so no single caller may cancel it.
func batchContext(batch []*userRead) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}

// lookupSQLite reads keys with the prepared statement of the next size up,
// filled with empty keys, which match no user: a handful of statements serve
// every size.
func (s *Store) lookupSQLite(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error) {
	size := 1
	for size < len(keys) {
		size *= 2
	}
	args := make([]any, 0, 3*size)
	for _, k := range keys {
		args = append(args, k.InstanceSID, k.FlexUserSID, k.AccountSID)
	}
	for len(args) < cap(args) {
		args = append(args, "")
	}
	rows, err := s.hot.users[size].QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// lookupPostgres reads keys with one statement of three array parameters,
// straight through pgx: database/sql's layers cost a tenth of a fetch. A
// connection that PostgreSQL has dropped (a restart, a terminated backend)
// fails the first query it is given, and is thrown away; a read is safe to
// ask again, so it is, until a new connection has answered.
func (s *Store) lookupPostgres(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error) {
	users, err := s.queryPostgresUsers(ctx, keys)
	for range s.pg.Config().MaxConns {
		if err == nil || ctx.Err() != nil || !postgresUnavailable(err) {
			break
		}
		users, err = s.queryPostgresUsers(ctx, keys)
	}
	return users, err
}

func (s *Store) queryPostgresUsers(ctx context.Context, keys []flexapi.UserKey) ([]flexapi.User, error) {
	var rows pgx.Rows
	var err error
	if len(keys) == 1 {
		rows, err = s.pg.Query(ctx, postgresUsersByKey[1], textResults, keys[0].InstanceSID, keys[0].FlexUserSID, keys[0].AccountSID)
	} else {
		rows, err = s.pg.Query(ctx, postgresUsersByKey[0], textResults,
			arrayLiteral(keys, func(k flexapi.UserKey) string { return k.InstanceSID }),
			arrayLiteral(keys, func(k flexapi.UserKey) string { return k.FlexUserSID }),
			arrayLiteral(keys, func(k flexapi.UserKey) string { return k.AccountSID }))
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanPostgresUser)
}

// arrayLiteral is PostgreSQL's text form of the array of one field of
// keys, every element quoted, so that no SID can end an element or mean NULL.
// The lookup binds it as text and casts it: pgx encoding three []string cost
// a thirtieth of a fetch.
func arrayLiteral(keys []flexapi.UserKey, field func(flexapi.UserKey) string) string {
	size := 2
	for _, k := range keys {
		size += len(field(k)) + 3
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		v := field(k)
		if !strings.ContainsAny(v, `"\`) { // a SID's letters and digits
			b.WriteString(v)
		} else {
			for _, c := range []byte(v) {
				if c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// postgresUsersByKey are PostgreSQL's lookups; pgx prepares each once a
// connection.
var postgresUsersByKey = postgresDialect.usersByKeyQueries()

// textResults asks for every column in text format, which scanPostgresUser
// reads.
var textResults = pgx.QueryResultFormats{pgx.TextFormatCode}

// usersByKeyQueries are the statements of the lookups, by number of keys (0:
// any number, as arrays). A read without company is a plain equality, which
// costs neither a list nor an array. The account is part of every key, so
// that another account's user is passed over inside the database, as cheaply
// as an absent one: found or not, it costs the same to ask for.
func (d dialect) usersByKeyQueries() map[int]string {
	columns := uUserColumns
	const join = ` JOIN users u ON u.instance_sid = k.i AND u.flex_user_sid = k.f AND u.account_sid = k.a`
	queries := map[int]string{1: `SELECT ` + userColumns + ` FROM users WHERE instance_sid = $1 AND flex_user_sid = $2 AND account_sid = $3`}
	if d.arrays {
		queries[0] = `SELECT ` + columns + ` FROM unnest($1::text::text[], $2::text::text[], $3::text::text[]) AS k(i, f, a)` + join
		return queries
	}
	for n := 2; n <= maxBatch; n *= 2 {
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")
		queries[n] = `WITH k(i, f, a) AS (VALUES ` + values + `) SELECT ` + columns + ` FROM k` + join
	}
	return queries
}
