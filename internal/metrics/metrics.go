// Package metrics provides Cairn's Prometheus metrics: ingest counts and
// batch sizes, API request latency per operation, and the store's size. It
// never records event content.
package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-audit/cairn/internal/store"
)

// Metrics holds the collectors of one server. A nil *Metrics records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	events   *prometheus.CounterVec
	batch    prometheus.Histogram
	requests *prometheus.HistogramVec
	// untracked counts events Insights did not count (insights.max_apis).
	untracked *prometheus.CounterVec
	// stream counts what streaming destinations are sent.
	stream *streamCollectors
	// unauthenticated says how many requests are not yet authenticated
	// and the body bytes they hold (set by the server; nil reads zero).
	unauthenticated atomic.Pointer[func() (int, int64)]
}

// New registers Cairn's collectors, reading the store's size at each scrape.
func New(st store.Sizer) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_ingest_events_total",
			Help: "Events submitted for ingest, by result (accepted, duplicate, failed).",
		}, []string{"result"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cairn_ingest_batch_records",
			Help:    "Records per ingest request.",
			Buckets: []float64{1, 5, 10, 50, 100, 250, 500, 1000},
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_api_request_duration_seconds",
			Help:    "API request latency by operation and result code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation", "code"}),
	}
	m.untracked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_insights_untracked_events_total",
		Help: "Events Insights did not count because their account and region already track insights.max_apis APIs.",
	}, []string{"account", "region"})
	m.reg.MustRegister(m.events, m.batch, m.requests, m.untracked,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.stream = newStreamCollectors(m.reg)
	stat := func() store.Stats {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, _ := st.Stats(ctx)
		return s
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cairn_store_bytes", Help: "Space the event store takes."},
		func() float64 { return float64(stat().Bytes) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cairn_store_last_sequence", Help: "Highest sequence number in the event log."},
		func() float64 { return float64(stat().LastSeq) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cairn_unauthenticated_requests",
		Help: "Requests whose body is being read before their signature is checked."},
		func() float64 { n, _ := m.unauthenticatedUse(); return float64(n) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cairn_unauthenticated_body_bytes",
		Help: "Buffer bytes held by requests whose body is being read before their signature is checked."},
		func() float64 { _, b := m.unauthenticatedUse(); return float64(b) }))
	return m
}

// WatchUnauthenticated sets what the unauthenticated gauges read at each
// scrape: the requests being read before their signature is checked, and
// the bytes they hold.
func (m *Metrics) WatchUnauthenticated(f func() (requests int, bytes int64)) {
	if m == nil {
		return
	}
	m.unauthenticated.Store(&f)
}

// unauthenticatedUse reads the function WatchUnauthenticated set.
func (m *Metrics) unauthenticatedUse() (int, int64) {
	if f := m.unauthenticated.Load(); f != nil {
		return (*f)()
	}
	return 0, 0
}

// Ingested counts one ingest request's outcome.
func (m *Metrics) Ingested(records, accepted, duplicates, failed int) {
	if m == nil {
		return
	}
	m.batch.Observe(float64(records))
	m.events.WithLabelValues("accepted").Add(float64(accepted - duplicates))
	m.events.WithLabelValues("duplicate").Add(float64(duplicates))
	m.events.WithLabelValues("failed").Add(float64(failed))
}

// InsightsUntracked counts events of an account and region that Insights
// did not count because it tracks insights.max_apis APIs there already.
func (m *Metrics) InsightsUntracked(account, region string, n uint64) {
	if m == nil {
		return
	}
	m.untracked.WithLabelValues(account, region).Add(float64(n))
}

// Request records one API request's latency.
func (m *Metrics) Request(operation, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(operation, code).Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
