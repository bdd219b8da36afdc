package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/flexapi/flexapi"
)

// userColumnList is the users table's columns in the order of scanUser and
// userValues.
var userColumnList = []string{"account_sid", "instance_sid", "flex_user_sid", "user_sid", "worker_sid", "workspace_sid",
	"flex_team_sid", "username", "full_name", "email", "locale", "roles", "worker_attributes", "deactivated_date",
	"created_date", "updated_date", "version"}

// userColumns, and the same qualified by the table alias u.
var (
	userColumns  = strings.Join(userColumnList, ", ")
	uUserColumns = "u." + strings.Join(userColumnList, ", u.")
)

func scanUser(sc scanner) (flexapi.User, error) {
	var u flexapi.User
	var userSID, workerSID, workspaceSID, teamSID, username, fullName, email, locale, roles, attributes sql.NullString
	var deactivated sql.NullInt64
	var created, updated int64
	err := sc.Scan(&u.AccountSID, &u.InstanceSID, &u.FlexUserSID, &userSID, &workerSID, &workspaceSID,
		&teamSID, &username, &fullName, &email, &locale, &roles, &attributes, &deactivated, &created, &updated, &u.Version)
	if err != nil {
		return u, err
	}
	u.UserSID, u.WorkerSID, u.WorkspaceSID, u.FlexTeamSID = ptr(userSID), ptr(workerSID), ptr(workspaceSID), ptr(teamSID)
	u.Username, u.FullName, u.Email, u.Locale = ptr(username), ptr(fullName), ptr(email), ptr(locale)
	u.WorkerAttributes = attributes.String
	if roles.Valid {
		if u.Roles, err = decodeRoles(roles.String); err != nil {
			return u, err
		}
	}
	if deactivated.Valid {
		u.DeactivatedDate = fromUnix(deactivated.Int64)
	}
	u.CreatedDate, u.UpdatedDate = fromUnix(created), fromUnix(updated)
	return u, nil
}

// userValues are u's values for userColumnList.
func userValues(u *flexapi.User) []any {
	var attributes, deactivated any
	if u.WorkerAttributes != "" {
		attributes = u.WorkerAttributes
	}
	if u.Deactivated() {
		deactivated = unix(u.DeactivatedDate)
	}
	return []any{u.AccountSID, u.InstanceSID, u.FlexUserSID, u.UserSID, u.WorkerSID, u.WorkspaceSID,
		u.FlexTeamSID, u.Username, u.FullName, u.Email, u.Locale, rolesValue(u.Roles), attributes, deactivated,
		unix(u.CreatedDate), unix(u.UpdatedDate), u.Version}
}

// insertUser inserts one new user.
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, u *flexapi.User) error {
	b := s.query()
	b.sql.WriteString(`INSERT INTO users (` + userColumns + `) VALUES `)
	b.row(userValues(u)...)
	_, err := tx.ExecContext(ctx, b.sql.String(), b.args...)
	return err
}

// updateUserRow writes every column of an existing user.
func (s *Store) updateUserRow(ctx context.Context, tx *sql.Tx, u *flexapi.User) error {
	b := s.query()
	b.sql.WriteString(`UPDATE users SET `)
	values := userValues(u)
	for i, col := range userColumnList[3:] { // not the key, nor the account
		sep := ", "
		if i == 0 {
			sep = ""
		}
		b.add(sep+col+" = ", values[3+i])
	}
	b.add(" WHERE instance_sid = ", u.InstanceSID)
	b.add(" AND flex_user_sid = ", u.FlexUserSID)
	_, err := tx.ExecContext(ctx, b.sql.String(), b.args...)
	return err
}

// decodeRoles reads the roles column, a JSON array of strings as
// json.Marshal writes it. Roles without escapes, as good as all of them, are
// split without a JSON decoder, which was a tenth of a read.
func decodeRoles(s string) ([]string, error) {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.Contains(s, `\`) {
		body := s[1 : len(s)-1]
		if body == "" {
			return []string{}, nil
		}
		if len(body) >= 2 && body[0] == '"' && body[len(body)-1] == '"' {
			// Without escapes, a quote can only delimit: "," separates.
			roles := strings.Split(body[1:len(body)-1], `","`)
			if !slices.ContainsFunc(roles, func(r string) bool { return strings.Contains(r, `"`) }) {
				return roles, nil
			}
		}
	}
	var roles []string
	if err := json.Unmarshal([]byte(s), &roles); err != nil {
		return nil, err
	}
	if roles == nil {
		roles = []string{}
	}
	return roles, nil
}

