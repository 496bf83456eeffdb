package e2e

// End-to-end tests of the Insights read operations, ListInsightsMetricData
// and ListInsightsData, through the AWS CLI and aws-sdk-go-v2, after an
// Insight made as TestInsightsCallAndErrorRate makes one (a backfilled week,
// then bursts).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// insReadFixture is a server after two Insights: 50 RunInstances calls
// (ApiCallRateInsight) and 30 GetParameter calls refused with
// ThrottlingException (ApiErrorRateInsight) in the burst minute, against a
// week of one RunInstances every 10 minutes and one AccessDenied
// GetParameter an hour.
type insReadFixture struct {
	srv   *Server
	arn   string // the trail with both insight selectors
	burst time.Time
	recs  []insRecord // End, Start of GetParameter; End, Start of RunInstances
}

// insReadSetup makes the fixture, waiting for both Insights' Start and End.
func insReadSetup(t *testing.T) insReadFixture {
	t.Helper()
	srv := Start(t, Options{Config: dlConfig(insConfig)})
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlMkBucket(t, srv, "insight-read")
	arn := dlTrail(t, c, "insights", "insight-read", nil)
	_, err := c.PutInsightSelectors(context.Background(), &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(arn),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight},
			{InsightType: types.InsightTypeApiErrorRateInsight}}})
	if err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	insBackfill(t, srv, time.Now().UTC())
	now := time.Now().UTC()
	if now.Second() > 45 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		now = time.Now().UTC()
	}
	burst := now.Truncate(time.Second)
	recs := insBurst(50, "RunInstances", "ec2.amazonaws.com", burst, map[string]any{"readOnly": false})
	recs = append(recs, insBurst(30, "GetParameter", "ssm.amazonaws.com", burst,
		map[string]any{"readOnly": true, "errorCode": "ThrottlingException"})...)
	dlIngest(t, srv, recs...)
	var got []insRecord
	if !dlPoll(4*time.Minute, func() bool { got = insLookup(t, srv); return len(got) >= 4 }) {
		t.Fatalf("Insights events after 4 minutes: %d\nserver log:\n%s", len(got), dlTail(srv.Log(), 30))
	}
	return insReadFixture{srv: srv, arn: arn, burst: burst.Truncate(time.Minute), recs: got}
}

// insMetric is the CLI's list-insights-metric-data answer.
type insMetric struct {
	EventSource, EventName, InsightType, ErrorCode, NextToken string
	// Timestamps are epoch seconds: the CLI prints the answer's numbers.
	Timestamps []float64
	Values     []float64
}

// points maps the answer's timestamps (Unix seconds) to its values.
func (m insMetric) points(t *testing.T) map[int64]float64 {
	out := map[int64]float64{}
	for i, ts := range m.Timestamps {
		out[int64(ts)] = m.Values[i]
	}
	return out
}

// insCLIMetric runs `aws cloudtrail list-insights-metric-data ARGS` as key.
func insCLIMetric(t *testing.T, srv *Server, key, secret string, args ...string) insMetric {
	t.Helper()
	res := cliRun(t, srv, key, secret, "us-east-1", append([]string{"cloudtrail", "list-insights-metric-data"}, args...)...)
	if res.code != 0 {
		t.Fatalf("aws cloudtrail list-insights-metric-data %q: exit %d\n%s", args, res.code, res.stderr)
	}
	var m insMetric
	if err := json.Unmarshal([]byte(res.stdout), &m); err != nil {
		t.Fatalf("list-insights-metric-data output: %v\n%s", err, res.stdout)
	}
	if len(m.Timestamps) != len(m.Values) {
		t.Fatalf("%d timestamps, %d values", len(m.Timestamps), len(m.Values))
	}
	return m
}

func insTime(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }

// TestInsightsReadBackCLISDKConsole: one backfilled week and one burst
// (insReadSetup, the slow part: the Insights take minutes of wall time),
// then what a user reads back of them, through the AWS CLI, the SDK and
// the console.
func TestInsightsReadBackCLISDKConsole(t *testing.T) {
	t.Parallel()
	f := insReadSetup(t)
	t.Run("MetricDataCLI", func(t *testing.T) { insMetricDataCLI(t, f) })
	t.Run("DataCLIAndSDK", func(t *testing.T) { insDataCLIAndSDK(t, f) })
	t.Run("Console", func(t *testing.T) { insConsole(t, f) })
}

