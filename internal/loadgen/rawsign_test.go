package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/sigv4"
)

// sdkSigned is the request the client sends, signed by the SDK's signer
// as the client signed it before it had its own signer.
func sdkSigned(t *testing.T, endpoint, region string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", lookupContentType)
	req.Header.Set("X-Amz-Target", lookupTarget)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "cloudtrail", region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestLookupSignerMatchesSDK checks the signature against the SDK's
// signer's for the same request and time: endpoints with and without a
// default port or a path, one signer over several days and bodies (its
// key and buffers reused).
func TestLookupSignerMatchesSDK(t *testing.T) {
	day1 := time.Date(2025, 3, 4, 23, 59, 59, 900e6, time.UTC)
	times := []time.Time{day1, day1.Add(time.Second), day1.Add(30 * time.Hour), day1.In(time.FixedZone("x", -5*3600))}
	var bodies [][]byte
	for _, in := range []*cloudtrail.LookupEventsInput{
		{},
		attrInput(types.LookupAttributeKeyUsername, `deploy "bot" <&>`),
		{NextToken: aws.String("AbCY4PirZYCJDwECAwQFBgcI"), StartTime: &day1, EndTime: &day1},
	} {
		bodies = append(bodies, appendLookupBody(nil, in))
	}
	for _, endpoint := range []string{
		"http://127.0.0.1:4590", "http://localhost", "http://cairn.test:80", "https://cairn.test:443",
		"https://cairn.test:8443", "http://[::1]:4590", "http://[::1]:80", "http://cairn.test:8080/base path/v1",
	} {
		for _, region := range []string{"us-east-1", "ap-south-1"} {
			u, err := url.Parse(endpoint + "/")
			if err != nil {
				t.Fatal(err)
			}
			s := newLookupSigner(u, testKey, testSecret, region)
			for _, at := range times {
				for _, body := range bodies {
					date, auth := s.sign(body, at)
					want := sdkSigned(t, endpoint, region, body, at)
					host := want.Host
					if host == "" {
						host = want.URL.Host
					}
					if auth != want.Header.Get("Authorization") || date != want.Header.Get("X-Amz-Date") || s.host != host {
						t.Errorf("%s, %s, %v, %s:\n got %s, %s, host %s\nwant %s, %s, host %s", endpoint, region, at, body,
							auth, date, s.host, want.Header.Get("Authorization"), want.Header.Get("X-Amz-Date"), host)
					}
				}
			}
		}
	}
}

type oneKey struct{}

func (oneKey) SecretFor(k string) (string, bool) { return testSecret, k == testKey }

// TestLookupSignerVerified sends calls to a server that checks each
// signature as Cairn's server does, and answers only signed calls.
func TestLookupSignerVerified(t *testing.T) {
	answer := lookupAnswer(t, 2, false)
	var verified, refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := sigv4.Verify(r, body, oneKey{}, "cloudtrail", time.Now())
		if err != nil || r.Header.Get("X-Amz-Target") != lookupTarget || r.Header.Get("Content-Type") != lookupContentType {
			refused.Add(1)
			http.Error(w, fmt.Sprintf(`{"__type":"InvalidSignatureException","Message":%q}`, err), http.StatusForbidden)
			return
		}
		verified.Add(1)
		w.Write(answer)
	}))
	defer srv.Close()
	h, err := newHTTPLookups(srv.URL, testKey, testSecret, "us-east-1", 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	call := h.caller()
	for _, in := range []*cloudtrail.LookupEventsInput{{}, attrInput(types.LookupAttributeKeyEventName, "GetObject"),
		{NextToken: aws.String("AbCY4PirZYCJDwECAwQFBgcI"), MaxResults: aws.Int32(50)}} {
		if n, err := call(context.Background(), in); n != 2 || err != nil {
			t.Errorf("%+v: %d events, %v", in, n, err)
		}
	}
	// A wrong secret is refused, and the client reports the refusal.
	h.secret = "wrong"
	if n, err := h.caller()(context.Background(), &cloudtrail.LookupEventsInput{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("HTTP 403")) {
		t.Errorf("wrong secret: %d events, %v", n, err)
	}
	if verified.Load() != 3 || refused.Load() != 1 {
		t.Errorf("%d calls verified, %d refused", verified.Load(), refused.Load())
	}
}

func BenchmarkLookupSigner(b *testing.B) {
	body := []byte(`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"GetObject"}]}`)
	u, _ := url.Parse("http://127.0.0.1:4590/")
	b.Run("own", func(b *testing.B) {
		s := newLookupSigner(u, testKey, testSecret, "us-east-1")
		b.ReportAllocs()
		for b.Loop() {
			s.sign(body, time.Now())
		}
	})
	b.Run("sdk", func(b *testing.B) {
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(body))
			req.Header.Set("Content-Type", lookupContentType)
			req.Header.Set("X-Amz-Target", lookupTarget)
			sum := sha256.Sum256(body)
			signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now())
		}
	})
}
