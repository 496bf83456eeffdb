package e2e

// eventID squatting: a record whose eventID its account already has with
// different content is refused (EventIdConflict), through signed POST
// /v1/events, and the stored event stays; an identical resend is accepted
// and stored once.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// eidLookup returns the eventNames of account 111111111111's events in
// us-east-1 stored under eventID id, through LookupEvents.
func eidLookup(t *testing.T, srv *Server, id string) []string {
	t.Helper()
	out, err := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventId, AttributeValue: aws.String(id)}}})
	if err != nil {
		t.Fatalf("LookupEvents EventId %s: %v", id, err)
	}
	var names []string
	for _, e := range out.Events {
		names = append(names, aws.ToString(e.EventName))
	}
	return names
}

// eidFailed checks that res refused exactly the records at the indexes of
// want, with those codes, in input order.
func eidFailed(t *testing.T, what string, res IngestResult, want map[int]string) {
	t.Helper()
	if len(res.Failed) != len(want) {
		t.Fatalf("%s: failed = %+v, want %v", what, res.Failed, want)
	}
	last := -1
	for _, f := range res.Failed {
		if want[f.Index] != f.ErrorCode || f.Index <= last {
			t.Fatalf("%s: failed = %+v, want %v in input order", what, res.Failed, want)
		}
		last = f.Index
	}
}

func TestIngestEventIDConflict(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := cliBaseTime()
	const x = "5eeded00-0000-4000-8000-000000000001"
	orig := Record("CreateBucket", "s3.amazonaws.com", "us-east-1", at,
		map[string]any{"eventID": x, "requestParameters": map[string]any{"bucketName": "real-bucket"}})

	res := srv.Ingest(t, IngestKey, IngestSecret, orig)
	if res.Accepted != 1 || len(res.Failed) != 0 || len(res.EventIDs) != 1 || res.EventIDs[0] != x {
		t.Fatalf("first send: %+v", res)
	}

	// A retry of the same record: accepted again, stored once.
	res = srv.Ingest(t, IngestKey, IngestSecret, orig)
	if res.Accepted != 1 || len(res.Failed) != 0 || len(res.EventIDs) != 1 || res.EventIDs[0] != x {
		t.Fatalf("identical resend: %+v, want accepted", res)
	}
	if got := eidLookup(t, srv, x); len(got) != 1 {
		t.Fatalf("after an identical resend the ID holds %v, want one event", got)
	}

	// Other content under the same ID (by the same producer or another
	// principal who may write for the account): refused, the original kept.
	for _, tc := range []struct {
		who, key, secret string
		rec              map[string]any
	}{
		{"another eventName", IngestKey, IngestSecret, Record("DeleteBucket", "s3.amazonaws.com", "us-east-1", at,
			map[string]any{"eventID": x, "requestParameters": map[string]any{"bucketName": "real-bucket"}})},
		{"another parameter, by the administrator", AdminKey, AdminSecret, Record("CreateBucket", "s3.amazonaws.com", "us-east-1", at,
			map[string]any{"eventID": x, "requestParameters": map[string]any{"bucketName": "forged-bucket"}})},
		{"another eventTime", IngestKey, IngestSecret, Record("CreateBucket", "s3.amazonaws.com", "us-east-1", at.Add(-time.Second),
			map[string]any{"eventID": x, "requestParameters": map[string]any{"bucketName": "real-bucket"}})},
	} {
		res = srv.Ingest(t, tc.key, tc.secret, tc.rec)
		if tc.who == "another eventTime" && res.Accepted == 1 && len(res.Failed) == 0 {
			// A store keyed by eventTime too (PostgreSQL) keeps it as
			// another event: it is not dropped, and the original stays.
			if got := eidLookup(t, srv, x); len(got) == 0 {
				t.Fatalf("%s: accepted and the ID holds %v", tc.who, got)
			}
			continue
		}
		if res.Accepted != 0 || len(res.EventIDs) != 0 {
			t.Fatalf("%s: %+v, want refused", tc.who, res)
		}
		eidFailed(t, tc.who, res, map[int]string{0: "EventIdConflict"})
		if msg := res.Failed[0].ErrorMessage; !strings.Contains(msg, x) || !strings.Contains(msg, "different content") {
			t.Errorf("%s: message %q should name the eventID and say the content differs", tc.who, msg)
		}
		if got := eidLookup(t, srv, x); len(got) != 1 || got[0] != "CreateBucket" {
			t.Fatalf("%s: the ID holds %v, want the original CreateBucket", tc.who, got)
		}
	}
	out, err := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventId, AttributeValue: aws.String(x)}}})
	if err != nil || len(out.Events) == 0 || !strings.Contains(aws.ToString(out.Events[len(out.Events)-1].CloudTrailEvent), "real-bucket") {
		t.Fatalf("the stored event changed: %+v, %v", out, err)
	}

	// In one batch: the second record with an ID and other content fails,
	// an identical copy is accepted, and refusals come in input order
	// among the records refused for other reasons.
	const y = "5eeded00-0000-4000-8000-000000000002"
	first := Record("RunInstances", "ec2.amazonaws.com", "us-east-1", at, map[string]any{"eventID": y})
	other := Record("TerminateInstances", "ec2.amazonaws.com", "us-east-1", at, map[string]any{"eventID": y})
	bad := Record("NoSource", "", "us-east-1", at, nil)
	delete(bad, "eventSource")
	plain := Record("DescribeInstances", "ec2.amazonaws.com", "us-east-1", at, nil)
	res = srv.Ingest(t, IngestKey, IngestSecret, first, other, first, bad, plain, orig)
	eidFailed(t, "one batch", res, map[int]string{1: "EventIdConflict", 3: "FieldNotFound"})
	if res.Accepted != 4 || len(res.EventIDs) != 4 || res.EventIDs[0] != y || res.EventIDs[1] != y || res.EventIDs[3] != x {
		t.Fatalf("one batch: %+v, want 4 accepted: y, y, the plain record, x", res)
	}
	if got := eidLookup(t, srv, y); len(got) != 1 || got[0] != "RunInstances" {
		t.Fatalf("one batch: the ID holds %v, want RunInstances", got)
	}

	// A record without an eventID gets one from its content: a resend is
	// the same event.
	noID := Record("ListBuckets", "s3.amazonaws.com", "us-east-1", at, nil)
	a := srv.Ingest(t, IngestKey, IngestSecret, noID)
	b := srv.Ingest(t, IngestKey, IngestSecret, noID)
	if a.Accepted != 1 || b.Accepted != 1 || len(b.Failed) != 0 || a.EventIDs[0] != b.EventIDs[0] {
		t.Fatalf("a record without an eventID sent twice: %+v, %+v", a, b)
	}
	if got := eidLookup(t, srv, a.EventIDs[0]); len(got) != 1 {
		t.Fatalf("a record without an eventID sent twice is stored as %v", got)
	}
}
