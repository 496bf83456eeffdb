package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

const strangerKey, bobKey, bobSecret = "AKIASTRANGER00000001", "AKIABINDBOB000000001", "bob-bind-secret"

// twoAccountDirectory is bindDirectory's alice (111111111111) with bob in
// 222222222222 and a stranger in 333333333333 who may ingest for his own
// account only.
func twoAccountDirectory() *auth.Directory {
	return auth.NewDirectory(auth.Options{Accounts: []config.Account{
		{ID: "111111111111", Users: []config.User{{Name: "alice", AccessKeys: []config.AccessKey{{ID: bindKey, Secret: bindSecret}}}}},
		{ID: "222222222222", Users: []config.User{{Name: "bob", AccessKeys: []config.AccessKey{{ID: bobKey, Secret: bobSecret}}}}},
		{ID: "333333333333", Users: []config.User{{Name: "stranger", AccessKeys: []config.AccessKey{{ID: strangerKey, Secret: "s"}}}}},
	}})
}

// TestSignatureProofNotBurnedByRefusedRecord (issue 14 item 9, re-attack
// gap 6): a caller who may not write records for the key's account sends
// a record with the victim's proof; it is not verified, and the victim's
// own record with the same signature is verified afterwards.
func TestSignatureProofNotBurnedByRefusedRecord(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	dir := twoAccountDirectory()
	c := newProofChecker(dir, func() time.Time { return now })
	stranger, _ := dir.Principal(strangerKey)
	p := presignedProof(t, now.Add(-10*time.Minute), time.Hour, now)
	burn := []json.RawMessage{proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, p)}
	c.verifySignatures(stranger, burn)
	if verifiedAs(t, burn[0]) {
		t.Fatalf("a stranger's record was verified: %s", burn[0])
	}
	own := []json.RawMessage{proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, p)}
	c.verifySignatures(nil, own)
	if !verifiedAs(t, own[0]) {
		t.Errorf("the victim's record was refused after a stranger's: %s", own[0])
	}
}

// TestSignatureProofCachePerAccount (issue 14 item 9, re-attack gap 7):
// one account's flood of long-lived proofs fills its own replay cache
// only: another account's proofs are still verified.
func TestSignatureProofCachePerAccount(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := newProofCheckerMax(twoAccountDirectory(), func() time.Time { return now }, 4)
	for i := 0; i < 8; i++ {
		// Seven-day URLs, each signed at its own second.
		p := presignedProof(t, now.Add(-time.Duration(i+1)*time.Second), 7*24*time.Hour, now)
		recs := []json.RawMessage{proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, p)}
		c.verifySignatures(nil, recs)
	}
	bob := headerProofFor(t, bobKey, bobSecret, "s3", "us-east-1", now)
	recs := []json.RawMessage{proofRecordFor(uuid.NewString(), bobKey, "s3.amazonaws.com", "us-east-1", now, bob)}
	c.verifySignatures(nil, recs)
	var o struct {
		AdditionalEventData map[string]any `json:"additionalEventData"`
	}
	json.Unmarshal(recs[0], &o)
	if o.AdditionalEventData["SignatureVerified"] != true {
		t.Errorf("bob's proof refused after alice's flood: %s", recs[0])
	}
	// Alice's own cache is full of later-ending signatures: her normal
	// proof is refused (the floor), which is her account's business.
	a := []json.RawMessage{proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, headerProof(t, "s3", "us-east-1", now))}
	c.verifySignatures(nil, a)
	if verifiedAs(t, a[0]) {
		t.Errorf("alice's cache did not bound her flood: %s", a[0])
	}
}

