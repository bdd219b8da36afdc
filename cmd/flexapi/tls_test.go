package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/flexapi/flexapi"
)

// flexapi cert's CA and certificate serve TLS with HTTP/2, and the official
// Go client with TWILIO_REGION=local reaches flexapi unmodified, trusting only
// that CA. The hosts file line is played by the dialer.
func TestTLSWithLocalRegion(t *testing.T) {
	dir := t.TempDir()
	out := mustCLI(t, nil, "cert", "--dir", dir)
	for _, want := range []string{"SSL_CERT_FILE=", "NODE_EXTRA_CA_CERTS=", "127.0.0.1 flex-api.local.twilio.com", "TWILIO_REGION=local"} {
		if !strings.Contains(out, want) {
			t.Errorf("cert output lacks %q:\n%s", want, out)
		}
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	mustCLI(t, nil, "cert", "--dir", dir) // a second run keeps the CA that clients already trust
	if caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); string(caAfter) != string(caBefore) {
		t.Error("a second flexapi cert replaced the CA")
	}

	srv := startServe(t, map[string]string{"TWILIO_AUTH_TOKEN": demoToken}, "--db", ":memory:", "--demo",
		"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem"))
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("serve announced %s; want https", srv.url)
	}
	addr := strings.TrimPrefix(srv.url, "https://")

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBefore) {
		t.Fatal("ca.pem holds no certificate")
	}
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr) // /etc/hosts: flex-api.local.twilio.com → flexapi
		},
	}
	c := &client.Client{Credentials: client.NewCredentials(flexapi.DemoAccountSID, demoToken), HTTPClient: &http.Client{Transport: transport}}
	c.SetAccountSid(flexapi.DemoAccountSID)
	tw := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	tw.SetRegion("local")
	u, err := tw.FlexV2.FetchFlexUser(flexapi.DemoInstanceSID, flexapi.DemoFlexUserSID)
	if err != nil {
		t.Fatal(err)
	}
	if *u.Url != "https://flex-api.local.twilio.com/v2/Instances/"+flexapi.DemoInstanceSID+"/Users/"+flexapi.DemoFlexUserSID {
		t.Errorf("url %s; want the https URL the client used", *u.Url)
	}

	res, err := (&http.Client{Transport: transport}).Get("https://flex-api.local.twilio.com/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Errorf("protocol %s; want HTTP/2 over TLS", res.Proto)
	}
	// A client that trusts only the system's roots refuses the certificate.
	plain := &http.Transport{DialContext: transport.DialContext}
	if _, err := (&http.Client{Transport: plain}).Get("https://flex-api.local.twilio.com/healthz"); err == nil {
		t.Error("a client without the CA accepted the certificate")
	}
}
