package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
)

// TestAuditOversizedCallsAreRecorded: a call whose parameters are larger
// than a CloudTrail record may hold (a StartQuery statement over 256 KB, a
// CreateTrail with a 300 KB name, a LookupEvents with a 300 KB NextToken)
// is refused, and still leaves its record in event history: the error
// code, and requestParameters replaced with CloudTrail's {"omitted": true}
// marker. A tenant cannot make refused calls that leave no trace.
func TestAuditOversizedCallsAreRecorded(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	huge := strings.Repeat("x", 300*1024)

	_, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventName FROM s WHERE eventName = '" + huge + "'")})
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("StartQuery with a 300 KB statement: %v; want an API error", err)
	}
	startQueryCode := ae.ErrorCode()

	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(huge), S3BucketName: aws.String("bucket")})
	if !errors.As(err, &ae) {
		t.Fatalf("CreateTrail with a 300 KB name: %v; want an API error", err)
	}
	createTrailCode := ae.ErrorCode()

	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: aws.String(huge)})
	var bad *types.InvalidNextTokenException
	if !errors.As(err, &bad) {
		t.Fatalf("LookupEvents with a 300 KB NextToken: %v; want InvalidNextTokenException", err)
	}

	for _, c := range []struct{ name, code string }{
		{"StartQuery", startQueryCode}, {"CreateTrail", createTrailCode}, {"LookupEvents", "InvalidNextTokenException"},
	} {
		rec := oversizedRecord(t, ct, c.name, c.code)
		var r struct {
			ErrorCode         string          `json:"errorCode"`
			RequestParameters json.RawMessage `json:"requestParameters"`
		}
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			t.Fatalf("%s record %.200q: %v", c.name, rec, err)
		}
		if string(r.RequestParameters) != `{"omitted":true}` {
			t.Errorf("%s record's requestParameters = %.200s; want {\"omitted\":true}", c.name, r.RequestParameters)
		}
	}
	if strings.Contains(srv.Log(), "audit record not stored") {
		t.Errorf("the server dropped an audit record:\n%s", srv.Log())
	}
}

// oversizedRecord polls event history (reads are recorded in the
// background) for the record of the failed call name with errorCode code.
func oversizedRecord(t *testing.T, ct *cloudtrail.Client, name, code string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
			LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}},
		})
		if err != nil {
			t.Fatalf("LookupEvents EventName=%s: %v", name, err)
		}
		for _, e := range out.Events {
			rec := aws.ToString(e.CloudTrailEvent)
			if strings.Contains(rec, `"errorCode":"`+code+`"`) && strings.Contains(rec, `"omitted"`) {
				return rec
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record with errorCode %s in event history", name, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
