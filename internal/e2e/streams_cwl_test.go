package e2e

// Trails to CloudWatch Logs log groups (SPEC §10): each event a trail
// selects — exactly what its log files get — is one log event in the stream
// <account>_CloudTrail_<region> of its group (moto's CloudWatch Logs read
// back with GetLogEvents), or one line of an NDJSON file, or one line of an
// NDJSON POST; only while the trail logs.

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// cwlSameAsLogFiles checks that a trail's destination (read) got exactly
// the events of the trail's log files in directory bucket bucketName —
// among them every id of must — each once and byte for byte the stored
// record. (The trail takes the server's own API calls too: both get them.)
func cwlSameAsLogFiles(t *testing.T, srv *Server, what, bucketName string, must []string, read func() []cwlMsg) {
	t.Helper()
	b := dlDir{name: bucketName, dir: filepath.Join(srv.DataDir, "buckets", bucketName)}
	cwlWaitAll(t, srv, what, must, 60*time.Second, read)
	var inDest []string
	for id := range cwlCount(read()) {
		inDest = append(inDest, id)
	}
	files := dlWaitDelivered(t, srv, b, "AWSLogs/", append(inDest, must...), 60*time.Second)
	records := cwlRecords(files)
	var inFiles []string
	for id := range records {
		inFiles = append(inFiles, id)
	}
	got := cwlWaitAll(t, srv, what, inFiles, 60*time.Second, read)
	n := cwlCount(got)
	for _, m := range got {
		if rec, ok := records[m.ID]; !ok {
			t.Errorf("%s got event %s, which the trail's log files do not have", what, m.ID)
		} else if m.Raw != rec {
			t.Errorf("%s: event %s is not the stored record:\n got %.300s\nwant %.300s", what, m.ID, m.Raw, rec)
		}
		if n[m.ID] > 1 {
			t.Errorf("%s got event %s %d times", what, m.ID, n[m.ID])
		}
	}
}

