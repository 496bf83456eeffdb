package server

import (
	"crypto/tls"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestAuditEventBytes pins the record of a call of Cairn's own API byte for
// byte (its eventID aside): a change answered over TLS, a read, a denied
// call and one that failed for an internal reason.
func TestAuditEventBytes(t *testing.T) {
	s := &Server{opts: Options{Now: func() time.Time {
		return time.Date(2026, 11, 26, 13, 0, 0, 500_000_000, time.FixedZone("CET", 3600))
	}}}
	p := &auth.Principal{Account: "111111111111", UserName: "alice", ARN: "arn:aws:iam::111111111111:user/alice",
		PrincipalID: "AIDAEXAMPLEALICE0001", AccessKeyID: "AKIAALICEADMIN000001"}
	head := `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE0001",` +
		`"arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAALICEADMIN000001",` +
		`"userName":"alice"},"eventTime":"2026-11-26T12:00:00Z","eventSource":"cloudtrail.amazonaws.com",`
	trail := []event.Resource{{ARN: "arn:aws:cloudtrail:eu-west-1:111111111111:trail/t", Type: "AWS::CloudTrail::Trail"}}
	for _, tc := range []struct {
		name      string
		op        string
		body      string
		readOnly  bool
		resp      any
		err       error
		tls       bool
		resources []event.Resource
		want      string
	}{{
		name: "change over TLS", op: "CreateTrail", body: `{"Name":"t","S3BucketName":"b","IsMultiRegionTrail":true}`,
		resp: map[string]any{"Name": "t", "TrailARN": "arn:aws:cloudtrail:eu-west-1:111111111111:trail/t"},
		tls:  true, resources: trail,
		want: head + `"eventName":"CreateTrail","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.7","userAgent":"aws-cli/2.0",` +
			`"requestParameters":{"isMultiRegionTrail":true,"name":"t","s3BucketName":"b"},` +
			`"responseElements":{"name":"t","trailARN":"arn:aws:cloudtrail:eu-west-1:111111111111:trail/t"},` +
			`"requestID":"req-1","eventID":"*","readOnly":false,` +
			`"resources":[{"ARN":"arn:aws:cloudtrail:eu-west-1:111111111111:trail/t","type":"AWS::CloudTrail::Trail"}],` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management",` +
			`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"cairn.example"}}`,
	}, {
		name: "read", op: "DescribeTrails", body: `{}`, readOnly: true, resp: map[string]any{"trailList": []any{}},
		want: head + `"eventName":"DescribeTrails","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.7","userAgent":"aws-cli/2.0",` +
			`"requestParameters":null,"responseElements":null,"requestID":"req-1","eventID":"*","readOnly":true,` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`,
	}, {
		name: "denied", op: "DeleteTrail", body: `{"Name":"t"}`,
		err: awsproto.Errorf("AccessDeniedException", "User: alice is not authorized to perform: cloudtrail:DeleteTrail"),
		want: head + `"eventName":"DeleteTrail","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.7","userAgent":"aws-cli/2.0",` +
			`"errorCode":"AccessDenied","errorMessage":"User: alice is not authorized to perform: cloudtrail:DeleteTrail",` +
			`"requestParameters":{"name":"t"},"responseElements":null,"requestID":"req-1","eventID":"*","readOnly":false,` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`,
	}, {
		name: "internal failure", op: "StartLogging", body: `{"Name":"t"}`, err: errors.New("disk on fire"),
		want: head + `"eventName":"StartLogging","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.7","userAgent":"aws-cli/2.0",` +
			`"errorCode":"InternalFailure","errorMessage":"The request processing has failed because of an unknown error.",` +
			`"requestParameters":{"name":"t"},"responseElements":null,"requestID":"req-1","eventID":"*","readOnly":false,` +
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "https://cairn.example/", strings.NewReader(tc.body))
			r.RemoteAddr = "192.0.2.7:40000"
			r.Header.Set("User-Agent", "aws-cli/2.0")
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
			}
			c := &call{op: tc.op, principal: p, region: "eu-west-1", body: []byte(tc.body), requestID: "req-1", r: r,
				resources: tc.resources}
			b, err := s.auditEvent(c, tc.readOnly, tc.resp, tc.err)
			if err != nil {
				t.Fatal(err)
			}
			if got := testutil.Steady(t, b, "eventID"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
