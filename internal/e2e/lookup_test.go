package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// lookupAll pages through LookupEvents with the SDK's paginator.
func lookupAll(t *testing.T, c *cloudtrail.Client, in *cloudtrail.LookupEventsInput) []types.Event {
	t.Helper()
	var out []types.Event
	p := cloudtrail.NewLookupEventsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents: %v", err)
		}
		out = append(out, page.Events...)
	}
	return out
}

func attr(k types.LookupAttributeKey, v string) []types.LookupAttribute {
	return []types.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
}

func eventNames(evs []types.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.EventName))
	}
	return out
}

// withoutSelfAudit drops the events Cairn recorded for the test's own API calls.
func withoutSelfAudit(evs []types.Event) []types.Event {
	var out []types.Event
	for _, e := range evs {
		if aws.ToString(e.EventSource) != "cloudtrail.amazonaws.com" {
			out = append(out, e)
		}
	}
	return out
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSDKLookupEveryAttribute(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	res := srv.Ingest(t, AdminKey, AdminSecret,
		Record("CreateBucket", "s3.amazonaws.com", "us-east-1", base, map[string]any{
			"eventID": "e2e00000-0000-0000-0000-000000000001", "readOnly": false,
			"resources": []map[string]any{{"ARN": "arn:aws:s3:::logs-bucket", "type": "AWS::S3::Bucket", "accountId": Account1}}}),
		Record("ListBuckets", "s3.amazonaws.com", "us-east-1", base.Add(time.Minute), map[string]any{
			"eventID": "e2e00000-0000-0000-0000-000000000002", "readOnly": true}),
		Record("CreateUser", "iam.amazonaws.com", "us-east-1", base.Add(2*time.Minute), map[string]any{
			"eventID": "e2e00000-0000-0000-0000-000000000003", "readOnly": false,
			"userIdentity": map[string]any{"type": "AssumedRole", "accessKeyId": "ASIADEPLOYER",
				"arn":            "arn:aws:sts::111111111111:assumed-role/deployer/session",
				"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "userName": "deployer"}}},
			"resources": []map[string]any{{"ARN": "arn:aws:iam::111111111111:user/bob", "type": "AWS::IAM::User"}}}),
	)
	if res.Accepted != 3 || len(res.Failed) != 0 {
		t.Fatalf("ingest: %+v", res)
	}
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	cases := []struct {
		key   types.LookupAttributeKey
		value string
		want  []string
	}{
		{types.LookupAttributeKeyEventId, "e2e00000-0000-0000-0000-000000000002", []string{"ListBuckets"}},
		{types.LookupAttributeKeyEventName, "CreateBucket", []string{"CreateBucket"}},
		{types.LookupAttributeKeyReadOnly, "true", []string{"ListBuckets"}},
		{types.LookupAttributeKeyReadOnly, "false", []string{"CreateUser", "CreateBucket"}},
		{types.LookupAttributeKeyUsername, "tester", []string{"ListBuckets", "CreateBucket"}},
		{types.LookupAttributeKeyUsername, "deployer", []string{"CreateUser"}},
		{types.LookupAttributeKeyResourceType, "AWS::S3::Bucket", []string{"CreateBucket"}},
		{types.LookupAttributeKeyResourceName, "arn:aws:s3:::logs-bucket", []string{"CreateBucket"}},
		{types.LookupAttributeKeyResourceName, "logs-bucket", []string{"CreateBucket"}},
		{types.LookupAttributeKeyResourceName, "bob", []string{"CreateUser"}},
		{types.LookupAttributeKeyEventSource, "iam.amazonaws.com", []string{"CreateUser"}},
		{types.LookupAttributeKeyAccessKeyId, "ASIADEPLOYER", []string{"CreateUser"}},
		{types.LookupAttributeKeyAccessKeyId, "AKIATESTER", []string{"ListBuckets", "CreateBucket"}},
		{types.LookupAttributeKeyEventName, "NoSuchThing", nil},
	}
	for _, tc := range cases {
		got := eventNames(withoutSelfAudit(lookupAll(t, c, &cloudtrail.LookupEventsInput{LookupAttributes: attr(tc.key, tc.value)})))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s=%s: got %v, want %v", tc.key, tc.value, got, tc.want)
		}
	}
	// The response fields, as CloudTrail fills them.
	evs := lookupAll(t, c, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventId, "e2e00000-0000-0000-0000-000000000003")})
	if len(evs) != 1 {
		t.Fatalf("by id: %d events", len(evs))
	}
	e := evs[0]
	if aws.ToString(e.Username) != "deployer" || aws.ToString(e.AccessKeyId) != "ASIADEPLOYER" ||
		aws.ToString(e.ReadOnly) != "false" || aws.ToString(e.EventSource) != "iam.amazonaws.com" ||
		!aws.ToTime(e.EventTime).Equal(base.Add(2*time.Minute)) || len(e.Resources) != 1 ||
		aws.ToString(e.Resources[0].ResourceType) != "AWS::IAM::User" {
		t.Errorf("event fields: %+v", e)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil {
		t.Fatalf("CloudTrailEvent is not JSON: %v", err)
	}
	if rec["eventID"] != "e2e00000-0000-0000-0000-000000000003" || rec["recipientAccountId"] != Account1 ||
		rec["eventVersion"] != "1.11" || rec["eventCategory"] != "Management" {
		t.Errorf("CloudTrailEvent: %v", rec)
	}
}

