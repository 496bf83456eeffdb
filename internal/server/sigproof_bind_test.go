package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/proxy/awsop"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

const bindKey, bindSecret = "AKIABINDALICE0000001", "alice-bind-secret"

func bindDirectory() *auth.Directory {
	return auth.NewDirectory(auth.Options{Accounts: []config.Account{{ID: "111111111111",
		Users: []config.User{{Name: "alice", AccessKeys: []config.AccessKey{{ID: bindKey, Secret: bindSecret}}}}}}})
}

// headerProof is the proof of a request signed in the Authorization
// header for service and region at the time signedAt.
func headerProof(t *testing.T, service, region string, signedAt time.Time) sigv4.Proof {
	t.Helper()
	return headerProofFor(t, bindKey, bindSecret, service, region, signedAt)
}

// headerProofFor is headerProof signed with another key.
func headerProofFor(t *testing.T, key, secret, service, region string, signedAt time.Time) sigv4.Proof {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/bucket/k", nil)
	r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		r, sigv4.UnsignedPayload, service, region, signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	r.Host = "127.0.0.1:9"
	p, ok := sigv4.NewProof(sigv4.Signed{Request: r, Now: signedAt})
	if !ok || p.Problem != "" {
		t.Fatalf("proof %+v", p)
	}
	return p
}

// presignedProof is the proof of an S3 presigned GET URL signed at
// signedAt, valid for expires, used at usedAt.
func presignedProof(t *testing.T, signedAt time.Time, expires time.Duration, usedAt time.Time) sigv4.Proof {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/bucket/report.pdf", nil)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	r.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: bindKey, SecretAccessKey: bindSecret},
		r, sigv4.UnsignedPayload, "s3", "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	used, _ := http.NewRequest(http.MethodGet, u, nil)
	p, ok := sigv4.NewProof(sigv4.Signed{Request: used, Now: usedAt})
	if !ok || p.Problem != "" {
		t.Fatalf("proof %+v", p)
	}
	return p
}

