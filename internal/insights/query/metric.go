// Package query answers the model's Insights read operations:
// ListInsightsMetricData (an API's per-minute counts, from the counts the
// Insights engine keeps) and ListInsightsData (the Insights events of a
// trail, from event history), with the model's parameter rules, limits,
// errors and paging tokens.
package query

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/insights/counts"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Counts reads the kept per-minute counts (counts.Counts).
type Counts interface {
	Read(ctx context.Context, s counts.Series, from, to time.Time, period int64) (map[int64]float64, error)
}

// Trails finds a trail a caller may see (trail.Service).
type Trails interface {
	GetTrail(ctx context.Context, c trail.Caller, name string) (*trail.Trail, error)
}

// Lookup reads event history (history.Service).
type Lookup interface {
	Lookup(ctx context.Context, account, region string, in history.Input) (history.Output, error)
}

// Service answers the two operations.
type Service struct {
	counts  Counts
	trails  Trails
	history Lookup
	now     func() time.Time
}

// New makes the service; now is the clock (nil: time.Now).
func New(c Counts, t Trails, h Lookup, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{counts: c, trails: t, history: h, now: now}
}

// MetricInput is ListInsightsMetricDataRequest.
type MetricInput struct {
	TrailName   *string        `json:",omitempty"`
	EventSource *string        `json:",omitempty"`
	EventName   *string        `json:",omitempty"`
	InsightType *string        `json:",omitempty"`
	ErrorCode   *string        `json:",omitempty"`
	StartTime   *awsproto.Time `json:",omitempty"`
	EndTime     *awsproto.Time `json:",omitempty"`
	Period      *int           `json:",omitempty"`
	DataType    *string        `json:",omitempty"`
	MaxResults  *int           `json:",omitempty"`
	NextToken   *string        `json:",omitempty"`
}

// Metric is one answer of ListInsightsMetricData: the series asked for,
// its points in time order, and where the next page starts.
type Metric struct {
	// TrailARN is set when the request named a trail.
	TrailARN   string
	Series     counts.Series
	Timestamps []time.Time
	Values     []float64
	NextToken  string
}

// The model's DataType values and defaults.
const (
	FillWithZeros = "FillWithZeros"
	NonZeroData   = "NonZeroData"

	defaultPeriod     = 3600
	maxMetricResults  = 21600
	maxMetricTokenLen = 5000
)

// The model's patterns.
var (
	sourceRE    = regexp.MustCompile(`^[a-z0-9_-]+\.amazonaws\.com$`)
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	errorCodeRE = regexp.MustCompile(`^[\w\d\s_.,\-:\[\]]+$`)
)

func invalid(format string, args ...any) error {
	return awsproto.Errorf(awsproto.InvalidParameterException, format, args...)
}

// metricQuery is a checked request.
type metricQuery struct {
	series   counts.Series
	trail    *string
	from, to time.Time // buckets from ≤ t < to, from on a period boundary
	period   int64
	fill     bool
	max      int
	fp       [8]byte
}

// Metrics answers ListInsightsMetricData for account in region.
func (s *Service) Metrics(ctx context.Context, account, region string, in MetricInput) (Metric, error) {
	q, err := s.checkMetric(account, region, in)
	if err != nil {
		return Metric{}, err
	}
	out := Metric{Series: q.series}
	if q.trail != nil {
		arn, err := s.dataTrail(ctx, account, region, *q.trail)
		if err != nil {
			return Metric{}, err
		}
		out.TrailARN = arn
	}
	start := q.from
	if in.NextToken != nil {
		c, err := history.DecodeToken(*in.NextToken, q.fp)
		if err != nil || c.Time%q.period != 0 {
			return Metric{}, invalid("NextToken is not valid, or was issued for other parameters.")
		}
		// Points that left retention meanwhile are skipped.
		start = later(time.Unix(c.Time, 0).UTC(), q.from)
	}
	if !start.Before(q.to) {
		return empty(out), nil
	}
	got, err := s.counts.Read(ctx, q.series, start, q.to, q.period)
	if err != nil {
		return Metric{}, err
	}
	points(&out, got, start, q)
	return empty(out), nil
}

// empty gives an answer without points empty lists, as AWS does.
func empty(m Metric) Metric {
	if m.Timestamps == nil {
		m.Timestamps, m.Values = []time.Time{}, []float64{}
	}
	return m
}

// points fills out with at most q.max points from start, and the token of
// the next page.
func points(out *Metric, got map[int64]float64, start time.Time, q metricQuery) {
	add := func(at int64, v float64) bool {
		if len(out.Values) == q.max {
			tok := history.EncodeToken(store.Cursor{Time: at}, q.fp)
			out.NextToken = tok
			return false
		}
		out.Timestamps = append(out.Timestamps, time.Unix(at, 0).UTC())
		out.Values = append(out.Values, v)
		return true
	}
	if q.fill {
		for at := start.Unix(); at < q.to.Unix(); at += q.period {
			if !add(at, got[at]) {
				return
			}
		}
		return
	}
	keys := make([]int64, 0, len(got))
	for at := range got {
		keys = append(keys, at)
	}
	slices.Sort(keys)
	for _, at := range keys {
		if !add(at, got[at]) {
			return
		}
	}
}

