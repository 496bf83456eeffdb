package server

import (
	"context"
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

// TestSettleIdentity: a record's proof names the key's user only when the
// signature checks; the proof never stays in the record; an unverified
// record never keeps a named identity.
func TestSettleIdentity(t *testing.T) {
	const key, secret = "AKIASETTLEALICE00001", "alice-secret"
	dir := auth.NewDirectory(auth.Options{Accounts: []config.Account{{ID: "111111111111",
		Users: []config.User{{Name: "alice", AccessKeys: []config.AccessKey{{ID: key, Secret: secret}}}}}}})
	now := time.Now()
	proof := func(signWith string) sigv4.Proof {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/bucket/k", nil)
		r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: signWith},
			r, sigv4.UnsignedPayload, "s3", "us-east-1", now, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			t.Fatal(err)
		}
		r.Host = "127.0.0.1:9"
		p, ok := sigv4.NewProof(sigv4.Signed{Request: r, Now: now})
		if !ok || p.Problem != "" {
			t.Fatalf("proof %+v", p)
		}
		return p
	}
	record := func(identity string, p any) json.RawMessage {
		b, _ := json.Marshal(p)
		return json.RawMessage(`{"eventName":"GetObject","requestParameters":{"bucketName":"bucket","key":"k"},"eventID":"` + uuid.NewString() + `","eventSource":"s3.amazonaws.com",` +
			`"awsRegion":"us-east-1","eventTime":"` + now.UTC().Format(time.RFC3339) + `","userIdentity":` + identity +
			`,"additionalEventData":{"SignatureVersion":"SigV4","bytesTransferredIn":0},"cairnSignatureProof":` + string(b) + `}`)
	}
	unknown := `{"type":"Unknown","accessKeyId":"` + key + `"}`
	records := []json.RawMessage{
		record(unknown, proof(secret)),
		record(unknown, proof("forged")),
		record(`{"type":"IAMUser","userName":"alice","accessKeyId":"`+key+`"}`, proof("forged")),
		record(`{"type":"Unknown","accessKeyId":"AKIAOTHER"}`, proof(secret)), // the proof is another key's
		record(unknown, "not a proof"),
		json.RawMessage(`{"eventName":"Plain","requestParameters":{"note":"\"cairnSignatureProof\""}}`),
	}
	plain := string(records[5])
	newProofChecker(dir, func() time.Time { return now }).verifySignatures(nil, records)
	type out struct {
		UserIdentity        map[string]any
		RecipientAccountID  string         `json:"recipientAccountId"`
		AdditionalEventData map[string]any `json:"additionalEventData"`
	}
	for i, want := range []bool{true, false, false, false, false} {
		if strings.Contains(string(records[i]), "cairnSignatureProof") {
			t.Errorf("record %d keeps the proof: %s", i, records[i])
		}
		var o out
		if err := json.Unmarshal(records[i], &o); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if o.AdditionalEventData["SignatureVerified"] != want || o.AdditionalEventData["bytesTransferredIn"] != 0.0 {
			t.Errorf("record %d: additionalEventData %v, want SignatureVerified %v and the rest kept", i, o.AdditionalEventData, want)
		}
		named := o.UserIdentity["userName"] != nil || o.UserIdentity["type"] != "Unknown"
		if named != want {
			t.Errorf("record %d: userIdentity %v (verified %v)", i, o.UserIdentity, want)
		}
		if want && (o.UserIdentity["userName"] != "alice" || o.RecipientAccountID != "111111111111") {
			t.Errorf("record %d: %+v, want alice of 111111111111", i, o)
		}
	}
	if string(records[5]) != plain {
		t.Errorf("a record without a proof changed: %s", records[5])
	}
}