func TestSDKPaginationAndTimeRange(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	base := time.Now().UTC().Add(-30 * time.Hour).Truncate(time.Second)
	var recs []map[string]any
	for i := 0; i < 37; i++ {
		// Several events share a second; they span two days.
		recs = append(recs, Record(fmt.Sprintf("Op%02d", i), "ec2.amazonaws.com", "us-west-2",
			base.Add(time.Duration(i/2)*time.Hour), nil))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != 37 {
		t.Fatalf("ingest: %+v", res)
	}
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	in := &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventSource, "ec2.amazonaws.com"), MaxResults: aws.Int32(5)}
	pages := 0
	var all []types.Event
	p := cloudtrail.NewLookupEventsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 5 {
			t.Fatalf("page of %d events with MaxResults 5", len(page.Events))
		}
		pages++
		all = append(all, page.Events...)
	}
	if len(all) != 37 || pages != 8 {
		t.Fatalf("%d events in %d pages", len(all), pages)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[aws.ToString(e.EventId)] {
			t.Fatalf("event %s twice", aws.ToString(e.EventId))
		}
		seen[aws.ToString(e.EventId)] = true
		if i > 0 && aws.ToTime(e.EventTime).After(aws.ToTime(all[i-1].EventTime)) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	// Inclusive bounds: hours 3..5 hold Op06..Op11.
	got := lookupAll(t, c, &cloudtrail.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventSource, "ec2.amazonaws.com"),
		StartTime:        aws.Time(base.Add(3 * time.Hour)), EndTime: aws.Time(base.Add(5 * time.Hour))})
	if len(got) != 6 || aws.ToString(got[0].EventName) != "Op11" && aws.ToString(got[0].EventName) != "Op10" {
		t.Fatalf("time range: %v", eventNames(got))
	}
	// Default MaxResults is 50.
	out, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventSource, "ec2.amazonaws.com")})
	if err != nil || len(out.Events) != 37 || out.NextToken != nil {
		t.Fatalf("default page: %d events, token %v, %v", len(out.Events), out.NextToken, err)
	}
	// A token is valid only with the parameters it was issued for.
	first, err := c.LookupEvents(context.Background(), in)
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	_, err = c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventSource, "s3.amazonaws.com"), NextToken: first.NextToken})
	var bad *types.InvalidNextTokenException
	if !errors.As(err, &bad) {
		t.Fatalf("token with other parameters: %v", err)
	}
}

