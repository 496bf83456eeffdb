package e2e

// Issue 14, review findings 4 and 5 through the real binary: what an
// ingest principal can make of a signature proof it did not earn, and of
// a SignatureVerified it writes itself.

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/sigv4"
)

// pbPresignedProof is the proof anyone holding alice's presigned S3 GET
// URL can rebuild from the URL alone (no secret needed): signed at
// signedAt for us-east-1, valid for expires.
func pbPresignedProof(t *testing.T, signedAt time.Time, expires time.Duration) sigv4.Proof {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "https://s3.amazonaws.com/alicebucket/report.pdf?X-Amz-Expires="+
		strconv.Itoa(int(expires/time.Second)), nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: AdminKey, SecretAccessKey: AdminSecret},
		r, sigv4.UnsignedPayload, "s3", "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	shared, _ := http.NewRequest(http.MethodGet, u, nil)
	p, ok := sigv4.NewProof(sigv4.Signed{Request: shared, Now: signedAt})
	if !ok || p.Problem != "" {
		t.Fatalf("proof %+v", p)
	}
	return p
}

// pbHeaderProof is the proof of a request alice signed in its
// Authorization header for service in us-east-1 at signedAt (as a
// captured request, or the proof in another proxy's record, gives it).
func pbHeaderProof(t *testing.T, service string, signedAt time.Time) sigv4.Proof {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "https://"+service+".us-east-1.amazonaws.com/alicebucket/k", nil)
	r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: AdminKey, SecretAccessKey: AdminSecret},
		r, sigv4.UnsignedPayload, service, "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	p, ok := sigv4.NewProof(sigv4.Signed{Request: r, Now: signedAt})
	if !ok || p.Problem != "" {
		t.Fatalf("proof %+v", p)
	}
	return p
}

// TestProxyProofBoundToRecord (issue 14, review finding 4): a signature
// proof makes alice the caller only of a record of the call she signed:
// an expired presigned URL's proof on a made-up DeleteTrail (the review's
// repro), an S3 signature on a CloudTrail record, and a proof already
// verified for another record are all stored unverified; the record the
// proof was made for is verified, and sent again whole stays verified.
func TestProxyProofBoundToRecord(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: pxConfig})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	now := time.Now().UTC().Truncate(time.Second)
	unknown := map[string]any{"type": "Unknown", "accessKeyId": AdminKey}
	rec := func(name, source string, proof sigv4.Proof) map[string]any {
		params := map[string]any{"name": "org-trail"}
		if name == "GetObject" {
			params = map[string]any{"bucketName": "alicebucket", "key": "k"}
		}
		return Record(name, source, "us-east-1", now, map[string]any{"eventID": uuid.NewString(), "userIdentity": unknown,
			"requestParameters": params, "cairnSignatureProof": proof})
	}
	expired := rec("DeleteTrail", "cloudtrail.amazonaws.com", pbPresignedProof(t, now.Add(-72*time.Hour), time.Minute))
	crossService := rec("DeleteTrail", "cloudtrail.amazonaws.com", pbHeaderProof(t, "s3", now))
	honestProof := pbHeaderProof(t, "s3", now.Add(-time.Second))
	honest := rec("GetObject", "s3.amazonaws.com", honestProof)
	if res := srv.Ingest(t, IngestKey, IngestSecret, expired, crossService, honest); res.Accepted != 3 {
		t.Fatalf("ingest: %+v", res)
	}
	replay := rec("GetObject", "s3.amazonaws.com", honestProof)
	if res := srv.Ingest(t, IngestKey, IngestSecret, replay, honest); len(res.Failed) != 0 {
		t.Fatalf("ingest of the replay and the resend: %+v", res)
	}
	byID := func(r map[string]any) func(map[string]any) bool {
		return func(got map[string]any) bool { return got["eventID"] == r["eventID"] }
	}
	stored := func(t *testing.T, r map[string]any) map[string]any {
		t.Helper()
		evs := pxWaitLookup(t, east, r["eventName"].(string), 30*time.Second, byID(r))
		if len(evs) != 1 {
			t.Fatalf("%d events %s, want 1", len(evs), r["eventID"])
		}
		return evs[0].Record
	}
	t.Run("an expired presigned URL's proof on a made-up record", func(t *testing.T) {
		pxExpect(t, "DeleteTrail", stored(t, expired), pxUnverified(AdminKey))
	})
	t.Run("an S3 signature on a CloudTrail record", func(t *testing.T) {
		pxExpect(t, "DeleteTrail", stored(t, crossService), pxUnverified(AdminKey))
	})
	t.Run("the record the proof was made for, sent twice", func(t *testing.T) {
		pxExpect(t, "GetObject", stored(t, honest), pxAlice())
	})
	t.Run("the same proof on another record", func(t *testing.T) {
		pxExpect(t, "GetObject", stored(t, replay), pxUnverified(AdminKey))
	})
}

