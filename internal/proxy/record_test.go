package proxy

// What the proxy records of AWS-style calls: the caller from the signature
// (header or presigned query, SigV4 or SigV2), the region from its scope,
// the global region for global services, the proxy's account; and never a
// secret: no Authorization header, signature, session token, password,
// secret key or customer key anywhere in the event.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// presign returns a SigV4 presigned URL of method base+path for service
// and region (with token, X-Amz-Security-Token is in the query).
func presign(t testing.TB, method, rawURL, service, region, token string) string {
	t.Helper()
	req, _ := http.NewRequest(method, rawURL, nil)
	u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).PresignHTTP(
		context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: token},
		req, "UNSIGNED-PAYLOAD", service, region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// cannedUpstream answers every request with status, content type and body.
func cannedUpstream(t testing.TB, status int, contentType, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("X-Amzn-RequestId", "req-canned-1")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func do(t testing.TB, req *http.Request) {
	t.Helper()
	resp, err := plainClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestProxyIdentityAndRegion(t *testing.T) {
	upstream := cannedUpstream(t, http.StatusOK, "", "")
	type want struct {
		key, region, name, source string
	}
	cases := []struct {
		name string
		req  func(front string) *http.Request
		want want
	}{{
		name: "SigV4 header, JSON protocol",
		req: func(front string) *http.Request {
			body := []byte(`{"QueueName":"jobs"}`)
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			sign(t, r, sha(body), "sqs", "us-west-2", "")
			return r
		},
		want: want{testKey, "us-west-2", "CreateQueue", "sqs.amazonaws.com"},
	}, {
		name: "SigV4 header, global service",
		req: func(front string) *http.Request {
			body := []byte("Action=ListUsers&Version=2010-05-08")
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			sign(t, r, sha(body), "iam", "us-west-2", "")
			return r
		},
		want: want{testKey, "ap-south-1", "ListUsers", "iam.amazonaws.com"}, // GlobalRegion
	}, {
		name: "SigV4 presigned query",
		req: func(front string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, presign(t, http.MethodGet, front+"/photos/cat.jpg", "s3", "us-west-2", ""), nil)
			return r
		},
		want: want{testKey, "us-west-2", "GetObject", "s3.amazonaws.com"},
	}, {
		// Signature Version 2 in the header ("AWS AKID:signature") is S3's.
		name: "SigV2 header",
		req: func(front string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, front+"/photos/cat.jpg", nil)
			r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			r.Header.Set("Authorization", "AWS "+testKey+":c2lnbmF0dXJldjJvZmhlYWRlcg==")
			return r
		},
		want: want{testKey, "eu-west-1", "GetObject", "s3.amazonaws.com"}, // Region: SigV2 names none
	}, {
		// A SigV2 presigned URL, what boto3's generate_presigned_url gives
		// for S3 by default: AWSAccessKeyId, Expires, Signature.
		name: "SigV2 presigned query",
		req: func(front string) *http.Request {
			q := url.Values{"AWSAccessKeyId": {testKey}, "Expires": {"1999999999"}, "Signature": {"c2lnbmF0dXJldjJxdWVyeQ=="}}
			r, _ := http.NewRequest(http.MethodGet, front+"/photos/cat.jpg?"+q.Encode(), nil)
			return r
		},
		want: want{testKey, "eu-west-1", "GetObject", "s3.amazonaws.com"},
	}, {
		name: "SigV2 presigned query, virtual-hosted",
		req: func(front string) *http.Request {
			q := url.Values{"AWSAccessKeyId": {testKey}, "Expires": {"1999999999"}, "Signature": {"c2lnbmF0dXJldjJxdWVyeQ=="}}
			r, _ := http.NewRequest(http.MethodGet, front+"/cat.jpg?"+q.Encode(), nil)
			r.Host = "photos.s3.amazonaws.com"
			return r
		},
		want: want{testKey, "eu-west-1", "GetObject", "s3.amazonaws.com"},
	}, {
		name: "unsigned",
		req: func(front string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, front+"/public/readme.txt", nil)
			return r
		},
		want: want{"", "eu-west-1", "", ""},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, upstream.URL, rec, func(o *Options) {
				o.Account, o.Region, o.GlobalRegion = "222222222222", "eu-west-1", "ap-south-1"
			})
			do(t, c.req(front))
			e := rec.wait(t, 1)[0]
			id, _ := e["userIdentity"].(map[string]any)
			if id["type"] != "Unknown" {
				t.Errorf("userIdentity.type = %v, want Unknown (the server completes known keys)", id["type"])
			}
			if got, _ := id["accessKeyId"].(string); got != c.want.key {
				t.Errorf("userIdentity.accessKeyId = %q, want %q", got, c.want.key)
			}
			if e["recipientAccountId"] != "222222222222" {
				t.Errorf("recipientAccountId = %v, want the proxy's account 222222222222", e["recipientAccountId"])
			}
			if e["awsRegion"] != c.want.region {
				t.Errorf("awsRegion = %v, want %s", e["awsRegion"], c.want.region)
			}
			if c.want.name != "" && (e["eventName"] != c.want.name || e["eventSource"] != c.want.source) {
				t.Errorf("event %v from %v, want %s from %s", e["eventName"], e["eventSource"], c.want.name, c.want.source)
			}
			if e["sourceIPAddress"] != "127.0.0.1" {
				t.Errorf("sourceIPAddress = %v, want 127.0.0.1", e["sourceIPAddress"])
			}
		})
	}
}