// insMetricDataCLI: after the Insights, list-insights-metric-data
// gives the burst minute's 50 calls at Period 60 and the same sums at 300
// and 3600; FillWithZeros gives every minute; errors are counted by code;
// pages follow each other; bad parameters get InvalidParameterException;
// another account sees nothing; the calls are authorized and recorded.
func insMetricDataCLI(t *testing.T, f insReadFixture) {
	srv, burst := f.srv, f.burst
	run := []string{"--event-source", "ec2.amazonaws.com", "--event-name", "RunInstances", "--insight-type", "ApiCallRateInsight"}
	from, to := burst.Truncate(time.Hour).Add(-time.Hour), burst.Truncate(time.Hour).Add(time.Hour)
	window := []string{"--start-time", insTime(from), "--end-time", insTime(to)}
	// The counts are written when the engine checkpoints: poll for them.
	var m insMetric
	if !dlPoll(time.Minute, func() bool {
		m = insCLIMetric(t, srv, AdminKey, AdminSecret, append(append(run, window...), "--period", "60")...)
		return m.points(t)[burst.Unix()] == 50
	}) {
		t.Fatalf("Period 60: no 50 at the burst minute %s: %+v", burst, m)
	}
	if m.EventSource != "ec2.amazonaws.com" || m.EventName != "RunInstances" || m.InsightType != "ApiCallRateInsight" || m.ErrorCode != "" {
		t.Errorf("answer's members: %+v", m)
	}
	minutes := m.points(t)
	var backfill int
	for at, v := range minutes {
		if at != burst.Unix() && v != 1 {
			t.Errorf("minute %s: %v calls, want the backfill's 1", time.Unix(at, 0).UTC(), v)
		}
		backfill++
	}
	if backfill < 6 {
		t.Errorf("Period 60 over two hours: %d minutes with calls, want the backfill's one every 10 minutes: %v", backfill, minutes)
	}
	// 300 and 3600: the same counts summed.
	for _, period := range []int64{300, 3600} {
		want := map[int64]float64{}
		for at, v := range minutes {
			want[at-at%period] += v
		}
		got := insCLIMetric(t, srv, AdminKey, AdminSecret, append(append(run, window...), "--period", fmt.Sprint(period))...).points(t)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Period %d: %v, want the minutes summed: %v", period, got, want)
		}
	}
	// FillWithZeros: every minute of [burst-5m, burst+2m), zeros included.
	fill := insCLIMetric(t, srv, AdminKey, AdminSecret, append(run, "--period", "60", "--data-type", "FillWithZeros",
		"--start-time", insTime(burst.Add(-5*time.Minute)), "--end-time", insTime(burst.Add(2*time.Minute)))...)
	if len(fill.Values) != 7 {
		t.Fatalf("FillWithZeros over 7 minutes: %+v", fill)
	}
	for i, v := range fill.Values {
		at := burst.Add(time.Duration(i-5) * time.Minute)
		want := minutes[at.Unix()]
		if int64(fill.Timestamps[i]) != at.Unix() || v != want {
			t.Errorf("FillWithZeros point %d: %v = %v, want %s = %v", i, fill.Timestamps[i], v, at, want)
		}
	}
	// Pages of 2, each asked with the last one's NextToken.
	all := map[int64]float64{}
	args := append(append(run, window...), "--period", "60", "--max-results", "2")
	for pages := 0; ; pages++ {
		page := insCLIMetric(t, srv, AdminKey, AdminSecret, args...)
		if len(page.Values) > 2 || pages > 100 {
			t.Fatalf("page %d: %+v", pages, page)
		}
		for at, v := range page.points(t) {
			all[at] = v
		}
		if page.NextToken == "" {
			break
		}
		args = append(append(append(run, window...), "--period", "60", "--max-results", "2"), "--next-token", page.NextToken)
	}
	if fmt.Sprint(all) != fmt.Sprint(minutes) {
		t.Errorf("pages of 2 put together: %v, want %v", all, minutes)
	}
	// Errors by code: 30 ThrottlingException in the burst minute; the
	// hourly AccessDenied of the backfill, none of them in the burst.
	thr := insCLIMetric(t, srv, AdminKey, AdminSecret, "--event-source", "ssm.amazonaws.com", "--event-name", "GetParameter",
		"--insight-type", "ApiErrorRateInsight", "--error-code", "ThrottlingException", "--period", "60",
		"--start-time", insTime(from), "--end-time", insTime(to))
	if fmt.Sprint(thr.points(t)) != fmt.Sprint(map[int64]float64{burst.Unix(): 30}) || thr.ErrorCode != "ThrottlingException" {
		t.Errorf("ThrottlingException: %+v", thr)
	}
	denied := insCLIMetric(t, srv, AdminKey, AdminSecret, "--event-source", "ssm.amazonaws.com", "--event-name", "GetParameter",
		"--insight-type", "ApiErrorRateInsight", "--error-code", "AccessDenied", "--period", "3600")
	if n := len(denied.Values); n < 24*6 || denied.points(t)[burst.Truncate(time.Hour).Unix()] > 1 {
		t.Errorf("AccessDenied by hour over the default 90 days: %d hours, %v", n, denied.Values)
	}
	// Reads are no calls of the call rate: DescribeInstances has none.
	if m := insCLIMetric(t, srv, AdminKey, AdminSecret, "--event-source", "ec2.amazonaws.com", "--event-name", "DescribeInstances",
		"--insight-type", "ApiCallRateInsight"); len(m.Values) != 0 {
		t.Errorf("DescribeInstances (reads) at the call rate: %v", m.Values)
	}
	// Bad parameters: the model's errors.
	for _, bad := range [][]string{
		append(run, "--period", "120"),
		append(run, "--data-type", "Zeros"),
		append(run, "--error-code", "AccessDenied"),
		{"--event-source", "ssm.amazonaws.com", "--event-name", "GetParameter", "--insight-type", "ApiErrorRateInsight"},
		{"--event-source", "not a source", "--event-name", "RunInstances", "--insight-type", "ApiCallRateInsight"},
		append(run, "--start-time", insTime(to), "--end-time", insTime(from)),
		append(run, "--next-token", "bm90LWEtdG9rZW4"),
	} {
		cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidParameterException",
			append([]string{"cloudtrail", "list-insights-metric-data"}, bad...)...)
	}
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidTrailNameException",
		append([]string{"cloudtrail", "list-insights-metric-data", "--trail-name", "no-such-trail"}, run...)...)
	// Another account's keys: nothing of this account's counts.
	if o := insCLIMetric(t, srv, OtherKey, OtherSecret, append(run, "--period", "60")...); len(o.Values) != 0 {
		t.Errorf("Account2 sees Account1's counts: %v", o.Values)
	}
	// Authorized as cloudtrail:ListInsightsMetricData (read-only may;
	// a user allowed only LookupEvents may not), and recorded.
	insCLIMetric(t, srv, ReaderKey, ReaderSecret, run...)
	cliError(t, srv, CustomKey, CustomSecret, "us-east-1", "AccessDeniedException",
		append([]string{"cloudtrail", "list-insights-metric-data"}, run...)...)
	audit := cliLookup(t, srv, AdminKey, AdminSecret, "us-east-1", cliAttr("EventName", "ListInsightsMetricData")...)
	if len(audit.Events) < 10 {
		t.Errorf("self-audit: %d ListInsightsMetricData events", len(audit.Events))
	}
}

