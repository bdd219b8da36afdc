package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// runCert makes a local certificate authority (kept and reused in --dir) and
// a server certificate for the hosts, so that clients that cannot change the
// API host, only TWILIO_REGION, reach flexapi over TLS.
func runCert(ctx context.Context, e *env, args []string) error {
	fs := newFlags("cert", e)
	hosts := fs.String("hosts", "flex-api.local.twilio.com,localhost,127.0.0.1", "comma-separated names and addresses the certificate is for")
	dir := fs.String("dir", ".", "folder for ca.pem, ca-key.pem, cert.pem and key.pem")
	if err := parse(fs, e, args, noneFromEnv); err != nil {
		return err
	}
	names := splitList(*hosts)
	if len(names) == 0 {
		return usageError{errors.New("--hosts names no host")}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	ca, caKey, created, err := loadOrCreateCA(*dir)
	if err != nil {
		return err
	}
	if err := createServerCert(*dir, names, ca, caKey); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*dir)
	verb := "Reused"
	if created {
		verb = "Created"
	}
	fmt.Fprintf(e.stdout, `%s the local CA %s/ca.pem; wrote cert.pem and key.pem for %v.

Serve over TLS (port 443 needs root or CAP_NET_BIND_SERVICE):
  flexapi serve --addr 127.0.0.1:443 --tls-cert %[2]s/cert.pem --tls-key %[2]s/key.pem

Make the name point at it, in /etc/hosts:
  127.0.0.1 %[4]s

Trust the CA in each client's process (each reads its own variable):
  curl --cacert %[2]s/ca.pem …                  # or: export CURL_CA_BUNDLE=%[2]s/ca.pem
  export REQUESTS_CA_BUNDLE=%[2]s/ca.pem        # Python requests
  export NODE_EXTRA_CA_CERTS=%[2]s/ca.pem       # Node (twilio, twilio-cli): added to Node's own roots
  export SSL_CERT_FILE=%[2]s/ca.pem             # Go (twilio-go): replaces the system roots in that process,
                                                # so Go programs then trust only this CA

Then any official client, unmodified, reaches flexapi with:
  export TWILIO_REGION=local
`, verb, abs, names, names[0])
	return nil
}

func loadOrCreateCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, bool, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		ca, err := x509.ParseCertificate(pair.Certificate[0])
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if err == nil && ok && ca.IsCA && time.Now().Before(ca.NotAfter) {
			return ca, key, false, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "flexapi local CA", Organization: []string{"flexapi"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, false, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, false, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, false, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, true, err
}

func createServerCert(dir string, hosts []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"flexapi"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "cert.pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeKey(filepath.Join(dir, "key.pem"), key)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode)
}