func ptr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func rolesValue(roles []string) any {
	if roles == nil {
		return nil
	}
	b, _ := json.Marshal(roles)
	return string(b)
}

// CreateUser stores a new user in an existing instance of u.AccountSID. Zero
// dates become now. A taken FlexUser SID or username is ECONFLICT; an
// instance that does not exist or belongs to another account is ENOTFOUND.
func (s *Store) CreateUser(ctx context.Context, u *flexapi.User) error {
	now := s.now().UTC().Truncate(1e9)
	if u.CreatedDate.IsZero() {
		u.CreatedDate = now
	}
	if u.UpdatedDate.IsZero() {
		u.UpdatedDate = u.CreatedDate
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		in, err := s.instanceOf(ctx, tx, u.AccountSID, u.InstanceSID, s.dialect.lockInstance)
		if err != nil {
			return err
		}
		u.FillSIDs(in)
		if err := s.insertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.claimUsernames(ctx, tx, in.SID, claimed(u.Username))
	})
}

// claimed lists username if it is set.
func claimed(username *string) []string {
	if username == nil {
		return nil
	}
	return []string{*username}
}

// claimUsernames fails with ECONFLICT when one of usernames, which users
// written just now took, is held by more than one user of the instance:
// usernames are unique within an instance. It runs after the writes, in
// their transaction, so that it sees the batch's own users as well as the
// stored ones; and writers of one instance take turns (its row is locked,
// or SQLite's one writer holds the file), so that no user comes in between.
// Users that kept their username are not asked about: two users that shared
// one before flexapi checked do not keep each other from other changes.
func (s *Store) claimUsernames(ctx context.Context, tx *sql.Tx, instanceSID string, usernames []string) error {
	slices.Sort(usernames)
	usernames = slices.Compact(usernames)
	const chunk = 1000
	for start := 0; start < len(usernames); start += chunk {
		part := usernames[start:min(start+chunk, len(usernames))]
		var shared string
		var err error
		if s.dialect.arrays {
			// Each name looked up on its own. With the grouped query below,
			// each batch of an import into PostgreSQL took longer than the
			// one before (2 ms at the first, 29 ms at the hundredth of
			// 100,000 users); with this one, 2.3-2.7 ms throughout.
			err = tx.QueryRowContext(ctx, `SELECT n.name FROM unnest($2::text[]) AS n(name)
				WHERE (SELECT COUNT(*) FROM users WHERE instance_sid = $1 AND username = n.name) > 1 LIMIT 1`,
				instanceSID, part).Scan(&shared)
		} else {
			b := s.query()
			b.add("instance_sid = ", instanceSID)
			b.anyOf("username", part, false)
			err = tx.QueryRowContext(ctx, `SELECT username FROM users WHERE `+b.sql.String()+
				` GROUP BY username HAVING COUNT(*) > 1 LIMIT 1`, b.args...).Scan(&shared)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT flex_user_sid FROM users WHERE instance_sid = $1 AND username = $2
			ORDER BY flex_user_sid`, instanceSID, shared)
		if err != nil {
			return err
		}
		holders, err := collect(rows, func(r scanner) (sid string, err error) { return sid, r.Scan(&sid) })
		if err != nil {
			return err
		}
		return flexapi.Errorf(flexapi.ECONFLICT, "Username %q is taken in instance %s: users %s would share it",
			shared, instanceSID, strings.Join(holders, ", "))
	}
	return nil
}

// instanceOf returns an instance if it exists and belongs to account
// (ENOTFOUND otherwise), with lock appended to its query. A failure to ask
// is passed on as it is: a store that cannot answer is never "not found".
func (s *Store) instanceOf(ctx context.Context, q querier, account, instance, lock string) (flexapi.Instance, error) {
	in, err := scanInstance(q.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE sid = $1`+lock, instance))
	if err == nil && in.AccountSID != account {
		err = sql.ErrNoRows // another account's instance is absent for this one
	}
	return in, wrap(err)
}

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// User returns the user named by key, or ENOTFOUND when it does not exist for
// key's account.
//
// Users come from memory when the store has a cache and nothing was
// committed since they were read.
func (s *Store) User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error) {
	if s.cache == nil {
		return s.reads.read(ctx, key)
	}
	u, found, hit, st := s.cache.get(key)
	switch {
	case found:
		return u, nil
	case hit:
		return flexapi.User{}, flexapi.Errorf(flexapi.ENOTFOUND, "not found")
	}
	u, err := s.reads.read(ctx, key)
	switch code := flexapi.ErrorCode(err); {
	case err == nil:
		s.cache.put(st, key, &u)
	case code == flexapi.ENOTFOUND:
		s.cache.put(st, key, nil)
	}
	return u, err
}

