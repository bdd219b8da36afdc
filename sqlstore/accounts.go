package sqlstore

import (
	"context"
	"database/sql"

	"github.com/flexapi/flexapi"
)

// Credential returns what HTTP Basic auth needs to check the username sid: an
// account SID or an API key SID. An unknown or malformed sid is ENOTFOUND.
func (s *Store) Credential(ctx context.Context, sid string) (flexapi.Credential, error) {
	var c flexapi.Credential
	var status string
	switch {
	case len(sid) > 2 && sid[:2] == flexapi.AccountPrefix:
		var primary string
		var secondary sql.NullString
		err := s.hot.account.QueryRowContext(ctx, sid).Scan(&c.AccountSID, &status, &primary, &secondary)
		if err != nil {
			return c, wrap(err)
		}
		c.SecretHashes = []string{primary}
		if secondary.Valid {
			c.SecretHashes = append(c.SecretHashes, secondary.String)
		}
	case len(sid) > 2 && sid[:2] == flexapi.KeyPrefix:
		var hash string
		err := s.hot.key.QueryRowContext(ctx, sid).Scan(&c.AccountSID, &status, &hash)
		if err != nil {
			return c, wrap(err)
		}
		c.SecretHashes = []string{hash}
	default:
		return c, flexapi.Errorf(flexapi.ENOTFOUND, "no such credential")
	}
	c.Active = status == flexapi.AccountActive
	return c, nil
}

// CreateAccount stores a new account whose primary auth token hashes to
// tokenHash. A taken SID is ECONFLICT.
func (s *Store) CreateAccount(ctx context.Context, a *flexapi.Account, tokenHash string) error {
	if a.CreatedDate.IsZero() {
		a.CreatedDate = s.now().UTC().Truncate(1e9)
	}
	if a.Status == "" {
		a.Status = flexapi.AccountActive
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (sid, friendly_name, status, primary_token_hash, created_date)
			VALUES ($1, $2, $3, $4, $5)`, a.SID, a.FriendlyName, a.Status, tokenHash, unix(a.CreatedDate))
		return err
	})
}

// SetPrimaryToken replaces an account's primary auth token.
func (s *Store) SetPrimaryToken(ctx context.Context, sid, tokenHash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE accounts SET primary_token_hash = $1 WHERE sid = $2`, tokenHash, sid))
	})
}

// SetSecondaryToken gives an account a secondary auth token, accepted beside
// the primary one while clients move over to it.
func (s *Store) SetSecondaryToken(ctx context.Context, sid, tokenHash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE accounts SET secondary_token_hash = $1 WHERE sid = $2`, tokenHash, sid))
	})
}

// PromoteSecondaryToken makes the secondary auth token the primary one and
// drops the old primary. An account without a secondary token is EINVALID.
func (s *Store) PromoteSecondaryToken(ctx context.Context, sid string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `UPDATE accounts SET primary_token_hash = secondary_token_hash,
			secondary_token_hash = NULL WHERE sid = $1 AND secondary_token_hash IS NOT NULL`, sid))
		if flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE sid = $1`, sid).Scan(&n); err != nil {
			return err // a store that cannot answer is not "not found"
		}
		if n == 0 {
			return flexapi.Errorf(flexapi.ENOTFOUND, "not found")
		}
		return flexapi.Errorf(flexapi.EINVALID, "account %s has no secondary token to promote", sid)
	})
}

// SetAccountStatus suspends or activates an account; a suspended account's
// tokens and keys are refused.
func (s *Store) SetAccountStatus(ctx context.Context, sid, status string) error {
	if status != flexapi.AccountActive && status != flexapi.AccountSuspended {
		return flexapi.Errorf(flexapi.EINVALID, "unknown account status %q", status)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE sid = $2`, status, sid))
	})
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]flexapi.Account, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT sid, friendly_name, status, created_date FROM accounts ORDER BY created_date, sid`)
	if err != nil {
		return nil, wrap(err)
	}
	return collect(rows, func(sc scanner) (a flexapi.Account, err error) {
		var created int64
		err = sc.Scan(&a.SID, &a.FriendlyName, &a.Status, &created)
		a.CreatedDate = fromUnix(created)
		return a, err
	})
}

