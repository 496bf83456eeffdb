package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// TestCallBoundIsAlwaysAccepted: a record with every member over its
// limit, once bounded, is accepted by Decode, with the bulky members
// marked omitted and the text fields clipped.
func TestCallBoundIsAlwaysAccepted(t *testing.T) {
	huge := strings.Repeat("é", 200*1024)
	rec := event.NewCall(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	rec.By(event.UserIdentity{Type: event.IdentityIAMUser, AccountID: "111122223333", UserName: "alice"})
	rec.From("127.0.0.1", huge, &event.TLSDetails{TLSVersion: "TLSv1.3", ClientProvidedHostHeader: huge})
	rec.EventSource, rec.EventName, rec.AWSRegion = "cloudtrail.amazonaws.com", "StartQuery", "us-east-1"
	rec.RequestID, rec.APIVersion, rec.EventName = huge, huge, huge
	rec.Fail(huge, huge)
	rec.RequestParameters = map[string]any{"queryStatement": huge}
	rec.ResponseElements = map[string]any{"x": huge}
	rec.AdditionalEventData = map[string]any{"x": strings.Repeat("a", 30*1024)}
	for range 100 {
		rec.Resources = append(rec.Resources, event.Resource{ARN: strings.Repeat("r", 1024), Type: "AWS::CloudTrail::Trail"})
	}
	rec.Bound()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ferr := event.Decode(b, event.Context{Account: "111122223333"}); ferr != nil {
		t.Fatalf("bounded record refused: %v", ferr)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"requestParameters", "responseElements", "additionalEventData"} {
		if m, _ := got[f].(map[string]any); m["omitted"] != true {
			t.Errorf("%s = %.80v; want {\"omitted\":true}", f, got[f])
		}
	}
	if n := len(got["userAgent"].(string)); n > event.TextLimit {
		t.Errorf("userAgent is %d bytes", n)
	}
	if n := len(got["resources"].([]any)); n == 0 || n == 100 {
		t.Errorf("%d resources kept; want some, not all", n)
	}

	small := event.NewCall(time.Now())
	small.RequestParameters = map[string]any{"name": "t"}
	small.Bound()
	if b, _ := json.Marshal(small.RequestParameters); string(b) != `{"name":"t"}` {
		t.Errorf("small requestParameters became %s", b)
	}
}
