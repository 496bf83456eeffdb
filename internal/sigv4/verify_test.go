package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var signTime = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// staticCreds maps access key ids to secrets.
type staticCreds map[string]string

func (c staticCreds) SecretFor(k string) (string, bool) { s, ok := c[k]; return s, ok }

var goodCreds = staticCreds{testKey: testSecret}

// captured is a request as the server-side handler saw it.
type captured struct {
	req  *http.Request
	body []byte
}

// captureServer is an httptest server that hands every request it receives,
// with its body, back to the test, so that Verify runs on exactly what a
// net/http server sees.
type captureServer struct {
	*httptest.Server
	got chan captured
}

func newCaptureServer(t *testing.T) *captureServer {
	t.Helper()
	cs := &captureServer{got: make(chan captured, 1)}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cs.got <- captured{req: r.Clone(context.Background()), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(cs.Close)
	return cs
}

// roundTrip sends req to the server and returns the request the handler saw.
func (cs *captureServer) roundTrip(t *testing.T, req *http.Request) captured {
	t.Helper()
	resp, err := cs.Client().Do(req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("capture server answered %s", resp.Status)
	}
	return <-cs.got
}

// signSpec describes a client request to sign with aws-sdk-go-v2.
type signSpec struct {
	method     string
	target     string // escaped path and query, as sent
	body       string
	headers    map[string]string
	service    string
	region     string
	s3         bool // sign like S3: no extra path escaping
	contentSHA bool // send X-Amz-Content-Sha256
	unsigned   bool // send and sign X-Amz-Content-Sha256: UNSIGNED-PAYLOAD
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedRequest builds and signs the request described by s for baseURL.
func signedRequest(t *testing.T, baseURL string, s signSpec, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(s.method, baseURL+s.target, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	hash := sha256Hex([]byte(s.body))
	if s.contentSHA {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if s.unsigned {
		hash = UnsignedPayload
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	region := s.region
	if region == "" {
		region = "us-east-1"
	}
	err = v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret},
		req, hash, s.service, region, signTime,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s.s3 })
	if err != nil {
		t.Fatal(err)
	}
	return req
}

var (
	cloudTrailSpec = signSpec{
		method: http.MethodPost,
		target: "/",
		body:   `{"TrailNameList":[]}`,
		headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1",
			"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
		},
		service: "cloudtrail",
	}
	eventsSpec = signSpec{
		method:  http.MethodPost,
		target:  "/v1/events",
		body:    `{"Records":[]}`,
		headers: map[string]string{"Content-Type": "application/json"},
		service: "cloudtrail",
	}
	auditSpec = signSpec{
		method:  http.MethodPost,
		target:  "/PutAuditEvents?channelArn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Achannel%2Fabc&externalId=ext%20id",
		body:    `{"auditEvents":[{"id":"1","eventData":"{}"}]}`,
		headers: map[string]string{"Content-Type": "application/x-amz-json-1.1"},
		service: "cloudtrail-data",
	}
	s3Spec = signSpec{
		method:     http.MethodPut,
		target:     "/my-bucket/dir%20one/r%C3%A9sum%C3%A9%20%281%29%2B%3D%26%27%21~$@.txt?x-id=PutObject",
		body:       "hello, world",
		headers:    map[string]string{"Content-Type": "text/plain", "X-Amz-Security-Token": "session-token"},
		service:    "s3",
		s3:         true,
		contentSHA: true,
	}
	specialPathSpec = signSpec{
		method:  http.MethodGet,
		target:  "/v1/events/a%20b:c%2Fd/~x?b=2&a=1&a=0&empty=&flag",
		service: "cloudtrail",
	}
	emptyGetSpec = signSpec{
		method:  http.MethodGet,
		target:  "",
		service: "cloudtrail",
		headers: map[string]string{"X-Amz-Security-Token": "  spaced   token  "},
	}
)

func TestVerifySDKSigned(t *testing.T) {
	cs := newCaptureServer(t)
	cases := []struct {
		name string
		spec signSpec
	}{
		{"cloudtrail json", cloudTrailSpec},
		{"v1 events", eventsSpec},
		{"cloudtrail-data query", auditSpec},
		{"s3 special path", s3Spec},
		{"double-encoded path and query", specialPathSpec},
		{"empty path GET", emptyGetSpec},
		{"other region", func() signSpec { s := eventsSpec; s.region = "eu-west-3"; return s }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cs.roundTrip(t, signedRequest(t, cs.URL, tc.spec, testSecret))
			res, err := Verify(got.req, got.body, goodCreds, tc.spec.service, signTime.Add(3*time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, got.req.Header.Get("Authorization"))
			}
			wantRegion := tc.spec.region
			if wantRegion == "" {
				wantRegion = "us-east-1"
			}
			want := Result{AccessKeyID: testKey, Region: wantRegion, Service: tc.spec.service, SignedAt: signTime}
			if res != want {
				t.Fatalf("Result = %+v, want %+v", res, want)
			}
		})
	}
}