// CreateKey stores a new API key of an existing account.
func (s *Store) CreateKey(ctx context.Context, k *flexapi.APIKey, secretHash string) error {
	if k.CreatedDate.IsZero() {
		k.CreatedDate = s.now().UTC().Truncate(1e9)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, created_date)
			VALUES ($1, $2, $3, $4, $5)`, k.SID, k.AccountSID, k.FriendlyName, secretHash, unix(k.CreatedDate))
		return err
	})
}

// SetKeySecret replaces the secret of an API key.
func (s *Store) SetKeySecret(ctx context.Context, sid, secretHash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE api_keys SET secret_hash = $1 WHERE sid = $2`, secretHash, sid))
	})
}

// DeleteKey revokes an API key.
func (s *Store) DeleteKey(ctx context.Context, sid string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM api_keys WHERE sid = $1`, sid))
	})
}

// Keys lists the API keys of an account ("" for all accounts), oldest first.
func (s *Store) Keys(ctx context.Context, accountSID string) ([]flexapi.APIKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT sid, account_sid, friendly_name, created_date FROM api_keys
		WHERE $1 = '' OR account_sid = $1 ORDER BY created_date, sid`, accountSID)
	if err != nil {
		return nil, wrap(err)
	}
	return collect(rows, func(sc scanner) (k flexapi.APIKey, err error) {
		var created int64
		err = sc.Scan(&k.SID, &k.AccountSID, &k.FriendlyName, &created)
		k.CreatedDate = fromUnix(created)
		return k, err
	})
}

const instanceColumns = `sid, account_sid, workspace_sid, default_team_sid, created_date`

func scanInstance(sc scanner) (flexapi.Instance, error) {
	var in flexapi.Instance
	var workspace, team sql.NullString
	var created int64
	err := sc.Scan(&in.SID, &in.AccountSID, &workspace, &team, &created)
	in.WorkspaceSID, in.DefaultTeamSID, in.CreatedDate = workspace.String, team.String, fromUnix(created)
	return in, err
}

// CreateInstance stores a new Flex instance of an existing account, with its
// workspace and its default team (generated unless in names them).
func (s *Store) CreateInstance(ctx context.Context, in *flexapi.Instance) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertInstance(ctx, tx, in) })
}

func (s *Store) insertInstance(ctx context.Context, tx *sql.Tx, in *flexapi.Instance) error {
	if in.CreatedDate.IsZero() {
		in.CreatedDate = s.now().UTC().Truncate(1e9)
	}
	if in.WorkspaceSID == "" {
		in.WorkspaceSID = flexapi.NewSID(flexapi.WorkspacePrefix)
	}
	if in.DefaultTeamSID == "" {
		in.DefaultTeamSID = flexapi.NewSID(flexapi.FlexTeamPrefix)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO instances (`+instanceColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		in.SID, in.AccountSID, in.WorkspaceSID, in.DefaultTeamSID, unix(in.CreatedDate)); err != nil {
		return err
	}
	return s.insertDefaultTeam(ctx, tx, *in)
}

func (s *Store) insertDefaultTeam(ctx context.Context, tx *sql.Tx, in flexapi.Instance) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO teams (sid, instance_sid, account_sid, friendly_name, created_date, updated_date)
		VALUES ($1, $2, $3, $4, $5, $5)`, in.DefaultTeamSID, in.SID, in.AccountSID, flexapi.DefaultTeamName, unix(in.CreatedDate))
	return err
}

// DeleteInstance removes an instance and all its users.
func (s *Store) DeleteInstance(ctx context.Context, sid string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM instances WHERE sid = $1`, sid))
	})
}

// Instance returns one instance, whatever its account.
func (s *Store) Instance(ctx context.Context, sid string) (flexapi.Instance, error) {
	in, err := scanInstance(s.read.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE sid = $1`, sid))
	return in, wrap(err)
}

// Instances lists the instances of an account ("" for all), oldest first.
func (s *Store) Instances(ctx context.Context, accountSID string) ([]flexapi.Instance, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances
		WHERE $1 = '' OR account_sid = $1 ORDER BY created_date, sid`, accountSID)
	if err != nil {
		return nil, wrap(err)
	}
	return collect(rows, scanInstance)
}

type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, v)
	}
	return out, wrap(rows.Err())
}

// mustAffect turns an UPDATE or DELETE that matched no row into ENOTFOUND.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return flexapi.Errorf(flexapi.ENOTFOUND, "not found")
	}
	return nil
}
