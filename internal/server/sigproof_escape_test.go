package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMayNameMarker: the quick look at every record says true of every
// way to write the two names as member names (plainly or with escapes),
// and false of records that merely look alike.
func TestMayNameMarker(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`{"eventName":"GetObject","additionalEventData":{"SignatureVersion":"SigV4"}}`, false},
		{`{"a":"TLS_AES_128_GCM_SHA256 S SS"}`, false},
		{`{"additionalEventData":{"SignatureVerified":true}}`, true},
		{`{"cairnSignatureProof":{}}`, true},
		{`S{"cairnSignatureProof":{}}S`, true},
		{`"SignatureVerified"`, true},
		{`"cairnSignatureProof"`, true},
		{`{"additionalEventData":{"Signature\u0056erified":true}}`, true},
		{`{"additionalEventData":{"\u0053ignatureVerified":true}}`, true},
		{`{"additionalEventData":{"Signature\u0076erified":true}}`, true}, // a lower-case v: no member of that name, but a letter
		{`{"cairnSignature\u0050roof":{}}`, true},
		{`{"c\u0061irnSignatureProof":{}}`, true},
		{`{"note":"\\u0041 is an escaped backslash and text"}`, false},
		{`{"note":"\u003cb\u003e \u00e9 \n \" \\"}`, false},
		{`{"note":"\"SignatureVerified\\"}`, false}, // the name's closing quote is escaped
		{`{"note":"SignatureVerified cairnSignatureProof"}`, false},
		{`{"note":"\u00`, false},
		{`\`, false},
		{`S`, false},
		{``, false},
	} {
		if got := mayNameMarker([]byte(tc.raw)); got != tc.want {
			t.Errorf("mayNameMarker(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// FuzzMayNameMarker: a record the quick look passes over is one that
// settleIdentity would leave as it is.
func FuzzMayNameMarker(f *testing.F) {
	for _, s := range []string{
		`{"additionalEventData":{"SignatureVerified":true}}`,
		`{"additionalEventData":{"Signature\u0056erified":true,"x":1}}`,
		`{"cairnSignature\u0050roof":{"accessKeyId":"AKIA"},"userIdentity":{"accessKeyId":"AKIA"}}`,
		`{"note":"\\u0053ignatureVerified","additionalEventData":{}}`,
		`{"eventName":"x","additionalEventData":{"SignatureVersion":"SigV4"}}`,
	} {
		f.Add([]byte(s))
	}
	c := newProofChecker(nil, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if mayNameMarker(raw) {
			return
		}
		if out, changed := c.settleIdentity(nil, raw); changed {
			t.Fatalf("passed over %s, which settleIdentity makes %s", raw, out)
		}
	})
}

// TestEscapedMarkersSettled (through signed HTTP and LookupEvents): a
// record that spells SignatureVerified or cairnSignatureProof with
// escapes is treated as one that spells them plainly: the producer's claim
// is not stored, and the proof is checked and removed.
func TestEscapedMarkersSettled(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	at := e.clock.Now().UTC().Format(time.RFC3339)
	record := func(id, rest string) string {
		return `{"eventVersion":"1.08","eventTime":"` + at + `","eventSource":"s3.amazonaws.com","eventName":"GetObject",` +
			`"awsRegion":"us-east-1","eventID":"` + id + `","userIdentity":{"type":"IAMUser","userName":"mallory","accessKeyId":"AKIAMALLORY"},` + rest + `}`
	}
	body := `{"Records":[` +
		record("esc-claim", `"additionalEventData":{"Signature\u0056erified":true,"bytesTransferredIn":5}`) + `,` +
		record("esc-proof", `"additionalEventData":{"bytesTransferredIn":5},"cairnSignature\u0050roof":{"accessKeyId":"AKIAMALLORY"}`) + `]}`
	if resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(body)); resp.StatusCode != http.StatusOK ||
		!strings.Contains(string(b), `"accepted":2`) {
		t.Fatalf("ingest: HTTP %d %s", resp.StatusCode, b)
	}
	for id, want := range map[string]map[string]any{
		"esc-claim": {"bytesTransferredIn": 5.0},
		"esc-proof": {"bytesTransferredIn": 5.0, "SignatureVerified": false},
	} {
		stored := lookupRecord(t, e, id)
		if strings.Contains(stored, "cairnSignature") {
			t.Errorf("%s keeps its proof: %s", id, stored)
		}
		var r struct {
			UserIdentity        map[string]any `json:"userIdentity"`
			AdditionalEventData map[string]any `json:"additionalEventData"`
		}
		if err := json.Unmarshal([]byte(stored), &r); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(r.AdditionalEventData) != len(want) || r.AdditionalEventData["bytesTransferredIn"] != want["bytesTransferredIn"] ||
			r.AdditionalEventData["SignatureVerified"] != want["SignatureVerified"] {
			t.Errorf("%s: additionalEventData %v, want %v", id, r.AdditionalEventData, want)
		}
		if id == "esc-proof" && (r.UserIdentity["type"] != "Unknown" || r.UserIdentity["userName"] != nil) {
			t.Errorf("%s: userIdentity %v named on an unchecked proof", id, r.UserIdentity)
		}
	}
}

// lookupRecord is the stored record of eventID, as LookupEvents answers it.
func lookupRecord(t *testing.T, e *limitsEnv, eventID string) string {
	t.Helper()
	payload := `{"LookupAttributes":[{"AttributeKey":"EventId","AttributeValue":"` + eventID + `"}]}`
	resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/", "LookupEvents", nil, []byte(payload))
	var out struct {
		Events []struct{ CloudTrailEvent string }
	}
	if err := json.Unmarshal(b, &out); resp.StatusCode != http.StatusOK || err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents %s: HTTP %d %s (%v)", eventID, resp.StatusCode, b, err)
	}
	return out.Events[0].CloudTrailEvent
}