// TestVerifyTampered signs a valid request, changes one thing, and checks
// the error code Verify returns.
func TestVerifyTampered(t *testing.T) {
	cs := newCaptureServer(t)
	type tc struct {
		name     string
		spec     signSpec
		secret   string                // client signing secret; default testSecret
		mutate   func(r *http.Request) // client side, after signing
		server   func(c *captured)     // server side, before Verify
		creds    Credentials           // default goodCreds
		service  string                // default spec.service
		now      time.Time             // default signTime
		wantCode string                // "" means success
		wantMsg  string                // substring of Message
		check    func(t *testing.T, r Result)
	}
	setBody := func(s string) func(r *http.Request) {
		return func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(s))
			r.ContentLength = int64(len(s))
		}
	}
	mismatch := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	cases := []tc{
		{name: "untouched", spec: cloudTrailSpec},
		{name: "body changed same length", spec: cloudTrailSpec, mutate: setBody(`{"TrailNameList":[1]`),
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "body changed other length", spec: eventsSpec, mutate: setBody(`{"Records":[{}]}`),
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "body changed with content sha header", spec: s3Spec, mutate: setBody("hello, WORLD"),
			wantCode: CodeInvalidSignature, wantMsg: "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{name: "unsigned payload leaves body uncovered", spec: func() signSpec {
			s := eventsSpec
			s.unsigned = true
			return s
		}(), mutate: setBody(`{"Records":{}}`)},
		{name: "unsigned payload header swapped in", spec: eventsSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
		}, wantCode: CodeInvalidSignature, wantMsg: "not signed: x-amz-content-sha256"},
		{name: "unsigned target added", spec: eventsSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DeleteTrail")
		}, wantCode: CodeInvalidSignature, wantMsg: "There were headers present in the request which were not signed: x-amz-target."},
		{name: "two unsigned x-amz headers added", spec: cloudTrailSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Security-Token", "token")
			r.Header.Set("x-amz-user-agent", "evil")
		}, wantCode: CodeInvalidSignature, wantMsg: "not signed: x-amz-security-token, x-amz-user-agent."},
		{name: "unsigned trace id is not x-amz", spec: cloudTrailSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")
		}},
		{name: "signed header changed", spec: cloudTrailSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DeleteTrail")
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "security token changed", spec: s3Spec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Security-Token", "other-token")
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "unsigned header added", spec: cloudTrailSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Unsigned", "whatever")
		}},
		{name: "method changed", spec: eventsSpec, mutate: func(r *http.Request) { r.Method = http.MethodPut },
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "path changed", spec: eventsSpec, mutate: func(r *http.Request) { r.URL.Path = "/v1/event" },
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "query value changed", spec: auditSpec, mutate: func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "abc", "abd", 1)
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "query re-encoded and reordered still verifies", spec: auditSpec, mutate: func(r *http.Request) {
			r.URL.RawQuery = "externalId=ext+id&channelArn=arn:aws:cloudtrail:us-east-1:123456789012:channel/abc"
		}},
		{name: "host changed", spec: eventsSpec, server: func(c *captured) { c.req.Host = "evil.example" },
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "x-amz-date changed by a second", spec: eventsSpec, mutate: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", "20261126T100001Z")
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "signature flipped", spec: eventsSpec, mutate: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "wrong secret", spec: eventsSpec, secret: "not-the-secret",
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "server has another secret", spec: cloudTrailSpec, creds: staticCreds{testKey: "rotated"},
			wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "unknown access key", spec: cloudTrailSpec, creds: staticCreds{"AKIDOTHER": testSecret},
			wantCode: CodeUnrecognizedClient, wantMsg: "The security token included in the request is invalid."},
		{name: "nil credentials", spec: cloudTrailSpec, creds: Credentials(nil),
			wantCode: CodeUnrecognizedClient},
		{name: "clock 15 min ahead ok", spec: eventsSpec, now: signTime.Add(15 * time.Minute)},
		{name: "clock 15 min behind ok", spec: eventsSpec, now: signTime.Add(-15 * time.Minute)},
		{name: "signature expired", spec: eventsSpec, now: signTime.Add(16 * time.Minute),
			wantCode: CodeInvalidSignature,
			wantMsg:  "Signature expired: 20261126T100000Z is now earlier than 20261126T100100Z (20261126T101600Z - 15 min.)"},
		{name: "signature not yet current", spec: eventsSpec, now: signTime.Add(-16 * time.Minute),
			wantCode: CodeInvalidSignature,
			wantMsg:  "Signature not yet current: 20261126T100000Z is still later than 20261126T095900Z (20261126T094400Z + 15 min.)"},
		{name: "server clock in another zone", spec: eventsSpec,
			now: signTime.In(time.FixedZone("UTC+5", 5*3600)).Add(time.Minute)},
		{name: "wrong service", spec: eventsSpec, service: "cloudtrail-data",
			wantCode: CodeInvalidSignature, wantMsg: "Credential should be scoped to correct service: 'cloudtrail-data'."},
		{name: "s3 request signed with double encoding", spec: s3Spec, mutate: func(r *http.Request) {
			// Re-sign as service s3 but without S3's single encoding:
			// Verify for s3 must then reject it.
			r.Header.Del("Authorization")
			_ = v4.NewSigner().SignHTTP(context.Background(),
				aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
				r, sha256Hex([]byte(s3Spec.body)), "s3", "us-east-1", signTime)
		}, wantCode: CodeInvalidSignature, wantMsg: mismatch},
		{name: "other region is returned", spec: func() signSpec { s := eventsSpec; s.region = "ap-south-2"; return s }(),
			check: func(t *testing.T, r Result) {
				if r.Region != "ap-south-2" {
					t.Errorf("Region = %q, want ap-south-2", r.Region)
				}
			}},
		{name: "authorization removed", spec: eventsSpec, mutate: func(r *http.Request) { r.Header.Del("Authorization") },
			wantCode: CodeMissingAuthenticationToken, wantMsg: "Request is missing Authentication Token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secret := c.secret
			if secret == "" {
				secret = testSecret
			}
			req := signedRequest(t, cs.URL, c.spec, secret)
			if c.mutate != nil {
				c.mutate(req)
			}
			got := cs.roundTrip(t, req)
			if c.server != nil {
				c.server(&got)
			}
			creds := c.creds
			if creds == nil && c.wantCode != CodeUnrecognizedClient {
				creds = goodCreds
			}
			service := c.service
			if service == "" {
				service = c.spec.service
			}
			now := c.now
			if now.IsZero() {
				now = signTime
			}
			res, err := Verify(got.req, got.body, creds, service, now)
			checkErr(t, err, c.wantCode, c.wantMsg)
			if err == nil && c.check != nil {
				c.check(t, res)
			}
		})
	}
}