func TestSDKAccountsAndRegionsApart(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	srv.Ingest(t, AdminKey, AdminSecret,
		Record("MineEast", "s3.amazonaws.com", "us-east-1", at, nil),
		Record("MineWest", "s3.amazonaws.com", "us-west-2", at, nil))
	srv.Ingest(t, OtherKey, OtherSecret, Record("TheirsEast", "s3.amazonaws.com", "us-east-1", at, nil))
	// The ingest principal may write for account 2, not for others.
	res := srv.Ingest(t, IngestKey, IngestSecret,
		Record("ForAccount2", "s3.amazonaws.com", "us-east-1", at, map[string]any{"recipientAccountId": Account2}),
		Record("ForAccount3", "s3.amazonaws.com", "us-east-1", at, map[string]any{"recipientAccountId": "333333333333"}))
	if res.Accepted != 1 || len(res.Failed) != 1 || res.Failed[0].Index != 1 || res.Failed[0].ErrorCode != "InvalidRecipient" {
		t.Fatalf("ingest for other accounts: %+v", res)
	}
	check := func(key, secret, region string, want ...string) {
		t.Helper()
		got := eventNames(withoutSelfAudit(lookupAll(t, srv.CloudTrail(key, secret, region), &cloudtrail.LookupEventsInput{})))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s in %s sees %v, want %v", key, region, got, want)
		}
	}
	check(AdminKey, AdminSecret, "us-east-1", "MineEast")
	check(AdminKey, AdminSecret, "us-west-2", "MineWest")
	check(AdminKey, AdminSecret, "eu-west-1")
	check(OtherKey, OtherSecret, "us-east-1", "ForAccount2", "TheirsEast")
	check(ReaderKey, ReaderSecret, "us-east-1", "MineEast")
	// Another account's event is not found even by its ID.
	mine := lookupAll(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), &cloudtrail.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventName, "MineEast")})
	if len(mine) != 1 {
		t.Fatal("own event not found")
	}
	theirs := lookupAll(t, srv.CloudTrail(OtherKey, OtherSecret, "us-east-1"), &cloudtrail.LookupEventsInput{
		LookupAttributes: attr(types.LookupAttributeKeyEventId, aws.ToString(mine[0].EventId))})
	if len(theirs) != 0 {
		t.Fatal("another account found my event by ID")
	}
}

func TestSDKLookupErrors(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	now := time.Now()
	cases := []struct {
		name string
		in   *cloudtrail.LookupEventsInput
		want any
	}{
		{"two attributes", &cloudtrail.LookupEventsInput{LookupAttributes: append(attr(types.LookupAttributeKeyEventName, "a"), attr(types.LookupAttributeKeyUsername, "b")...)}, &types.InvalidLookupAttributesException{}},
		{"bad key", &cloudtrail.LookupEventsInput{LookupAttributes: attr("Colour", "blue")}, &types.InvalidLookupAttributesException{}},
		{"value too long", &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, strings.Repeat("a", 2001))}, &types.InvalidLookupAttributesException{}},
		{"start after end", &cloudtrail.LookupEventsInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour))}, &types.InvalidTimeRangeException{}},
		{"max results 51", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, &types.InvalidMaxResultsException{}},
		{"max results 0", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(0)}, &types.InvalidMaxResultsException{}},
		{"bad token", &cloudtrail.LookupEventsInput{NextToken: aws.String("not-a-token")}, &types.InvalidNextTokenException{}},
		{"bad category", &cloudtrail.LookupEventsInput{EventCategory: "management"}, &types.InvalidEventCategoryException{}},
		{"insight by username", &cloudtrail.LookupEventsInput{EventCategory: types.EventCategoryInsight, LookupAttributes: attr(types.LookupAttributeKeyUsername, "x")}, &types.InvalidLookupAttributesException{}},
	}
	for _, tc := range cases {
		_, err := c.LookupEvents(context.Background(), tc.in)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		target := tc.want
		switch w := target.(type) {
		case *types.InvalidLookupAttributesException:
			if !errors.As(err, &w) {
				t.Errorf("%s: %v", tc.name, err)
			}
		case *types.InvalidTimeRangeException:
			if !errors.As(err, &w) {
				t.Errorf("%s: %v", tc.name, err)
			}
		case *types.InvalidMaxResultsException:
			if !errors.As(err, &w) {
				t.Errorf("%s: %v", tc.name, err)
			}
		case *types.InvalidNextTokenException:
			if !errors.As(err, &w) {
				t.Errorf("%s: %v", tc.name, err)
			}
		case *types.InvalidEventCategoryException:
			if !errors.As(err, &w) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	}
	// Insight events: a valid, empty history.
	out, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{EventCategory: types.EventCategoryInsight})
	if err != nil || len(out.Events) != 0 {
		t.Fatalf("insight lookup: %v, %v", out, err)
	}
}

