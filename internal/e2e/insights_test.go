package e2e

// End-to-end tests of Insights: a week of ordinary traffic backfilled
// (eventTimes in the past), then bursts now, through the real binary; the
// Insights events are read back with the AWS CLI (lookup-events
// --event-category insight) and from the trail's bucket.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// insConfig makes Insights quick to observe: a minute is analysed 2s after
// its end (insights.settle), delivery and digests every few seconds.
const insConfig = `
insights: {baseline_window: 168h, settle: 2s}
`

// insRecord is one CloudTrail Insights record as the tests read it.
type insRecord struct {
	EventTime      string `json:"eventTime"`
	EventType      string `json:"eventType"`
	EventCategory  string `json:"eventCategory"`
	EventID        string `json:"eventID"`
	SharedEventID  string `json:"sharedEventID"`
	Recipient      string `json:"recipientAccountId"`
	AWSRegion      string `json:"awsRegion"`
	InsightDetails struct {
		State          string `json:"state"`
		EventSource    string `json:"eventSource"`
		EventName      string `json:"eventName"`
		InsightType    string `json:"insightType"`
		InsightContext struct {
			Statistics struct {
				Baseline         struct{ Average float64 } `json:"baseline"`
				Insight          struct{ Average float64 } `json:"insight"`
				InsightDuration  float64                   `json:"insightDuration"`
				BaselineDuration float64                   `json:"baselineDuration"`
			} `json:"statistics"`
			Attributions []struct {
				Attribute string `json:"attribute"`
				Insight   []struct {
					Value   string  `json:"value"`
					Average float64 `json:"average"`
				} `json:"insight"`
				Baseline []struct {
					Value   string  `json:"value"`
					Average float64 `json:"average"`
				} `json:"baseline"`
			} `json:"attributions"`
		} `json:"insightContext"`
	} `json:"insightDetails"`
}

func (r insRecord) what() string {
	return r.InsightDetails.EventName + "/" + r.InsightDetails.InsightType + "/" + r.InsightDetails.State
}

// insBackfill ingests a week of ordinary traffic before now: every 10
// minutes one RunInstances (a write) and one DescribeInstances (a read) by
// the usual user; every hour (but the last 45 minutes) one GetParameter
// refused with AccessDenied.
func insBackfill(t *testing.T, srv *Server, now time.Time) {
	t.Helper()
	start := now.Add(-7 * 24 * time.Hour).Truncate(time.Minute)
	var recs []map[string]any
	flush := func() {
		if len(recs) > 0 {
			dlIngest(t, srv, recs...)
			recs = recs[:0]
		}
	}
	for at := start; at.Before(now.Add(-2 * time.Minute)); at = at.Add(10 * time.Minute) {
		recs = append(recs,
			Record("RunInstances", "ec2.amazonaws.com", "us-east-1", at, map[string]any{"readOnly": false, "eventID": dlNewID()}),
			Record("DescribeInstances", "ec2.amazonaws.com", "us-east-1", at, map[string]any{"readOnly": true, "eventID": dlNewID()}))
		// None in the last 45 minutes: the console's chart of the burst's
		// error-rate Insight (30 minutes before it to 15 after) then counts
		// exactly the burst's errors, whatever the minute the test runs.
		if at.Minute() < 10 && at.Before(now.Add(-45*time.Minute)) {
			recs = append(recs, Record("GetParameter", "ssm.amazonaws.com", "us-east-1", at,
				map[string]any{"readOnly": true, "errorCode": "AccessDenied", "eventID": dlNewID()}))
		}
		if len(recs) >= 900 {
			flush()
		}
	}
	flush()
}

// insBurst is n records of one API by mallory at eventTime at.
func insBurst(n int, name, source string, at time.Time, extra map[string]any) []map[string]any {
	var out []map[string]any
	for range n {
		r := Record(name, source, "us-east-1", at, extra)
		r["eventID"] = dlNewID()
		r["userAgent"] = "burst-agent/1.0"
		r["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDAMALLORY", "userName": "mallory",
			"arn": "arn:aws:iam::111111111111:user/mallory", "accountId": "111111111111"}
		out = append(out, r)
	}
	return out
}

// insLookup is `aws cloudtrail lookup-events --event-category insight`.
func insLookup(t *testing.T, srv *Server) []insRecord {
	t.Helper()
	out := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", "--event-category", "insight")
	var recs []insRecord
	for _, e := range out.Events {
		var r insRecord
		if err := json.Unmarshal([]byte(e.CloudTrailEvent), &r); err != nil {
			t.Fatalf("Insights event is not a record: %v\n%s", err, e.CloudTrailEvent)
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].what() < recs[j].what() })
	return recs
}

