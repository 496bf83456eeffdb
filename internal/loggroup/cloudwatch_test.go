package loggroup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/stream"
)

// ev makes an event of account and region at time at, with a record of
// about size bytes (at least the JSON's).
func ev(account, region string, at time.Time, size int) *event.Event {
	rec := fmt.Sprintf(`{"eventTime":%q,"awsRegion":%q,"recipientAccountId":%q,"pad":"`, at.UTC().Format(time.RFC3339), region, account)
	rec += strings.Repeat("x", max(0, size-len(rec)-2)) + `"}`
	return &event.Event{Account: account, Region: region, Time: at, Record: []byte(rec)}
}

func logsClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: buckettest.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(buckettest.AccessKeyID, buckettest.SecretAccessKey, "")})
}

// TestCloudWatchAgainstMoto: events go to <account>_CloudTrail_<region>
// streams (created), timestamp = eventTime, message = record; a missing
// group is an error; events CloudWatch Logs would not take are dropped and
// reported.
func TestCloudWatchAgainstMoto(t *testing.T) {
	endpoint := buckettest.StartMoto(t)
	ctx := context.Background()
	cl := logsClient(endpoint)
	if _, err := cl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail-group")}); err != nil {
		t.Fatal(err)
	}
	sink, err := NewCloudWatch(CloudWatchOptions{Group: "trail-group", Region: buckettest.Region, Endpoint: endpoint,
		AccessKeyID: buckettest.AccessKeyID, SecretAccessKey: buckettest.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	evs := []*event.Event{
		ev("111111111111", "us-east-1", now.Add(-time.Minute), 200),
		ev("222222222222", "eu-west-1", now.Add(-2*time.Minute), 200),
		ev("111111111111", "us-east-1", now.Add(-3*time.Minute), 300), // older, later in the log: sorted
		ev("111111111111", "us-east-1", now.Add(-15*24*time.Hour), 200),
		ev("111111111111", "us-east-1", now.Add(3*time.Hour), 200),
	}
	huge := ev("111111111111", "us-east-1", now, 10)
	huge.Record = append([]byte(`"`), append([]byte(strings.Repeat("y", maxEventBytes)), '"')...)
	evs = append(evs, huge)
	err = sink.Send(ctx, evs)
	var dropped *stream.DroppedError
	if !errors.As(err, &dropped) || dropped.Count != 3 {
		t.Fatalf("Send = %v, want 3 events dropped", err)
	}
	for _, r := range []string{"over 256 KB", "over 14 days old", "over 2 hours in the future"} {
		if !strings.Contains(err.Error(), r) {
			t.Errorf("the drop %q does not say %q", err, r)
		}
	}
	read := func(stream string) []types.OutputLogEvent {
		out, err := cl.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("trail-group"),
			LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("GetLogEvents %s: %v", stream, err)
		}
		return out.Events
	}
	a := read("111111111111_CloudTrail_us-east-1")
	if len(a) != 2 || *a[0].Message != string(evs[2].Record) || *a[1].Message != string(evs[0].Record) ||
		*a[0].Timestamp != evs[2].Time.UnixMilli() || *a[1].Timestamp != evs[0].Time.UnixMilli() {
		t.Fatalf("stream of 111111111111/us-east-1: %+v", a)
	}
	if b := read("222222222222_CloudTrail_eu-west-1"); len(b) != 1 || *b[0].Message != string(evs[1].Record) {
		t.Fatalf("stream of 222222222222/eu-west-1: %+v", b)
	}
	// A second Send to the existing stream appends.
	if err := sink.Send(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	if a := read("111111111111_CloudTrail_us-east-1"); len(a) != 3 {
		t.Fatalf("after a second send, %d events", len(a))
	}
	// A group that does not exist is an error (CloudTrail does not create it).
	missing, _ := NewCloudWatch(CloudWatchOptions{Group: "no-such-group", Region: buckettest.Region, Endpoint: endpoint,
		AccessKeyID: buckettest.AccessKeyID, SecretAccessKey: buckettest.SecretAccessKey})
	if err := missing.Send(ctx, evs[:1]); err == nil || !strings.Contains(err.Error(), "log group no-such-group does not exist") {
		t.Fatalf("Send to a missing group = %v", err)
	}
}

func TestBatches(t *testing.T) {
	mk := func(n int, msgLen int, step time.Duration) []types.InputLogEvent {
		var out []types.InputLogEvent
		base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			out = append(out, types.InputLogEvent{Timestamp: aws.Int64(base.Add(time.Duration(i) * step).UnixMilli()),
				Message: aws.String(strings.Repeat("m", msgLen))})
		}
		return out
	}
	sizes := func(bs [][]types.InputLogEvent) []int {
		var out []int
		for _, b := range bs {
			out = append(out, len(b))
		}
		return out
	}
	for _, tt := range []struct {
		name string
		evs  []types.InputLogEvent
		want []int
	}{
		{"one", mk(1, 10, 0), []int{1}},
		{"count", mk(10_001, 1, 0), []int{10_000, 1}},
		// 1,048,576 / (1000+26) = 1022.0: 1022 events a batch.
		{"bytes", mk(2100, 1000, 0), []int{1022, 1022, 56}},
		{"span", mk(5, 1, 10*time.Hour), []int{3, 2}},
	} {
		if got := sizes(batches(tt.evs)); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: batches %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRejected(t *testing.T) {
	i := func(n int32) *int32 { return &n }
	for _, tt := range []struct {
		r    types.RejectedLogEventsInfo
		n    int
		want int
	}{
		{types.RejectedLogEventsInfo{}, 10, 0},
		{types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i(3)}, 10, 3},
		{types.RejectedLogEventsInfo{ExpiredLogEventEndIndex: i(4), TooOldLogEventEndIndex: i(2)}, 10, 4},
		{types.RejectedLogEventsInfo{TooNewLogEventStartIndex: i(8)}, 10, 2},
		{types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i(3), TooNewLogEventStartIndex: i(8)}, 10, 5},
	} {
		if got := rejected(&tt.r, tt.n); got != tt.want {
			t.Errorf("rejected(%+v, %d) = %d, want %d", tt.r, tt.n, got, tt.want)
		}
	}
}
