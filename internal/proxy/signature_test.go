package proxy

// Issue 14, item 9: the proxy sends, with the record of a signed call, the
// proof of its signature (the string to sign rebuilt from the request and
// the whole body's hash, never the signature), which checks with the
// caller's secret only; the record names nobody and says the signature is
// not verified until the server checks it.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-audit/cairn/internal/sigv4"
)

// recordedProof is the proof a record carries.
func recordedProof(t *testing.T, raw string) sigv4.Proof {
	t.Helper()
	var r struct {
		Proof *sigv4.Proof `json:"cairnSignatureProof"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil || r.Proof == nil {
		t.Fatalf("the record has no signature proof: %s", raw)
	}
	return *r.Proof
}

func TestProxySignatureProof(t *testing.T) {
	upstream := cannedUpstream(t, http.StatusOK, "application/x-amz-json-1.0", `{}`)
	big := bytes.Repeat([]byte(`{"a":"0123456789abcdef"}`), 3*DefaultMaxCapture/24) // beyond what is kept
	for _, c := range []struct {
		name    string
		body    []byte
		chunked bool // no Content-Length: the body's length is unknown
		secret  string
		check   bool
	}{
		{"a small body", []byte(`{"QueueName":"q"}`), false, testSecret, true},
		{"a body beyond the capture", big, false, testSecret, true},
		{"a streamed body of unknown length", big, true, testSecret, true},
		{"no body", nil, false, testSecret, true},
		{"another secret", []byte(`{"QueueName":"q"}`), false, "forger", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, upstream.URL, rec, nil)
			var body io.Reader = bytes.NewReader(c.body)
			if c.chunked {
				body = io.MultiReader(bytes.NewReader(c.body)) // hides the length from net/http
			}
			req, _ := http.NewRequest(http.MethodPost, front+"/", body)
			if c.body == nil {
				req.Body = nil
			}
			req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: c.secret},
				req, sha256Hex(string(c.body)), "sqs", "us-west-2", time.Now()); err != nil {
				t.Fatal(err)
			}
			if c.chunked && req.ContentLength != 0 {
				t.Fatalf("the request has a Content-Length %d", req.ContentLength)
			}
			do(t, req)
			e, raw := rec.wait(t, 1)[0], rec.raw(0)
			want(t, e, "userIdentity", map[string]any{"type": "Unknown", "accessKeyId": testKey})
			want(t, e, "additionalEventData", map[string]any{"SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader",
				"SignatureVerified": false})
			p := recordedProof(t, raw)
			if got := p.Check(testCreds{}); got != c.check {
				t.Errorf("the proof checks: %v, want %v (%+v)", got, c.check, p)
			}
			if _, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature="); strings.Contains(raw, sig) {
				t.Errorf("the record holds the signature")
			}
		})
	}
}