// TestInsightsCallAndErrorRate: a week of steady traffic backfilled, then
// in one minute a burst of RunInstances writes, a burst of
// DescribeInstances reads and a burst of refused GetParameter calls →
// exactly one ApiCallRateInsight (RunInstances) and one
// ApiErrorRateInsight (GetParameter), each a Start then an End with the
// same sharedEventID, statistics and attributions; the reads raise no call
// rate Insight. The records are in lookup-events --event-category insight
// and in CloudTrail-Insight/ log files of the trail's bucket, which
// `cairn verify` validates with the digests.
func TestInsightsCallAndErrorRate(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(insConfig)})
	ctx := context.Background()
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	b := dlDir{name: "insight-logs", dir: dlMkBucket(t, srv, "insight-logs")}
	arn := dlTrail(t, c, "insights", b.name, dlValidation)
	_, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(arn),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight},
			{InsightType: types.InsightTypeApiErrorRateInsight}}})
	if err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	start := time.Now().UTC()
	insBackfill(t, srv, start)

	// The bursts must fall in one minute that has not closed: if this
	// minute is nearly over, take the next.
	now := time.Now().UTC()
	if now.Second() > 45 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		now = time.Now().UTC()
	}
	burst := now.Truncate(time.Second)
	var recs []map[string]any
	recs = append(recs, insBurst(50, "RunInstances", "ec2.amazonaws.com", burst, map[string]any{"readOnly": false})...)
	recs = append(recs, insBurst(80, "DescribeInstances", "ec2.amazonaws.com", burst, map[string]any{"readOnly": true})...)
	recs = append(recs, insBurst(30, "GetParameter", "ssm.amazonaws.com", burst,
		map[string]any{"readOnly": true, "errorCode": "ThrottlingException"})...)
	dlIngest(t, srv, recs...)

	// Start when the minute closes, End when the next (quiet) one does.
	var got []insRecord
	if !dlPoll(4*time.Minute, func() bool { got = insLookup(t, srv); return len(got) >= 4 }) {
		t.Fatalf("Insights events after 4 minutes: %d %v\nserver log:\n%s", len(got), got, dlTail(srv.Log(), 30))
	}
	var whats []string
	for _, r := range got {
		whats = append(whats, r.what())
	}
	want := "GetParameter/ApiErrorRateInsight/End,GetParameter/ApiErrorRateInsight/Start," +
		"RunInstances/ApiCallRateInsight/End,RunInstances/ApiCallRateInsight/Start"
	if strings.Join(whats, ",") != want {
		t.Fatalf("Insights events %v, want %s", whats, want)
	}
	minute := burst.Truncate(time.Minute)
	for i := 0; i < 4; i += 2 {
		end, st := got[i], got[i+1]
		insCheckPair(t, st, end, minute)
	}
	// Call rate: 50 calls in the minute against 0.1 a minute.
	call := got[3].InsightDetails.InsightContext
	if s := call.Statistics; s.Insight.Average != 50 || s.Baseline.Average < 0.09 || s.Baseline.Average > 0.11 {
		t.Errorf("RunInstances Start statistics %+v", s)
	}
	insCheckAttr(t, got[2], "userIdentityArn", "arn:aws:iam::111111111111:user/mallory", 50, "arn:aws:iam::111111111111:user/tester")
	insCheckAttr(t, got[2], "userAgent", "burst-agent/1.0", 50, "e2e-test")
	insCheckAttr(t, got[2], "errorCode", "null", 50, "null")
	// Error rate: 30 errors against one an hour, the code attributed.
	if s := got[1].InsightDetails.InsightContext.Statistics; s.Insight.Average != 30 || s.Baseline.Average > 0.02 {
		t.Errorf("GetParameter Start statistics %+v", s)
	}
	insCheckAttr(t, got[0], "errorCode", "ThrottlingException", 30, "AccessDenied")

	// The trail's bucket: the four records in CloudTrail-Insight/ files,
	// and nothing of them among the ordinary log files.
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.EventID] = true
	}
	var files []dlLogFile
	if !dlPoll(30*time.Second, func() bool {
		files = insFiles(t, b)
		n := 0
		for _, f := range files {
			for _, r := range f.Records {
				if ids[fmt.Sprint(r["eventID"])] {
					n++
				}
			}
		}
		return n == 4
	}) {
		var ins []string
		for _, k := range b.Keys(t) {
			if !dlIsDigestKey(k) && !dlIsLogKey(k) {
				ins = append(ins, k)
			}
		}
		t.Fatalf("want the 4 Insights records in CloudTrail-Insight/ files; files outside CloudTrail/ and CloudTrail-Digest/: %v", ins)
	}
	for _, f := range files {
		if !insKeyRE.MatchString(f.Key) {
			t.Errorf("Insights log file key %s, want CloudTrail's layout %s", f.Key, insKeyRE)
		}
		for _, r := range f.Records {
			if r["eventType"] != "AwsCloudTrailInsight" || r["eventCategory"] != "Insight" {
				t.Errorf("record in %s is not an Insights event: %v", f.Key, r)
			}
		}
	}
	for _, f := range dlLogs(t, b, "") {
		for _, r := range f.Records {
			if ids[fmt.Sprint(r["eventID"])] {
				t.Errorf("Insights event %v in the ordinary log file %s", r["eventID"], f.Key)
			}
		}
	}
	// The digests list the Insights files, and cairn verify validates them.
	// (A digest ending in this second may have been made just before the
	// last file: wait for one that ends after it.)
	dlWaitDigests(t, srv, b, time.Now().Add(time.Second), 1, "/CloudTrail-Digest/us-east-1/")
	res := dlVerify(t, "--trail-arn", arn, "--start-time", start.Add(-time.Minute).Format(time.RFC3339), "--endpoint", srv.URL,
		"--bucket-dir", b.dir, "--verbose")
	if res.code != 0 {
		t.Fatalf("cairn verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, f := range files {
		if !strings.Contains(res.stdout+res.stderr, f.Key) {
			t.Errorf("cairn verify did not check the Insights file %s:\n%s", f.Key, res.stdout)
		}
	}
}

