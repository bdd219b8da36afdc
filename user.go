package flexapi

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// User is a FlexUser: a Flex instance's view of one person. Optional fields are
// nil when unknown, which the wire shows as null.
type User struct {
	AccountSID   string
	InstanceSID  string
	FlexUserSID  string
	UserSID      *string
	WorkerSID    *string
	WorkspaceSID *string
	FlexTeamSID  *string
	Username     *string
	FullName     *string
	Email        *string
	Locale       *string
	Roles        []string // nil is unknown; empty is "no roles"
	// WorkerAttributes are the TaskRouter attributes of the user's worker,
	// a JSON object ("" is none); kept and exported, shown nowhere on the wire.
	WorkerAttributes string
	// DeactivatedDate is when Deprovision deactivated the user; zero while
	// the user is active.
	DeactivatedDate time.Time
	CreatedDate     time.Time
	UpdatedDate     time.Time
	Version         int64 // starts at 0; +1 with every change
}

// Deactivated reports whether the user was deprovisioned.
func (u *User) Deactivated() bool { return !u.DeactivatedDate.IsZero() }

// UserKey names one user as seen by one account. A user of another account
// does not exist for it.
type UserKey struct {
	AccountSID  string
	InstanceSID string
	FlexUserSID string
}

// UserUpdate is a change to the fields that Twilio lets clients update. Nil
// fields stay as they are.
type UserUpdate struct {
	Email   *string
	UserSID *string
	Locale  *string
	IfMatch IfMatch // the change applies only to these versions
}

// IfMatch is the guard of an If-Match header against lost updates: nil lets
// any version through; otherwise only the versions listed (none, for a header
// that named no version of ours).
type IfMatch []int64

// Allows reports whether a change to a user at version v may go ahead.
func (m IfMatch) Allows(v int64) bool {
	return m == nil || slices.Contains(m, v)
}

// PreconditionFailed is the error of a change whose If-Match did not allow
// the current version.
func PreconditionFailed(current int64) error {
	return Errorf(EPRECONDITION, "Precondition failed: the user is at version %d, which If-Match does not name", current)
}

// Validate checks every field that is set and returns an EINVALID error that
// names the first bad parameter. Valid SIDs come back in canonical form.
func (u *UserUpdate) Validate() error {
	if u.Email != nil {
		if err := ValidateEmail("Email", *u.Email); err != nil {
			return err
		}
	}
	if u.UserSID != nil {
		sid, err := ValidateSID("UserSid", UserPrefix, *u.UserSID)
		if err != nil {
			return err
		}
		u.UserSID = &sid
	}
	if u.Locale != nil {
		if err := ValidateLocale("Locale", *u.Locale); err != nil {
			return err
		}
	}
	return nil
}

