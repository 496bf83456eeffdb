package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// proofOf builds the proof of what the server saw, the body seen whole
// unless partial.
func proofOf(t *testing.T, c captured, partial bool, now time.Time) Proof {
	t.Helper()
	s := Signed{Request: c.req, Now: now}
	if !partial {
		s.BodySHA256, s.BodyLen = sha256Hex(c.body), int64(len(c.body))
	}
	p, ok := NewProof(s)
	if !ok {
		t.Fatalf("no proof of a signed request")
	}
	sig := c.req.URL.Query().Get("X-Amz-Signature")
	if _, v, ok := strings.Cut(c.req.Header.Get("Authorization"), "Signature="); ok {
		sig = v
	}
	if sig != "" && strings.Contains(p.StringToSign+p.SignatureSHA256+p.Problem, sig) {
		t.Errorf("the proof holds the signature itself")
	}
	return p
}

// TestProofHeader: aws-sdk-go-v2's signatures check with the right secret
// and only with it, for JSON, query-protocol and S3 requests, with and
// without X-Amz-Content-Sha256.
func TestProofHeader(t *testing.T) {
	cs := newCaptureServer(t)
	sqsSpec := signSpec{method: http.MethodPost, target: "/", body: `{"QueueName":"q"}`, service: "sqs",
		headers: map[string]string{"X-Amz-Target": "AmazonSQS.CreateQueue", "Content-Type": "application/x-amz-json-1.0"}}
	iamSpec := signSpec{method: http.MethodPost, target: "/", body: "Action=CreateUser&UserName=bob&Version=2010-05-08",
		service: "iam", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}}
	s3Spec := signSpec{method: http.MethodPut, target: "/bucket/a%20key/%C3%A9?tagging", body: "hello", service: "s3",
		s3: true, contentSHA: true}
	s3Unsigned := signSpec{method: http.MethodPut, target: "/bucket/k", body: "hello", service: "s3", s3: true, unsigned: true}
	restSpec := signSpec{method: http.MethodGet, target: "/2015-03-31/functions/my%3Afn/configuration?Qualifier=%241",
		service: "lambda"}
	for name, spec := range map[string]signSpec{"json": sqsSpec, "query": iamSpec, "s3": s3Spec,
		"s3 unsigned payload": s3Unsigned, "rest path escaping": restSpec, "cloudtrail": cloudTrailSpec} {
		t.Run(name, func(t *testing.T) {
			c := cs.roundTrip(t, signedRequest(t, cs.URL, spec, testSecret))
			p := proofOf(t, c, false, signTime.Add(time.Minute))
			if p.Problem != "" || p.Version != "SigV4" || p.Method != "AuthHeader" || p.AccessKeyID != testKey {
				t.Fatalf("proof %+v", p)
			}
			if !p.Check(goodCreds) {
				t.Errorf("a correct signature does not check:\n%s", p.StringToSign)
			}
			if p.Check(staticCreds{testKey: "another secret"}) || p.Check(staticCreds{"AKIDOTHER": testSecret}) {
				t.Errorf("the signature checks with another secret or key")
			}
			forged := signedRequest(t, cs.URL, spec, "the forger's secret")
			if p := proofOf(t, cs.roundTrip(t, forged), false, signTime); p.Check(goodCreds) {
				t.Errorf("a signature made with another secret checks")
			}
		})
	}
	t.Run("a body changed after signing", func(t *testing.T) {
		for _, spec := range []signSpec{sqsSpec, s3Spec} {
			req := signedRequest(t, cs.URL, spec, testSecret)
			c := cs.roundTrip(t, req)
			c.body = []byte(`{"QueueName":"other"}`)
			if p := proofOf(t, c, false, signTime); p.Check(goodCreds) {
				t.Errorf("%s: a changed body checks (problem %q)", spec.service, p.Problem)
			}
		}
	})
	t.Run("a body not seen whole", func(t *testing.T) {
		c := cs.roundTrip(t, signedRequest(t, cs.URL, sqsSpec, testSecret))
		if p := proofOf(t, c, true, signTime); p.Problem == "" || p.Check(goodCreds) {
			t.Errorf("without the body's hash: proof %+v", p)
		}
		// S3 sends the hash: the proof needs no body.
		c = cs.roundTrip(t, signedRequest(t, cs.URL, s3Spec, testSecret))
		if p := proofOf(t, c, true, signTime); !p.Check(goodCreds) {
			t.Errorf("with X-Amz-Content-Sha256 and no body: proof %+v", p)
		}
	})
	t.Run("expired", func(t *testing.T) {
		c := cs.roundTrip(t, signedRequest(t, cs.URL, sqsSpec, testSecret))
		for _, at := range []time.Time{signTime.Add(16 * time.Minute), signTime.Add(-16 * time.Minute)} {
			if p := proofOf(t, c, false, at); p.Problem == "" || p.Check(goodCreds) {
				t.Errorf("used at %s: proof %+v", at, p)
			}
		}
	})
}