func TestStreamsCWLMotoGetLogEvents(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	logs := cwlLogsClient(endpoint)
	ctx := context.Background()
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail-group")}); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker.ndjson")
	srv := Start(t, Options{Config: dlConfig(cwlGroups("trail-group=cloudwatch-logs://?endpoint="+endpoint, "marker=file://"+marker))})
	arn := cwlTrail(t, srv, "to-cwl", "cwl-logs", "trail-group", dlMulti)
	cwlTrail(t, srv, "marker", "marker-logs", "marker")

	east, west := "111111111111_CloudTrail_us-east-1", "111111111111_CloudTrail_eu-west-1"
	ids := dlIngest(t, srv,
		dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil),
		dlEvent("CreateUser", "iam.amazonaws.com", "us-east-1", Account1, nil), // global: the trail includes them
		dlEvent("DescribeInstances", "ec2.amazonaws.com", "eu-west-1", Account1, map[string]any{"readOnly": true}),
		dlEvent("RunInstances", "ec2.amazonaws.com", "eu-west-1", Account1, nil),
		dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account2, nil), // another account's: not the trail's
	)
	taken := ids[:4]
	read := func() []cwlMsg {
		return append(cwlGetLogEvents(t, logs, "trail-group", east), cwlGetLogEvents(t, logs, "trail-group", west)...)
	}
	cwlSameAsLogFiles(t, srv, "moto's log group", "cwl-logs", taken, read)
	got := read()
	if cwlCount(got)[ids[4]] != 0 {
		t.Errorf("another account's event reached the trail's log group")
	}
	// Each in its account's and region's stream, timestamp = eventTime.
	inStream := map[string]string{}
	for _, m := range cwlGetLogEvents(t, logs, "trail-group", east) {
		inStream[m.ID] = east
	}
	for _, m := range cwlGetLogEvents(t, logs, "trail-group", west) {
		inStream[m.ID] = west
	}
	for i, want := range []string{east, east, west, west} {
		if inStream[taken[i]] != want {
			t.Errorf("event %d is in stream %q, want %q", i, inStream[taken[i]], want)
		}
	}
	for _, m := range got {
		rec := cwlRecord(t, m.Raw)
		at, err := time.Parse(time.RFC3339, rec.EventTime)
		if err != nil || m.Timestamp != at.UnixMilli() {
			t.Errorf("event %s: timestamp %d, eventTime %s", m.ID, m.Timestamp, rec.EventTime)
		}
	}
	st := dlStatus(t, srv, "us-east-1", arn)
	if st.LatestCloudWatchLogsDeliveryTime == nil || aws.ToString(st.LatestCloudWatchLogsDeliveryError) != "" {
		t.Errorf("GetTrailStatus: LatestCloudWatchLogsDeliveryTime %v, error %q", st.LatestCloudWatchLogsDeliveryTime,
			aws.ToString(st.LatestCloudWatchLogsDeliveryError))
	}

	// StopLogging stops sending: events after it reach the marker trail's
	// group, not this one's.
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	after := dlIngest(t, srv, dlEvent("TerminateInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	cwlWaitAll(t, srv, "the marker file", after, 30*time.Second, func() []cwlMsg { return cwlFileLines(t, marker) })
	if n := cwlCount(read())[after[0]]; n != 0 {
		t.Errorf("an event after StopLogging reached the stopped trail's log group")
	}
	// Logging again sends what comes after the start.
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	again := dlIngest(t, srv, dlEvent("StopInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	cwlWaitAll(t, srv, "moto's log group after StartLogging", again, 30*time.Second, read)
	if n := cwlCount(read())[after[0]]; n != 0 {
		t.Errorf("an event of the stopped time reached the log group after StartLogging")
	}
	if !dlPoll(30*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError) == ""
	}) {
		t.Errorf("the CloudWatch Logs error stays after a clean delivery")
	}
}

// An event CloudWatch Logs would refuse (over 14 days old) is not sent: the
// status, the log and the metrics say so, and the stream goes on.
func TestStreamsCWLMotoLeavesOutOldEvents(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	logs := cwlLogsClient(endpoint)
	if _, err := logs.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("old-group")}); err != nil {
		t.Fatal(err)
	}
	srv := Start(t, Options{Config: dlConfig(cwlGroups("old-group=cloudwatch-logs://?endpoint=" + endpoint))})
	arn := cwlTrail(t, srv, "old", "old-logs", "old-group")
	oldRec := dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil)
	oldRec["eventTime"] = time.Now().Add(-20 * 24 * time.Hour).UTC().Format(time.RFC3339)
	// One POST: the old event and a new one go in one pass, and no read
	// of Cairn's API (its own events are the trail's too) comes between.
	ids := dlIngest(t, srv, oldRec, dlEvent("RebootInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	read := func() []cwlMsg { return cwlGetLogEvents(t, logs, "old-group", "111111111111_CloudTrail_us-east-1") }
	cwlWaitAll(t, srv, "moto's log group", ids[1:], 30*time.Second, read)
	if cwlCount(read())[ids[0]] != 0 {
		t.Errorf("an event 20 days old was sent to CloudWatch Logs")
	}
	var metrics string
	if !dlPoll(10*time.Second, func() bool {
		_, metrics, _ = startupGet(t, srv.URL+"/metrics")
		return strings.Contains(metrics, `cairn_stream_events_dropped_total{kind="cloudwatch-logs"} 1`)
	}) {
		t.Errorf("/metrics does not count the event left out:\n%s", metrics)
	}
	if !strings.Contains(metrics, `cairn_stream_events_sent_total{kind="cloudwatch-logs"}`) {
		t.Errorf("/metrics lacks cairn_stream_events_sent_total")
	}
	if e := aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError); !strings.Contains(e, "over 14 days old") {
		t.Errorf("LatestCloudWatchLogsDeliveryError %q does not tell of the event left out", e)
	}
	if !strings.Contains(srv.Log(), "stream: events not delivered") {
		t.Errorf("the server log does not tell of the event left out")
	}
}

