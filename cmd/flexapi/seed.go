package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// seedFile is the state that `serve --seed` ensures at start-up. YAML, and so
// JSON too, which is YAML.
type seedFile struct {
	Accounts []seedAccount `yaml:"accounts"`
}

type seedAccount struct {
	SID            string         `yaml:"sid"`
	AuthToken      string         `yaml:"auth_token"`
	SecondaryToken string         `yaml:"secondary_auth_token"`
	FriendlyName   string         `yaml:"friendly_name"`
	Status         string         `yaml:"status"`
	Keys           []seedKey      `yaml:"keys"`
	Instances      []seedInstance `yaml:"instances"`
}

type seedKey struct {
	SID          string `yaml:"sid"`
	Secret       string `yaml:"secret"`
	FriendlyName string `yaml:"friendly_name"`
}

type seedInstance struct {
	SID   string       `yaml:"sid"`
	Users []userRecord `yaml:"users"`
}

func readSeed(path string) (seedFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return seedFile{}, err
	}
	s, err := parseSeed(b)
	if err != nil {
		return s, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

// parseSeed reads a seed from YAML or JSON; an unknown key is an error, so
// that a typo does not pass silently.
func parseSeed(b []byte) (seedFile, error) {
	var s seedFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, err
	}
	return s, nil
}

// applySeed makes the store hold what the seed says, idempotently: what
// exists is brought to the seed's values, what is missing is created, and
// nothing else is touched.
func applySeed(ctx context.Context, store *sqlstore.Store, s seedFile) (users sqlstore.UpsertResult, err error) {
	for _, a := range s.Accounts {
		sid, ok := flexapi.ParseSID(flexapi.AccountPrefix, a.SID)
		if !ok {
			return users, fmt.Errorf("seed: account sid %q is not AC and 32 hex digits", a.SID)
		}
		if err := checkToken("seed: auth_token of "+sid, a.AuthToken); err != nil {
			return users, err
		}
		if _, err := ensureAccount(ctx, store, sid, a.AuthToken, a.FriendlyName); err != nil {
			return users, err
		}
		if a.SecondaryToken != "" {
			if err := checkToken("seed: secondary_auth_token of "+sid, a.SecondaryToken); err != nil {
				return users, err
			}
			if err := store.SetSecondaryToken(ctx, sid, flexapi.HashSecret(a.SecondaryToken)); err != nil {
				return users, err
			}
		}
		status := flexapi.AccountActive
		if a.Status != "" {
			status = a.Status
		}
		if err := store.SetAccountStatus(ctx, sid, status); err != nil {
			return users, fmt.Errorf("seed: account %s: %s", sid, flexapi.ErrorMessage(err))
		}
		for _, k := range a.Keys {
			if err := ensureKey(ctx, store, sid, k); err != nil {
				return users, err
			}
		}
		for _, in := range a.Instances {
			res, err := ensureInstance(ctx, store, sid, in)
			if err != nil {
				return users, err
			}
			users.Inserted += res.Inserted
			users.Updated += res.Updated
			users.Unchanged += res.Unchanged
		}
	}
	return users, nil
}

func ensureKey(ctx context.Context, store *sqlstore.Store, account string, k seedKey) error {
	sid, ok := flexapi.ParseSID(flexapi.KeyPrefix, k.SID)
	if !ok {
		return fmt.Errorf("seed: key sid %q is not SK and 32 hex digits", k.SID)
	}
	if err := checkToken("seed: secret of "+sid, k.Secret); err != nil {
		return err
	}
	cred, err := store.Credential(ctx, sid)
	switch {
	case flexapi.ErrorCode(err) == flexapi.ENOTFOUND:
		return store.CreateKey(ctx, &flexapi.APIKey{SID: sid, AccountSID: account, FriendlyName: k.FriendlyName}, flexapi.HashSecret(k.Secret))
	case err != nil:
		return err
	case cred.AccountSID != account:
		return fmt.Errorf("seed: key %s belongs to account %s, not %s", sid, cred.AccountSID, account)
	case !flexapi.SecretMatches(cred.SecretHashes[0], k.Secret):
		return store.SetKeySecret(ctx, sid, flexapi.HashSecret(k.Secret))
	}
	return nil
}

func ensureInstance(ctx context.Context, store *sqlstore.Store, account string, si seedInstance) (sqlstore.UpsertResult, error) {
	sid, ok := flexapi.ParseSID(flexapi.InstancePrefix, si.SID)
	if !ok {
		return sqlstore.UpsertResult{}, fmt.Errorf("seed: instance sid %q is not GO and 32 hex digits", si.SID)
	}
	in := flexapi.Instance{SID: sid, AccountSID: account}
	if err := store.CreateInstance(ctx, &in); flexapi.ErrorCode(err) == flexapi.ECONFLICT {
		if in, err = store.Instance(ctx, sid); err != nil {
			return sqlstore.UpsertResult{}, err
		}
		if in.AccountSID != account {
			return sqlstore.UpsertResult{}, fmt.Errorf("seed: instance %s belongs to account %s, not %s", sid, in.AccountSID, account)
		}
	} else if err != nil {
		return sqlstore.UpsertResult{}, err
	}
	users := make([]flexapi.User, len(si.Users))
	for i, rec := range si.Users {
		u, err := rec.user()
		if err != nil {
			return sqlstore.UpsertResult{}, fmt.Errorf("seed: instance %s, user %d: %s", sid, i+1, flexapi.ErrorMessage(err))
		}
		if rec.FlexUserSID == nil {
			return sqlstore.UpsertResult{}, fmt.Errorf("seed: instance %s, user %d: flex_user_sid is required, so that a second start finds the same user", sid, i+1)
		}
		users[i] = u
	}
	return store.UpsertUsers(ctx, in, users)
}
