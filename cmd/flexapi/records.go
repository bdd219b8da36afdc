package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
)

// userRecord is a user as files carry it: the fields of the wire's
// representations and of the user's worker, so that what `export` writes
// `import` takes back. account_sid, instance_sid and url are accepted and
// ignored: the target is --instance.
type userRecord struct {
	FlexUserSID      *string    `json:"flex_user_sid" yaml:"flex_user_sid"`
	UserSID          *string    `json:"user_sid" yaml:"user_sid"`
	WorkerSID        *string    `json:"worker_sid" yaml:"worker_sid"`
	WorkspaceSID     *string    `json:"workspace_sid" yaml:"workspace_sid"`
	FlexTeamSID      *string    `json:"flex_team_sid" yaml:"flex_team_sid"`
	Username         *string    `json:"username" yaml:"username"`
	FullName         *string    `json:"full_name" yaml:"full_name"`
	Email            *string    `json:"email" yaml:"email"`
	Locale           *string    `json:"locale" yaml:"locale"`
	Roles            roleList   `json:"roles" yaml:"roles"`
	WorkerAttributes attributes `json:"worker_attributes" yaml:"worker_attributes"`
	Deactivated      *bool      `json:"deactivated" yaml:"deactivated"`
	DeactivatedDate  *string    `json:"deactivated_date" yaml:"deactivated_date"`
	CreatedDate      *string    `json:"created_date" yaml:"created_date"`
	UpdatedDate      *string    `json:"updated_date" yaml:"updated_date"`
	Version          *int64     `json:"version" yaml:"version"`
	AccountSID       any        `json:"account_sid" yaml:"account_sid"`
	InstanceSID      any        `json:"instance_sid" yaml:"instance_sid"`
	URL              any        `json:"url" yaml:"url"`
}

// exportRecord is the record of u that export writes and import reads:
// every field of the user, under the wire's names, with url under base.
func exportRecord(u flexapi.User, base string) map[string]any {
	attrs := json.RawMessage("{}")
	if u.WorkerAttributes != "" {
		attrs = json.RawMessage(u.WorkerAttributes)
	}
	return map[string]any{
		"account_sid": u.AccountSID, "instance_sid": u.InstanceSID, "flex_user_sid": u.FlexUserSID,
		"user_sid": u.UserSID, "worker_sid": u.WorkerSID, "workspace_sid": u.WorkspaceSID, "flex_team_sid": u.FlexTeamSID,
		"username": u.Username, "full_name": u.FullName, "email": u.Email, "locale": u.Locale, "roles": u.Roles,
		"worker_attributes": attrs, "deactivated": u.Deactivated(), "deactivated_date": recordDateValue(u.DeactivatedDate),
		"created_date": recordDateValue(u.CreatedDate), "updated_date": recordDateValue(u.UpdatedDate),
		"version": u.Version, "url": base + api.UserPath(u.InstanceSID, u.FlexUserSID),
	}
}

func recordDateValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// attributes are a worker's attributes in a record: a JSON object (in YAML,
// a mapping), kept as compact JSON; "" when absent or null.
type attributes string

func (a *attributes) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = ""
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return errors.New("worker_attributes must be a JSON object")
	}
	var compact bytes.Buffer
	json.Compact(&compact, b)
	*a = attributes(compact.String())
	if *a == "{}" {
		*a = "" // no attributes, as the store keeps them
	}
	return nil
}

func (a *attributes) UnmarshalYAML(node *yaml.Node) error {
	var obj map[string]any
	if err := node.Decode(&obj); err != nil {
		return errors.New("worker_attributes must be a mapping")
	}
	if len(obj) == 0 {
		*a = ""
		return nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return errors.New("worker_attributes must be a mapping of JSON values")
	}
	*a = attributes(b)
	return nil
}

// user validates the record and makes it a user; a record without a
// flex_user_sid gets a new one.
func (r *userRecord) user() (flexapi.User, error) {
	u := flexapi.User{
		UserSID: r.UserSID, WorkerSID: r.WorkerSID, WorkspaceSID: r.WorkspaceSID, FlexTeamSID: r.FlexTeamSID,
		Username: r.Username, FullName: r.FullName, Email: r.Email, Locale: r.Locale, Roles: r.Roles.roles(),
		WorkerAttributes: string(r.WorkerAttributes),
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
	if u.DeactivatedDate, err = recordDate("deactivated_date", r.DeactivatedDate); err != nil {
		return u, err
	}
	if r.Deactivated != nil && *r.Deactivated != u.Deactivated() {
		return u, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter deactivated: a deactivated user has a deactivated_date, an active one none")
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
	"workspace_sid": true, "flex_team_sid": true, "username": true, "full_name": true, "email": true, "locale": true,
	"roles": true, "worker_attributes": true, "deactivated": true, "deactivated_date": true,
	"created_date": true, "updated_date": true, "version": true, "url": true,
}

// field returns where the record keeps the field named, and what a value of
// it must be (for messages); nil for a name that is not a field.
func (r *userRecord) field(name string) (dst any, want string) {
	const text = "a string or null"
	switch name {
	case "flex_user_sid":
		return &r.FlexUserSID, text
	case "user_sid":
		return &r.UserSID, text
	case "worker_sid":
		return &r.WorkerSID, text
	case "workspace_sid":
		return &r.WorkspaceSID, text
	case "flex_team_sid":
		return &r.FlexTeamSID, text
	case "username":
		return &r.Username, text
	case "full_name":
		return &r.FullName, text
	case "email":
		return &r.Email, text
	case "locale":
		return &r.Locale, text
	case "deactivated_date":
		return &r.DeactivatedDate, text
	case "created_date":
		return &r.CreatedDate, text
	case "updated_date":
		return &r.UpdatedDate, text
	case "roles":
		return &r.Roles, "a list of roles, a comma-separated string of them, or null"
	case "version":
		return &r.Version, "a whole number or null"
	case "worker_attributes":
		return &r.WorkerAttributes, "a JSON object or null"
	case "deactivated":
		return &r.Deactivated, "true, false or null"
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
	if string(b) == "null" {
		*l = nil
		return nil
	}
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
	case "deactivated":
		v, err := strconv.ParseBool(cell)
		if err != nil {
			return fmt.Errorf("deactivated: %s is neither true nor false", quoteCell(cell))
		}
		r.Deactivated = &v
	case "worker_attributes":
		if err := r.WorkerAttributes.UnmarshalJSON([]byte(cell)); err != nil {
			return err
		}
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
