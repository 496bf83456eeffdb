package e2e

// Issue 14, items 7, 9 and 10 through the real binaries: cairn proxy in
// front of moto (which checks no signature, like many services behind a
// proxy) and of a plain HTTP API, cairn serve receiving what it records.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// pxUnverified is how a call whose signature was not verified is
// recorded: the key it claimed, nobody named.
func pxUnverified(key string) map[string]any {
	return map[string]any{
		"userIdentity":                          map[string]any{"type": "Unknown", "accessKeyId": key},
		"additionalEventData.SignatureVerified": false,
	}
}

// pxHTTPDo sends a request and drains the answer.
func pxHTTPDo(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestProxySignatureVerified (issue 14, item 9): a call through the proxy
// is recorded as a named IAM user only when its signature is that user's;
// a forged Authorization header or presigned URL carrying a known key id
// (accepted by an upstream that checks nothing) is recorded as an
// unverified Unknown caller, and ingest does not complete an Unknown
// identity from a bare access key id any more.
func TestProxySignatureVerified(t *testing.T) {
	t.Parallel()
	moto := buckettest.StartMoto(t)
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: moto, Server: srv.URL, SpoolDir: t.TempDir()})
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	ctx := context.Background()
	id := pxSuffix()
	sqsAs := func(key, secret string) *sqs.Client {
		return sqs.New(sqs.Options{Region: "us-west-2", BaseEndpoint: aws.String(px.URL),
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), RetryMaxAttempts: 1})
	}
	s3As := func(key, secret string) *s3.Client {
		return s3.New(s3.Options{Region: "us-west-2", BaseEndpoint: aws.String(px.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), RetryMaxAttempts: 1})
	}
	bucket := "sig-bucket-" + id

	// Correctly signed SDK calls: JSON protocol with a body (SQS), S3 with
	// x-amz-content-sha256, an S3 presigned URL.
	if _, err := sqsAs(AdminKey, AdminSecret).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sig-ok-" + id)}); err != nil {
		t.Fatalf("CreateQueue as alice: %v", err)
	}
	if _, err := s3As(AdminKey, AdminSecret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintUsWest2}}); err != nil {
		t.Fatalf("CreateBucket as alice: %v", err)
	}
	presigned, err := s3.NewPresignClient(s3As(AdminKey, AdminSecret)).PresignHeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(presigned.Method, presigned.URL, nil)
	if code := pxHTTPDo(t, req); code != http.StatusOK {
		t.Fatalf("presigned HeadBucket: HTTP %d", code)
	}

	// alice's key id with a wrong secret: the upstream does not care.
	if _, err := sqsAs(AdminKey, "not-alices-secret").CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sig-badsecret-" + id)}); err != nil {
		t.Fatalf("CreateQueue with a wrong secret (moto checks none): %v", err)
	}
	// A hand-made Authorization header naming alice's key.
	body := `{"QueueName":"sig-forged-` + id + `"}`
	req, _ = http.NewRequest(http.MethodPost, px.URL+"/", strings.NewReader(body))
	now := time.Now().UTC()
	req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+AdminKey+"/"+now.Format("20060102")+
		"/us-west-2/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("ab", 32))
	if code := pxHTTPDo(t, req); code != http.StatusOK {
		t.Fatalf("forged CreateQueue: HTTP %d", code)
	}
	// A correctly signed request whose body was changed on the way.
	req, _ = http.NewRequest(http.MethodPost, px.URL+"/", strings.NewReader(`{"QueueName":"sig-signed-`+id+`"}`))
	req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256([]byte(`{"QueueName":"sig-signed-` + id + `"}`))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: AdminKey, SecretAccessKey: AdminSecret}, req,
		hex.EncodeToString(sum[:]), "sqs", "us-west-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	tampered := `{"QueueName":"sig-tamper-` + id + `"}`
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(tampered)), int64(len(tampered))
	if code := pxHTTPDo(t, req); code != http.StatusOK {
		t.Fatalf("tampered CreateQueue: HTTP %d", code)
	}
	// The presigned URL with another signature, and a forged Signature
	// Version 2 presigned URL.
	u, _ := url.Parse(presigned.URL)
	q := u.Query()
	q.Set("X-Amz-Signature", strings.Repeat("cd", 32))
	u.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodHead, u.String(), nil)
	pxHTTPDo(t, req)
	v2 := fmt.Sprintf("%s/%s?AWSAccessKeyId=%s&Expires=%d&Signature=%s", px.URL, bucket, AdminKey,
		time.Now().Add(time.Hour).Unix(), url.QueryEscape("bm90IGFsaWNlcyBzaWduYXR1cmU="))
	req, _ = http.NewRequest(http.MethodHead, v2, nil)
	pxHTTPDo(t, req)

	const wait = 30 * time.Second
	one := func(t *testing.T, name string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		evs := pxWaitLookup(t, west, name, wait, match)
		if len(evs) != 1 {
			t.Fatalf("%d %s events, want 1\nproxy log:\n%s", len(evs), name, dlTail(px.Log(), 20))
		}
		if raw := aws.ToString(evs[0].CloudTrailEvent); strings.Contains(raw, "cairnSignatureProof") || strings.Contains(raw, "stringToSign") {
			t.Errorf("%s: the stored record holds the signature proof:\n%s", name, raw)
		}
		return evs[0].Record
	}
	verified := func(m map[string]any) map[string]any {
		return pxMerge(pxAlice(), map[string]any{"additionalEventData.SignatureVerified": true}, m)
	}
	t.Run("a correctly signed SDK call is alice's, verified", func(t *testing.T) {
		pxExpect(t, "CreateQueue", one(t, "CreateQueue", pxParam("queueName", "sig-ok-"+id)), verified(map[string]any{
			"additionalEventData.SignatureVersion": "SigV4", "additionalEventData.AuthenticationMethod": "AuthHeader"}))
		pxExpect(t, "CreateBucket", one(t, "CreateBucket", pxParam("bucketName", bucket)), verified(nil))
		pxExpect(t, "HeadBucket (presigned)", one(t, "HeadBucket", func(r map[string]any) bool {
			return pxStr(r, "requestParameters.bucketName") == bucket && pxGet(r, "userIdentity.userName") == "alice"
		}), verified(map[string]any{"additionalEventData.AuthenticationMethod": "QueryString"}))
	})
	t.Run("a wrong secret is not alice", func(t *testing.T) {
		pxExpect(t, "CreateQueue", one(t, "CreateQueue", pxParam("queueName", "sig-badsecret-"+id)), pxUnverified(AdminKey))
	})
	t.Run("a forged Authorization header is not alice", func(t *testing.T) {
		pxExpect(t, "CreateQueue", one(t, "CreateQueue", pxParam("queueName", "sig-forged-"+id)), pxUnverified(AdminKey))
	})
	t.Run("a body changed after signing is not alice", func(t *testing.T) {
		pxExpect(t, "CreateQueue", one(t, "CreateQueue", pxParam("queueName", "sig-tamper-"+id)), pxUnverified(AdminKey))
	})
	t.Run("forged presigned URLs are not alice", func(t *testing.T) {
		forged := func(r map[string]any) bool {
			return pxStr(r, "requestParameters.bucketName") == bucket && pxGet(r, "userIdentity.userName") == nil
		}
		// SigV4 names its region; SigV2 names none and is recorded in the
		// proxy's --region (us-east-1).
		for _, c := range []struct {
			version string
			client  *cloudtrail.Client
		}{{"SigV4", west}, {"SigV2", srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")}} {
			evs := pxWaitLookup(t, c.client, "HeadBucket", wait, forged)
			if len(evs) != 1 {
				t.Fatalf("%d unverified %s HeadBucket events, want 1", len(evs), c.version)
			}
			pxExpect(t, "HeadBucket (forged "+c.version+" presigned)", evs[0].Record, pxMerge(pxUnverified(AdminKey),
				map[string]any{"additionalEventData.SignatureVersion": c.version, "additionalEventData.AuthenticationMethod": "QueryString"}))
		}
	})
	t.Run("alice's history holds only her verified calls", func(t *testing.T) {
		out, err := west.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
			{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("alice")}}, MaxResults: aws.Int32(50)})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			raw := aws.ToString(e.CloudTrailEvent)
			for _, bad := range []string{"sig-badsecret-", "sig-forged-", "sig-tamper-"} {
				if strings.Contains(raw, bad+id) {
					t.Errorf("a call with a bad signature is in alice's history: %s", raw)
				}
			}
		}
	})

	// Ingest: a producer naming alice's key without a proof, or with a
	// made-up one, does not make her the caller.
	rec := func(name string, extra map[string]any) map[string]any {
		return Record(name, "sqs.amazonaws.com", "us-west-2", time.Now(), pxMerge(map[string]any{
			"userIdentity": map[string]any{"type": "Unknown", "accessKeyId": AdminKey}}, extra))
	}
	res := srv.Ingest(t, IngestKey, IngestSecret,
		rec("NoProof"+id, nil),
		rec("FakeProof"+id, map[string]any{"cairnSignatureProof": map[string]any{"signatureVersion": "SigV4",
			"authenticationMethod": "AuthHeader", "accessKeyId": AdminKey,
			"stringToSign":    "AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-west-2/sqs/aws4_request\n" + strings.Repeat("0", 64),
			"signatureSha256": strings.Repeat("1", 64)}}))
	if res.Accepted != 2 {
		t.Fatalf("ingest: %+v", res)
	}
	t.Run("ingest does not complete an identity from a bare access key", func(t *testing.T) {
		r := one(t, "NoProof"+id, nil)
		pxExpect(t, "NoProof", r, map[string]any{"userIdentity": map[string]any{"type": "Unknown", "accessKeyId": AdminKey}})
		r = one(t, "FakeProof"+id, nil)
		pxExpect(t, "FakeProof", r, pxUnverified(AdminKey))
	})
}