// TestIngestSignatureVerifiedIsTheServers (issue 14, review finding 5): a
// producer's own additionalEventData.SignatureVerified true, on a record
// without a proof, is not stored.
func TestIngestSignatureVerifiedIsTheServers(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: pxConfig})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := uuid.NewString()
	r := Record("ClaimedVerified", "s3.amazonaws.com", "us-east-1", time.Now(), map[string]any{"eventID": id,
		"userIdentity": map[string]any{"type": "IAMUser", "userName": "alice", "accessKeyId": AdminKey,
			"arn": "arn:aws:iam::" + Account1 + ":user/alice", "accountId": Account1},
		"additionalEventData": map[string]any{"SignatureVerified": true, "SignatureVersion": "SigV4"}})
	if res := srv.Ingest(t, IngestKey, IngestSecret, r); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	evs := pxWaitLookup(t, east, "ClaimedVerified", 30*time.Second, func(got map[string]any) bool { return got["eventID"] == id })
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	if v := pxGet(evs[0].Record, "additionalEventData.SignatureVerified"); v != nil {
		t.Errorf("additionalEventData.SignatureVerified = %v, want none: only the server verifies", v)
	}
	pxExpect(t, "ClaimedVerified", evs[0].Record, map[string]any{"additionalEventData.SignatureVersion": "SigV4"})
}

// TestProxyProofBoundToOperation (issue 14 item 9, re-attack gaps 5 and
// 6): with the presigned GetObject URL alice shared, anyone can rebuild
// its proof. A record of another operation (PutBucketPolicy, the
// re-attack's repro) or of another object is stored unverified; bob, in
// another account, sending the proof on a record for alice's account is
// refused and does not use the signature up; the record of the call
// alice signed is then verified.
func TestProxyProofBoundToOperation(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: pxConfig})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	now := time.Now().UTC().Truncate(time.Second)
	proof := pbPresignedProof(t, now.Add(-time.Minute), time.Hour)
	rec := func(name string, params map[string]any) map[string]any {
		return Record(name, "s3.amazonaws.com", "us-east-1", now, map[string]any{"eventID": uuid.NewString(),
			"userIdentity": map[string]any{"type": "Unknown", "accessKeyId": AdminKey}, "sourceIPAddress": "203.0.113.66",
			"recipientAccountId": Account1, "requestParameters": params, "cairnSignatureProof": proof})
	}
	policy := rec("PutBucketPolicy", map[string]any{"bucketName": "alicebucket",
		"bucketPolicy": map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}}}})
	otherKey := rec("GetObject", map[string]any{"bucketName": "alicebucket", "key": "payroll.pdf"})
	if res := srv.Ingest(t, IngestKey, IngestSecret, policy, otherKey); res.Accepted != 2 {
		t.Fatalf("ingest: %+v", res)
	}
	burn := rec("GetObject", map[string]any{"bucketName": "alicebucket", "key": "report.pdf"})
	if res := srv.Ingest(t, OtherKey, OtherSecret, burn); res.Accepted != 0 || len(res.Failed) != 1 || res.Failed[0].ErrorCode != "InvalidRecipient" {
		t.Fatalf("bob's record for alice's account: %+v", res)
	}
	honest := rec("GetObject", map[string]any{"bucketName": "alicebucket", "key": "report.pdf"})
	if res := srv.Ingest(t, IngestKey, IngestSecret, honest); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	stored := func(t *testing.T, r map[string]any) map[string]any {
		t.Helper()
		evs := pxWaitLookup(t, east, r["eventName"].(string), 30*time.Second,
			func(got map[string]any) bool { return got["eventID"] == r["eventID"] })
		if len(evs) != 1 {
			t.Fatalf("%d events %s, want 1", len(evs), r["eventID"])
		}
		return evs[0].Record
	}
	t.Run("a GetObject URL's proof on a PutBucketPolicy record", func(t *testing.T) {
		pxExpect(t, "PutBucketPolicy", stored(t, policy), pxUnverified(AdminKey))
	})
	t.Run("on a GetObject record of another key", func(t *testing.T) {
		pxExpect(t, "GetObject", stored(t, otherKey), pxUnverified(AdminKey))
	})
	t.Run("the record of the call signed, after bob's refused one", func(t *testing.T) {
		pxExpect(t, "GetObject", stored(t, honest), pxAlice())
	})
}

// TestProxyProofNotBurnedByStranger (issue 14 item 9, re-attack gap 6):
// bob, an ingest principal of another account, sends the proof of alice's
// shared URL on a record for her account first: it is refused
// (InvalidRecipient) and leaves the signature to the record of her call.
func TestProxyProofNotBurnedByStranger(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: pxConfig})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	now := time.Now().UTC().Truncate(time.Second)
	proof := pbPresignedProof(t, now.Add(-time.Minute), time.Hour)
	rec := func() map[string]any {
		return Record("GetObject", "s3.amazonaws.com", "us-east-1", now, map[string]any{"eventID": uuid.NewString(),
			"userIdentity": map[string]any{"type": "Unknown", "accessKeyId": AdminKey}, "recipientAccountId": Account1,
			"requestParameters": map[string]any{"bucketName": "alicebucket", "key": "report.pdf"}, "cairnSignatureProof": proof})
	}
	if res := srv.Ingest(t, OtherKey, OtherSecret, rec()); res.Accepted != 0 || len(res.Failed) != 1 || res.Failed[0].ErrorCode != "InvalidRecipient" {
		t.Fatalf("bob's record for alice's account: %+v", res)
	}
	honest := rec()
	if res := srv.Ingest(t, IngestKey, IngestSecret, honest); res.Accepted != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	evs := pxWaitLookup(t, east, "GetObject", 30*time.Second, func(got map[string]any) bool { return got["eventID"] == honest["eventID"] })
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	pxExpect(t, "GetObject", evs[0].Record, pxAlice())
}
