package sigv4

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestProofScope: a proof tells the service, region and times its
// signature was valid at; a presigned URL's validity is its signed
// X-Amz-Expires, read from a canonical request that must be the one
// signed, and the canonical request is never kept when the URL carries a
// secret (a security token) or holds the signature.
func TestProofScope(t *testing.T) {
	signedAt := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	creds := aws.Credentials{AccessKeyID: "AKIASCOPE", SecretAccessKey: "s"}
	presign := func(query string, c aws.Credentials) Proof {
		r, _ := http.NewRequest(http.MethodGet, "https://example.com/bucket/k?"+query, nil)
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), c, r, UnsignedPayload, "s3", "eu-west-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		used, _ := http.NewRequest(http.MethodGet, u, nil)
		p, _ := NewProof(Signed{Request: used, Now: signedAt})
		if p.Problem != "" {
			t.Fatalf("proof: %s", p.Problem)
		}
		sig := used.URL.Query().Get("X-Amz-Signature")
		if strings.Contains(p.CanonicalRequest, sig) {
			t.Fatal("the canonical request holds the signature")
		}
		return p
	}
	p := presign("X-Amz-Expires=3600", creds)
	s, ok := p.Scope()
	if !ok || s.Service != "s3" || s.Region != "eu-west-1" || !s.From.Equal(signedAt.Add(-MaxSkew)) || !s.To.Equal(signedAt.Add(time.Hour)) {
		t.Errorf("presigned scope %+v %v", s, ok)
	}
	p.CanonicalRequest = strings.Replace(p.CanonicalRequest, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1)
	if _, ok := p.Scope(); ok {
		t.Error("a canonical request that is not the one signed was read")
	}
	p.CanonicalRequest = ""
	if s, ok := p.Scope(); !ok || !s.To.Equal(signedAt.Add(MaxSkew)) {
		t.Errorf("without its canonical request a presigned URL is valid 15 minutes: %+v", s)
	}
	tok := creds
	tok.SessionToken = "session-token-secret"
	if p := presign("X-Amz-Expires=3600", tok); p.CanonicalRequest != "" {
		t.Errorf("a canonical request with a security token was kept: %q", p.CanonicalRequest)
	}
	if p := presign("X-Amz-Expires=3600&api_key=abc", creds); p.CanonicalRequest != "" {
		t.Errorf("a canonical request with an API key was kept: %q", p.CanonicalRequest)
	}
	if _, ok := (Proof{Version: "SigV4", StringToSign: "AWS4-HMAC-SHA256\nnot a date\nx/y/z/aws4_request\nab"}).Scope(); ok {
		t.Error("a malformed string to sign has a scope")
	}
}
