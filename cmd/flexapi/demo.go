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

// ensureDemo adds the demo account, instance and user where absent and
// returns the token to show. The token is TWILIO_AUTH_TOKEN when set;
// otherwise a fresh one, shown once, since the store keeps only its hash.
func ensureDemo(ctx context.Context, e *env, store *sqlstore.Store) (shown string, err error) {
	token, fromEnv := e.getenv("TWILIO_AUTH_TOKEN"), true
	if token == "" {
		token, fromEnv = flexapi.NewSecret(), false
	}
	created, err := ensureAccount(ctx, store, flexapi.DemoAccountSID, token, "flexapi demo")
	if err != nil {
		return "", err
	}
	if !created && !fromEnv {
		// The account exists and its token cannot be recovered: give it the
		// new one, so that every --demo start prints a working token.
		if err := store.SetPrimaryToken(ctx, flexapi.DemoAccountSID, flexapi.HashSecret(token)); err != nil {
			return "", err
		}
	}
	if err := ignoreConflict(store.CreateInstance(ctx, &flexapi.Instance{SID: flexapi.DemoInstanceSID, AccountSID: flexapi.DemoAccountSID})); err != nil {
		return "", err
	}
	u := flexapi.DemoUser()
	if err := ignoreConflict(store.CreateUser(ctx, &u)); err != nil {
		return "", err
	}
	if fromEnv {
		return "$TWILIO_AUTH_TOKEN", nil
	}
	return token, nil
}

// printDemo says how to call the demo on the address the server listens on.
func printDemo(w io.Writer, scheme string, addr net.Addr, token string) {
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	fmt.Fprintf(w, `Demo account (the reference page's example):
  TWILIO_ACCOUNT_SID=%s
  TWILIO_AUTH_TOKEN=%s
Try:
  curl -u %s:%s %s://%s%s
`, flexapi.DemoAccountSID, token, flexapi.DemoAccountSID, token, scheme, host, api.UserPath(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID))
	if !strings.HasPrefix(token, "$") {
		fmt.Fprintln(w, "The token is new at every --demo start; set TWILIO_AUTH_TOKEN to keep one.")
	}
}

func ignoreConflict(err error) error {
	if flexapi.ErrorCode(err) == flexapi.ECONFLICT {
		return nil
	}
	return err
}