// cwlRecord reads the fields of a record the tests check.
func cwlRecord(t *testing.T, raw string) struct{ EventTime string } {
	t.Helper()
	var r struct {
		EventTime string `json:"eventTime"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("record %.200s: %v", raw, err)
	}
	return struct{ EventTime string }{r.EventTime}
}

func TestStreamsCWLFileAndHTTP(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "logs", "trail.ndjson")
	l := cwlListen(t)
	srv := Start(t, Options{Config: dlConfig(cwlGroups("file-group=file://"+file, "http-group="+l.URL))})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	cwlTrail(t, srv, "to-file", "file-logs", "file-group") // single-region: us-east-1 only
	httpARN := cwlTrail(t, srv, "to-http", "http-logs", "http-group", dlMulti)
	// The HTTP trail takes write events only.
	if _, err := ct.PutEventSelectors(context.Background(), &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(httpARN),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for i := range 30 {
		region := dlRegions[i%3]
		if i%4 == 0 {
			recs = append(recs, dlEvent("DescribeInstances", "ec2.amazonaws.com", region, Account1, map[string]any{"readOnly": true}))
		} else {
			recs = append(recs, dlEvent("RunInstances", "ec2.amazonaws.com", region, Account1, nil))
		}
	}
	ids := dlIngest(t, srv, recs...)
	var fileIDs, httpIDs []string
	for i, id := range ids {
		if dlRegions[i%3] == "us-east-1" {
			fileIDs = append(fileIDs, id)
		}
		if i%4 != 0 {
			httpIDs = append(httpIDs, id)
		}
	}
	cwlSameAsLogFiles(t, srv, "the NDJSON file", "file-logs", fileIDs, func() []cwlMsg { return cwlFileLines(t, file) })
	cwlSameAsLogFiles(t, srv, "the HTTP listener", "http-logs", httpIDs, l.received)
	if p := l.problems(); len(p) > 0 {
		t.Errorf("the listener got bad requests: %v", p)
	}
}

// A destination down for a while (the listener answering 500) shows its
// error in GetTrailStatus, holds retention — events older than the event
// history, purged by a restart for everything else, stay for it — and
// catches up with nothing lost once it is back.
func TestStreamsCWLDestinationDownCatchesUp(t *testing.T) {
	t.Parallel()
	l := cwlListen(t)
	l.setStatus(http.StatusInternalServerError)
	cfg := dlConfig(cwlGroups("http-group="+l.URL), "event_history_days: 1\n")
	srv := Start(t, Options{Config: cfg})
	arn := cwlTrail(t, srv, "down", "down-logs", "http-group")
	old := time.Now().Add(-3 * 24 * time.Hour)
	var recs []map[string]any
	for i := range 20 {
		r := dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil)
		r["eventTime"] = old.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339)
		recs = append(recs, r)
	}
	ids := dlIngest(t, srv, recs...)
	ids = append(ids, dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))...)
	if !dlPoll(30*time.Second, func() bool {
		return strings.Contains(aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError), "500")
	}) {
		t.Fatalf("GetTrailStatus shows no CloudWatch Logs delivery error while the listener answers 500: %+v\nserver log:\n%s",
			dlStatus(t, srv, "us-east-1", arn), dlTail(srv.Log(), 30))
	}
	// The log files are written meanwhile: only the stream holds the
	// expired events back.
	dlWaitDelivered(t, srv, dlDir{name: "down-logs", dir: filepath.Join(srv.DataDir, "buckets", "down-logs")}, "AWSLogs/", ids, 60*time.Second)

	// A restart purges expired events at once — not these.
	srv.Stop(t)
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	if !dlPoll(20*time.Second, func() bool { return strings.Contains(srv.Log(), "retention: purged expired events") }) {
		t.Fatalf("the restarted server did not purge\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	if len(l.received()) != 0 {
		t.Fatalf("the listener answering 500 received events")
	}
	l.setStatus(http.StatusOK)
	got := cwlWaitAll(t, srv, "the listener, back up", ids, 90*time.Second, l.received)
	for id, n := range cwlCount(got) {
		if n > 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
	if !dlPoll(30*time.Second, func() bool {
		st := dlStatus(t, srv, "us-east-1", arn)
		return aws.ToString(st.LatestCloudWatchLogsDeliveryError) == "" && st.LatestCloudWatchLogsDeliveryTime != nil
	}) {
		t.Errorf("GetTrailStatus after catching up: %+v", dlStatus(t, srv, "us-east-1", arn))
	}
}

// A log group that does not exist is a delivery error (CloudTrail does not
// create the group either) shown by GetTrailStatus; once it is created,
// the trail's events arrive, none lost.
func TestStreamsCWLMissingGroupShowsError(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	logs := cwlLogsClient(endpoint)
	srv := Start(t, Options{Config: dlConfig(cwlGroups("later=cloudwatch-logs://?endpoint=" + endpoint))})
	arn := cwlTrail(t, srv, "later", "later-logs", "later")
	ids := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	if !dlPoll(30*time.Second, func() bool {
		return strings.Contains(aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError), "log group later does not exist")
	}) {
		t.Fatalf("GetTrailStatus does not say the log group is missing: %+v\nserver log:\n%s", dlStatus(t, srv, "us-east-1", arn), dlTail(srv.Log(), 30))
	}
	if _, err := logs.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("later")}); err != nil {
		t.Fatal(err)
	}
	cwlWaitAll(t, srv, "the log group, once created", ids, 90*time.Second, func() []cwlMsg {
		return cwlGetLogEvents(t, logs, "later", "111111111111_CloudTrail_us-east-1")
	})
}