// checkErr asserts that err is nil when code is "", and otherwise an *Error
// with that code whose message contains msg.
func checkErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("Verify: unexpected error %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify error = %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("Code = %s (%s), want %s", e.Code, e.Message, code)
	}
	if !strings.Contains(e.Message, msg) {
		t.Fatalf("Message = %q, want it to contain %q", e.Message, msg)
	}
	if e.Error() != e.Code+": "+e.Message {
		t.Fatalf("Error() = %q", e.Error())
	}
}

// TestVerifyIncomplete rewrites the Authorization and X-Amz-Date headers of
// a captured request into malformed shapes.
func TestVerifyIncomplete(t *testing.T) {
	cs := newCaptureServer(t)
	base := cs.roundTrip(t, signedRequest(t, cs.URL, eventsSpec, testSecret))
	sig := strings.Repeat("ab", 32)
	cred := "Credential=" + testKey + "/20261126/us-east-1/cloudtrail/aws4_request"
	signed := "SignedHeaders=content-length;content-type;host;x-amz-date"
	cases := []struct {
		name, auth, date string
		extra            map[string]string
		wantMsg          string
	}{
		{name: "wrong algorithm", auth: "AWS4-HMAC-SHA512 " + cred + ", " + signed + ", Signature=" + sig, wantMsg: "Unsupported Authorization algorithm"},
		{name: "basic auth", auth: "Basic dXNlcjpwYXNz", wantMsg: "Unsupported"},
		{name: "algorithm only", auth: "AWS4-HMAC-SHA256", wantMsg: "requires 'Credential' parameter"},
		{name: "missing credential", auth: "AWS4-HMAC-SHA256 " + signed + ", Signature=" + sig, wantMsg: "requires 'Credential' parameter"},
		{name: "missing signed headers", auth: "AWS4-HMAC-SHA256 " + cred + ", Signature=" + sig, wantMsg: "requires 'SignedHeaders' parameter"},
		{name: "missing signature", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed, wantMsg: "requires 'Signature' parameter"},
		{name: "empty signature", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=", wantMsg: "requires 'Signature' parameter"},
		{name: "part without =", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature", wantMsg: "key=value"},
		{name: "unknown part", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=" + sig + ", Foo=bar", wantMsg: "unknown part"},
		{name: "duplicate part", auth: "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + signed + ", Signature=" + sig, wantMsg: "repeats"},
		{name: "short signature", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=abcd", wantMsg: "64 hexadecimal"},
		{name: "non-hex signature", auth: "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=" + strings.Repeat("zz", 32), wantMsg: "64 hexadecimal"},
		{name: "scope too short", auth: "AWS4-HMAC-SHA256 Credential=" + testKey + "/20261126/us-east-1/aws4_request, " + signed + ", Signature=" + sig, wantMsg: "must have the form"},
		{name: "scope bad terminator", auth: "AWS4-HMAC-SHA256 Credential=" + testKey + "/20261126/us-east-1/cloudtrail/aws4, " + signed + ", Signature=" + sig, wantMsg: "must have the form"},
		{name: "scope empty key", auth: "AWS4-HMAC-SHA256 Credential=/20261126/us-east-1/cloudtrail/aws4_request, " + signed + ", Signature=" + sig, wantMsg: "must have the form"},
		{name: "scope empty region", auth: "AWS4-HMAC-SHA256 Credential=" + testKey + "/20261126//cloudtrail/aws4_request, " + signed + ", Signature=" + sig, wantMsg: "must have the form"},
		{name: "scope bad date", auth: "AWS4-HMAC-SHA256 Credential=" + testKey + "/2026-11-26/us-east-1/cloudtrail/aws4_request, " + signed + ", Signature=" + sig, wantMsg: "yyyymmdd"},
		{name: "scope impossible date", auth: "AWS4-HMAC-SHA256 Credential=" + testKey + "/20261326/us-east-1/cloudtrail/aws4_request, " + signed + ", Signature=" + sig, wantMsg: "yyyymmdd"},
		{name: "unsorted signed headers", auth: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;content-type;x-amz-date, Signature=" + sig, wantMsg: "sorted"},
		{name: "upper-case signed header", auth: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, Signature=" + sig, wantMsg: "lower-case"},
		{name: "empty signed header name", auth: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + sig, wantMsg: "lower-case"},
		{name: "host not signed", auth: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=content-type;x-amz-date, Signature=" + sig, wantMsg: "must include 'host'"},
		{name: "signed header absent", auth: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=" + sig, wantMsg: `"x-amz-security-token"`},
		{name: "missing x-amz-date", date: "-", wantMsg: "X-Amz-Date"},
		{name: "unparseable x-amz-date", date: "2026-11-26T10:00:00Z", wantMsg: "yyyymmddThhmmssZ"},
		{name: "x-amz-date bad hour", date: "20261126T250000Z", wantMsg: "yyyymmddThhmmssZ"},
		{name: "scope date differs", date: "20261127T000100Z", wantMsg: "does not match"},
		{name: "two authorization headers", extra: map[string]string{"authorization": "second"}, wantMsg: "exactly one"},
		{name: "bad query escape", extra: map[string]string{"?": "a=%zz"}, wantMsg: "percent-encoded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base.req.Clone(context.Background())
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			switch c.date {
			case "":
			case "-":
				r.Header.Del("X-Amz-Date")
			default:
				r.Header.Set("X-Amz-Date", c.date)
			}
			for k, v := range c.extra {
				if k == "?" {
					r.URL.RawQuery = v
					continue
				}
				r.Header[k] = append(r.Header[k], v) // non-canonical key on purpose
			}
			_, err := Verify(r, base.body, goodCreds, "cloudtrail", signTime)
			checkErr(t, err, CodeIncompleteSignature, c.wantMsg)
		})
	}
}

func TestVerifyMissingToken(t *testing.T) {
	cases := map[string]*http.Request{
		"nil request": nil,
		"no header":   httptest.NewRequest(http.MethodPost, "/", nil),
		"empty header": func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", " ")
			return r
		}(),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(r, nil, goodCreds, "cloudtrail", signTime)
			checkErr(t, err, CodeMissingAuthenticationToken, "Request is missing Authentication Token")
		})
	}
}

// TestVerifyKnownAnswer checks Verify against the "get-vanilla" vector of
// AWS's published SigV4 test suite, independent of aws-sdk-go-v2.
func TestVerifyKnownAnswer(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "example.amazonaws.com"
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	now := time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC)
	res, err := Verify(r, nil, goodCreds, "service", now)
	if err != nil {
		t.Fatalf("get-vanilla: %v", err)
	}
	if res.Region != "us-east-1" || res.Service != "service" || res.AccessKeyID != "AKIDEXAMPLE" {
		t.Fatalf("Result = %+v", res)
	}
}

// TestVerifyContentLengthSigned covers a hand-built request whose
// Content-Length lives only in r.ContentLength, as on a server.
func TestVerifyContentLengthSigned(t *testing.T) {
	body := []byte(`{"Records":[]}`)
	client, _ := http.NewRequest(http.MethodPost, "http://cairn.local:8080/v1/events", bytes.NewReader(body))
	if err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
		client, sha256Hex(body), "cloudtrail", "us-east-1", signTime); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(client.Header.Get("Authorization"), "content-length;host") {
		t.Fatalf("expected content-length to be signed: %s", client.Header.Get("Authorization"))
	}
	server := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
	server.Host = "cairn.local:8080"
	server.Header = client.Header.Clone()
	if _, err := Verify(server, body, goodCreds, "cloudtrail", signTime); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A chunked request (ContentLength -1) falls back to len(body).
	server.ContentLength = -1
	if _, err := Verify(server, body, goodCreds, "cloudtrail", signTime); err != nil {
		t.Fatalf("Verify with ContentLength -1: %v", err)
	}
	server.ContentLength = 3
	_, err := Verify(server, body, goodCreds, "cloudtrail", signTime)
	checkErr(t, err, CodeInvalidSignature, "does not match")
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"", ""},
		{"a=1", "a=1"},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"flag", "flag="},
		{"empty=&&x=", "empty=&x="},
		{"channelArn=arn:aws:cloudtrail:us-east-1:123456789012:channel/abc",
			"channelArn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Achannel%2Fabc"},
		{"k=a+b%20c%2B~-_.", "k=a%20b%20c%2B~-_."},
		{"%C3%A9=%e2%82%ac", "%C3%A9=%E2%82%AC"},
		{"x=a=b", "x=a%3Db"},
		{"a;b=c", "a%3Bb=c"},
	}
	for _, c := range cases {
		got, err := canonicalQuery(c.raw)
		if err != nil || got != c.want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
	if _, err := canonicalQuery("a=%g0"); err == nil {
		t.Error("canonicalQuery accepted a bad escape")
	}
}

func TestCanonicalURI(t *testing.T) {
	cases := []struct{ target, service, want string }{
		{"/", "cloudtrail", "/"},
		{"/v1/events", "cloudtrail", "/v1/events"},
		{"/PutAuditEvents", "cloudtrail-data", "/PutAuditEvents"},
		{"/a%20b/c:d", "cloudtrail", "/a%2520b/c%3Ad"},
		{"/a%20b/c:d", "s3", "/a%20b/c:d"},
		{"/double//slash/./x", "cloudtrail", "/double//slash/./x"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, c.target, nil)
		if got := canonicalURI(r.URL, c.service); got != c.want {
			t.Errorf("canonicalURI(%q, %s) = %q, want %q", c.target, c.service, got, c.want)
		}
	}
	if got := canonicalURI(nil, "cloudtrail"); got != "/" {
		t.Errorf("canonicalURI(nil) = %q", got)
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "a"},
		{[]string{"  a   b  c "}, "a b c"},
		{[]string{"x", " y ", "z  z"}, "x,y,z z"},
		{[]string{""}, ""},
	}
	for _, c := range cases {
		if got := canonicalHeaderValue(c.in); got != c.want {
			t.Errorf("canonicalHeaderValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
