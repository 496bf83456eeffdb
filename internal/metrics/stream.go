package metrics

import "github.com/prometheus/client_golang/prometheus"

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