// checkMetric applies the model's rules to a request.
func (s *Service) checkMetric(account, region string, in MetricInput) (metricQuery, error) {
	var q metricQuery
	switch {
	case in.EventSource == nil || *in.EventSource == "":
		return q, invalid("EventSource is required.")
	case len(*in.EventSource) > 256 || !sourceRE.MatchString(*in.EventSource):
		return q, invalid("EventSource %q is not valid: it must be a service's endpoint such as iam.amazonaws.com (at most 256 characters).", *in.EventSource)
	case in.EventName == nil || *in.EventName == "":
		return q, invalid("EventName is required.")
	case len(*in.EventName) > 128 || !nameRE.MatchString(*in.EventName):
		return q, invalid("EventName %q is not valid: letters, digits and '_', at most 128 characters.", *in.EventName)
	case in.InsightType == nil:
		return q, invalid("InsightType is required.")
	case *in.InsightType != insights.TypeCallRate && *in.InsightType != insights.TypeErrorRate:
		return q, invalid("InsightType %q is not valid; valid values are ApiCallRateInsight and ApiErrorRateInsight.", *in.InsightType)
	case *in.InsightType == insights.TypeErrorRate && (in.ErrorCode == nil || *in.ErrorCode == ""):
		return q, invalid("ErrorCode is required when InsightType is ApiErrorRateInsight.")
	case *in.InsightType == insights.TypeCallRate && in.ErrorCode != nil:
		return q, invalid("ErrorCode is only for InsightType ApiErrorRateInsight.")
	case in.ErrorCode != nil && (len(*in.ErrorCode) > 128 || !errorCodeRE.MatchString(*in.ErrorCode)):
		return q, invalid("ErrorCode %q is not valid (at most 128 characters: letters, digits, spaces and _.,-:[]).", *in.ErrorCode)
	case in.TrailName != nil && *in.TrailName == "":
		return q, awsproto.Errorf(awsproto.InvalidTrailNameException, "TrailName must not be empty.")
	case in.NextToken != nil && (len(*in.NextToken) < 1 || len(*in.NextToken) > maxMetricTokenLen):
		return q, invalid("NextToken must be 1 to %d characters long.", maxMetricTokenLen)
	}
	q.series = counts.Series{Account: account, Region: region, EventSource: *in.EventSource, EventName: *in.EventName,
		InsightType: *in.InsightType}
	if in.ErrorCode != nil {
		q.series.ErrorCode = *in.ErrorCode
	}
	q.trail = in.TrailName
	q.period = defaultPeriod
	if in.Period != nil {
		q.period = int64(*in.Period)
	}
	keep, ok := counts.Retention[int(q.period)]
	if !ok {
		return q, invalid("Period %d is not valid; valid values are 60, 300 and 3600.", q.period)
	}
	q.fill = false
	if in.DataType != nil {
		switch *in.DataType {
		case FillWithZeros:
			q.fill = true
		case NonZeroData:
		default:
			return q, invalid("DataType %q is not valid; valid values are FillWithZeros and NonZeroData.", *in.DataType)
		}
	}
	q.max = maxMetricResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxMetricResults {
			return q, invalid("MaxResults must be between 1 and %d; got %d.", maxMetricResults, *in.MaxResults)
		}
		q.max = *in.MaxResults
	}
	now := s.now().UTC()
	from, to := now.Add(-90*24*time.Hour), now
	if in.StartTime != nil {
		from = in.StartTime.Time
	}
	if in.EndTime != nil {
		to = in.EndTime.Time
	}
	if from.After(to) {
		return q, invalid("StartTime must be before or equal to EndTime.")
	}
	// Points of this period are kept for `keep`; none are in the future
	// (the current, unfinished bucket is the last).
	from = later(from, now.Add(-keep))
	p := time.Duration(q.period) * time.Second
	q.from = from.Truncate(p)
	q.to = earlier(to, now.Truncate(p).Add(p))
	q.fp = metricFingerprint(account, region, in)
	return q, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// dataTrail is the ARN of the trail a request names: one the caller sees,
// with Insights on data events (the model: TrailName is for those only).
func (s *Service) dataTrail(ctx context.Context, account, region, name string) (string, error) {
	t, err := s.trails.GetTrail(ctx, trail.Caller{Account: account, Region: region}, name)
	var ae *awsproto.Error
	if errors.As(err, &ae) && ae.Code == awsproto.TrailNotFoundException {
		return "", awsproto.Errorf(awsproto.InvalidTrailNameException, "Trail %s does not exist in account %s, region %s.", name, account, region)
	}
	if err != nil {
		return "", err
	}
	for _, sel := range t.InsightSelectors {
		if slices.Contains(sel.EventCategories, "Data") {
			return t.ARN, nil
		}
	}
	return "", invalid("Trail %s has no Insights on data events; TrailName is for those only (leave it out for Insights on management events).", t.Name)
}

// metricFingerprint identifies the parameters a NextToken is valid for.
func metricFingerprint(account, region string, in MetricInput) [8]byte {
	b := fmt.Appendf(nil, "metric\x00%s\x00%s\x00", account, region)
	for _, p := range []*string{in.TrailName, in.EventSource, in.EventName, in.InsightType, in.ErrorCode, in.DataType} {
		if p != nil {
			b = fmt.Appendf(b, "%q\x00", *p)
		} else {
			b = append(b, '-', 0)
		}
	}
	for _, t := range []*awsproto.Time{in.StartTime, in.EndTime} {
		if t != nil {
			b = fmt.Appendf(b, "%d\x00", t.UnixMilli())
		} else {
			b = append(b, '-', 0)
		}
	}
	if in.Period != nil {
		b = fmt.Appendf(b, "p%d", *in.Period)
	}
	sum := sha256.Sum256(b)
	var fp [8]byte
	copy(fp[:], sum[:])
	return fp
}