// SameAs reports whether u and o hold the same values in every field that
// an import or seed may set.
func (u *User) SameAs(o *User) bool {
	eq := func(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	return eq(u.UserSID, o.UserSID) && eq(u.WorkerSID, o.WorkerSID) && eq(u.WorkspaceSID, o.WorkspaceSID) &&
		eq(u.FlexTeamSID, o.FlexTeamSID) && eq(u.Username, o.Username) && eq(u.FullName, o.FullName) && eq(u.Email, o.Email) &&
		eq(u.Locale, o.Locale) && (u.Roles == nil) == (o.Roles == nil) && slices.Equal(u.Roles, o.Roles) &&
		u.WorkerAttributes == o.WorkerAttributes && u.DeactivatedDate.Equal(o.DeactivatedDate)
}

// Apply makes the update on u and reports whether anything changed. It does
// not touch the version or dates: the store does, only when something changed.
func (u UserUpdate) Apply(user *User) bool {
	changed := false
	set := func(dst **string, v *string) {
		if v != nil && (*dst == nil || **dst != *v) {
			s := *v
			*dst = &s
			changed = true
		}
	}
	set(&user.Email, u.Email)
	set(&user.UserSID, u.UserSID)
	set(&user.Locale, u.Locale)
	return changed
}

// ValidateEmail accepts exactly one bare address of at most MaxTextLength
// characters, as net/mail parses it.
func ValidateEmail(param, s string) error {
	if err := ValidateText(param, s, MaxTextLength); err != nil {
		return err
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return Errorf(EINVALID, "Invalid parameter %s: %s is not a single e-mail address such as name@example.com", param, quoteShort(s))
	}
	return nil
}

// ValidateLocale accepts a well-formed BCP 47 language tag such as en-US.
func ValidateLocale(param, s string) error {
	if err := ValidateText(param, s, MaxLocaleLength); err != nil {
		return err
	}
	if _, err := language.Parse(s); err != nil || strings.TrimSpace(s) != s {
		return Errorf(EINVALID, "Invalid parameter %s: %s is not a BCP 47 language tag such as en-US", param, quoteShort(s))
	}
	return nil
}

// ValidateSID checks s against ^PREFIX[0-9a-fA-F]{32}$ and returns its
// canonical form.
func ValidateSID(param, prefix, s string) (string, error) {
	sid, ok := ParseSID(prefix, s)
	if !ok {
		return "", Errorf(EINVALID, "Invalid parameter %s: %s does not match ^%s[0-9a-fA-F]{32}$", param, quoteShort(s), prefix)
	}
	return sid, nil
}

// Validate checks the fields of a user about to be created and puts its SIDs
// in canonical form.
func (u *User) Validate() error {
	sids := []struct {
		param, prefix string
		v             *string
	}{
		{"UserSid", UserPrefix, u.UserSID},
		{"WorkerSid", WorkerPrefix, u.WorkerSID},
		{"WorkspaceSid", WorkspacePrefix, u.WorkspaceSID},
		{"FlexTeamSid", FlexTeamPrefix, u.FlexTeamSID},
	}
	for _, f := range sids {
		if f.v == nil {
			continue
		}
		sid, err := ValidateSID(f.param, f.prefix, *f.v)
		if err != nil {
			return err
		}
		*f.v = sid
	}
	if u.Username != nil {
		if err := ValidateText("Username", *u.Username, MaxTextLength); err != nil {
			return err
		}
	}
	if u.FullName != nil {
		if err := ValidateText("FullName", *u.FullName, MaxTextLength); err != nil {
			return err
		}
	}
	if u.WorkerAttributes != "" {
		if err := ValidateAttributes("worker.attributes", u.WorkerAttributes); err != nil {
			return err
		}
	}
	if u.Email != nil {
		if err := ValidateEmail("Email", *u.Email); err != nil {
			return err
		}
	}
	if u.Locale != nil {
		if err := ValidateLocale("Locale", *u.Locale); err != nil {
			return err
		}
	}
	return ValidateRoles("Roles", u.Roles)
}

// UserQuery selects a page of an instance's users in FlexUser SID order.
type UserQuery struct {
	AccountSID  string
	InstanceSID string
	Email       *string // exact match, when set
	Username    *string // exact match, when set
	After       string  // only SIDs above this one
	Before      string  // only SIDs below this one, the last Limit of them
	Limit       int
}

// Account owns instances and API keys; its SID and auth tokens are the
// credentials of HTTP Basic auth.
type Account struct {
	SID          string
	FriendlyName string
	Status       string // AccountActive or AccountSuspended
	CreatedDate  time.Time
}

// Account statuses.
const (
	AccountActive    = "active"
	AccountSuspended = "suspended"
)

// APIKey is a second credential for an account, revocable on its own.
type APIKey struct {
	SID          string
	AccountSID   string
	FriendlyName string
	CreatedDate  time.Time
}

// Instance is a Flex instance: the container of FlexUsers, owned by one
// account. Like a real one it has a TaskRouter workspace, whose SID its users
// carry, and a team named "default", which users join unless told otherwise.
type Instance struct {
	SID            string
	AccountSID     string
	WorkspaceSID   string
	DefaultTeamSID string
	CreatedDate    time.Time
}

// DefaultTeamName is the friendly name of every instance's default team.
const DefaultTeamName = "default"

// Team is a Flex team of an instance.
type Team struct {
	SID          string
	AccountSID   string
	InstanceSID  string
	FriendlyName string
	Description  *string
	MemberCount  int // active users whose flex_team_sid is this team
	CreatedDate  time.Time
	UpdatedDate  time.Time
	Version      int64
}

// FillSIDs gives a user being created or imported into in every SID a real
// Flex user has and that it lacks: a unified user (US), a worker (WK) unless
// deactivated, the instance's workspace (WS) and its default team (QO).
func (u *User) FillSIDs(in Instance) {
	fill := func(dst **string, v func() string) {
		if *dst == nil {
			s := v()
			*dst = &s
		}
	}
	fill(&u.UserSID, func() string { return NewSID(UserPrefix) })
	if !u.Deactivated() {
		fill(&u.WorkerSID, func() string { return NewSID(WorkerPrefix) })
	}
	if in.WorkspaceSID != "" {
		fill(&u.WorkspaceSID, func() string { return in.WorkspaceSID })
	}
	if in.DefaultTeamSID != "" {
		fill(&u.FlexTeamSID, func() string { return in.DefaultTeamSID })
	}
}

// CacheStats is what a store's cache of users holds and has done since the
// store opened: what an operator sizing --cache-size needs to know.
type CacheStats struct {
	Capacity  int    // most users it keeps
	Users     int    // users held; a commit it cannot account for makes them all stale at once, until replaced
	Absent    int    // keys held as naming no user
	Hits      uint64 // reads answered from memory
	Misses    uint64 // reads that asked the database
	Evictions uint64 // entries pushed out to make room
	Resets    uint64 // times it forgot every entry at once: a commit by another process, or one it could not follow
}
