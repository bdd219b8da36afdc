package flexapiuser

// The README's flexapitest example, as it is there, so that it keeps working.

import (
	"errors"
	"testing"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/flexapi/flexapi/flexapitest"
)

func TestMyApp(t *testing.T) {
	srv := flexapitest.NewServer(t)
	srv.Seed(`{"accounts":[{"sid":"AC00000000000000000000000000000f01","auth_token":"fixturetoken0123",
		"instances":[{"sid":"GO00000000000000000000000000000f01","users":[{"flex_user_sid":"FU00000000000000000000000000000f01","username":"ana"}]}]}]}`)
	c := &client.Client{Credentials: client.NewCredentials("AC00000000000000000000000000000f01", "fixturetoken0123"), HTTPClient: srv.HTTPClient()}
	c.SetAccountSid("AC00000000000000000000000000000f01")
	tw := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})

	srv.AddFault(flexapitest.Fault{Status: 429, Path: "/v2/Instances/*/Users/*"})
	_, err := tw.FlexV2.FetchFlexUser("GO00000000000000000000000000000f01", "FU00000000000000000000000000000f01")
	var re *client.TwilioRestError
	if !errors.As(err, &re) || re.Status != 429 {
		t.Fatalf("want the injected 429, got %v", err)
	}
	sent, _ := srv.Requests(flexapitest.Filter{Method: "GET"})
	t.Logf("the application sent %d GETs; the last got %d", len(sent), sent[len(sent)-1].Status)
}
