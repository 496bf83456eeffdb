package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary Authorization headers, X-Amz-Date values,
// request targets (path and query) and bodies to Verify. It must never panic,
// must always fail with one of the four AWS codes (a random signature never
// verifies), and the canonical query string must be a fixed point.
// Seeds beyond f.Add live in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	const cred = "Credential=AKIDEXAMPLE/20261126/us-east-1/cloudtrail/aws4_request"
	sig := strings.Repeat("0f", 32)
	f.Add("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host;x-amz-date, Signature="+sig,
		"20261126T100000Z", "/v1/events", []byte(`{"Records":[]}`))
	f.Add("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date, Signature="+sig,
		"20261126T100000Z", "/PutAuditEvents?channelArn=arn:aws:cloudtrail:us-east-1:123456789012:channel/abc", []byte("{}"))
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/cloudtrail/aws4_request,SignedHeaders=host;x-amz-date,Signature="+sig,
		"20261126T100000Z", "/a%20b/%zz?x=%&y==&&z", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026112/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=zz",
		"2026112T100000Z", "", []byte("x"))
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=, Signature=", "", "?", []byte(nil))
	f.Add("", "20261126T100000Z", "/", []byte(nil))

	f.Fuzz(func(t *testing.T, auth, amzDate, target string, body []byte) {
		path, rawQuery, _ := strings.Cut(target, "?")
		r := &http.Request{
			Method:        http.MethodPost,
			Host:          "cairn.example:8080",
			URL:           &url.URL{Path: path, RawQuery: rawQuery},
			Header:        http.Header{},
			ContentLength: int64(len(body)),
		}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", amzDate)
		r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))

		// Put the clock at the claimed date so fuzzing reaches the signature check.
		now := signTime
		if d, err := time.Parse(amzDateFormat, amzDate); err == nil {
			now = d
		}
		for _, service := range []string{"cloudtrail", "s3"} {
			res, err := Verify(r, body, goodCreds, service, now)
			if err == nil {
				t.Fatalf("random signature verified: %+v\nAuthorization: %q", res, auth)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			switch e.Code {
			case CodeMissingAuthenticationToken, CodeIncompleteSignature, CodeUnrecognizedClient, CodeInvalidSignature:
			default:
				t.Fatalf("unknown code %q", e.Code)
			}
			if e.Message == "" {
				t.Fatalf("empty message for %s", e.Code)
			}
		}

		if q, err := canonicalQuery(rawQuery); err == nil {
			again, err := canonicalQuery(q)
			if err != nil || again != q {
				t.Fatalf("canonicalQuery not idempotent: %q -> %q -> %q (%v)", rawQuery, q, again, err)
			}
		}
	})
}