// insKeyRE is CloudTrail's key of an Insights log file of Account1 in us-east-1.
var insKeyRE = regexp.MustCompile(`^AWSLogs/111111111111/CloudTrail-Insight/us-east-1/\d{4}/\d{2}/\d{2}/` +
	`111111111111_CloudTrail-Insight_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json\.gz$`)

// insFiles reads the trail's CloudTrail-Insight/ log files.
func insFiles(t *testing.T, b dlBucket) []dlLogFile {
	var out []dlLogFile
	for _, k := range b.Keys(t) {
		if strings.Contains(k, "/CloudTrail-Insight/") {
			out = append(out, dlReadLog(t, b, k))
		}
	}
	return out
}

// insCheckPair checks a Start and its End: one sharedEventID, the times of
// the burst minute and the minute after, a one-minute Insight against a
// week of baseline.
func insCheckPair(t *testing.T, st, end insRecord, minute time.Time) {
	t.Helper()
	for _, r := range []insRecord{st, end} {
		if r.EventType != "AwsCloudTrailInsight" || r.EventCategory != "Insight" || r.Recipient != Account1 ||
			r.AWSRegion != "us-east-1" || r.SharedEventID == "" || r.EventID == "" {
			t.Errorf("%s: record fields %+v", r.what(), r)
		}
		if s := r.InsightDetails.InsightContext.Statistics; s.InsightDuration != 1 || s.BaselineDuration != 7*24*60 {
			t.Errorf("%s: durations %+v", r.what(), s)
		}
		if len(r.InsightDetails.InsightContext.Attributions) != 3 {
			t.Errorf("%s: attributions %+v", r.what(), r.InsightDetails.InsightContext.Attributions)
		}
	}
	if st.SharedEventID != end.SharedEventID || st.EventID == end.EventID {
		t.Errorf("%s and %s: sharedEventIDs %s, %s", st.what(), end.what(), st.SharedEventID, end.SharedEventID)
	}
	if st.EventTime != minute.Format(time.RFC3339) || end.EventTime != minute.Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("%s at %s, End at %s; the burst minute is %s", st.what(), st.EventTime, end.EventTime, minute)
	}
}

// insCheckAttr checks an attribution: the Insight's top value with its
// per-minute average, and the baseline's top value.
func insCheckAttr(t *testing.T, r insRecord, attr, insight string, avg float64, baseline string) {
	t.Helper()
	for _, a := range r.InsightDetails.InsightContext.Attributions {
		if a.Attribute != attr {
			continue
		}
		if len(a.Insight) == 0 || a.Insight[0].Value != insight || a.Insight[0].Average != avg ||
			len(a.Baseline) == 0 || a.Baseline[0].Value != baseline {
			t.Errorf("%s: attribution %s = %+v", r.what(), attr, a)
		}
		return
	}
	t.Errorf("%s: no %s attribution", r.what(), attr)
}

