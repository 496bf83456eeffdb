package e2e

// The log file format: CloudTrail's key layout and gzip'd {"Records":[…]}
// holding the records as ingested (completed with CloudTrail's defaults).

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// dlCheckLayout checks every file's key (layout, prefix, organization,
// delivery time since start) and that its records belong to the key's
// account and region.
func dlCheckLayout(t *testing.T, files []dlLogFile, prefix, orgID string, start time.Time) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range files {
		k, ok := dlParseLogKey(t, f.Key)
		if !ok {
			continue
		}
		if k.Prefix != prefix || k.OrgID != orgID {
			t.Errorf("log file %s: prefix %q org %q, want %q %q", f.Key, k.Prefix, k.OrgID, prefix, orgID)
		}
		if k.Delivered.Before(start.Truncate(time.Minute)) || k.Delivered.After(time.Now().Add(time.Minute)) {
			t.Errorf("log file %s: delivery time %s is not between %s and now", f.Key, k.Delivered, start)
		}
		unique := f.Key[len(f.Key)-len("XXXXXXXXXXXXXXXX.json.gz"):]
		if seen[unique] {
			t.Errorf("log file %s: unique string %s used twice", f.Key, unique)
		}
		seen[unique] = true
		if len(f.Raw) < 2 || f.Raw[0] != 0x1f || f.Raw[1] != 0x8b {
			t.Errorf("log file %s is not gzip", f.Key)
		}
		if len(f.Records) == 0 {
			t.Errorf("log file %s has no records", f.Key)
		}
		for _, r := range f.Records {
			if r["recipientAccountId"] != k.Account || r["awsRegion"] != k.Region {
				t.Errorf("log file %s holds a record of %v/%v: %v", f.Key, r["recipientAccountId"], r["awsRegion"], r["eventID"])
			}
		}
	}
}

func TestDeliveryLogFileFormat(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	const name = "format-logs"
	b := dlDir{name: name, dir: dlMkBucket(t, srv, name)}
	start := time.Now().UTC()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlTrail(t, ct, "format", name, dlAll(dlMulti, func(in *cloudtrail.CreateTrailInput) {
		in.S3KeyPrefix = aws.String("team/audit")
	}))

	// Records with nested values, in two regions, in a known order.
	var sent []map[string]any
	for i := 0; i < 5; i++ {
		region := "us-west-2"
		if i%2 == 0 {
			region = "eu-west-1"
		}
		sent = append(sent, dlEvent("PutBucketPolicy", "s3.amazonaws.com", region, Account1, map[string]any{
			"requestParameters": map[string]any{"bucketName": "b" + string(rune('a'+i)), "policy": map[string]any{
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": []any{"s3:GetObject"}}}}},
			"responseElements": nil,
			"readOnly":         false,
			"requestID":        "REQ" + string(rune('A'+i)),
			"resources":        []any{map[string]any{"ARN": "arn:aws:s3:::b", "accountId": Account1, "type": "AWS::S3::Bucket"}},
			"additionalEventData": map[string]any{"SignatureVersion": "SigV4", "bytesTransferredIn": 0.0,
				"unicode": "grüße — ✓"},
		}))
	}
	ids := dlIngest(t, srv, sent...)
	files := dlWaitDelivered(t, srv, b, "team/audit/AWSLogs/", ids, 30*time.Second)
	dlCheckLayout(t, files, "team/audit", "", start)

	got := map[string]map[string]any{}
	order := map[string][]string{} // region → eventIDs in file order
	for _, f := range files {
		for _, r := range f.Records {
			id, _ := r["eventID"].(string)
			got[id] = r
			if !strings.Contains(f.Key, "/CloudTrail/us-east-1/") {
				order[r["awsRegion"].(string)] = append(order[r["awsRegion"].(string)], id)
			}
		}
		if !bytes.HasPrefix(f.JSON, []byte(`{"Records":[`)) {
			t.Errorf("log file %s starts %.40q, want {\"Records\":[", f.Key, f.JSON)
		}
	}
	var wantOrder = map[string][]string{}
	for i, s := range sent {
		id := ids[i]
		if s["eventID"] != id {
			t.Errorf("ingest answered eventID %s for a record sent with %s", id, s["eventID"])
		}
		wantOrder[s["awsRegion"].(string)] = append(wantOrder[s["awsRegion"].(string)], id)
		r := got[id]
		if r == nil {
			continue
		}
		// Every member sent comes back unchanged (after a JSON round trip).
		var want map[string]any
		js, _ := json.Marshal(s)
		json.Unmarshal(js, &want)
		for k, v := range want {
			if !reflect.DeepEqual(r[k], v) {
				t.Errorf("record %s: %s = %#v, want %#v", id, k, r[k], v)
			}
		}
		// CloudTrail's defaults are filled in.
		for k, v := range map[string]any{"eventType": "AwsApiCall", "eventCategory": "Management", "managementEvent": true} {
			if r[k] != v {
				t.Errorf("record %s: %s = %#v, want %#v", id, k, r[k], v)
			}
		}
		if v, _ := r["eventVersion"].(string); !strings.HasPrefix(v, "1.") {
			t.Errorf("record %s: eventVersion %#v", id, r["eventVersion"])
		}
	}
	for region, want := range wantOrder {
		if !reflect.DeepEqual(order[region], want) {
			t.Errorf("%s records in file order %v, want ingest order %v", region, order[region], want)
		}
	}
	// Digests are written only with validation on.
	if d := dlDigestKeys(t, b, ""); len(d) != 0 {
		t.Errorf("a trail without log file validation wrote digests: %v", d)
	}
}