// TestProofPresigned: presigned URLs check within their validity and with
// the right secret only.
func TestProofPresigned(t *testing.T) {
	cs := newCaptureServer(t)
	presign := func(secret, target, service string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, cs.URL+target, nil)
		u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).PresignHTTP(
			context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}, req, UnsignedPayload,
			service, "eu-west-1", signTime)
		if err != nil {
			t.Fatal(err)
		}
		// aws-sdk-go-v2 leaves X-Amz-Expires to the caller (S3's presigner
		// adds it before signing); add it the same way.
		pu, _ := url.Parse(u)
		if pu.Query().Get("X-Amz-Expires") == "" {
			req.URL.RawQuery = "X-Amz-Expires=300"
			u, _, err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).PresignHTTP(
				context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}, req, UnsignedPayload,
				service, "eu-west-1", signTime)
			if err != nil {
				t.Fatal(err)
			}
		}
		out, _ := http.NewRequest(http.MethodGet, u, nil)
		return out
	}
	c := cs.roundTrip(t, presign(testSecret, "/bucket/some%20key.txt?versionId=3", "s3"))
	p := proofOf(t, c, false, signTime.Add(time.Minute))
	if p.Method != "QueryString" || !p.Check(goodCreds) {
		t.Errorf("a presigned URL does not check: %+v", p)
	}
	if p := proofOf(t, c, false, signTime.Add(6*time.Minute)); p.Problem == "" || p.Check(goodCreds) {
		t.Errorf("an expired presigned URL: %+v", p)
	}
	if p := proofOf(t, cs.roundTrip(t, presign("forged", "/bucket/k", "s3")), false, signTime); p.Check(goodCreds) {
		t.Errorf("a presigned URL signed with another secret checks")
	}
	// Another signature pasted into a good URL.
	u := *c.req.URL
	q := u.Query()
	q.Set("X-Amz-Signature", strings.Repeat("ab", 32))
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, cs.URL+u.RequestURI(), nil)
	if p := proofOf(t, cs.roundTrip(t, req), false, signTime); p.Check(goodCreds) {
		t.Errorf("a pasted signature checks")
	}
}

// TestProofNone: unsigned requests and other schemes give no proof.
func TestProofNone(t *testing.T) {
	for _, h := range []string{"", "Bearer abc", "Basic YTpi"} {
		r, _ := http.NewRequest(http.MethodGet, "http://x/b/k?a=1", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if p, ok := NewProof(Signed{Request: r, Now: signTime}); ok {
			t.Errorf("Authorization %q gives a proof %+v", h, p)
		}
	}
}

// FuzzProof feeds arbitrary Authorization headers, dates and targets to
// NewProof: it never panics, and a made-up signature never checks.
func FuzzProof(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature="+
		strings.Repeat("0f", 32), "20261126T100000Z", "/?a=b")
	f.Add("", "", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261126%2Fus-east-1%2Fs3%2Faws4_request"+
		"&X-Amz-Date=20261126T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="+strings.Repeat("0f", 32))
	f.Add("AWS AKIDEXAMPLE:bm90IGEgc2lnbmF0dXJlIQ==", "Thu, 26 Nov 2026 10:00:00 GMT", "/b/k?acl&versionId=%zz")
	f.Add("", "", "/b/k?AWSAccessKeyId=AKIDEXAMPLE&Expires=1900000000&Signature=bm90IGEgc2lnbmF0dXJlIQ%3D%3D")
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=", "x", "?X-Amz-Credential=a/b")
	f.Fuzz(func(t *testing.T, auth, date, target string) {
		path, rawQuery, _ := strings.Cut(target, "?")
		r := &http.Request{Method: http.MethodGet, Host: "h:1", URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		r.Header.Set("Date", date)
		p, _ := NewProof(Signed{Request: r, Now: signTime, BodySHA256: sha256Hex(nil)})
		if p.Check(goodCreds) {
			t.Fatalf("a made-up signature checks: %+v", p)
		}
	})
}