// TestProxyForwardedFor: the caller's address comes from X-Forwarded-For
// only when the proxy is told to trust it, and then from the hop the
// trusted proxies wrote (counted from the right), never from the entries
// the client sent itself.
func TestProxyForwardedFor(t *testing.T) {
	upstream := cannedUpstream(t, http.StatusOK, "", "")
	for _, c := range []struct {
		name    string
		trust   bool
		proxies int
		xff     []string // X-Forwarded-For headers, in order
		want    string
	}{
		{"not trusted", false, 0, []string{"203.0.113.7, 10.0.0.1"}, "127.0.0.1"},
		// The client sent "1.2.3.4"; the one trusted proxy appended the
		// address it was connected from.
		{"one trusted proxy: the hop it appended", true, 1, []string{"1.2.3.4, 10.0.0.9"}, "10.0.0.9"},
		{"the default is one trusted proxy", true, 0, []string{"1.2.3.4, 10.0.0.9"}, "10.0.0.9"},
		{"two trusted proxies", true, 2, []string{"1.2.3.4, 198.51.100.20, 10.0.0.9"}, "198.51.100.20"},
		{"a spoofed chain: left-most entries ignored", true, 1, []string{"6.6.6.6, 7.7.7.7, 203.0.113.50"}, "203.0.113.50"},
		{"several headers count in order", true, 1, []string{"6.6.6.6", "203.0.113.51"}, "203.0.113.51"},
		{"fewer hops than proxies: the left-most", true, 3, []string{"203.0.113.52, 10.0.0.9"}, "203.0.113.52"},
		{"an address with a port", true, 1, []string{"6.6.6.6, [2001:db8::7]:4711"}, "2001:db8::7"},
		{"garbage in the trusted hop: the connection", true, 1, []string{"1.2.3.4, not-an-ip"}, "127.0.0.1"},
		{"no header: the connection", true, 1, nil, "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, upstream.URL, rec, func(o *Options) { o.TrustForwarded, o.TrustedProxies = c.trust, c.proxies })
			r, _ := http.NewRequest(http.MethodGet, front+"/b/k", nil)
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			do(t, r)
			if got := rec.wait(t, 1)[0]["sourceIPAddress"]; got != c.want {
				t.Errorf("X-Forwarded-For %q, %d trusted proxies: sourceIPAddress %v, want %s", c.xff, c.proxies, got, c.want)
			}
		})
	}
}

// secretCase is one call carrying secrets, and what the event must show.
type secretCase struct {
	name     string
	upstream *httptest.Server
	req      func(front string) (*http.Request, []string) // the request and its secrets
	check    func(t *testing.T, e map[string]any)
}

