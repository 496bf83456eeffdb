package ebevent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/goldenfile"
)

func decode(t *testing.T, rec string) *event.Event {
	t.Helper()
	ev, ferr := event.Decode([]byte(rec), event.Context{Account: "111111111111", Now: time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)})
	if ferr != nil {
		t.Fatalf("Decode: %v", ferr)
	}
	return ev
}

var records = []struct{ name, rec string }{
	{"api_call_s3", `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-12-06T12:34:56Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"bucketName":"photos","note":"<a&b>"},"responseElements":null,"requestID":"REQ1","eventID":"11111111-2222-3333-4444-555555555555","readOnly":false,"resources":[{"accountId":"111111111111","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::photos"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`},
	{"console_signin", `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","userName":"alice"},"eventTime":"2026-12-06T12:00:01Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"22222222-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`},
	{"service_event_kms", `{"eventVersion":"1.11","userIdentity":{"accountId":"111111111111","invokedBy":"kms.amazonaws.com"},"eventTime":"2026-12-06T00:00:00Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey","awsRegion":"eu-west-1","sourceIPAddress":"kms.amazonaws.com","userAgent":"kms.amazonaws.com","requestParameters":null,"responseElements":null,"eventID":"33333333-2222-3333-4444-555555555555","readOnly":false,"resources":[{"accountId":"111111111111","type":"AWS::KMS::Key","ARN":"arn:aws:kms:eu-west-1:111111111111:key/abcd"}],"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`},
	{"insight", `{"eventVersion":"1.11","eventTime":"2026-12-06T10:00:00Z","awsRegion":"us-east-1","eventID":"44444444-2222-3333-4444-555555555555","eventType":"AwsCloudTrailInsight","recipientAccountId":"111111111111","sharedEventID":"55555555-2222-3333-4444-555555555555","insightDetails":{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`},
	{"data_event_get_object", `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","userName":"alice"},"eventTime":"2026-12-06T12:00:02Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"bucketName":"photos","key":"a.png"},"responseElements":null,"eventID":"66666666-2222-3333-4444-555555555555","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::photos/a.png"},{"accountId":"111111111111","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::photos"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111111111111","eventCategory":"Data"}`},
}

func TestBuildGolden(t *testing.T) {
	for _, r := range records {
		t.Run(r.name, func(t *testing.T) {
			env, err := Build(decode(t, r.rec), "")
			if err != nil {
				t.Fatal(err)
			}
			b := env.Marshal()
			if !json.Valid(b) {
				t.Fatalf("invalid JSON: %s", b)
			}
			goldenfile.Check(t, r.name+".json", append(b, '\n'))
		})
	}
}

func TestBuildFields(t *testing.T) {
	ev := decode(t, records[0].rec)
	env, err := Build(ev, "cairn.")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(env.Marshal(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": "0", "detail-type": DetailTypeAPICall, "source": "cairn.s3",
		"account": "111111111111", "time": "2026-12-06T12:34:56Z", "region": "us-east-1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if rs, _ := got["resources"].([]any); len(rs) != 1 || rs[0] != "arn:aws:s3:::photos" {
		t.Errorf("resources = %v", got["resources"])
	}
	detail, _ := got["detail"].(map[string]any)
	if detail["eventID"] != ev.ID {
		t.Errorf("detail is not the record: %v", detail)
	}
	// The same event always gets the same id; another event another.
	env2, _ := Build(decode(t, records[0].rec), "")
	if env2.ID != env.ID {
		t.Errorf("id %s then %s for the same event", env.ID, env2.ID)
	}
	other, _ := Build(decode(t, records[1].rec), "")
	if other.ID == env.ID {
		t.Error("two events share an id")
	}
}

func TestDetailTypeAndService(t *testing.T) {
	cases := []struct{ eventType, source, category, dt, svc string }{
		{"AwsApiCall", "iam.amazonaws.com", "Management", DetailTypeAPICall, "iam"},
		{"AwsConsoleSignIn", "signin.amazonaws.com", "Management", DetailTypeConsoleSignIn, "signin"},
		{"AwsConsoleAction", "s3.amazonaws.com", "Management", DetailTypeConsoleAction, "s3"},
		{"AwsServiceEvent", "kms.amazonaws.com", "Management", DetailTypeServiceEvent, "kms"},
		{"AwsCloudTrailInsight", "", "Insight", DetailTypeInsight, "cloudtrail"},
		{"AwsVpceEvent", "s3.amazonaws.com", "NetworkActivity", DetailTypeNetworkActivity, "s3"},
		{"AwsApiCall", "monitoring.amazonaws.com", "Management", DetailTypeAPICall, "monitoring"},
		{"AwsApiCall", "orders.example.com", "Management", DetailTypeAPICall, "orders.example.com"},
	}
	for _, c := range cases {
		if got := DetailType(c.eventType, c.category); got != c.dt {
			t.Errorf("DetailType(%s,%s) = %q, want %q", c.eventType, c.category, got, c.dt)
		}
		if got := Service(c.eventType, c.source, c.category); got != c.svc {
			t.Errorf("Service(%s) = %q, want %q", c.source, got, c.svc)
		}
	}
}

func TestSelectionSends(t *testing.T) {
	write, signin, insight, data := decode(t, records[0].rec), decode(t, records[1].rec), decode(t, records[3].rec), decode(t, records[4].rec)
	read := decode(t, `{"eventVersion":"1.11","eventTime":"2026-12-06T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"77777777-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111111111111","eventCategory":"Management"}`)
	cases := []struct {
		sel  Selection
		ev   *event.Event
		want bool
	}{
		{Selection{}, write, true}, {Selection{}, signin, true}, {Selection{}, insight, true},
		{Selection{}, read, false}, {Selection{ReadOnly: true}, read, true},
		{Selection{}, data, false}, {Selection{Data: true}, data, true},
	}
	for i, c := range cases {
		if got := c.sel.Sends(c.ev); got != c.want {
			t.Errorf("case %d: Sends = %v, want %v", i, got, c.want)
		}
	}
}

// TestPatternOnEnvelope checks the patterns AWS documents for CloudTrail
// events against Cairn's envelopes.
func TestPatternOnEnvelope(t *testing.T) {
	env, _ := Build(decode(t, records[0].rec), "")
	ev := env.Marshal()
	for pat, want := range map[string]bool{
		`{"source":["aws.s3"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["DeleteBucket"]}}`: true,
		`{"detail":{"eventName":[{"prefix":"Delete"}],"userIdentity":{"userName":["alice"]}}}`:                                                           true,
		`{"resources":[{"prefix":"arn:aws:s3:::"}]}`: true,
		`{"source":["aws.iam"]}`:                     false,
	} {
		if got := eventpattern.MustCompile(pat).Match(ev); got != want {
			t.Errorf("%s: Match = %v, want %v", pat, got, want)
		}
	}
}
