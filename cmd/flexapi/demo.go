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
	"github.com/flexapi/flexapi/fixture"
	"github.com/flexapi/flexapi/sqlstore"
)

// ensureDemo adds the demo (fixture.DemoSeed) when its user is absent,
// with token as the account's token. When the user is there it is left as
// it is, and only the token is made to work: a token that is not
// TWILIO_AUTH_TOKEN becomes the primary one, so that every --demo start
// prints a working token (the store keeps only hashes).
func ensureDemo(ctx context.Context, store *sqlstore.Store, token string, fromEnv bool) error {
	_, err := store.User(ctx, flexapi.UserKey{AccountSID: flexapi.DemoAccountSID, InstanceSID: flexapi.DemoInstanceSID, FlexUserSID: flexapi.DemoFlexUserSID})
	switch {
	case flexapi.ErrorCode(err) == flexapi.ENOTFOUND:
		_, err = store.ApplySeed(ctx, fixture.DemoSeed(token))
		return err
	case err != nil:
		return err
	case fromEnv:
		_, err = ensureAccount(ctx, store, flexapi.DemoAccountSID, token, "flexapi demo")
		return err
	}
	return store.SetPrimaryToken(ctx, flexapi.DemoAccountSID, flexapi.HashSecret(token))
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