func TestSDKAuthRefusals(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	_, err := srv.CloudTrail("AKIAUNKNOWNKEY000001", "whatever", "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v", err)
	}
	_, err = srv.CloudTrail(AdminKey, "wrong-secret", "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if apiCode(err) != "InvalidSignatureException" {
		t.Errorf("bad signature: %v", err)
	}
	// The ingest principal may not read event history.
	_, err = srv.CloudTrail(IngestKey, IngestSecret, "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("ingest principal reading: %v", err)
	}
	// A custom policy allows exactly what it lists.
	if _, err := srv.CloudTrail(CustomKey, CustomSecret, "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{}); err != nil {
		t.Errorf("custom policy LookupEvents: %v", err)
	}
	_, err = srv.CloudTrail(CustomKey, CustomSecret, "us-east-1").ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("custom policy ListPublicKeys: %v", err)
	}
	// Read-only and custom principals cannot ingest.
	body := []byte(`{"Records":[]}`)
	for _, k := range [][2]string{{ReaderKey, ReaderSecret}, {CustomKey, CustomSecret}} {
		status, b := srv.Post(t, k[0], k[1], "/v1/events", body, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(b), "AccessDeniedException") {
			t.Errorf("%s ingest: %d %s", k[0], status, b)
		}
	}
	// Unsigned requests.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "CloudTrail_20131101.LookupEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Type string `json:"__type"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e.Type != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %s", resp.StatusCode, e.Type)
	}
	// A request signed 20 minutes ago is refused.
	status, b := srv.PostAt(t, AdminKey, AdminSecret, "/", []byte("{}"),
		map[string]string{"X-Amz-Target": "CloudTrail_20131101.LookupEvents", "Content-Type": "application/x-amz-json-1.1"},
		time.Now().Add(-20*time.Minute))
	if status != http.StatusBadRequest || !strings.Contains(string(b), "InvalidSignatureException") || !strings.Contains(string(b), "expired") {
		t.Errorf("stale signature: %d %s", status, b)
	}
}

func TestSDKUnsupportedOperations(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	var uoe *types.UnsupportedOperationException
	_, err := c.ListChannels(context.Background(), &cloudtrail.ListChannelsInput{})
	if !errors.As(err, &uoe) {
		t.Fatalf("ListChannels: %v", err)
	}
	status, b := srv.Post(t, AdminKey, AdminSecret, "/", []byte("{}"), map[string]string{
		"X-Amz-Target": "CloudTrail_20131101.MakeCoffee", "Content-Type": "application/x-amz-json-1.1"})
	if status != http.StatusBadRequest || !strings.Contains(string(b), "UnknownOperationException") {
		t.Fatalf("unknown operation: %d %s", status, b)
	}
	// A region the server does not serve.
	_, err = srv.CloudTrail(AdminKey, AdminSecret, "ap-south-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if !errors.As(err, &uoe) {
		t.Fatalf("unserved region: %v", err)
	}
}

