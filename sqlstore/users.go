package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/flexapi/flexapi"
)

const userColumns = `account_sid, instance_sid, flex_user_sid, user_sid, worker_sid, workspace_sid,
	flex_team_sid, username, email, locale, roles, created_date, updated_date, version`

func scanUser(sc scanner) (flexapi.User, error) {
	var u flexapi.User
	var userSID, workerSID, workspaceSID, teamSID, username, email, locale, roles sql.NullString
	var created, updated int64
	err := sc.Scan(&u.AccountSID, &u.InstanceSID, &u.FlexUserSID, &userSID, &workerSID, &workspaceSID,
		&teamSID, &username, &email, &locale, &roles, &created, &updated, &u.Version)
	if err != nil {
		return u, err
	}
	u.UserSID, u.WorkerSID, u.WorkspaceSID, u.FlexTeamSID = ptr(userSID), ptr(workerSID), ptr(workspaceSID), ptr(teamSID)
	u.Username, u.Email, u.Locale = ptr(username), ptr(email), ptr(locale)
	if roles.Valid {
		if err := json.Unmarshal([]byte(roles.String), &u.Roles); err != nil {
			return u, err
		}
		if u.Roles == nil {
			u.Roles = []string{}
		}
	}
	u.CreatedDate, u.UpdatedDate = fromUnix(created), fromUnix(updated)
	return u, nil
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
// dates become now. A taken FlexUser SID is ECONFLICT; an instance that does
// not exist or belongs to another account is ENOTFOUND.
func (s *Store) CreateUser(ctx context.Context, u *flexapi.User) error {
	now := s.now().UTC().Truncate(1e9)
	if u.CreatedDate.IsZero() {
		u.CreatedDate = now
	}
	if u.UpdatedDate.IsZero() {
		u.UpdatedDate = u.CreatedDate
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT account_sid FROM instances WHERE sid = ?`, u.InstanceSID).Scan(&owner)
		if err != nil || owner != u.AccountSID {
			return flexapi.Errorf(flexapi.ENOTFOUND, "instance %s not found", u.InstanceSID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.AccountSID, u.InstanceSID, u.FlexUserSID, u.UserSID, u.WorkerSID, u.WorkspaceSID,
			u.FlexTeamSID, u.Username, u.Email, u.Locale, rolesValue(u.Roles),
			unix(u.CreatedDate), unix(u.UpdatedDate), u.Version)
		return err
	})
}

// User returns the user named by key, or ENOTFOUND when it does not exist for
// key's account.
func (s *Store) User(ctx context.Context, key flexapi.UserKey) (flexapi.User, error) {
	return s.user(ctx, s.read, key)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) user(ctx context.Context, q querier, key flexapi.UserKey) (flexapi.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE instance_sid = ? AND flex_user_sid = ? AND account_sid = ?`,
		key.InstanceSID, key.FlexUserSID, key.AccountSID))
	return u, wrap(err)
}

// UpdateUser applies upd atomically and returns the user as it now is. A
// change bumps the version by one and moves updated_date; an update that
// changes nothing leaves the user as it was.
func (s *Store) UpdateUser(ctx context.Context, key flexapi.UserKey, upd flexapi.UserUpdate) (flexapi.User, error) {
	var u flexapi.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = s.user(ctx, tx, key); err != nil {
			return err
		}
		if !upd.Apply(&u) {
			return nil
		}
		u.Version++
		u.UpdatedDate = s.now().UTC().Truncate(1e9)
		_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, user_sid = ?, locale = ?, updated_date = ?, version = ?
			WHERE instance_sid = ? AND flex_user_sid = ?`,
			u.Email, u.UserSID, u.Locale, unix(u.UpdatedDate), u.Version, u.InstanceSID, u.FlexUserSID)
		return err
	})
	return u, err
}

// Users lists the users of an instance in SID order.
func (s *Store) Users(ctx context.Context, instanceSID string) ([]flexapi.User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE instance_sid = ? ORDER BY flex_user_sid`, instanceSID)
	if err != nil {
		return nil, wrap(err)
	}
	return collect(rows, scanUser)
}