// opRecord is a record of eventName on bucket/key carrying proof p.
func opRecord(p sigv4.Proof, now time.Time, eventName, bucket, key string) json.RawMessage {
	b, _ := json.Marshal(p)
	rec, _ := json.Marshal(map[string]any{"eventID": uuid.NewString(), "eventName": eventName, "eventSource": "s3.amazonaws.com",
		"awsRegion": "us-east-1", "eventTime": now.UTC().Format(time.RFC3339), "sourceIPAddress": "203.0.113.66",
		"requestParameters": map[string]any{"bucketName": bucket, "key": key},
		"userIdentity":      map[string]any{"type": "Unknown", "accessKeyId": bindKey}})
	return json.RawMessage(strings.TrimSuffix(string(rec), "}") + `,"cairnSignatureProof":` + string(b) + `}`)
}

// TestSignatureProofBoundToOperation (issue 14 item 9, re-attack gap 5):
// the proof of a presigned GetObject URL alice shared does not verify a
// record of another operation, bucket or key; it verifies the record of
// the call it signed.
func TestSignatureProofBoundToOperation(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := newProofChecker(bindDirectory(), func() time.Time { return now })
	p := presignedProof(t, now.Add(-10*time.Minute), time.Hour, now)
	stripped := p
	stripped.CanonicalRequest = ""
	for _, tc := range []struct {
		name string
		rec  json.RawMessage
		want bool
	}{
		{"PutBucketPolicy (the re-attack's repro)", opRecord(p, now, "PutBucketPolicy", "bucket", ""), false},
		{"DeleteObject", opRecord(p, now, "DeleteObject", "bucket", "report.pdf"), false},
		{"GetObject of another key", opRecord(p, now, "GetObject", "bucket", "other.pdf"), false},
		{"GetObject of another bucket", opRecord(p, now, "GetObject", "other", "report.pdf"), false},
		{"no canonical request", opRecord(stripped, now, "GetObject", "bucket", "report.pdf"), false},
		{"the call signed", opRecord(p, now, "GetObject", "bucket", "report.pdf"), true},
	} {
		recs := []json.RawMessage{tc.rec}
		c.verifySignatures(nil, recs)
		if got := verifiedAs(t, recs[0]); got != tc.want {
			t.Errorf("%s: verified %v, want %v: %s", tc.name, got, tc.want, recs[0])
		}
	}
}

// targetProof is the proof of a JSON-protocol call (DynamoDB's target)
// alice signed in its Authorization header at now.
func targetProof(t *testing.T, target string, now time.Time) sigv4.Proof {
	t.Helper()
	body := `{"TableName":"t"}`
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: bindKey, SecretAccessKey: bindSecret},
		r, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	r.Host = "127.0.0.1:9"
	p, ok := sigv4.NewProof(sigv4.Signed{Request: r, BodySHA256: hex.EncodeToString(sum[:]), BodyLen: int64(len(body)), Now: now})
	if !ok || p.Problem != "" {
		t.Fatalf("proof %+v", p)
	}
	return p
}

// TestSignatureProofBoundToTarget (issue 14 item 9, re-attack gap 5): a
// JSON-protocol proof verifies only a record of the operation its signed
// X-Amz-Target names.
func TestSignatureProofBoundToTarget(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := newProofChecker(bindDirectory(), func() time.Time { return now })
	for _, tc := range []struct {
		name string
		want bool
	}{{"DeleteTable", false}, {"DescribeTable", true}} {
		p := targetProof(t, "DynamoDB_20120810.DescribeTable", now.Add(-time.Duration(len(tc.name))*time.Second))
		b, _ := json.Marshal(p)
		rec, _ := json.Marshal(map[string]any{"eventID": uuid.NewString(), "eventName": tc.name, "eventSource": "dynamodb.amazonaws.com",
			"awsRegion": "us-east-1", "eventTime": now.Format(time.RFC3339), "userIdentity": map[string]any{"type": "Unknown", "accessKeyId": bindKey}})
		recs := []json.RawMessage{json.RawMessage(strings.TrimSuffix(string(rec), "}") + `,"cairnSignatureProof":` + string(b) + `}`)}
		c.verifySignatures(nil, recs)
		if got := verifiedAs(t, recs[0]); got != tc.want {
			t.Errorf("%s: verified %v, want %v: %s", tc.name, got, tc.want, recs[0])
		}
	}
}