// lockedUser reads one user inside a write transaction and holds its row
// until the transaction ends.
func (s *Store) lockedUser(ctx context.Context, tx *sql.Tx, key flexapi.UserKey) (flexapi.User, error) {
	u, err := scanUser(tx.StmtContext(ctx, s.hot.lockUser).QueryRowContext(ctx, key.InstanceSID, key.FlexUserSID, key.AccountSID))
	return u, wrap(err)
}

// UpdateUser applies upd atomically and returns the user as it now is. A
// change bumps the version by one and moves updated_date; an update that
// changes nothing leaves the user as it was.
func (s *Store) UpdateUser(ctx context.Context, key flexapi.UserKey, upd flexapi.UserUpdate) (flexapi.User, error) {
	var u flexapi.User
	err := s.inTxFor(ctx, kept(key, &u), func(tx *sql.Tx) error {
		var err error
		if u, err = s.lockedUser(ctx, tx, key); err != nil {
			return err
		}
		if !upd.IfMatch.Allows(u.Version) {
			return flexapi.PreconditionFailed(u.Version)
		}
		if !upd.Apply(&u) {
			return errNothingWritten
		}
		u.Version++
		u.UpdatedDate = s.now().UTC().Truncate(1e9)
		_, err = tx.StmtContext(ctx, s.hot.updateUser).ExecContext(ctx,
			u.Email, u.UserSID, u.Locale, unix(u.UpdatedDate), u.Version, u.InstanceSID, u.FlexUserSID)
		return err
	})
	return u, err
}