func TestSDKIngestIdempotentAndPerRecordErrors(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	batch := []map[string]any{
		Record("WithID", "s3.amazonaws.com", "us-east-1", at, map[string]any{"eventID": "e2e00000-0000-0000-0000-00000000aaaa"}),
		Record("WithoutID", "s3.amazonaws.com", "us-east-1", at, nil),
		{"eventSource": "s3.amazonaws.com", "eventTime": at.Format(time.RFC3339), "awsRegion": "us-east-1"},
		Record("BadTime", "s3.amazonaws.com", "us-east-1", at, map[string]any{"eventTime": "yesterday"}),
		Record("BadType", "s3.amazonaws.com", "us-east-1", at, map[string]any{"readOnly": "yes"}),
		Record("BadRegion", "s3.amazonaws.com", "mars-north-1", at, nil),
		Record("Huge", "s3.amazonaws.com", "us-east-1", at, map[string]any{"requestParameters": map[string]any{"blob": strings.Repeat("x", 300*1024)}}),
	}
	first := srv.Ingest(t, AdminKey, AdminSecret, batch...)
	if first.Accepted != 2 || len(first.EventIDs) != 2 || len(first.Failed) != 5 {
		t.Fatalf("first: %+v", first)
	}
	wantFail := map[int][2]string{2: {"FieldNotFound", "eventName"}, 3: {"InvalidData", "eventTime"},
		4: {"InvalidData", "readOnly"}, 5: {"InvalidData", "awsRegion"}, 6: {"FieldTooLong", "256 KB"}}
	for _, f := range first.Failed {
		w, ok := wantFail[f.Index]
		if !ok || f.ErrorCode != w[0] || !strings.Contains(f.ErrorMessage, w[1]) {
			t.Errorf("failure %+v, want %v", f, w)
		}
	}
	// The retried batch stores nothing new and answers the same IDs.
	second := srv.Ingest(t, AdminKey, AdminSecret, batch...)
	if fmt.Sprint(second.EventIDs) != fmt.Sprint(first.EventIDs) {
		t.Fatalf("retry IDs %v, first %v", second.EventIDs, first.EventIDs)
	}
	if first.Duplicates != 0 || second.Accepted != 2 || second.Duplicates != 2 {
		t.Errorf("duplicates: first %d, retry %d of %d accepted; want 0, then 2 of 2", first.Duplicates, second.Duplicates, second.Accepted)
	}
	evs := withoutSelfAudit(lookupAll(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), &cloudtrail.LookupEventsInput{}))
	if len(evs) != 2 {
		t.Fatalf("after retry: %v", eventNames(evs))
	}
	// Batch limits.
	many := make([]json.RawMessage, 1001)
	for i := range many {
		many[i] = json.RawMessage(`{}`)
	}
	body, _ := json.Marshal(map[string]any{"Records": many})
	if status, b := srv.Post(t, AdminKey, AdminSecret, "/v1/events", body, nil); status != http.StatusBadRequest || !strings.Contains(string(b), "1000") {
		t.Errorf("1001 records: %d %s", status, b)
	}
	big := []byte(`{"Records":["` + strings.Repeat("x", 9<<20) + `"]}`)
	if status, b := srv.Post(t, AdminKey, AdminSecret, "/v1/events", big, nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MiB body: %d %s", status, b)
	}
	for _, bad := range []string{`not json`, `{"Records":{}}`, `{}`, `[]`} {
		if status, b := srv.Post(t, AdminKey, AdminSecret, "/v1/events", []byte(bad), nil); status != http.StatusBadRequest || !strings.Contains(string(b), "SerializationException") {
			t.Errorf("body %s: %d %s", bad, status, b)
		}
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after bad input: %v", err)
	}
}

func TestSDKSelfAudit(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	c := srv.CloudTrail(AdminKey, AdminSecret, "eu-west-1")
	ctx := context.Background()
	if _, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyUsername, "nobody")}); err != nil {
		t.Fatal(err)
	}
	c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(99)})
	// The read-only user is refused a write; the refusal is recorded too.
	srv.CloudTrail(ReaderKey, ReaderSecret, "eu-west-1").StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("t")})

	find := func(name string, pred func(map[string]any) bool) map[string]any {
		t.Helper()
		var found map[string]any
		testutil.WaitForEvery(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
			out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: attr(types.LookupAttributeKeyEventName, name)})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				var rec map[string]any
				json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec)
				if pred(rec) {
					found = rec
					return true, ""
				}
			}
			return false, fmt.Sprintf("no %s audit event found", name)
		})
		return found
	}
	ok := find("LookupEvents", func(r map[string]any) bool {
		p, _ := r["requestParameters"].(map[string]any)
		return p != nil && p["lookupAttributes"] != nil && r["errorCode"] == nil
	})
	id := ok["userIdentity"].(map[string]any)
	if ok["eventSource"] != "cloudtrail.amazonaws.com" || ok["awsRegion"] != "eu-west-1" || id["userName"] != "alice" ||
		id["accessKeyId"] != AdminKey || id["type"] != "IAMUser" || id["arn"] != "arn:aws:iam::111111111111:user/alice" ||
		ok["sourceIPAddress"] != "127.0.0.1" || ok["readOnly"] != true || ok["recipientAccountId"] != Account1 ||
		!strings.Contains(fmt.Sprint(ok["userAgent"]), "aws-sdk-go-v2") || ok["responseElements"] != nil {
		t.Errorf("LookupEvents audit record: %v", ok)
	}
	failed := find("LookupEvents", func(r map[string]any) bool { return r["errorCode"] == "InvalidMaxResultsException" })
	if !strings.Contains(fmt.Sprint(failed["errorMessage"]), "MaxResults") {
		t.Errorf("failed call record: %v", failed)
	}
	denied := find("StopLogging", func(r map[string]any) bool { return r["errorCode"] == "AccessDenied" })
	if denied["readOnly"] != false || denied["userIdentity"].(map[string]any)["userName"] != "rita" {
		t.Errorf("denied call record: %v", denied)
	}
}
