package flexapi

import (
	"slices"
	"time"
)

// Provision is what v4 Provision asks for: the user with this username, made
// or brought to these values.
type Provision struct {
	Username string
	Email    string
	FullName string
	Roles    []string
	// WorkerAttributes replace the worker's attributes when set (a JSON
	// object; "{}" clears them); "" keeps them.
	WorkerAttributes string
}

// Validate checks a provisioning request: username, e-mail and full name are
// required, 1 to 256 characters, and the roles are Flex roles.
func (p *Provision) Validate() error {
	if err := ValidateText("username", p.Username, MaxTextLength); err != nil {
		return err
	}
	if err := ValidateEmail("email", p.Email); err != nil {
		return err
	}
	if err := ValidateText("full_name", p.FullName, MaxTextLength); err != nil {
		return err
	}
	if p.Roles == nil {
		return Errorf(EINVALID, "Invalid parameter roles: required, a list of Flex roles such as [\"agent\"]")
	}
	if err := ValidateRoles("roles", p.Roles); err != nil {
		return err
	}
	if p.WorkerAttributes != "" {
		return ValidateAttributes("worker.attributes", p.WorkerAttributes)
	}
	return nil
}

// NewUser is the user that p creates in in: every SID a real Flex user has,
// the instance's workspace and default team.
func (p *Provision) NewUser(in Instance, now time.Time) User {
	u := User{
		AccountSID: in.AccountSID, InstanceSID: in.SID, FlexUserSID: NewSID(FlexUserPrefix),
		Username: &p.Username, Email: &p.Email, FullName: &p.FullName, Roles: slices.Clone(p.Roles),
		WorkerAttributes: p.attributes(""), CreatedDate: now, UpdatedDate: now,
	}
	u.FillSIDs(in)
	return u
}

// Apply brings an existing user to p and reports whether anything changed:
// the same request twice changes nothing the second time. A deactivated
// user is reactivated, with a new worker.
func (p *Provision) Apply(u *User) bool {
	changed := false
	set := func(dst **string, v string) {
		if *dst == nil || **dst != v {
			*dst, changed = &v, true
		}
	}
	set(&u.Email, p.Email)
	set(&u.FullName, p.FullName)
	if u.Roles == nil || !slices.Equal(u.Roles, p.Roles) {
		u.Roles, changed = slices.Clone(p.Roles), true
	}
	if a := p.attributes(u.WorkerAttributes); a != u.WorkerAttributes {
		u.WorkerAttributes, changed = a, true
	}
	if u.Deactivated() {
		u.DeactivatedDate, changed = time.Time{}, true
		sid := NewSID(WorkerPrefix)
		u.WorkerSID = &sid
	}
	return changed
}

// Deactivate is Deprovision: the user is kept, deactivated now, without a
// worker. It reports whether anything changed.
func (u *User) Deactivate(now time.Time) bool {
	if u.Deactivated() {
		return false
	}
	u.DeactivatedDate, u.WorkerSID = now, nil
	return true
}

// attributes are the worker attributes p leaves a user with that has
// current: none is "" (the form users keep them in), as is "{}".
func (p *Provision) attributes(current string) string {
	switch p.WorkerAttributes {
	case "":
		return current
	case "{}":
		return ""
	}
	return p.WorkerAttributes
}
