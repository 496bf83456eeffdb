package server

import (
	"context"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights/query"
)

// The Insights read operations: ListInsightsMetricData (an API's
// per-minute counts as the Insights engine counted them) and
// ListInsightsData (a trail's Insights events), for the caller's account
// in the signing region. Their rules live in package insights/query.

// insightsOps are the operations, when the server has Options.Insights.
func (s *Server) insightsOps() map[string]operation {
	if s.opts.Insights == nil {
		return nil
	}
	return map[string]operation{
		"ListInsightsMetricData": read(s.listInsightsMetricData),
		"ListInsightsData":       read(s.listInsightsData),
	}
}

// InsightsMetricOutput is ListInsightsMetricDataResponse.
type InsightsMetricOutput struct {
	TrailARN    string `json:",omitempty"`
	EventSource string
	EventName   string
	InsightType string
	ErrorCode   string `json:",omitempty"`
	Timestamps  []awsproto.Time
	Values      []float64
	NextToken   string `json:",omitempty"`
}

// insightsMetricOutput maps the query's answer to the response shape.
func insightsMetricOutput(m query.Metric) InsightsMetricOutput {
	out := InsightsMetricOutput{TrailARN: m.TrailARN, EventSource: m.Series.EventSource, EventName: m.Series.EventName,
		InsightType: m.Series.InsightType, ErrorCode: m.Series.ErrorCode, Values: m.Values, NextToken: m.NextToken,
		Timestamps: make([]awsproto.Time, len(m.Timestamps))}
	for i, t := range m.Timestamps {
		out.Timestamps[i] = awsproto.Time{Time: t}
	}
	return out
}

func (s *Server) listInsightsMetricData(ctx context.Context, c *call, in query.MetricInput) (InsightsMetricOutput, error) {
	m, err := s.opts.Insights.Metrics(ctx, c.principal.Account, c.region, in)
	if err != nil {
		return InsightsMetricOutput{}, err
	}
	if m.TrailARN != "" {
		c.about(m.TrailARN)
	}
	return insightsMetricOutput(m), nil
}

// ListInsightsData's answer is LookupEvents' shape (history.Output).
func (s *Server) listInsightsData(ctx context.Context, c *call, in query.DataInput) (history.Output, error) {
	out, err := s.opts.Insights.Data(ctx, c.principal.Account, c.region, in)
	if err == nil && in.InsightSource != nil {
		c.about(*in.InsightSource)
	}
	return out, err
}

// ListInsightsMetricData runs ListInsightsMetricData for who.
func (s *Server) ListInsightsMetricData(ctx context.Context, who Caller, in query.MetricInput) (InsightsMetricOutput, error) {
	return invokeTyped(ctx, s, who, "ListInsightsMetricData", in, s.listInsightsMetricData)
}

// ListInsightsData runs ListInsightsData for who.
func (s *Server) ListInsightsData(ctx context.Context, who Caller, in query.DataInput) (history.Output, error) {
	return invokeTyped(ctx, s, who, "ListInsightsData", in, s.listInsightsData)
}
