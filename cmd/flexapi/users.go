package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/fixture"
	"github.com/flexapi/flexapi/sqlstore"
)

// instanceFlags are the flags of commands that work on one instance.
type instanceFlags struct {
	adminFlags
	instance *string
}

func newInstanceFlags(name string, e *env) instanceFlags {
	a := newAdminFlags(name, e)
	return instanceFlags{adminFlags: a, instance: a.fs.String("instance", "", "the Flex instance (required)")}
}

// openInstance parses args, opens the store and finds the instance.
func (f instanceFlags) openInstance(ctx context.Context, e *env, args []string) (*sqlstore.Store, flexapi.Instance, error) {
	store, err := f.open(ctx, e, args)
	if err != nil {
		return nil, flexapi.Instance{}, err
	}
	sid, err := sidFlag("instance", flexapi.InstancePrefix, *f.instance, true)
	if err != nil {
		store.Close()
		return nil, flexapi.Instance{}, err
	}
	in, err := store.Instance(ctx, sid)
	if err != nil {
		store.Close()
		return nil, in, explain(err, "instance "+sid)
	}
	return store, in, nil
}

// userFlags are the flags of commands that print users.
type userFlags struct {
	instanceFlags
	publicURL *string
}

func newUserFlags(name string, e *env) userFlags {
	f := newInstanceFlags(name, e)
	return userFlags{instanceFlags: f, publicURL: f.fs.String("public-url", "http://127.0.0.1:8080", "base of the url field")}
}

// openInstance is instanceFlags.openInstance with --public-url checked too,
// before anything is written: a url field built on a typo helps nobody.
func (u userFlags) openInstance(ctx context.Context, e *env, args []string) (*sqlstore.Store, flexapi.Instance, error) {
	store, in, err := u.instanceFlags.openInstance(ctx, e, args)
	if err != nil {
		return nil, in, err
	}
	if err := checkPublicURL(*u.publicURL); err != nil {
		store.Close()
		return nil, flexapi.Instance{}, err
	}
	return store, in, nil
}

// userArg reads the one FlexUser SID argument of "users VERB".
func (u userFlags) userArg(in flexapi.Instance, verb string) (flexapi.UserKey, error) {
	if u.fs.NArg() != 1 {
		return flexapi.UserKey{}, usageError{fmt.Errorf("usage: flexapi users %s --instance GO… FU…", verb)}
	}
	sid, err := sidArg("the FU… argument (the user)", flexapi.FlexUserPrefix, u.fs.Arg(0))
	return flexapi.UserKey{AccountSID: in.AccountSID, InstanceSID: in.SID, FlexUserSID: sid}, err
}

func (u userFlags) print(e *env, user flexapi.User) error {
	rep := fixture.ExportRecord(user, *u.publicURL)
	if *u.json {
		return printJSON(e.stdout, rep)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

func createUser(ctx context.Context, e *env, args []string) error {
	u := newUserFlags("users create", e)
	fs := u.fs
	sid := fs.String("sid", "", "FlexUser SID (default: a new random one)")
	username := fs.String("username", "", "username")
	fullName := fs.String("full-name", "", "full name")
	email := fs.String("email", "", "e-mail address")
	locale := fs.String("locale", "", "BCP 47 locale, e.g. en-US")
	roles := fs.String("roles", "", "comma-separated roles, e.g. agent,admin")
	userSID := fs.String("user-sid", "", "US… SID of the Twilio unified user")
	workerSID := fs.String("worker-sid", "", "WK… SID of the worker")
	workspaceSID := fs.String("workspace-sid", "", "WS… SID of the workspace")
	teamSID := fs.String("team-sid", "", "QO… SID of the Flex team")
	store, in, err := u.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()

	user := flexapi.User{AccountSID: in.AccountSID, InstanceSID: in.SID, FlexUserSID: flexapi.NewSID(flexapi.FlexUserPrefix)}
	if *sid != "" {
		if user.FlexUserSID, err = sidFlag("sid", flexapi.FlexUserPrefix, *sid, true); err != nil {
			return err
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	opt := func(name string, v *string) *string {
		if !given[name] && *v == "" {
			return nil
		}
		return v
	}
	user.Username, user.Email, user.Locale = opt("username", username), opt("email", email), opt("locale", locale)
	user.FullName = opt("full-name", fullName)
	user.UserSID, user.WorkerSID = opt("user-sid", userSID), opt("worker-sid", workerSID)
	user.WorkspaceSID, user.FlexTeamSID = opt("workspace-sid", workspaceSID), opt("team-sid", teamSID)
	if opt("roles", roles) != nil {
		user.Roles = splitList(*roles)
		if user.Roles == nil {
			user.Roles = []string{}
		}
	}
	if err := user.Validate(); err != nil {
		return usageError{fmt.Errorf("%s", flexapi.ErrorMessage(err))}
	}
	if err := store.CreateUser(ctx, &user); err != nil {
		return explain(err, "user "+user.FlexUserSID+" in instance "+in.SID)
	}
	return u.print(e, user)
}

func getUser(ctx context.Context, e *env, args []string) error {
	u := newUserFlags("users get", e)
	store, in, err := u.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := u.userArg(in, "get")
	if err != nil {
		return err
	}
	user, err := store.User(ctx, key)
	if err != nil {
		return explain(err, "user "+key.FlexUserSID+" in instance "+in.SID)
	}
	return u.print(e, user)
}

func listUsers(ctx context.Context, e *env, args []string) error {
	u := newUserFlags("users list", e)
	store, in, err := u.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	columns := []string{"flex_user_sid", "username", "full_name", "email", "locale", "roles", "deactivated", "version", "updated_date"}
	var rows [][]string
	for user, err := range store.AllUsers(ctx, in.SID) {
		if err != nil {
			return err
		}
		if *u.json {
			if err := printJSON(e.stdout, fixture.ExportRecord(user, *u.publicURL)); err != nil {
				return err
			}
			continue
		}
		rows = append(rows, []string{user.FlexUserSID, deref(user.Username), deref(user.FullName), deref(user.Email), deref(user.Locale),
			strings.Join(user.Roles, ","), strconv.FormatBool(user.Deactivated()), strconv.FormatInt(user.Version, 10), date(user.UpdatedDate)})
	}
	if *u.json {
		return nil
	}
	return printList(e.stdout, false, columns, rows)
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
