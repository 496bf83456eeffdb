package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cairn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	parsed, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return cert, key, pool
}

// TestTLSServe: with --tls-cert and --tls-key the server speaks HTTPS only,
// the SDK works over it, and the self-audit records carry tlsDetails.
func TestTLSServe(t *testing.T) {
	t.Parallel()
	cert, key, pool := selfSigned(t)
	srv := Start(t, Options{Config: StandardConfig, Args: []string{"--tls-cert", cert, "--tls-key", key}})
	base := "https://" + srv.Addr
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c := cloudtrail.New(cloudtrail.Options{Region: "us-east-1", BaseEndpoint: aws.String(base), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(AdminKey, AdminSecret, ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("LookupEvents over TLS: %v", err)
	}
	// Plain HTTP is not served on the TLS port.
	if resp, err := http.Get("http://" + srv.Addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered on the TLS listener")
		}
	}
	var rec map[string]any
	if !dlPoll(10*time.Second, func() bool {
		out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
			{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("LookupEvents")}}})
		if err != nil || len(out.Events) == 0 {
			return false
		}
		return json.Unmarshal([]byte(aws.ToString(out.Events[0].CloudTrailEvent)), &rec) == nil
	}) {
		t.Fatal("no audit record of the TLS call")
	}
	td, _ := rec["tlsDetails"].(map[string]any)
	if td == nil || (td["tlsVersion"] != "TLSv1.3" && td["tlsVersion"] != "TLSv1.2") || td["cipherSuite"] == "" ||
		td["clientProvidedHostHeader"] != srv.Addr {
		t.Fatalf("tlsDetails = %v", rec["tlsDetails"])
	}
}
