package flexapi

import "slices"

// Seed is a state for the store to hold: accounts with their credentials,
// keys, instances and users. Applying it brings each object it names to its
// values and leaves every other object alone.
type Seed struct {
	Accounts []SeedAccount
}

// SeedAccount is one account of a seed. When it names a token, the tokens it
// names are exactly the valid ones (a token no longer named stops working);
// when it names none, a new account gets a generated token and an existing
// one keeps its own.
type SeedAccount struct {
	SID            string
	FriendlyName   string // "" keeps the current name
	Status         string // AccountActive or AccountSuspended
	AuthToken      string // "" names no token
	SecondaryToken string // "" names none: with AuthToken set, there is no secondary
	Keys           []SeedKey
	Instances      []SeedInstance
}

// SeedKey is an API key of a seed: a named secret is made the key's secret;
// without one, a new key gets a generated secret and an existing one keeps
// its own.
type SeedKey struct {
	SID          string
	FriendlyName string
	Secret       string
}

// SeedInstance is an instance of a seed and the users it must hold (by
// FlexUser SID). A new instance gets the workspace and default team named,
// or generated ones.
type SeedInstance struct {
	SID            string
	WorkspaceSID   string
	DefaultTeamSID string
	Users          []User
}

// SeedResult is what applying a seed did: every secret generated for it,
// shown only here, and what became of the users.
type SeedResult struct {
	Generated []GeneratedSecret
	Users     UpsertResult
}

// GeneratedSecret is a token or key secret that a seed did not name.
type GeneratedSecret struct {
	SID    string // the account or key it is for
	Secret string
}

// UpsertResult counts what an upsert of users did with each one.
type UpsertResult struct {
	Inserted, Updated, Unchanged int
}

// Add counts o's users too.
func (r *UpsertResult) Add(o UpsertResult) {
	r.Inserted += o.Inserted
	r.Updated += o.Updated
	r.Unchanged += o.Unchanged
}

// Clone returns a copy of s that shares nothing with it that Validate
// changes, so that one seed can be applied by several goroutines at once.
func (s Seed) Clone() Seed {
	c := Seed{Accounts: slices.Clone(s.Accounts)}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		a.Keys = slices.Clone(a.Keys)
		a.Instances = slices.Clone(a.Instances)
		for j := range a.Instances {
			a.Instances[j].Users = slices.Clone(a.Instances[j].Users)
		}
	}
	return c
}

// Validate checks a seed before anything is applied, so that a bad one
// changes nothing: every SID well-formed (and put in canonical form) and
// named once, every token and secret acceptable, every user valid.
func (s *Seed) Validate() error {
	seen := map[string]string{} // canonical SID → where it was first named
	once := func(where, prefix string, sid *string) error {
		canonical, ok := ParseSID(prefix, *sid)
		if !ok {
			return Errorf(EINVALID, "%s: sid %s is not %s and 32 hex digits", where, quoteShort(*sid), prefix)
		}
		if first, dup := seen[canonical]; dup {
			return Errorf(EINVALID, "%s: sid %s is named twice (first in %s)", where, canonical, first)
		}
		seen[canonical], *sid = where, canonical
		return nil
	}
	for i := range s.Accounts {
		a := &s.Accounts[i]
		where := "account " + a.SID
		if err := once(where, AccountPrefix, &a.SID); err != nil {
			return err
		}
		where = "account " + a.SID
		if err := a.validate(where); err != nil {
			return err
		}
		for j := range a.Keys {
			k := &a.Keys[j]
			if err := once(where+", key "+k.SID, KeyPrefix, &k.SID); err != nil {
				return err
			}
			if err := validateSecretAndName(where+", key "+k.SID, "secret", k.Secret, k.FriendlyName); err != nil {
				return err
			}
		}
		for j := range a.Instances {
			in := &a.Instances[j]
			if err := once(where+", instance "+in.SID, InstancePrefix, &in.SID); err != nil {
				return err
			}
			for _, f := range []struct {
				name, prefix string
				v            *string
			}{{"workspace_sid", WorkspacePrefix, &in.WorkspaceSID}, {"default_team_sid", FlexTeamPrefix, &in.DefaultTeamSID}} {
				if *f.v == "" {
					continue
				}
				sid, err := ValidateSID(f.name, f.prefix, *f.v)
				if err != nil {
					return Errorf(EINVALID, "%s, instance %s: %s", where, in.SID, ErrorMessage(err))
				}
				*f.v = sid
			}
			users := map[string]int{}
			for n := range in.Users {
				u := &in.Users[n]
				at := Errorf(EINVALID, "%s, instance %s, user %d", where, in.SID, n+1)
				if err := u.Validate(); err != nil {
					return Errorf(EINVALID, "%s: %s", at.Message, ErrorMessage(err))
				}
				if u.FlexUserSID == "" {
					return Errorf(EINVALID, "%s: flex_user_sid is required, so that a second start finds the same user", at.Message)
				}
				sid, err := ValidateSID("flex_user_sid", FlexUserPrefix, u.FlexUserSID)
				if err != nil {
					return Errorf(EINVALID, "%s: %s", at.Message, ErrorMessage(err))
				}
				if first, dup := users[sid]; dup {
					return Errorf(EINVALID, "%s: flex_user_sid %s is named twice (first by user %d)", at.Message, sid, first)
				}
				users[sid], u.FlexUserSID = n+1, sid
			}
		}
	}
	return nil
}

func (a *SeedAccount) validate(where string) error {
	switch a.Status {
	case "":
		a.Status = AccountActive
	case AccountActive, AccountSuspended:
	default:
		return Errorf(EINVALID, "%s: status %s is neither %s nor %s", where, quoteShort(a.Status), AccountActive, AccountSuspended)
	}
	if a.AuthToken == "" && a.SecondaryToken != "" {
		return Errorf(EINVALID, "%s: secondary_auth_token needs an auth_token beside it", where)
	}
	if err := validateSecretAndName(where, "auth_token", a.AuthToken, a.FriendlyName); err != nil {
		return err
	}
	return validateSecretAndName(where, "secondary_auth_token", a.SecondaryToken, "")
}

func validateSecretAndName(where, param, secret, name string) error {
	if secret != "" {
		if err := ValidateSecret(param, secret); err != nil {
			return Errorf(EINVALID, "%s: %s", where, ErrorMessage(err))
		}
	}
	if name != "" {
		if err := ValidateText("friendly_name", name, MaxFriendlyNameLength); err != nil {
			return Errorf(EINVALID, "%s: %s", where, ErrorMessage(err))
		}
	}
	return nil
}

// ValidateSecret accepts what the official clients accept in credentials: 8
// to 128 letters and digits.
func ValidateSecret(param, secret string) error {
	if len(secret) < 8 || len(secret) > 128 || !isAlphanumeric(secret) {
		return Errorf(EINVALID, "%s must be 8 to 128 letters and digits: the official clients accept nothing else", param)
	}
	return nil
}

func isAlphanumeric(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