// TestProxyPlainHTTPSecretsHidden (issue 14, item 7): through the binary,
// a plain HTTP API's secrets in every spelling (query, JSON body, a {token}
// path parameter) are hidden in event history, resources included.
func TestProxyPlainHTTPSecretsHidden(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"session":"resp-session-secret","apiKey":"resp-apikey-secret"}`)
	}))
	t.Cleanup(api.Close)
	srv := Start(t, Options{Config: pxConfig})
	px := startProxy(t, pxOptions{Upstream: api.URL, Server: srv.URL, SpoolDir: t.TempDir(), Config: `
http:
  event_source: accounts.example.internal
  identity: {header: X-User}
  routes:
    - {method: POST, path: /v1/login, operation: Login}
    - {method: POST, path: "/v1/reset/{token}", operation: ResetPassword, resource_type: "Example::Accounts::Reset"}
`})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := pxSuffix()
	names := []string{"api-key", "api_key", "apiKey", "APIKEY", "x-api-key", "private-key", "passwd", "pwd", "auth",
		"session", "sig", "access_key", "accessKey"}
	q := url.Values{"who": {id}}
	body := map[string]any{"user": "carol", "RoleSessionName": "kept-" + id}
	for _, n := range names {
		q.Set(n, "q-secret-"+n)
		body[n] = "b-secret-" + n
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, px.URL+"/v1/login?"+q.Encode(), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User", "carol")
	pxHTTPDo(t, req)
	req, _ = http.NewRequest(http.MethodPost, px.URL+"/v1/reset/path-token-"+id+"?who="+id, strings.NewReader(`{}`))
	pxHTTPDo(t, req)

	const H = "HIDDEN_DUE_TO_SECURITY_REASONS"
	evs := pxWaitLookup(t, east, "Login", 30*time.Second, pxParam("who", id))
	if len(evs) != 1 {
		t.Fatalf("%d Login events, want 1\nproxy log:\n%s", len(evs), dlTail(px.Log(), 20))
	}
	raw := aws.ToString(evs[0].CloudTrailEvent)
	for _, n := range names {
		if v := pxGet(evs[0].Record, "requestParameters."+n); v != H {
			t.Errorf("requestParameters.%s = %v, want hidden", n, v)
		}
	}
	if strings.Contains(raw, "-secret-") {
		t.Errorf("the Login event holds a secret:\n%s", raw)
	}
	pxExpect(t, "Login", evs[0].Record, map[string]any{"requestParameters.RoleSessionName": "kept-" + id,
		"requestParameters.user": "carol", "responseElements.ok": true, "responseElements.session": H, "responseElements.apiKey": H})

	evs = pxWaitLookup(t, east, "ResetPassword", 30*time.Second, pxParam("who", id))
	if len(evs) != 1 {
		t.Fatalf("%d ResetPassword events, want 1", len(evs))
	}
	if raw := aws.ToString(evs[0].CloudTrailEvent); strings.Contains(raw, "path-token-"+id) {
		t.Errorf("the ResetPassword event holds the path's token:\n%s", raw)
	}
	pxExpect(t, "ResetPassword", evs[0].Record, map[string]any{"requestParameters.token": H, "resources": nil})
	for _, r := range evs[0].Resources {
		if strings.Contains(aws.ToString(r.ResourceName), "path-token") {
			t.Errorf("LookupEvents lists the token as a resource: %s", aws.ToString(r.ResourceName))
		}
	}
}

// TestProxyTrustedProxies (issue 14, item 10): with --trust-forwarded the
// caller is the hop the trusted proxies appended to X-Forwarded-For, not
// what the client put at its left; --trusted-proxies counts them.
func TestProxyTrustedProxies(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(api.Close)
	srv := Start(t, Options{Config: pxConfig})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	cfg := "http:\n  event_source: xff.example.internal\n  routes:\n    - {method: GET, path: /v1/ping, operation: Ping}\n"
	id := pxSuffix()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--trust-forwarded"}, "10.0.0.9"},
		{[]string{"--trust-forwarded", "--trusted-proxies", "2"}, "198.51.100.20"},
		{nil, "127.0.0.1"},
	} {
		px := startProxy(t, pxOptions{Upstream: api.URL, Server: srv.URL, SpoolDir: t.TempDir(), Config: cfg, Args: c.args})
		req, _ := http.NewRequest(http.MethodGet, px.URL+"/v1/ping?case="+id+strings.Join(c.args, ""), nil)
		// The client wrote 1.2.3.4; a proxy saw 198.51.100.20, the
		// nearest one 10.0.0.9.
		req.Header.Set("X-Forwarded-For", "1.2.3.4, 198.51.100.20, 10.0.0.9")
		pxHTTPDo(t, req)
		evs := pxWaitLookup(t, east, "Ping", 30*time.Second, pxParam("case", id+strings.Join(c.args, "")))
		if len(evs) != 1 {
			t.Fatalf("%v: %d Ping events, want 1", c.args, len(evs))
		}
		if got := pxStr(evs[0].Record, "sourceIPAddress"); got != c.want {
			t.Errorf("cairn proxy %v, X-Forwarded-For 1.2.3.4, 198.51.100.20, 10.0.0.9: sourceIPAddress %s, want %s", c.args, got, c.want)
		}
	}
	for _, args := range [][]string{{"--trusted-proxies", "2"}, {"--trust-forwarded", "--trusted-proxies", "0"}} {
		res := runCommand(t, []string{"CAIRN_ACCESS_KEY_ID=" + IngestKey, "CAIRN_SECRET_ACCESS_KEY=" + IngestSecret},
			Binary(t), append([]string{"proxy", "--upstream", api.URL, "--server", srv.URL, "--spool-dir", t.TempDir()}, args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, "--trusted-proxies") {
			t.Errorf("cairn proxy %v: exit %d, stderr %q; want exit 2 naming --trusted-proxies", args, res.code, res.stderr)
		}
	}
}
