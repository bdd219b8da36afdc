package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// oneSID parses args for a command that acts on one SID given as its
// argument, and opens the store.
func oneSID(ctx context.Context, a adminFlags, e *env, args []string, prefix, usage string) (*sqlstore.Store, string, error) {
	store, err := a.open(ctx, e, args)
	if err != nil {
		return nil, "", err
	}
	if a.fs.NArg() != 1 {
		store.Close()
		return nil, "", usageError{errors.New("usage: " + usage)}
	}
	sid, err := sidArg("the "+prefix+"… argument", prefix, a.fs.Arg(0))
	if err != nil {
		store.Close()
		return nil, "", err
	}
	return store, sid, nil
}

// rotateToken gives an account a new secondary token, shown once; with
// --promote it makes the current secondary token primary and drops the old
// primary. Together: deploy the new token, then promote it.
func rotateToken(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("accounts rotate-token", e)
	promote := a.fs.Bool("promote", false, "make the secondary token primary and drop the old primary")
	store, sid, err := oneSID(ctx, a, e, args, flexapi.AccountPrefix, "flexapi accounts rotate-token [--promote] AC…")
	if err != nil {
		return err
	}
	defer store.Close()
	if *promote {
		if err := store.PromoteSecondaryToken(ctx, sid); err != nil {
			return explainAccount(err, sid)
		}
		fmt.Fprintf(e.stdout, "The secondary token of %s is now its primary token; the old primary no longer works.\n", sid)
		return nil
	}
	token := flexapi.NewSecret()
	if err := store.SetSecondaryToken(ctx, sid, flexapi.HashSecret(token)); err != nil {
		return explainAccount(err, sid)
	}
	if *a.json {
		return printJSON(e.stdout, map[string]string{"sid": sid, "secondary_auth_token": token})
	}
	fmt.Fprintf(e.stdout, "New secondary token of %s, shown only now (both tokens work until --promote):\n  secondary_auth_token: %s\n", sid, token)
	return nil
}

func explainAccount(err error, sid string) error {
	if flexapi.ErrorCode(err) == flexapi.EINVALID {
		return errors.New(flexapi.ErrorMessage(err))
	}
	return explain(err, "account "+sid)
}

func setStatus(status string) command {
	return func(ctx context.Context, e *env, args []string) error {
		verb := map[string]string{flexapi.AccountSuspended: "suspend", flexapi.AccountActive: "activate"}[status]
		a := newAdminFlags("accounts "+verb, e)
		store, sid, err := oneSID(ctx, a, e, args, flexapi.AccountPrefix, "flexapi accounts "+verb+" AC…")
		if err != nil {
			return err
		}
		defer store.Close()
		if err := store.SetAccountStatus(ctx, sid, status); err != nil {
			return explain(err, "account "+sid)
		}
		fmt.Fprintf(e.stdout, "Account %s is %s.\n", sid, status)
		return nil
	}
}

func revokeKey(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("keys revoke", e)
	store, sid, err := oneSID(ctx, a, e, args, flexapi.KeyPrefix, "flexapi keys revoke SK…")
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteKey(ctx, sid); err != nil {
		return explain(err, "key "+sid)
	}
	fmt.Fprintf(e.stdout, "Key %s revoked.\n", sid)
	return nil
}

func deleteInstance(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("instances delete", e)
	store, sid, err := oneSID(ctx, a, e, args, flexapi.InstancePrefix, "flexapi instances delete GO…")
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteInstance(ctx, sid); err != nil {
		return explain(err, "instance "+sid)
	}
	fmt.Fprintf(e.stdout, "Instance %s and its users deleted.\n", sid)
	return nil
}

func deleteUser(ctx context.Context, e *env, args []string) error {
	u := newUserFlags("users delete", e)
	store, in, err := u.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := u.userArg(in, "delete")
	if err != nil {
		return err
	}
	if err := store.DeleteUser(ctx, key, nil); err != nil {
		return explain(err, "user "+key.FlexUserSID+" in instance "+in.SID)
	}
	fmt.Fprintf(e.stdout, "User %s deleted.\n", key.FlexUserSID)
	return nil
}

// runReset empties the users of every instance, or with --all the whole
// store, for a clean slate between test runs.
func runReset(ctx context.Context, e *env, args []string) error {
	a := newAdminFlags("reset", e)
	all := a.fs.Bool("all", false, "also delete every account, key and instance")
	store, err := a.open(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if *all {
		if err := store.DeleteEverything(ctx); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "The store is empty.")
		return nil
	}
	n, err := store.DeleteUsers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d users deleted; accounts, keys and instances kept.\n", n)
	return nil
}
