package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flexapi/flexapi"
)

// userRecord is a user as files carry it, under the representation's field
// names, so that what `export` writes `import` takes back. account_sid,
// instance_sid and url are accepted and ignored: the target is --instance.
type userRecord struct {
	FlexUserSID  *string  `json:"flex_user_sid" yaml:"flex_user_sid"`
	UserSID      *string  `json:"user_sid" yaml:"user_sid"`
	WorkerSID    *string  `json:"worker_sid" yaml:"worker_sid"`
	WorkspaceSID *string  `json:"workspace_sid" yaml:"workspace_sid"`
	FlexTeamSID  *string  `json:"flex_team_sid" yaml:"flex_team_sid"`
	Username     *string  `json:"username" yaml:"username"`
	Email        *string  `json:"email" yaml:"email"`
	Locale       *string  `json:"locale" yaml:"locale"`
	Roles        []string `json:"roles" yaml:"roles"`
	CreatedDate  *string  `json:"created_date" yaml:"created_date"`
	UpdatedDate  *string  `json:"updated_date" yaml:"updated_date"`
	Version      *int64   `json:"version" yaml:"version"`
	AccountSID   any      `json:"account_sid" yaml:"account_sid"`
	InstanceSID  any      `json:"instance_sid" yaml:"instance_sid"`
	URL          any      `json:"url" yaml:"url"`
}

// user validates the record and makes it a user; a record without a
// flex_user_sid gets a new one.
func (r *userRecord) user() (flexapi.User, error) {
	u := flexapi.User{
		UserSID: r.UserSID, WorkerSID: r.WorkerSID, WorkspaceSID: r.WorkspaceSID, FlexTeamSID: r.FlexTeamSID,
		Username: r.Username, Email: r.Email, Locale: r.Locale, Roles: r.Roles,
	}
	u.FlexUserSID = flexapi.NewSID(flexapi.FlexUserPrefix)
	if r.FlexUserSID != nil {
		sid, err := flexapi.ValidateSID("flex_user_sid", flexapi.FlexUserPrefix, *r.FlexUserSID)
		if err != nil {
			return u, err
		}
		u.FlexUserSID = sid
	}
	var err error
	if u.CreatedDate, err = recordDate("created_date", r.CreatedDate); err != nil {
		return u, err
	}
	if u.UpdatedDate, err = recordDate("updated_date", r.UpdatedDate); err != nil {
		return u, err
	}
	if r.Version != nil {
		if *r.Version < 0 {
			return u, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter version: %d is negative", *r.Version)
		}
		u.Version = *r.Version
	}
	return u, u.Validate()
}

func recordDate(name string, s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return t, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter %s: %q is not an RFC 3339 date", name, *s)
	}
	return t.UTC().Truncate(time.Second), nil
}

// csvColumns are the column names an import file may have: the
// representation's fields.
var csvColumns = map[string]bool{
	"account_sid": true, "instance_sid": true, "user_sid": true, "flex_user_sid": true, "worker_sid": true,
	"workspace_sid": true, "flex_team_sid": true, "username": true, "email": true, "locale": true, "roles": true,
	"created_date": true, "updated_date": true, "version": true, "url": true,
}

// setCSV sets the record's field named by a CSV header. An empty cell is
// null; roles are a JSON array or a comma-separated list.
func (r *userRecord) setCSV(column, cell string) error {
	if !csvColumns[column] {
		return fmt.Errorf("unknown column %q", column)
	}
	if cell == "" {
		return nil
	}
	str := func(dst **string) { *dst = &cell }
	switch column {
	case "flex_user_sid":
		str(&r.FlexUserSID)
	case "user_sid":
		str(&r.UserSID)
	case "worker_sid":
		str(&r.WorkerSID)
	case "workspace_sid":
		str(&r.WorkspaceSID)
	case "flex_team_sid":
		str(&r.FlexTeamSID)
	case "username":
		str(&r.Username)
	case "email":
		str(&r.Email)
	case "locale":
		str(&r.Locale)
	case "created_date":
		str(&r.CreatedDate)
	case "updated_date":
		str(&r.UpdatedDate)
	case "roles":
		if strings.HasPrefix(cell, "[") {
			if err := json.Unmarshal([]byte(cell), &r.Roles); err != nil {
				return fmt.Errorf("roles: %q is not a JSON array of strings", cell)
			}
		} else {
			r.Roles = strings.Split(cell, ",")
		}
	case "version":
		v, err := strconv.ParseInt(cell, 10, 64)
		if err != nil {
			return fmt.Errorf("version: %q is not a whole number", cell)
		}
		r.Version = &v
	}
	return nil
}