// TestInsightsAcrossSIGKILL: an Insight whose Start is out when the server
// is killed (SIGKILL) goes on after the restart: its second busy minute,
// stored just before the kill, is counted, and the next quiet minute ends
// it — one Start, one End, one sharedEventID.
func TestInsightsAcrossSIGKILL(t *testing.T) {
	t.Parallel()
	cfg := dlConfig(insConfig)
	srv := Start(t, Options{Config: cfg})
	ctx := context.Background()
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlMkBucket(t, srv, "insight-logs")
	arn := dlTrail(t, c, "insights", "insight-logs", nil)
	if _, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(arn),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	insBackfill(t, srv, time.Now().UTC())
	now := time.Now().UTC()
	if now.Second() > 45 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		now = time.Now().UTC()
	}
	minute := now.Truncate(time.Minute)
	dlIngest(t, srv, insBurst(50, "RunInstances", "ec2.amazonaws.com", now.Truncate(time.Second), map[string]any{"readOnly": false})...)
	var got []insRecord
	if !dlPoll(2*time.Minute, func() bool { got = insLookup(t, srv); return len(got) >= 1 }) {
		t.Fatalf("no Start within 2 minutes\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	// The next minute is busy too; the server dies with it stored.
	second := time.Now().UTC()
	if second.Truncate(time.Minute) != minute.Add(time.Minute) || second.Second() > 50 {
		t.Fatalf("the Start came at %s, too late in the minute after the burst (%s) to test across a kill", second, minute)
	}
	dlIngest(t, srv, insBurst(70, "RunInstances", "ec2.amazonaws.com", second.Truncate(time.Second), map[string]any{"readOnly": false})...)
	srv.Kill()
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	if !dlPoll(3*time.Minute, func() bool { got = insLookup(t, srv); return len(got) >= 2 }) {
		t.Fatalf("no End within 3 minutes of the restart: %v\nserver log:\n%s", got, dlTail(srv.Log(), 30))
	}
	if len(got) != 2 || got[0].what() != "RunInstances/ApiCallRateInsight/End" || got[1].what() != "RunInstances/ApiCallRateInsight/Start" {
		var whats []string
		for _, r := range got {
			whats = append(whats, r.what())
		}
		t.Fatalf("Insights events after the restart: %v, want one Start and one End", whats)
	}
	end, st := got[0], got[1]
	if st.SharedEventID != end.SharedEventID || st.EventTime != minute.Format(time.RFC3339) ||
		end.EventTime != minute.Add(2*time.Minute).Format(time.RFC3339) {
		t.Errorf("Start %s at %s, End %s at %s; burst minute %s", st.SharedEventID, st.EventTime, end.SharedEventID, end.EventTime, minute)
	}
	if s := end.InsightDetails.InsightContext.Statistics; s.InsightDuration != 2 || s.Insight.Average != 60 {
		t.Errorf("End statistics %+v, want 2 minutes averaging 60 calls", s)
	}
}

// TestInsightSelectorsNeedTheirEvents: put-insight-selectors refuses what
// the trail's event selectors cannot feed, with CloudTrail's error, and
// changes nothing.
func TestInsightSelectorsNeedTheirEvents(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlMkBucket(t, srv, "insight-logs")
	arn := dlTrail(t, c, "reads", "insight-logs", nil)
	run := func(args ...string) cliResult {
		return cliRun(t, srv, AdminKey, AdminSecret, "us-east-1", append([]string{"cloudtrail"}, args...)...)
	}
	if res := run("put-event-selectors", "--trail-name", arn, "--event-selectors",
		`[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true}]`); res.code != 0 {
		t.Fatalf("put-event-selectors: %s", res.stderr)
	}
	res := cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidInsightSelectorsException", "cloudtrail", "put-insight-selectors",
		"--trail-name", arn, "--insight-selectors", `[{"InsightType":"ApiCallRateInsight"}]`)
	if !strings.Contains(res.stderr, "write management events") {
		t.Errorf("the refusal does not say why: %s", res.stderr)
	}
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidInsightSelectorsException", "cloudtrail", "put-insight-selectors",
		"--trail-name", arn, "--insight-selectors", `[{"InsightType":"ApiErrorRateInsight","EventCategories":["Data"]}]`)
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InsightNotEnabledException", "cloudtrail", "get-insight-selectors", "--trail-name", arn)
	// The error rate needs reads or writes: reads will do.
	if res := run("put-insight-selectors", "--trail-name", arn, "--insight-selectors", `[{"InsightType":"ApiErrorRateInsight"}]`); res.code != 0 {
		t.Fatalf("put-insight-selectors ApiErrorRateInsight on a read-only trail: %s", res.stderr)
	}
}
