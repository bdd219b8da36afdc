package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/flexapi/flexapi"
)

// ApplySeed brings the store to the seed's state in one transaction, so that
// a seed that fails changes nothing. Seeds take turns (replicas that start
// at once with the same seed both succeed, the second finding the first's
// work done). A seed that fails Validate is refused before anything is done.
func (s *Store) ApplySeed(ctx context.Context, seed flexapi.Seed) (flexapi.SeedResult, error) {
	var res flexapi.SeedResult
	seed = seed.Clone() // Validate puts SIDs in canonical form: in a copy of the caller's
	if err := seed.Validate(); err != nil {
		return res, err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = flexapi.SeedResult{}
		if s.dialect.lockSeeds != "" {
			if _, err := tx.ExecContext(ctx, s.dialect.lockSeeds); err != nil {
				return err
			}
		}
		for _, a := range seed.Accounts {
			if err := s.seedAccount(ctx, tx, a, &res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return flexapi.SeedResult{}, err
	}
	return res, nil
}

func (s *Store) seedAccount(ctx context.Context, tx *sql.Tx, a flexapi.SeedAccount, res *flexapi.SeedResult) error {
	var primary string
	var secondary sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT primary_token_hash, secondary_token_hash FROM accounts WHERE sid = $1`+s.dialect.lockRow, a.SID).
		Scan(&primary, &secondary)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		token := a.AuthToken
		if token == "" {
			token = flexapi.NewSecret()
			res.Generated = append(res.Generated, flexapi.GeneratedSecret{SID: a.SID, Secret: token})
		}
		primary, secondary = flexapi.HashSecret(token), sql.NullString{}
		if a.SecondaryToken != "" {
			secondary = sql.NullString{String: flexapi.HashSecret(a.SecondaryToken), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (sid, friendly_name, status, primary_token_hash, secondary_token_hash, created_date)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.SID, a.FriendlyName, a.Status, primary, secondary, unix(s.now())); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if a.AuthToken != "" {
			primary = keepOrHash(primary, a.AuthToken)
			secondary = sql.NullString{}
			if a.SecondaryToken != "" {
				secondary = sql.NullString{String: keepOrHash(secondary.String, a.SecondaryToken), Valid: true}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET friendly_name = CASE WHEN $1 = '' THEN friendly_name ELSE $1 END,
			status = $2, primary_token_hash = $3, secondary_token_hash = $4 WHERE sid = $5`,
			a.FriendlyName, a.Status, primary, secondary, a.SID); err != nil {
			return err
		}
	}
	for _, k := range a.Keys {
		if err := s.seedKey(ctx, tx, a.SID, k, res); err != nil {
			return err
		}
	}
	for _, in := range a.Instances {
		if err := s.seedInstance(ctx, tx, a.SID, in, res); err != nil {
			return err
		}
	}
	return nil
}

// keepOrHash keeps a stored hash that secret already matches, so that a
// seed applied twice writes the same state, and hashes secret otherwise.
func keepOrHash(stored, secret string) string {
	if stored != "" && flexapi.SecretMatches(stored, secret) {
		return stored
	}
	return flexapi.HashSecret(secret)
}

func (s *Store) seedKey(ctx context.Context, tx *sql.Tx, account string, k flexapi.SeedKey, res *flexapi.SeedResult) error {
	var owner, hash string
	err := tx.QueryRowContext(ctx, `SELECT account_sid, secret_hash FROM api_keys WHERE sid = $1`+s.dialect.lockRow, k.SID).Scan(&owner, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		secret := k.Secret
		if secret == "" {
			secret = flexapi.NewSecret()
			res.Generated = append(res.Generated, flexapi.GeneratedSecret{SID: k.SID, Secret: secret})
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, created_date)
			VALUES ($1, $2, $3, $4, $5)`, k.SID, account, k.FriendlyName, flexapi.HashSecret(secret), unix(s.now()))
		return err
	case err != nil:
		return err
	case owner != account:
		return flexapi.Errorf(flexapi.EINVALID, "key %s belongs to account %s, not %s", k.SID, owner, account)
	}
	if k.Secret != "" {
		hash = keepOrHash(hash, k.Secret)
	}
	_, err = tx.ExecContext(ctx, `UPDATE api_keys SET secret_hash = $1, friendly_name = CASE WHEN $2 = '' THEN friendly_name ELSE $2 END
		WHERE sid = $3`, hash, k.FriendlyName, k.SID)
	return err
}

func (s *Store) seedInstance(ctx context.Context, tx *sql.Tx, account string, si flexapi.SeedInstance, res *flexapi.SeedResult) error {
	var owner string
	err := tx.QueryRowContext(ctx, `SELECT account_sid FROM instances WHERE sid = $1`, si.SID).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		in := flexapi.Instance{SID: si.SID, AccountSID: account, WorkspaceSID: si.WorkspaceSID, DefaultTeamSID: si.DefaultTeamSID}
		if err := s.insertInstance(ctx, tx, &in); err != nil {
			return err
		}
	case err != nil:
		return err
	case owner != account:
		return flexapi.Errorf(flexapi.EINVALID, "instance %s belongs to account %s, not %s", si.SID, owner, account)
	}
	users, err := s.upsertUsers(ctx, tx, flexapi.Instance{SID: si.SID, AccountSID: account}, si.Users)
	res.Users.Add(users)
	return err
}
