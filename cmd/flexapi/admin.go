package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// adminFlags are the flags every admin command shares.
type adminFlags struct {
	fs     *flag.FlagSet
	db     *string
	json   *bool
	access sqlstore.Access
}

// readOnlyCommands only read the store, so they work on a read-only file
// system too.
var readOnlyCommands = map[string]bool{
	"accounts list": true, "keys list": true, "instances list": true, "users list": true, "users get": true, "export": true,
}

func newAdminFlags(name string, e *env) adminFlags {
	fs := newFlags(name, e)
	access := sqlstore.Existing // an admin command never makes an empty store of a mistyped path
	if readOnlyCommands[name] {
		access = sqlstore.ReadOnly
	}
	return adminFlags{fs: fs, db: dbFlag(fs), json: fs.Bool("json", false, "print JSON instead of text"), access: access}
}

// open parses args and opens the store; the caller closes it.
func (a adminFlags) open(ctx context.Context, e *env, args []string) (*sqlstore.Store, error) {
	if err := parse(a.fs, e, args, storeFromEnv); err != nil {
		return nil, err
	}
	return sqlstore.OpenWith(ctx, *a.db, a.access, sqlstore.CacheUsers(0)) // one command reads too little to cache
}

// sidFlag parses a SID flag value; required says whether it may be empty.
func sidFlag(name, prefix, v string, required bool) (string, error) {
	if v == "" && !required {
		return "", nil
	}
	return parseSIDAs("--"+name, prefix, v)
}

// sidArg parses the positional argument what (e.g. "the user") as a SID.
func sidArg(what, prefix, v string) (string, error) {
	return parseSIDAs(what, prefix, v)
}

func parseSIDAs(what, prefix, v string) (string, error) {
	sid, ok := flexapi.ParseSID(prefix, v)
	if !ok {
		return "", usageError{fmt.Errorf("%s must be %s and 32 hex digits, got %s", what, prefix, strconv.QuoteToGraphic(v))}
	}
	return sid, nil
}

func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

func createAccount(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("accounts create", e)
	sid := a.fs.String("sid", "", "account SID (default: a new random one)")
	token := a.fs.String("auth-token", "", "primary auth token (default: a new random one)")
	name := a.fs.String("friendly-name", "", "a name for people")
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	acct := flexapi.Account{SID: flexapi.NewSID(flexapi.AccountPrefix), FriendlyName: *name}
	if *sid != "" {
		if acct.SID, err = sidFlag("sid", flexapi.AccountPrefix, *sid, true); err != nil {
			return err
		}
	}
	if *token == "" {
		*token = flexapi.NewSecret()
	} else if err := checkToken("--auth-token", *token); err != nil {
		return err
	}
	if err := store.CreateAccount(ctx, &acct, flexapi.HashSecret(*token)); err != nil {
		return explain(err, "account "+acct.SID)
	}
	if *a.json {
		return printJSON(e.stdout, map[string]string{"sid": acct.SID, "auth_token": *token})
	}
	fmt.Fprintf(e.stdout, "Account created. The auth token is shown only now: store it.\n  account_sid: %s\n  auth_token:  %s\n", acct.SID, *token)
	return nil
}

func listAccounts(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("accounts list", e)
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, len(accounts))
	for i, acct := range accounts {
		rows[i] = []string{acct.SID, acct.Status, date(acct.CreatedDate), acct.FriendlyName}
	}
	return printList(e.stdout, *a.json, []string{"sid", "status", "created_date", "friendly_name"}, rows)
}

func createKey(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("keys create", e)
	account := a.fs.String("account", "", "the account the key acts for (required)")
	name := a.fs.String("friendly-name", "", "a name for people")
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	key := flexapi.APIKey{SID: flexapi.NewSID(flexapi.KeyPrefix), FriendlyName: *name}
	if key.AccountSID, err = sidFlag("account", flexapi.AccountPrefix, *account, true); err != nil {
		return err
	}
	secret := flexapi.NewSecret()
	if err := store.CreateKey(ctx, &key, flexapi.HashSecret(secret)); err != nil {
		return explainOwner(err, "key "+key.SID, key.AccountSID)
	}
	if *a.json {
		return printJSON(e.stdout, map[string]string{"sid": key.SID, "secret": secret})
	}
	fmt.Fprintf(e.stdout, "API key created for %s. The secret is shown only now: store it.\n  sid:    %s\n  secret: %s\n", key.AccountSID, key.SID, secret)
	return nil
}

func listKeys(ctx context.Context, e *env, args []string) error {
	columns := []string{"sid", "account_sid", "created_date", "friendly_name"}
	return listOfAccount(ctx, e, "keys", args, columns, func(store *sqlstore.Store, account string) ([][]string, error) {
		keys, err := store.Keys(ctx, account)
		rows := make([][]string, len(keys))
		for i, k := range keys {
			rows[i] = []string{k.SID, k.AccountSID, date(k.CreatedDate), k.FriendlyName}
		}
		return rows, err
	})
}

