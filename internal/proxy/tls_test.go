package proxy

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestProxyTLSDetails: a call that reached the proxy over TLS carries
// CloudTrail's tlsDetails (version, cipher suite, the Host the client asked
// for); a plain call has none.
func TestProxyTLSDetails(t *testing.T) {
	up := cannedUpstream(t, 200, "application/json", `{}`)
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	p, err := New(Options{Upstream: u, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(p)
	defer front.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/", nil)
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev := rec.wait(t, 1)[0]
	td, ok := ev["tlsDetails"].(map[string]any)
	if !ok || td["tlsVersion"] != "TLSv1.3" || td["cipherSuite"] == "" || td["clientProvidedHostHeader"] != req.URL.Host {
		t.Fatalf("tlsDetails = %v", ev["tlsDetails"])
	}

	plain := &memRecorder{}
	addr := newTestProxy(t, up.URL, plain, nil)
	resp, err = http.Post(addr+"/", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ev := plain.wait(t, 1)[0]; ev["tlsDetails"] != nil {
		t.Fatalf("a plain call has tlsDetails %v", ev["tlsDetails"])
	}
}