// v2Proof is the proof of an S3 Signature Version 2 request dated at.
func v2Proof(t *testing.T, at time.Time) sigv4.Proof {
	t.Helper()
	sign := func(sig string) sigv4.Proof {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/bucket/k", nil)
		r.Header.Set("Date", at.UTC().Format(http.TimeFormat))
		r.Header.Set("Authorization", "AWS "+bindKey+":"+sig)
		p, _ := sigv4.NewProof(sigv4.Signed{Request: r, Now: at})
		return p
	}
	p := sign(base64.StdEncoding.EncodeToString(make([]byte, sha1.Size)))
	m := hmac.New(sha1.New, []byte(bindSecret))
	m.Write([]byte(p.StringToSign))
	p = sign(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	if p.Problem != "" || !p.Check(bindDirectory()) {
		t.Fatalf("SigV2 proof %+v", p)
	}
	return p
}

// proofRecord is a record carrying proof p.
func proofRecord(eventID, source, region string, at time.Time, p sigv4.Proof) json.RawMessage {
	return proofRecordFor(eventID, bindKey, source, region, at, p)
}

// proofRecordFor is proofRecord naming another access key.
func proofRecordFor(eventID, key, source, region string, at time.Time, p sigv4.Proof) json.RawMessage {
	b, _ := json.Marshal(p)
	// The record an honest proxy writes of the call: named as awsop names
	// it from what was signed.
	name, params := "GET /bucket/k", map[string]any(nil)
	if call, ok := p.Call(); ok {
		op := awsop.Resolve(&awsop.Call{Method: call.Method, Host: call.Host, Path: call.Path, RawQuery: call.RawQuery,
			Header: call.Header, Service: call.Service, Status: http.StatusOK})
		if op.Name != "" {
			name, params = op.Name, op.RequestParameters
		}
	}
	rec, _ := json.Marshal(map[string]any{"eventID": eventID, "eventName": name, "requestParameters": params, "eventSource": source,
		"awsRegion": region, "eventTime": at.UTC().Format(time.RFC3339),
		"userIdentity": map[string]any{"type": "Unknown", "accessKeyId": key}})
	return json.RawMessage(strings.TrimSuffix(string(rec), "}") + `,"cairnSignatureProof":` + string(b) + `}`)
}

// verifiedAs reports whether a settled record names alice with
// SignatureVerified true (and checks that it is consistent otherwise).
func verifiedAs(t *testing.T, raw json.RawMessage) bool {
	t.Helper()
	var o struct {
		UserIdentity        map[string]any `json:"userIdentity"`
		AdditionalEventData map[string]any `json:"additionalEventData"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	v := o.AdditionalEventData["SignatureVerified"] == true
	if v != (o.UserIdentity["userName"] == "alice") || strings.Contains(string(raw), "cairnSignatureProof") {
		t.Fatalf("inconsistent record: %s", raw)
	}
	return v
}

// TestSignatureProofBoundToRecord (issue 14, review finding 4): a proof
// vouches only for a record of the call it signed: the scope's service and
// region, a time at which the signature was valid, a record not older than
// proofRecordAge, and once per signature (a whole resend excepted).
func TestSignatureProofBoundToRecord(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	threeDays := now.Add(-72 * time.Hour)
	cases := []struct {
		name   string
		record json.RawMessage
		want   bool
	}{
		{"honest S3 call", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, headerProof(t, "s3", "us-east-1", now)), true},
		{"honest call held 3 hours in a spool", proofRecord(uuid.NewString(), "sqs.amazonaws.com", "eu-west-1", now.Add(-3*time.Hour),
			headerProof(t, "sqs", "eu-west-1", now.Add(-3*time.Hour))), true},
		{"IAM, recorded in the proxy's global region", proofRecord(uuid.NewString(), "iam.amazonaws.com", "eu-central-1", now,
			headerProof(t, "iam", "us-east-1", now)), true},
		{"another service's record", proofRecord(uuid.NewString(), "cloudtrail.amazonaws.com", "us-east-1", now,
			headerProof(t, "s3", "us-east-1", now)), false},
		{"another region's record", proofRecord(uuid.NewString(), "s3.amazonaws.com", "eu-west-1", now,
			headerProof(t, "s3", "us-east-1", now)), false},
		{"eventTime 20 minutes after the signature", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now,
			headerProof(t, "s3", "us-east-1", now.Add(-20*time.Minute))), false},
		{"a 3-day-old signature and eventTime", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", threeDays,
			headerProof(t, "s3", "us-east-1", threeDays)), false},
		{"eventTime in the future", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now.Add(time.Hour),
			headerProof(t, "s3", "us-east-1", now.Add(time.Hour))), false},
		{"presigned URL used within its hour", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now,
			presignedProof(t, now.Add(-50*time.Minute), time.Hour, now)), true},
		{"presigned URL 3 days old, valid 60 s (the review's repro)", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now,
			presignedProof(t, threeDays, time.Minute, threeDays)), false},
		{"presigned URL after its expiry", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now,
			presignedProof(t, now.Add(-2*time.Hour), time.Hour, now.Add(-90*time.Minute))), false},
		{"SigV2 on an S3 record", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-west-2", now, v2Proof(t, now)), true},
		{"SigV2 on another service's record", proofRecord(uuid.NewString(), "cloudtrail.amazonaws.com", "us-east-1", now, v2Proof(t, now)), false},
		{"SigV2 20 minutes before eventTime", proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now,
			v2Proof(t, now.Add(-20*time.Minute))), false},
	}
	// A presigned URL whose canonical request is gone counts as valid for
	// 15 minutes only; one whose canonical request is not the one signed
	// is refused. (Each signed at its own second: the signatures differ.)
	stripped := presignedProof(t, now.Add(-49*time.Minute), time.Hour, now)
	stripped.CanonicalRequest = ""
	changed := presignedProof(t, now.Add(-48*time.Minute), time.Hour, now)
	if !strings.Contains(changed.CanonicalRequest, "X-Amz-Expires=3600") {
		t.Fatalf("canonical request %q", changed.CanonicalRequest)
	}
	changed.CanonicalRequest = strings.Replace(changed.CanonicalRequest, "X-Amz-Expires=3600", "X-Amz-Expires=3601", 1)
	cases = append(cases,
		struct {
			name   string
			record json.RawMessage
			want   bool
		}{"presigned URL without its canonical request, 50 minutes on",
			proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, stripped), false},
		struct {
			name   string
			record json.RawMessage
			want   bool
		}{"presigned URL with a canonical request not the one signed",
			proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, changed), false})
	c := newProofChecker(bindDirectory(), func() time.Time { return now })
	for _, tc := range cases {
		recs := []json.RawMessage{tc.record}
		c.verifySignatures(nil, recs)
		if got := verifiedAs(t, recs[0]); got != tc.want {
			t.Errorf("%s: verified %v, want %v: %s", tc.name, got, tc.want, recs[0])
		}
	}
}

// TestSignatureProofReplay: a proof verified for one record is refused for
// another (another eventID), and verified again for the same record sent
// again whole.
func TestSignatureProofReplay(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := newProofChecker(bindDirectory(), func() time.Time { return now })
	p := headerProof(t, "s3", "us-east-1", now)
	first := proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, p)
	resend := append(json.RawMessage(nil), first...)
	replay := proofRecord(uuid.NewString(), "s3.amazonaws.com", "us-east-1", now, p)
	recs := []json.RawMessage{first, resend, replay}
	c.verifySignatures(nil, recs)
	for i, want := range []bool{true, true, false} {
		if got := verifiedAs(t, recs[i]); got != want {
			t.Errorf("record %d: verified %v, want %v", i, got, want)
		}
	}
	if string(recs[0]) != string(recs[1]) {
		t.Errorf("a resend settled differently:\n%s\n%s", recs[0], recs[1])
	}
}

// TestSeenProofsBounded: the replay cache forgets signatures whose use is
// over, keeps at most max, and refuses what it may have forgotten.
func TestSeenProofsBounded(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := newSeenProofs(2)
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	if !s.claim(h('a'), "e1", now.Add(time.Minute), now) || !s.claim(h('b'), "e2", now.Add(2*time.Minute), now) {
		t.Fatal("fresh signatures refused")
	}
	if !s.claim(h('c'), "e3", now.Add(3*time.Minute), now) {
		t.Fatal("a signature usable later than the forgotten one refused")
	}
	if s.claim(h('a'), "e9", now.Add(time.Minute), now) || s.claim(h('d'), "e4", now.Add(30*time.Second), now) {
		t.Error("a signature usable no later than a forgotten one was accepted")
	}
	if s.claim(h('b'), "e9", now.Add(2*time.Minute), now) || !s.claim(h('b'), "e2", now.Add(2*time.Minute), now) {
		t.Error("b: want a replay refused and a resend accepted")
	}
	later := now.Add(10 * time.Minute)
	if !s.claim(h('e'), "e5", later.Add(time.Minute), later) || len(s.byKey) != 1 {
		t.Errorf("expired signatures kept: %d", len(s.byKey))
	}
	if s.claim("not hex", "e6", later.Add(time.Minute), later) {
		t.Error("a malformed signature hash was accepted")
	}
}

// TestVerifiedClaimDropped (issue 14, review finding 5): a record without
// a proof never keeps the SignatureVerified its producer wrote.
func TestVerifiedClaimDropped(t *testing.T) {
	recs := []json.RawMessage{
		json.RawMessage(`{"eventID":"x","userIdentity":{"type":"IAMUser","userName":"alice"},"additionalEventData":{"SignatureVerified":true,"bytesTransferredIn":5}}`),
		json.RawMessage(`{"eventID":"y","requestParameters":{"SignatureVerified":true}}`),
	}
	keep := string(recs[1])
	newProofChecker(bindDirectory(), nil).verifySignatures(nil, recs)
	if strings.Contains(string(recs[0]), "SignatureVerified") || !strings.Contains(string(recs[0]), `"bytesTransferredIn":5`) {
		t.Errorf("record 0: %s", recs[0])
	}
	if string(recs[1]) != keep {
		t.Errorf("a record without the claim changed: %s", recs[1])
	}
}
