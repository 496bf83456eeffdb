package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights/counts"
	"github.com/cairn-audit/cairn/internal/trail"
)

var now = time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)

// fakeCounts holds minute counts of one series.
type fakeCounts map[int64]float64

func (f fakeCounts) Read(_ context.Context, s counts.Series, from, to time.Time, period int64) (map[int64]float64, error) {
	out := map[int64]float64{}
	for at, n := range f {
		if at >= from.Unix() && at < to.Unix() && s.EventName == "RunInstances" {
			out[at-at%period] += n
		}
	}
	return out, nil
}

type noTrails struct{}

func (noTrails) GetTrail(context.Context, trail.Caller, string) (*trail.Trail, error) {
	return nil, awsproto.Errorf(awsproto.TrailNotFoundException, "no trail")
}

type noHistory struct{}

func (noHistory) Lookup(context.Context, string, string, history.Input) (history.Output, error) {
	return history.Output{}, nil
}

func p[T any](v T) *T { return &v }

func code(err error) string {
	if err == nil {
		return ""
	}
	return string(awsproto.As(err).Code)
}

// TestMetricsParameters: the model's rules, each refused with its error.
func TestMetricsParameters(t *testing.T) {
	s := New(fakeCounts{}, noTrails{}, noHistory{}, func() time.Time { return now })
	ok := MetricInput{EventSource: p("ec2.amazonaws.com"), EventName: p("RunInstances"), InsightType: p("ApiCallRateInsight")}
	for _, tc := range []struct {
		name string
		edit func(*MetricInput)
		want awsproto.Code
	}{
		{"valid", func(*MetricInput) {}, ""},
		{"no source", func(in *MetricInput) { in.EventSource = nil }, awsproto.InvalidParameterException},
		{"source pattern", func(in *MetricInput) { in.EventSource = p("EC2") }, awsproto.InvalidParameterException},
		{"name pattern", func(in *MetricInput) { in.EventName = p("Run-Instances") }, awsproto.InvalidParameterException},
		{"no type", func(in *MetricInput) { in.InsightType = nil }, awsproto.InvalidParameterException},
		{"bad type", func(in *MetricInput) { in.InsightType = p("ApiRate") }, awsproto.InvalidParameterException},
		{"error rate without code", func(in *MetricInput) { in.InsightType = p("ApiErrorRateInsight") }, awsproto.InvalidParameterException},
		{"code with call rate", func(in *MetricInput) { in.ErrorCode = p("AccessDenied") }, awsproto.InvalidParameterException},
		{"period 120", func(in *MetricInput) { in.Period = p(120) }, awsproto.InvalidParameterException},
		{"data type", func(in *MetricInput) { in.DataType = p("Zeros") }, awsproto.InvalidParameterException},
		{"max 0", func(in *MetricInput) { in.MaxResults = p(0) }, awsproto.InvalidParameterException},
		{"max 21601", func(in *MetricInput) { in.MaxResults = p(21601) }, awsproto.InvalidParameterException},
		{"times", func(in *MetricInput) {
			in.StartTime, in.EndTime = &awsproto.Time{Time: now}, &awsproto.Time{Time: now.Add(-time.Hour)}
		}, awsproto.InvalidParameterException},
		{"token", func(in *MetricInput) { in.NextToken = p("AQIDBA") }, awsproto.InvalidParameterException},
		{"unknown trail", func(in *MetricInput) { in.TrailName = p("nope") }, awsproto.InvalidTrailNameException},
	} {
		in := ok
		tc.edit(&in)
		_, err := s.Metrics(context.Background(), "111111111111", "us-east-1", in)
		if code(err) != string(tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

// TestMetricsPagesAndZeros: FillWithZeros gives every bucket of the range,
// NonZeroData only those with counts; pages of MaxResults follow each
// other through NextToken, which is refused for other parameters; points
// older than their period's retention are not given.
func TestMetricsPagesAndZeros(t *testing.T) {
	m := now.Truncate(time.Minute).Add(-10 * time.Minute).Unix()
	f := fakeCounts{m: 4, m + 120: 2, m + 180: 1, now.Add(-20 * 24 * time.Hour).Unix(): 9}
	s := New(f, noTrails{}, noHistory{}, func() time.Time { return now })
	in := MetricInput{EventSource: p("ec2.amazonaws.com"), EventName: p("RunInstances"), InsightType: p("ApiCallRateInsight"),
		Period: p(60), DataType: p(FillWithZeros), StartTime: &awsproto.Time{Time: time.Unix(m, 0)},
		EndTime: &awsproto.Time{Time: time.Unix(m+300, 0)}, MaxResults: p(3)}
	var vals []float64
	var times []int64
	for page := 0; ; page++ {
		out, err := s.Metrics(context.Background(), "111111111111", "us-east-1", in)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, out.Values...)
		for _, ts := range out.Timestamps {
			times = append(times, ts.Unix()-m)
		}
		if out.NextToken == "" {
			break
		}
		if page == 0 {
			other := in
			other.NextToken, other.Period = &out.NextToken, p(300)
			if _, err := s.Metrics(context.Background(), "111111111111", "us-east-1", other); code(err) != string(awsproto.InvalidParameterException) {
				t.Errorf("a token with another Period: %v", err)
			}
		}
		in.NextToken = &out.NextToken
	}
	if fmt.Sprint(vals, times) != "[4 0 2 1 0] [0 60 120 180 240]" {
		t.Errorf("FillWithZeros pages: %v at %v", vals, times)
	}
	in.DataType, in.NextToken, in.MaxResults = nil, nil, nil
	out, _ := s.Metrics(context.Background(), "111111111111", "us-east-1", in)
	if fmt.Sprint(out.Values) != "[4 2 1]" {
		t.Errorf("NonZeroData: %v", out.Values)
	}
	// 20 days ago: gone at 60s (15 days), there at 300s (63 days).
	in.StartTime, in.EndTime = nil, nil
	out, _ = s.Metrics(context.Background(), "111111111111", "us-east-1", in)
	if len(out.Values) != 3 {
		t.Errorf("Period 60 over the default range: %v (a point older than 15 days?)", out.Values)
	}
	in.Period = p(300)
	out, _ = s.Metrics(context.Background(), "111111111111", "us-east-1", in)
	if fmt.Sprint(out.Values) != "[9 7]" {
		t.Errorf("Period 300 over the default range: %v", out.Values)
	}
}

// TestDataParameters: ListInsightsData's rules.
func TestDataParameters(t *testing.T) {
	s := New(fakeCounts{}, noTrails{}, noHistory{}, func() time.Time { return now })
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"
	for _, tc := range []struct {
		name string
		in   DataInput
	}{
		{"no source", DataInput{DataType: p(InsightsEvents)}},
		{"not an ARN", DataInput{InsightSource: p("trail-name"), DataType: p(InsightsEvents)}},
		{"no data type", DataInput{InsightSource: &arn}},
		{"bad data type", DataInput{InsightSource: &arn, DataType: p("Events")}},
		{"two dimensions", DataInput{InsightSource: &arn, DataType: p(InsightsEvents), Dimensions: map[string]string{"EventName": "a", "EventId": "b"}}},
		{"bad dimension", DataInput{InsightSource: &arn, DataType: p(InsightsEvents), Dimensions: map[string]string{"Username": "a"}}},
		{"max 51", DataInput{InsightSource: &arn, DataType: p(InsightsEvents), MaxResults: p(51)}},
		{"unknown trail", DataInput{InsightSource: &arn, DataType: p(InsightsEvents)}},
	} {
		_, err := s.Data(context.Background(), "111111111111", "us-east-1", tc.in)
		if code(err) != string(awsproto.InvalidParameterException) {
			t.Errorf("%s: %v, want InvalidParameterException", tc.name, err)
		}
	}
}
