package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// streamCollectors are the stream engine's counters (CloudWatch Logs,
// EventBridge, webhooks), by destination kind.
type streamCollectors struct {
	sent, failed, dropped *prometheus.CounterVec
}

func newStreamCollectors(reg *prometheus.Registry) *streamCollectors {
	s := &streamCollectors{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_stream_events_sent_total",
			Help: "Events streaming destinations accepted, by destination kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_stream_send_failures_total",
			Help: "Failed sends to streaming destinations (retried with backoff), by destination kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_stream_events_dropped_total",
			Help: "Events a streaming destination will never take (e.g. CloudWatch Logs: over 256 KB, over 14 days old), by destination kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(s.sent, s.failed, s.dropped)
	return s
}

// StreamSent counts n events a destination of kind accepted.
func (m *Metrics) StreamSent(kind string, n int) {
	if m == nil {
		return
	}
	m.stream.sent.WithLabelValues(kind).Add(float64(n))
}

// StreamFailed counts a failed send to a destination of kind.
func (m *Metrics) StreamFailed(kind string) {
	if m == nil {
		return
	}
	m.stream.failed.WithLabelValues(kind).Inc()
}

// StreamDropped counts n events a destination of kind will never take.
func (m *Metrics) StreamDropped(kind string, n int) {
	if m == nil {
		return
	}
	m.stream.dropped.WithLabelValues(kind).Add(float64(n))
}

// lagCollector reports, at each scrape, how far behind the log the
// furthest-behind destination of each kind is.
type lagCollector struct {
	desc *prometheus.Desc
	lag  func(ctx context.Context) (map[string]int64, error)
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lag, err := c.lag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for kind, n := range lag {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), kind)
	}
}

// WatchStreams registers the gauges read at each scrape: lag (the stream
// engine's Lag: log entries the furthest-behind destination of each kind
// has yet to handle) and tailStreams (the live tail streams open). Either
// may be nil. Call it once.
func (m *Metrics) WatchStreams(lag func(ctx context.Context) (map[string]int64, error), tailStreams func() int) {
	if m == nil {
		return
	}
	if lag != nil {
		m.reg.MustRegister(&lagCollector{lag: lag, desc: prometheus.NewDesc("cairn_stream_lag_events",
			"Log entries the furthest-behind streaming destination of each kind has yet to handle.", []string{"kind"}, nil)})
	}
	if tailStreams != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cairn_tail_streams", Help: "Live tail streams (GET /v1/stream, the console's Live mode) open."},
			func() float64 { return float64(tailStreams()) }))
	}
}
