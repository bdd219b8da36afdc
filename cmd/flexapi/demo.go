package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/api"
	"github.com/flexapi/flexapi/sqlstore"
)

// ensureDemo adds the demo account, instance and user where absent, with
// token as the account's token. A token that is not TWILIO_AUTH_TOKEN is
// made the account's primary token even when the account exists, so that
// every --demo start prints a working one (the store keeps only hashes).
func ensureDemo(ctx context.Context, store *sqlstore.Store, token string, fromEnv bool) error {
	created, err := ensureAccount(ctx, store, flexapi.DemoAccountSID, token, "flexapi demo")
	if err != nil {
		return err
	}
	if !created && !fromEnv {
		if err := store.SetPrimaryToken(ctx, flexapi.DemoAccountSID, flexapi.HashSecret(token)); err != nil {
			return err
		}
	}
	demo := flexapi.DemoUser()
	in := flexapi.Instance{SID: flexapi.DemoInstanceSID, AccountSID: flexapi.DemoAccountSID,
		WorkspaceSID: *demo.WorkspaceSID, DefaultTeamSID: *demo.FlexTeamSID} // the example's workspace and team
	if err := ignoreConflict(store.CreateInstance(ctx, &in)); err != nil {
		return err
	}
	return ignoreConflict(store.CreateUser(ctx, &demo))
}

// printDemo says how to call the demo on the address the server listens on.
func printDemo(w io.Writer, scheme string, addr net.Addr, token, adminToken, caFile string) {
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	token = strings.TrimPrefix(token, "$")
	if token != "TWILIO_AUTH_TOKEN" {
		fmt.Fprintf(w, "Demo account (the reference page's example); paste these lines into a shell:\n  export TOKEN=%s\n", token)
	} else {
		fmt.Fprintf(w, "Demo account (the reference page's example), with TWILIO_AUTH_TOKEN as its token:\n  export TOKEN=\"$TWILIO_AUTH_TOKEN\"\n")
	}
	cacert := ""
	if scheme == "https" {
		cacert = "--cacert " + caFile + " " // curl trusts the CA of flexapi cert only when told
	}
	fmt.Fprintf(w, "  curl %s-u %s:$TOKEN %s://%s%s\n", cacert, flexapi.DemoAccountSID, scheme, host, api.UserPath(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID))
	if token != "TWILIO_AUTH_TOKEN" {
		fmt.Fprintln(w, "The token is new at every --demo start; set TWILIO_AUTH_TOKEN to keep one.")
	}
	if adminToken != "" {
		fmt.Fprintf(w, "Control plane (/_flexapi/, see the README's \"Use it in tests\"):\n  export FLEXAPI_ADMIN_TOKEN=%s\n", adminToken)
	}
}

func ignoreConflict(err error) error {
	if flexapi.ErrorCode(err) == flexapi.ECONFLICT {
		return nil
	}
	return err
}