// DeleteUser removes a user, if ifMatch allows its version.
func (s *Store) DeleteUser(ctx context.Context, key flexapi.UserKey, ifMatch flexapi.IfMatch) error {
	return s.inTxFor(ctx, only(key), func(tx *sql.Tx) error {
		u, err := s.lockedUser(ctx, tx, key)
		if err != nil {
			return err
		}
		if !ifMatch.Allows(u.Version) {
			return flexapi.PreconditionFailed(u.Version)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE instance_sid = $1 AND flex_user_sid = $2`, key.InstanceSID, key.FlexUserSID)
		return err
	})
}

// Users returns a page of users and whether more lie beyond it in the
// direction of travel (upwards, or downwards when Before is set). An instance
// that does not exist for q.AccountSID is ENOTFOUND; an empty one is no
// error. The query must name its account.
func (s *Store) Users(ctx context.Context, q flexapi.UserQuery) ([]flexapi.User, bool, error) {
	if q.AccountSID == "" {
		return nil, false, errors.New("sqlstore: a user query must name its account")
	}
	if _, err := s.instanceOf(ctx, s.read, q.AccountSID, q.InstanceSID, ""); err != nil {
		return nil, false, err
	}
	return s.users(ctx, q)
}

// users runs q without looking at its account: for the admin commands,
// which act on the whole store.
func (s *Store) users(ctx context.Context, q flexapi.UserQuery) ([]flexapi.User, bool, error) {
	b := s.query()
	b.add("instance_sid = ", q.InstanceSID)
	if q.Email != nil {
		b.add(" AND email = ", *q.Email)
	}
	if q.Username != nil {
		b.add(" AND username = ", *q.Username)
	}
	order := "ASC"
	switch {
	case q.Before != "":
		b.add(" AND flex_user_sid < ", q.Before)
		order = "DESC"
	case q.After != "":
		b.add(" AND flex_user_sid > ", q.After)
	}
	b.add(" ORDER BY flex_user_sid "+order+" LIMIT ", q.Limit+1)
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+b.sql.String(), b.args...)
	if err != nil {
		return nil, false, wrap(err)
	}
	users, err := collect(rows, scanUser)
	more := len(users) > q.Limit
	if more {
		users = users[:q.Limit]
	}
	if order == "DESC" {
		slices.Reverse(users)
	}
	return users, more, err
}

// AllUsers yields every user of an instance in SID order, a page at a time,
// so that memory stays constant however large the instance.
func (s *Store) AllUsers(ctx context.Context, instanceSID string) iter.Seq2[flexapi.User, error] {
	return func(yield func(flexapi.User, error) bool) {
		q := flexapi.UserQuery{InstanceSID: instanceSID, Limit: 1000}
		for {
			page, more, err := s.users(ctx, q)
			if err != nil {
				yield(flexapi.User{}, err)
				return
			}
			for _, u := range page {
				if !yield(u, nil) {
					return
				}
			}
			if !more {
				return
			}
			q.After = page[len(page)-1].FlexUserSID
		}
	}
}

// query builds SQL whose parameters are numbered in the order they are
// added, in the dialect's notation.
type query struct {
	mark string
	sql  strings.Builder
	args []any
}

func (s *Store) query() *query { return &query{mark: s.dialect.param} }

// add appends text and then a parameter for arg.
func (q *query) add(text string, arg any) {
	q.args = append(q.args, arg)
	q.sql.WriteString(text)
	q.sql.WriteString(q.mark)
	if q.mark == "$" {
		q.sql.WriteString(strconv.Itoa(len(q.args)))
	}
}

// anyOf appends " AND column" equal to any of values: as one array
// parameter where the database takes one, which keeps PostgreSQL's cached
// plan an index scan (a thousand separate parameters make it a table scan),
// and as a list of parameters elsewhere.
func (q *query) anyOf(column string, values []string, arrays bool) {
	if arrays {
		q.add(" AND "+column+" = ANY(", values)
	} else {
		for i, v := range values {
			sep := ", "
			if i == 0 {
				sep = " AND " + column + " IN ("
			}
			q.add(sep, v)
		}
	}
	q.sql.WriteString(")")
}

// row appends "($n, $n+1, …)" with a parameter for each value.
func (q *query) row(values ...any) {
	for i, v := range values {
		sep := ", "
		if i == 0 {
			sep = "("
		}
		q.add(sep, v)
	}
	q.sql.WriteString(")")
}

// UpsertResult counts what UpsertUsers did with each user.
type UpsertResult = flexapi.UpsertResult

// UpsertUsers makes each user exist in instance with its values, in one
// transaction: absent users are inserted as given (dates and version too,
// when set), users that differ are updated (version +1, updated now), and
// users that are the same are left alone, so that a second run changes nothing.
func (s *Store) UpsertUsers(ctx context.Context, in flexapi.Instance, users []flexapi.User) (UpsertResult, error) {
	var res UpsertResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.upsertUsers(ctx, tx, in, users)
		return err
	})
	if err != nil {
		return UpsertResult{}, err // rolled back: nothing was done
	}
	return res, nil
}

// upsertUsers is UpsertUsers inside tx. It first locks the instance's row,
// so that upserts into one instance take turns: two imports of the same new
// users at once then find each other's rows instead of both inserting them.
func (s *Store) upsertUsers(ctx context.Context, tx *sql.Tx, in flexapi.Instance, users []flexapi.User) (UpsertResult, error) {
	var res UpsertResult
	now := s.now().UTC().Truncate(1e9)
	in, err := s.instanceOf(ctx, tx, in.AccountSID, in.SID, s.dialect.lockInstance)
	if err != nil {
		return res, err
	}
	existing, err := s.existingUsers(ctx, tx, in.SID, users)
	if err != nil {
		return res, err
	}
	// Each row is judged against the state the rows before it left, so
	// that a SID twice in one batch counts as it would in two; the
	// final state is written once, after the loop.
	type state struct {
		user           flexapi.User
		fresh, changed bool
	}
	states := make(map[string]*state, len(users))
	for sid, u := range existing {
		states[sid] = &state{user: u}
	}
	var order []*state     // the states to write, in the order they first changed
	var usernames []string // taken by new users, or by users whose username changed
	res = UpsertResult{}
	for _, u := range users {
		u.AccountSID, u.InstanceSID = in.AccountSID, in.SID
		st, found := states[u.FlexUserSID]
		if found {
			keepSIDs(&u, &st.user) // a row without them keeps the user's own
		}
		u.FillSIDs(in)
		switch {
		case !found:
			if u.CreatedDate.IsZero() {
				u.CreatedDate = now
			}
			if u.UpdatedDate.IsZero() {
				u.UpdatedDate = u.CreatedDate
			}
			st = &state{user: u, fresh: true}
			states[u.FlexUserSID] = st
			usernames = append(usernames, claimed(u.Username)...)
			order = append(order, st)
			res.Inserted++
		case st.user.SameAs(&u):
			res.Unchanged++
		default:
			if u.Username != nil && (st.user.Username == nil || *u.Username != *st.user.Username) {
				usernames = append(usernames, *u.Username)
			}
			u.CreatedDate, u.UpdatedDate, u.Version = st.user.CreatedDate, now, st.user.Version+1
			st.user = u
			if !st.fresh && !st.changed {
				order = append(order, st)
			}
			st.changed = true
			res.Updated++
		}
	}
	var fresh []*flexapi.User
	for _, st := range order {
		if st.fresh {
			fresh = append(fresh, &st.user)
			continue
		}
		if err := s.updateUserRow(ctx, tx, &st.user); err != nil {
			return res, err
		}
	}
	if err := s.insertUsers(ctx, tx, fresh); err != nil {
		return res, err
	}
	return res, s.claimUsernames(ctx, tx, in.SID, usernames)
}

// keepSIDs gives u the SIDs of the stored user that it does not name.
func keepSIDs(u, stored *flexapi.User) {
	for _, f := range [][2]**string{{&u.UserSID, &stored.UserSID}, {&u.WorkspaceSID, &stored.WorkspaceSID},
		{&u.FlexTeamSID, &stored.FlexTeamSID}, {&u.WorkerSID, &stored.WorkerSID}} {
		if *f[0] == nil {
			*f[0] = *f[1]
		}
	}
}

// insertUsers inserts new users with as few statements as the parameter
// limits allow: one round trip per few hundred rows on PostgreSQL, and far
// fewer steps of SQLite's machine than a statement per row.
func (s *Store) insertUsers(ctx context.Context, tx *sql.Tx, users []*flexapi.User) error {
	const perStatement = 500 // 17 parameters a row: within both databases' limits
	for start := 0; start < len(users); start += perStatement {
		b := s.query()
		b.sql.WriteString(`INSERT INTO users (` + userColumns + `) VALUES `)
		for i, u := range users[start:min(start+perStatement, len(users))] {
			if i > 0 {
				b.sql.WriteString(", ")
			}
			b.row(userValues(u)...)
		}
		if _, err := tx.ExecContext(ctx, b.sql.String(), b.args...); err != nil {
			return err
		}
	}
	return nil
}

// existingUsers loads those of users that the instance already holds, with
// one query per thousand: far cheaper than one lookup per row.
func (s *Store) existingUsers(ctx context.Context, tx *sql.Tx, instanceSID string, users []flexapi.User) (map[string]flexapi.User, error) {
	found := make(map[string]flexapi.User, len(users))
	const chunk = 1000
	for start := 0; start < len(users); start += chunk {
		part := users[start:min(start+chunk, len(users))]
		sids := make([]string, len(part))
		for i, u := range part {
			sids[i] = u.FlexUserSID
		}
		b := s.query()
		b.add("instance_sid = ", instanceSID)
		b.anyOf("flex_user_sid", sids, s.dialect.arrays)
		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+b.sql.String()+s.dialect.lockRow, b.args...)
		if err != nil {
			return nil, err
		}
		list, err := collect(rows, scanUser)
		if err != nil {
			return nil, err
		}
		for _, u := range list {
			found[u.FlexUserSID] = u
		}
	}
	return found, nil
}

// DeleteUsers removes every user of every instance and says how many.
func (s *Store) DeleteUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users`)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// DeleteEverything empties the store: users, instances, keys and accounts.
func (s *Store) DeleteEverything(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"users", "instances", "api_keys", "accounts"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return err
			}
		}
		return nil
	})
}
