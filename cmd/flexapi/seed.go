package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

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

func readSeed(path string) (flexapi.Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return flexapi.Seed{}, err
	}
	s, err := parseSeed(b)
	if err != nil {
		return s, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

// parseSeed reads a seed from YAML or JSON and checks it whole. An unknown
// key is an error, so that a typo does not pass silently, and so is a
// second YAML document, which would otherwise be ignored.
func parseSeed(b []byte) (flexapi.Seed, error) {
	var f seedFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return flexapi.Seed{}, yamlError(err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return flexapi.Seed{}, errors.New("a seed is one YAML document: found a second one after ---")
	}
	seed, err := f.seed()
	if err != nil {
		return seed, err
	}
	if err := seed.Validate(); err != nil {
		return seed, errors.New(flexapi.ErrorMessage(err))
	}
	return seed, nil
}

// yamlError says what the YAML decoder found wrong without the Go type
// names it puts in its messages.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = goTypeNames.ReplaceAllString(m, "")
		msgs[i] = strings.Replace(m, "cannot unmarshal", "cannot read", 1)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// goTypeNames matches the " in type main.seedAccount" and " into
// []string" parts of the YAML decoder's messages.
var goTypeNames = regexp.MustCompile(` (in|into) (type )?[\[\]*\w.]+`)

func (f seedFile) seed() (flexapi.Seed, error) {
	var s flexapi.Seed
	for _, a := range f.Accounts {
		acct := flexapi.SeedAccount{SID: a.SID, FriendlyName: a.FriendlyName, Status: a.Status,
			AuthToken: a.AuthToken, SecondaryToken: a.SecondaryToken}
		for _, k := range a.Keys {
			acct.Keys = append(acct.Keys, flexapi.SeedKey{SID: k.SID, FriendlyName: k.FriendlyName, Secret: k.Secret})
		}
		for _, si := range a.Instances {
			in := flexapi.SeedInstance{SID: si.SID}
			for i, rec := range si.Users {
				u, err := rec.user()
				if err != nil {
					return s, fmt.Errorf("account %s, instance %s, user %d: %s", a.SID, si.SID, i+1, flexapi.ErrorMessage(err))
				}
				if rec.FlexUserSID == nil {
					u.FlexUserSID = "" // Validate asks for one
				}
				in.Users = append(in.Users, u)
			}
			acct.Instances = append(acct.Instances, in)
		}
		s.Accounts = append(s.Accounts, acct)
	}
	return s, nil
}

// applySeed makes the store hold what the seed says, in one transaction.
func applySeed(ctx context.Context, store *sqlstore.Store, s flexapi.Seed) (flexapi.SeedResult, error) {
	res, err := store.ApplySeed(ctx, s)
	if err != nil && flexapi.ErrorCode(err) == flexapi.EINVALID {
		return res, fmt.Errorf("seed: %s", flexapi.ErrorMessage(err))
	}
	return res, err
}