// listOfAccount runs "NAME list [--account AC…]", whose rows come from rows.
func listOfAccount(ctx context.Context, e *env, name string, args, columns []string,
	rows func(store *sqlstore.Store, account string) ([][]string, error)) error {
	a := newAdminFlags(name+" list", e)
	account := a.fs.String("account", "", "only this account's "+name)
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	acct, err := sidFlag("account", flexapi.AccountPrefix, *account, false)
	if err != nil {
		return err
	}
	r, err := rows(store, acct)
	if err != nil {
		return err
	}
	return printList(e.stdout, *a.json, columns, r)
}

func createInstance(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("instances create", e)
	account := a.fs.String("account", "", "the account that owns the instance (required)")
	sid := a.fs.String("sid", "", "instance SID (default: a new random one)")
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	in := flexapi.Instance{SID: flexapi.NewSID(flexapi.InstancePrefix)}
	if in.AccountSID, err = sidFlag("account", flexapi.AccountPrefix, *account, true); err != nil {
		return err
	}
	if *sid != "" {
		if in.SID, err = sidFlag("sid", flexapi.InstancePrefix, *sid, true); err != nil {
			return err
		}
	}
	if err := store.CreateInstance(ctx, &in); err != nil {
		return explainOwner(err, "instance "+in.SID, in.AccountSID)
	}
	if *a.json {
		return printJSON(e.stdout, map[string]string{"sid": in.SID, "workspace_sid": in.WorkspaceSID, "default_team_sid": in.DefaultTeamSID})
	}
	fmt.Fprintf(e.stdout, "Instance created.\n  instance_sid:     %s\n  account_sid:      %s\n  workspace_sid:    %s\n  default_team_sid: %s\n",
		in.SID, in.AccountSID, in.WorkspaceSID, in.DefaultTeamSID)
	return nil
}

func listInstances(ctx context.Context, e *env, args []string) error {
	columns := []string{"sid", "account_sid", "workspace_sid", "default_team_sid", "created_date"}
	return listOfAccount(ctx, e, "instances", args, columns, func(store *sqlstore.Store, account string) ([][]string, error) {
		instances, err := store.Instances(ctx, account)
		rows := make([][]string, len(instances))
		for i, in := range instances {
			rows[i] = []string{in.SID, in.AccountSID, in.WorkspaceSID, in.DefaultTeamSID, date(in.CreatedDate)}
		}
		return rows, err
	})
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("migrate", e)
	if err := parse(a.fs, e, args, storeFromEnv); err != nil {
		return err
	}
	// Open applies every migration that is missing, under the write lock.
	store, err := sqlstore.Open(ctx, *a.db)
	if err != nil {
		return err
	}
	defer store.Close()
	version, err := store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: schema up to date (version %d)\n", sqlstore.Redact(*a.db), version)
	return nil
}

// explainOwner is explain for something made for an account, whose
// absence is what "not found" means there.
func explainOwner(err error, what, account string) error {
	if flexapi.ErrorCode(err) == flexapi.ENOTFOUND {
		return fmt.Errorf("there is no account %s (flexapi accounts list shows them)", account)
	}
	return explain(err, what)
}

// explain turns store errors into sentences about what the command named.
func explain(err error, what string) error {
	switch flexapi.ErrorCode(err) {
	case flexapi.ECONFLICT:
		if msg := flexapi.ErrorMessage(err); msg != "already exists" {
			return errors.New(msg) // what is taken is not what the command named, as with a username
		}
		return fmt.Errorf("%s already exists", what)
	case flexapi.ENOTFOUND:
		return fmt.Errorf("%s: not found", what)
	}
	return err
}

// printList prints rows as a table headed by the column names, or with
// --json as one object per line keyed by them.
func printList(w io.Writer, asJSON bool, columns []string, rows [][]string) error {
	if asJSON {
		for _, row := range rows {
			obj := make(map[string]string, len(columns))
			for i, c := range columns {
				obj[c] = row[i]
			}
			if err := printJSON(w, obj); err != nil {
				return err
			}
		}
		return nil
	}
	t := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(t, strings.ToUpper(strings.ReplaceAll(strings.Join(columns, "\t"), "_", " ")))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = printable(c)
		}
		fmt.Fprintln(t, strings.Join(cells, "\t"))
	}
	return t.Flush()
}

// printable shows a value on an operator's terminal: characters that a
// terminal would act on (escape sequences, other controls, invalid bytes)
// are written as Go escapes, so stored data can never drive the terminal.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			q := strconv.QuoteToGraphic(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
