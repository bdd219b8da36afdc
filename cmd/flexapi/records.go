package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

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
	Roles        roleList `json:"roles" yaml:"roles"`
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
		Username: r.Username, Email: r.Email, Locale: r.Locale, Roles: r.Roles.roles(),
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
		return t, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter %s: %s is not an RFC 3339 date", name, quoteCell(*s))
	}
	return t.UTC().Truncate(time.Second), nil
}

// recordFields are the field names a record may have, in files of every
// format: the representation's fields, matched exactly (case included).
var recordFields = map[string]bool{
	"account_sid": true, "instance_sid": true, "user_sid": true, "flex_user_sid": true, "worker_sid": true,
	"workspace_sid": true, "flex_team_sid": true, "username": true, "email": true, "locale": true, "roles": true,
	"created_date": true, "updated_date": true, "version": true, "url": true,
}

// field returns where the record keeps the field named, and what a value of
// it must be (for messages); nil for a name that is not a field.
func (r *userRecord) field(name string) (dst any, want string) {
	strs := map[string]**string{
		"flex_user_sid": &r.FlexUserSID, "user_sid": &r.UserSID, "worker_sid": &r.WorkerSID,
		"workspace_sid": &r.WorkspaceSID, "flex_team_sid": &r.FlexTeamSID, "username": &r.Username,
		"email": &r.Email, "locale": &r.Locale, "created_date": &r.CreatedDate, "updated_date": &r.UpdatedDate,
	}
	if p, ok := strs[name]; ok {
		return p, "a string or null"
	}
	switch name {
	case "roles":
		return &r.Roles, "a list of roles, a comma-separated string of them, or null"
	case "version":
		return &r.Version, "a whole number or null"
	case "account_sid":
		return &r.AccountSID, "any value"
	case "instance_sid":
		return &r.InstanceSID, "any value"
	case "url":
		return &r.URL, "any value"
	}
	return nil, ""
}

// roleList is the roles of a record: a list, or one string of
// comma-separated roles as a CSV cell holds them. nil is unknown.
type roleList []string

func (l roleList) roles() []string {
	if l == nil {
		return nil
	}
	return []string(l)
}

// splitRoles reads "agent, admin" as [agent admin]; "" is no roles.
func splitRoles(s string) roleList {
	l := roleList{}
	if strings.TrimSpace(s) == "" {
		return l
	}
	for _, r := range strings.Split(s, ",") {
		l = append(l, strings.TrimSpace(r))
	}
	return l
}

func (l *roleList) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = splitRoles(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	if list == nil && string(b) != "null" {
		list = []string{}
	}
	*l = list
	return nil
}

func (l *roleList) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode && node.Tag != "!!null" {
		*l = splitRoles(node.Value)
		return nil
	}
	var list []string
	if err := node.Decode(&list); err != nil {
		return errors.New("roles must be a list of roles or a comma-separated string of them")
	}
	if list == nil && node.Tag != "!!null" {
		list = []string{}
	}
	*l = list
	return nil
}

// setCSV sets the record's field named by a CSV header. An empty cell is
// null; roles are a JSON array or a comma-separated list.
func (r *userRecord) setCSV(column, cell string) error {
	if !recordFields[column] {
		return fmt.Errorf("unknown column %q", column)
	}
	if cell == "" {
		return nil
	}
	switch column {
	case "roles":
		if strings.HasPrefix(cell, "[") {
			var list []string
			if err := json.Unmarshal([]byte(cell), &list); err != nil {
				return fmt.Errorf("roles: %s is not a JSON array of strings", quoteCell(cell))
			}
			r.Roles = roleList(list)
		} else {
			r.Roles = splitRoles(cell)
		}
	case "version":
		v, err := strconv.ParseInt(cell, 10, 64)
		if err != nil {
			return fmt.Errorf("version: %s is not a whole number", quoteCell(cell))
		}
		r.Version = &v
	default:
		dst, _ := r.field(column)
		if p, ok := dst.(**string); ok {
			*p = &cell
		}
	}
	return nil
}

// quoteCell quotes a cell for a message, cut short if long.
func quoteCell(s string) string {
	if len(s) > 64 {
		return strconv.QuoteToASCII(s[:64]) + "…"
	}
	return strconv.QuoteToASCII(s)
}