func TestProxyRecordsNoSecrets(t *testing.T) {
	const password = "Sup3r-S3cret-Passw0rd!"
	const newSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYNEWSECRET1"
	const roleToken = "IQoJb3JpZ2luX2VjEROLESESSIONTOKEN0001"
	customerKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	keyMD5 := md5.Sum(bytes.Repeat([]byte{7}, 32))

	signature := func(r *http.Request) string {
		_, sig, _ := strings.Cut(r.Header.Get("Authorization"), "Signature=")
		return sig
	}
	hidden := func(path ...string) func(t *testing.T, e map[string]any) {
		return func(t *testing.T, e map[string]any) {
			t.Helper()
			var v any = e
			for _, p := range path {
				m, _ := v.(map[string]any)
				v = m[p]
			}
			if v != "HIDDEN_DUE_TO_SECURITY_REASONS" {
				t.Errorf("%s = %v, want HIDDEN_DUE_TO_SECURITY_REASONS", strings.Join(path, "."), v)
			}
		}
	}
	cases := []secretCase{{
		name:     "IAM CreateLoginProfile with a session token",
		upstream: cannedUpstream(t, 200, "text/xml", `<CreateLoginProfileResponse><CreateLoginProfileResult><LoginProfile><UserName>bob</UserName><CreateDate>2026-01-01T00:00:00Z</CreateDate></LoginProfile></CreateLoginProfileResult></CreateLoginProfileResponse>`),
		req: func(front string) (*http.Request, []string) {
			body := []byte(url.Values{"Action": {"CreateLoginProfile"}, "Version": {"2010-05-08"}, "UserName": {"bob"}, "Password": {password}}.Encode())
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			sign(t, r, sha(body), "iam", "us-east-1", testToken)
			return r, []string{password, url.QueryEscape(password), testToken, signature(r)}
		},
		check: hidden("requestParameters", "password"),
	}, {
		name:     "IAM CreateAccessKey answers a secret key",
		upstream: cannedUpstream(t, 200, "text/xml", `<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey><UserName>bob</UserName><AccessKeyId>AKIANEWKEY0000000001</AccessKeyId><Status>Active</Status><SecretAccessKey>`+newSecret+`</SecretAccessKey><CreateDate>2026-01-01T00:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></CreateAccessKeyResponse>`),
		req: func(front string) (*http.Request, []string) {
			body := []byte("Action=CreateAccessKey&Version=2010-05-08&UserName=bob")
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			sign(t, r, sha(body), "iam", "us-east-1", "")
			return r, []string{newSecret, signature(r)}
		},
		check: func(t *testing.T, e map[string]any) {
			if !strings.Contains(mustJSON(e["responseElements"]), "AKIANEWKEY0000000001") {
				t.Errorf("responseElements %s lack the new key's id", mustJSON(e["responseElements"]))
			}
		},
	}, {
		name:     "STS AssumeRole answers credentials",
		upstream: cannedUpstream(t, 200, "text/xml", `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE000000000001</AccessKeyId><SecretAccessKey>`+newSecret+`</SecretAccessKey><SessionToken>`+roleToken+`</SessionToken><Expiration>2026-01-01T01:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`),
		req: func(front string) (*http.Request, []string) {
			body := []byte("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fr&RoleSessionName=s")
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			sign(t, r, sha(body), "sts", "us-east-1", testToken)
			return r, []string{newSecret, roleToken, testToken, signature(r)}
		},
	}, {
		name:     "Secrets Manager CreateSecret (JSON protocol)",
		upstream: cannedUpstream(t, 200, "application/x-amz-json-1.1", `{"ARN":"arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf","Name":"db"}`),
		req: func(front string) (*http.Request, []string) {
			body, _ := json.Marshal(map[string]any{"Name": "db", "SecretString": password})
			r, _ := http.NewRequest(http.MethodPost, front+"/", bytes.NewReader(body))
			r.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			sign(t, r, sha(body), "secretsmanager", "us-east-1", testToken)
			return r, []string{password, testToken, signature(r)}
		},
		check: hidden("requestParameters", "secretString"),
	}, {
		name:     "S3 PutObject with a customer-provided key (SSE-C)",
		upstream: cannedUpstream(t, 200, "", ""),
		req: func(front string) (*http.Request, []string) {
			body := []byte("encrypted content")
			r, _ := http.NewRequest(http.MethodPut, front+"/vault/doc.txt", bytes.NewReader(body))
			r.Header.Set("X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256")
			r.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key", customerKey)
			r.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key-Md5", base64.StdEncoding.EncodeToString(keyMD5[:]))
			sign(t, r, sha(body), "s3", "us-east-1", testToken)
			return r, []string{customerKey, testToken, signature(r)}
		},
	}, {
		name:     "S3 presigned GET with a session token",
		upstream: cannedUpstream(t, 200, "", "object"),
		req: func(front string) (*http.Request, []string) {
			u := presign(t, http.MethodGet, front+"/vault/doc.txt", "s3", "us-east-1", testToken)
			pu, _ := url.Parse(u)
			r, _ := http.NewRequest(http.MethodGet, u, nil)
			return r, []string{testToken, url.QueryEscape(testToken), pu.Query().Get("X-Amz-Signature")}
		},
	}, {
		name:     "SigV2 header",
		upstream: cannedUpstream(t, 200, "", "object"),
		req: func(front string) (*http.Request, []string) {
			r, _ := http.NewRequest(http.MethodGet, front+"/vault/doc.txt", nil)
			r.Header.Set("Authorization", "AWS "+testKey+":c2lnbmF0dXJldjJvZmhlYWRlcg==")
			r.Header.Set("X-Amz-Security-Token", testToken)
			return r, []string{"c2lnbmF0dXJldjJvZmhlYWRlcg==", testToken}
		},
	}, {
		name:     "SigV2 presigned query",
		upstream: cannedUpstream(t, 200, "", "object"),
		req: func(front string) (*http.Request, []string) {
			q := url.Values{"AWSAccessKeyId": {testKey}, "Expires": {"1999999999"}, "Signature": {"c2ln+bmF0/dXJldjJxdWVyeQ=="},
				"x-amz-security-token": {testToken}}
			r, _ := http.NewRequest(http.MethodGet, front+"/vault/doc.txt?"+q.Encode(), nil)
			return r, []string{"c2ln+bmF0/dXJldjJxdWVyeQ==", url.QueryEscape("c2ln+bmF0/dXJldjJxdWVyeQ=="), testToken}
		},
	}, {
		// The same on a virtual-hosted S3 host, where the operation is
		// told from the host: a presigned URL's signature grants access to
		// the object until it expires, it must not be in the audit trail.
		name:     "SigV2 presigned query, virtual-hosted",
		upstream: cannedUpstream(t, 200, "", "object"),
		req: func(front string) (*http.Request, []string) {
			q := url.Values{"AWSAccessKeyId": {testKey}, "Expires": {"1999999999"}, "Signature": {"c2ln+bmF0/dXJldjJ2aXJ0dWFs="}}
			r, _ := http.NewRequest(http.MethodGet, front+"/doc.txt?"+q.Encode(), nil)
			r.Host = "vault.s3.amazonaws.com"
			return r, []string{"c2ln+bmF0/dXJldjJ2aXJ0dWFs=", url.QueryEscape("c2ln+bmF0/dXJldjJ2aXJ0dWFs=")}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, c.upstream.URL, rec, nil)
			req, secrets := c.req(front)
			do(t, req)
			e := rec.wait(t, 1)[0]
			raw := rec.raw(0)
			secrets = append(secrets, testSecret, "AWS4-HMAC-SHA256 Credential=")
			for _, s := range secrets {
				if s != "" && strings.Contains(raw, s) {
					t.Errorf("the event contains the secret %q:\n%s", s, raw)
				}
			}
			for _, k := range keysOf(e) {
				if strings.EqualFold(k, "authorization") {
					t.Errorf("the event has an %q member:\n%s", k, raw)
				}
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

// keysOf lists every object key in v, at any depth.
func keysOf(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			out = append(out, k)
			out = append(out, keysOf(val)...)
		}
	case []any:
		for _, val := range x {
			out = append(out, keysOf(val)...)
		}
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRecordBytes pins the record of an unsigned call byte for byte (its
// eventID and eventTime aside), answered and with the upstream down: the
// fields the proxy writes, their order, what it leaves out.
func TestRecordBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name, upstream, want string
	}{{
		name: "answered", upstream: cannedUpstream(t, http.StatusOK, "text/plain", "hello").URL,
		want: `{"eventVersion":"1.11","userIdentity":{"type":"Unknown"},"eventTime":"*","eventSource":"unknown.amazonaws.com",` +
			`"eventName":"PUT /public/readme.txt","awsRegion":"eu-west-1","sourceIPAddress":"127.0.0.1","userAgent":"pin/1.0",` +
			`"requestParameters":null,"responseElements":null,"requestID":"req-canned-1","eventID":"*","readOnly":false,` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"222222222222","eventCategory":"Management"}`,
	}, {
		name: "upstream down", upstream: "http://" + dead,
		want: `{"eventVersion":"1.11","userIdentity":{"type":"Unknown"},"eventTime":"*","eventSource":"unknown.amazonaws.com",` +
			`"eventName":"PUT /public/readme.txt","awsRegion":"eu-west-1","sourceIPAddress":"127.0.0.1","userAgent":"pin/1.0",` +
			`"errorCode":"ServiceUnavailable","errorMessage":"The proxy could not reach the service: dial tcp ` + dead +
			`: connect: connection refused","requestParameters":null,"responseElements":null,"eventID":"*","readOnly":false,` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"222222222222","eventCategory":"Management"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &memRecorder{}
			front := newTestProxy(t, tc.upstream, rec, func(o *Options) { o.Account, o.Region = "222222222222", "eu-west-1" })
			r, _ := http.NewRequest(http.MethodPut, front+"/public/readme.txt", strings.NewReader("text"))
			r.Header.Set("User-Agent", "pin/1.0")
			do(t, r)
			rec.wait(t, 1)
			if got := testutil.Steady(t, []byte(rec.raw(0)), "eventID", "eventTime"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
