package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// signUnsignedPayload signs req with X-Amz-Content-Sha256: UNSIGNED-PAYLOAD
// (the header signed too), as S3 clients may: the signature then does not
// cover the body.
func signUnsignedPayload(t *testing.T, req *http.Request, key, secret, service string) *http.Request {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, "UNSIGNED-PAYLOAD", service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestUnsignedHeadersAndPayloadRefused: a signed request with an x-amz-*
// header its signature does not cover (X-Amz-Target, X-Amz-Security-Token)
// is refused, as is a body the signature does not cover
// (UNSIGNED-PAYLOAD), on the CloudTrail API and on ingest; nothing
// happens. Both used to be accepted: an unsigned X-Amz-Target could turn
// a captured request into DeleteTrail.
func TestUnsignedHeadersAndPayloadRefused(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", "logs-bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	if _, err := alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("keep"), S3BucketName: aws.String("logs-bucket")}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	batch := func(name string) []byte {
		b, _ := json.Marshal(map[string]any{"Records": []any{Record(name, "unsigned.example.com", "us-east-1", at, nil)}})
		return b
	}
	deleteBody := []byte(`{"Name":"keep"}`)
	createBody := []byte(`{"Name":"unsigned-payload","S3BucketName":"logs-bucket"}`)

	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
		msg  string
	}{
		{"X-Amz-Target added after signing", func(t *testing.T) *http.Request {
			// Signed without a target (as a client that signs only some
			// headers would), then pointed at DeleteTrail.
			req := biRawReq(t, srv, http.MethodPost, "/", deleteBody, map[string]string{"Content-Type": "application/x-amz-json-1.1"})
			req = biSignReq(t, req, deleteBody, AdminKey, AdminSecret, "cloudtrail", "us-east-1", time.Now())
			req.Header.Set("X-Amz-Target", biTargetOf("DeleteTrail"))
			return req
		}, "not signed: x-amz-target"},
		{"X-Amz-Security-Token added after signing, ingest", func(t *testing.T) *http.Request {
			req := biSignedIngest(t, srv, AdminKey, AdminSecret, batch("UnsignedHeader"))
			req.Header.Set("X-Amz-Security-Token", "token")
			return req
		}, "not signed: x-amz-security-token"},
		{"UNSIGNED-PAYLOAD, CloudTrail API", func(t *testing.T) *http.Request {
			return signUnsignedPayload(t, biApiReq(t, srv, "CreateTrail", createBody), AdminKey, AdminSecret, "cloudtrail")
		}, "UNSIGNED-PAYLOAD"},
		{"UNSIGNED-PAYLOAD, ingest", func(t *testing.T) *http.Request {
			req := biRawReq(t, srv, http.MethodPost, "/v1/events", batch("UnsignedPayload"), map[string]string{"Content-Type": "application/json"})
			return signUnsignedPayload(t, req, IngestKey, IngestSecret, "cloudtrail")
		}, "UNSIGNED-PAYLOAD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, b := biSend(t, tc.req(t))
			typ, msg, ok := biAwsError(b)
			if status != http.StatusBadRequest || !ok || typ != "InvalidSignatureException" || !strings.Contains(msg, tc.msg) {
				t.Fatalf("HTTP %d %s, want 400 InvalidSignatureException saying %q", status, b, tc.msg)
			}
		})
	}
	// PutAuditEvents (CloudTrail Data) is not served: it is refused too.
	audit := biRawReq(t, srv, http.MethodPost, "/PutAuditEvents?channelArn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A111111111111%3Achannel%2Fabc",
		[]byte(`{"auditEvents":[]}`), map[string]string{"Content-Type": "application/json"})
	if status, b := biSend(t, signUnsignedPayload(t, audit, IngestKey, IngestSecret, "cloudtrail-data")); status < 400 || status > 499 {
		t.Fatalf("PutAuditEvents with UNSIGNED-PAYLOAD: HTTP %d %s", status, b)
	}

	// Nothing happened: the trail is there, none was created, no event
	// stored; the same calls signed in full work.
	trails, err := alice.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range trails.TrailList {
		names = append(names, aws.ToString(tr.Name))
	}
	if len(names) != 1 || names[0] != "keep" {
		t.Fatalf("trails after the refused calls: %v, want [keep]", names)
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, Record("SignedControl", "unsigned.example.com", "us-east-1", at, nil)); res.Accepted != 1 {
		t.Fatalf("signed ingest: %+v", res)
	}
	evs := lookupAll(t, alice, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventSource, "unsigned.example.com")})
	if got := eventNames(evs); len(got) != 1 || got[0] != "SignedControl" {
		t.Fatalf("events from unsigned.example.com: %v, want only SignedControl", got)
	}
	if status, b := biSend(t, biSignedAPI(t, srv, AdminKey, AdminSecret, "GetTrail", deleteBody)); status != http.StatusOK {
		t.Fatalf("GetTrail signed in full: HTTP %d %s", status, b)
	}
}
