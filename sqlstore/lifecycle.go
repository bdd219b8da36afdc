package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/flexapi/flexapi"
)

// ProvisionUser makes the instance hold p's user: a new one (created true)
// when no user has p.Username, or the user that has it brought to p's
// values, reactivated if it was deactivated. Provisions into one instance
// take turns, so that concurrent ones of a new username make one user. The
// cache keeps the user as written, so that the fetch that follows a
// provision comes from memory.
func (s *Store) ProvisionUser(ctx context.Context, account, instance string, p flexapi.Provision) (u flexapi.User, created bool, err error) {
	wrote := func() []userWrite {
		return []userWrite{{key: flexapi.UserKey{AccountSID: account, InstanceSID: instance, FlexUserSID: u.FlexUserSID}, now: &u}}
	}
	err = s.inTxFor(ctx, wrote, func(tx *sql.Tx) error {
		in, err := s.instanceOf(ctx, tx, account, instance, s.dialect.lockInstance)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(1e9)
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
			WHERE instance_sid = $1 AND username = $2 ORDER BY flex_user_sid LIMIT 1`+s.dialect.lockRow, instance, p.Username))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			u, created = p.NewUser(in, now), true
			return s.insertUser(ctx, tx, &u)
		case err != nil:
			return err
		case !p.Apply(&u):
			return errNothingWritten
		}
		u.Version++
		u.UpdatedDate = now
		return s.updateUserRow(ctx, tx, &u)
	})
	return u, created, err
}

// DeprovisionUser deactivates a user: kept, listed and fetchable, with a
// deactivation date and no worker. A user deactivated already is left as it
// is.
func (s *Store) DeprovisionUser(ctx context.Context, key flexapi.UserKey) error {
	var u flexapi.User
	return s.inTxFor(ctx, kept(key, &u), func(tx *sql.Tx) error {
		var err error
		if u, err = s.lockedUser(ctx, tx, key); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(1e9)
		if !u.Deactivate(now) {
			return errNothingWritten
		}
		u.Version++
		u.UpdatedDate = now
		return s.updateUserRow(ctx, tx, &u)
	})
}

const teamQuery = `SELECT t.sid, t.account_sid, t.instance_sid, t.friendly_name, t.description,
	(SELECT count(*) FROM users u WHERE u.instance_sid = t.instance_sid AND u.flex_team_sid = t.sid AND u.deactivated_date IS NULL),
	t.created_date, t.updated_date, t.version FROM teams t`

func scanTeam(sc scanner) (flexapi.Team, error) {
	var t flexapi.Team
	var description sql.NullString
	var created, updated int64
	err := sc.Scan(&t.SID, &t.AccountSID, &t.InstanceSID, &t.FriendlyName, &description, &t.MemberCount, &created, &updated, &t.Version)
	t.Description, t.CreatedDate, t.UpdatedDate = ptr(description), fromUnix(created), fromUnix(updated)
	return t, err
}

// Teams lists an instance's teams in SID order; an instance that is not
// account's is ENOTFOUND.
func (s *Store) Teams(ctx context.Context, account, instance string) ([]flexapi.Team, error) {
	if _, err := s.instanceOf(ctx, s.read, account, instance, ""); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, teamQuery+` WHERE t.instance_sid = $1 ORDER BY t.sid`, instance)
	if err != nil {
		return nil, wrap(err)
	}
	return collect(rows, scanTeam)
}

// Team returns one team of an instance of account, or ENOTFOUND.
func (s *Store) Team(ctx context.Context, account, instance, sid string) (flexapi.Team, error) {
	t, err := scanTeam(s.read.QueryRowContext(ctx, teamQuery+` WHERE t.sid = $1 AND t.instance_sid = $2 AND t.account_sid = $3`,
		sid, instance, account))
	return t, wrap(err)
}

// AccountInstance returns the account's Flex instance, the oldest if it has
// several, or ENOTFOUND when it has none.
func (s *Store) AccountInstance(ctx context.Context, account string) (flexapi.Instance, error) {
	in, err := scanInstance(s.read.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances
		WHERE account_sid = $1 ORDER BY created_date, sid LIMIT 1`, account))
	return in, wrap(err)
}
