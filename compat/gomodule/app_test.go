package flexapiuser

import (
	"errors"
	"testing"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/flexapi/flexapi/flexapitest"
)

func newClient(srv *flexapitest.Server) *twilio.RestClient {
	c := &client.Client{Credentials: client.NewCredentials(srv.AccountSID, srv.AuthToken), HTTPClient: srv.HTTPClient()}
	c.SetAccountSid(srv.AccountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

func TestRelocale(t *testing.T) {
	srv := flexapitest.NewServer(t)
	v, err := Relocale(newClient(srv), srv.InstanceSID, srv.UserSID, "pt-BR")
	if err != nil || v != 2 {
		t.Fatalf("Relocale: version %d, %v; want 2 (the demo user is at 1)", v, err)
	}
	entries, err := srv.Requests(flexapitest.Filter{Method: "POST"})
	if err != nil || len(entries) != 1 || entries[0].Params["Locale"] != "pt-BR" {
		t.Errorf("the journal: %+v %v", entries, err)
	}
}

func TestRelocaleWhenTwilioIsDown(t *testing.T) {
	srv := flexapitest.NewServer(t)
	if _, err := srv.AddFault(flexapitest.Fault{Status: 503}); err != nil {
		t.Fatal(err)
	}
	_, err := Relocale(newClient(srv), srv.InstanceSID, srv.UserSID, "pt-BR")
	var re *client.TwilioRestError
	if !errors.As(err, &re) || re.Status != 503 {
		t.Errorf("with Twilio down: %v; want a 503", err)
	}
}