// insDataCLIAndSDK: list-insights-data finds the Insights' Start
// and End records by EventName, EventSource and EventId (CLI), the SDK
// pages through them, bad parameters get InvalidParameterException (typed
// in the SDK), and another account's keys cannot read this account's
// trail's Insights.
func insDataCLIAndSDK(t *testing.T, f insReadFixture) {
	srv := f.srv
	ids := func(out string) []string {
		var v struct{ Events []cliEvent }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("list-insights-data output: %v\n%s", err, out)
		}
		var got []string
		for _, e := range v.Events {
			var r insRecord
			if err := json.Unmarshal([]byte(e.CloudTrailEvent), &r); err != nil {
				t.Fatal(err)
			}
			got = append(got, r.what())
		}
		return got
	}
	data := func(dims ...string) []string {
		args := []string{"cloudtrail", "list-insights-data", "--insight-source", f.arn, "--data-type", "InsightsEvents"}
		if len(dims) > 0 {
			args = append(args, "--dimensions", strings.Join(dims, ","))
		}
		res := cliRun(t, srv, AdminKey, AdminSecret, "us-east-1", args...)
		if res.code != 0 {
			t.Fatalf("list-insights-data %q: exit %d\n%s", dims, res.code, res.stderr)
		}
		return ids(res.stdout)
	}
	// f.recs: GetParameter End, Start; RunInstances End, Start.
	if got := data("EventName=RunInstances"); strings.Join(got, ",") != "RunInstances/ApiCallRateInsight/End,RunInstances/ApiCallRateInsight/Start" {
		t.Errorf("by EventName: %v", got)
	}
	if got := data("EventSource=ssm.amazonaws.com"); strings.Join(got, ",") != "GetParameter/ApiErrorRateInsight/End,GetParameter/ApiErrorRateInsight/Start" {
		t.Errorf("by EventSource: %v", got)
	}
	if got := data("EventId=" + f.recs[3].EventID); strings.Join(got, ",") != "RunInstances/ApiCallRateInsight/Start" {
		t.Errorf("by EventId: %v", got)
	}
	if got := data(); len(got) != 4 {
		t.Errorf("without dimensions: %v", got)
	}
	// The SDK: pages of one, newest first.
	ctx := context.Background()
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	var seen []string
	p := cloudtrail.NewListInsightsDataPaginator(c, &cloudtrail.ListInsightsDataInput{InsightSource: aws.String(f.arn),
		DataType: types.ListInsightsDataTypeInsightsEvents, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListInsightsData page: %v", err)
		}
		for _, e := range out.Events {
			seen = append(seen, aws.ToString(e.EventId))
		}
	}
	if len(seen) != 4 {
		t.Errorf("SDK pages of one: %v", seen)
	}
	// The SDK's typed errors.
	var ipe *types.InvalidParameterException
	for name, in := range map[string]*cloudtrail.ListInsightsDataInput{
		"not an ARN":        {InsightSource: aws.String("insights"), DataType: types.ListInsightsDataTypeInsightsEvents},
		"bad data type":     {InsightSource: aws.String(f.arn), DataType: "Events"},
		"bad dimension":     {InsightSource: aws.String(f.arn), DataType: types.ListInsightsDataTypeInsightsEvents, Dimensions: map[string]string{"Username": "x"}},
		"MaxResults 51":     {InsightSource: aws.String(f.arn), DataType: types.ListInsightsDataTypeInsightsEvents, MaxResults: aws.Int32(51)},
		"a made-up token":   {InsightSource: aws.String(f.arn), DataType: types.ListInsightsDataTypeInsightsEvents, NextToken: aws.String("abcdefgh")},
		"another account":   {InsightSource: aws.String(strings.Replace(f.arn, Account1, Account2, 1)), DataType: types.ListInsightsDataTypeInsightsEvents},
		"nonexistent trail": {InsightSource: aws.String(strings.Replace(f.arn, "trail/insights", "trail/none", 1)), DataType: types.ListInsightsDataTypeInsightsEvents},
	} {
		if _, err := c.ListInsightsData(ctx, in); !errors.As(err, &ipe) {
			t.Errorf("ListInsightsData, %s: %v, want InvalidParameterException", name, err)
		}
	}
	if _, err := c.ListInsightsMetricData(ctx, &cloudtrail.ListInsightsMetricDataInput{EventSource: aws.String("ec2.amazonaws.com"),
		EventName: aws.String("RunInstances"), InsightType: types.InsightTypeApiCallRateInsight, MaxResults: aws.Int32(0)}); !errors.As(err, &ipe) {
		t.Errorf("ListInsightsMetricData, MaxResults 0: %v, want InvalidParameterException", err)
	}
	// The SDK's metric data: the burst minute's 50 calls.
	out, err := c.ListInsightsMetricData(ctx, &cloudtrail.ListInsightsMetricDataInput{EventSource: aws.String("ec2.amazonaws.com"),
		EventName: aws.String("RunInstances"), InsightType: types.InsightTypeApiCallRateInsight, Period: aws.Int32(60),
		StartTime: aws.Time(f.burst), EndTime: aws.Time(f.burst.Add(time.Minute))})
	if err != nil || len(out.Values) != 1 || out.Values[0] != 50 || !out.Timestamps[0].Equal(f.burst) {
		t.Errorf("SDK ListInsightsMetricData of the burst minute: %+v, %v", out, err)
	}
	// Another account's keys, with this account's trail ARN.
	other := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	if _, err := other.ListInsightsData(ctx, &cloudtrail.ListInsightsDataInput{InsightSource: aws.String(f.arn),
		DataType: types.ListInsightsDataTypeInsightsEvents}); !errors.As(err, &ipe) {
		t.Errorf("Account2 with Account1's trail: %v, want InvalidParameterException", err)
	}
}
