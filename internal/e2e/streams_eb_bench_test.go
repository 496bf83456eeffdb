package e2e

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// ebBenchSettings are the rate (events a second) and duration of the
// latency benchmarks: 500/s for 20 s unless CAIRN_BENCH_RATE and
// CAIRN_BENCH_SECONDS say otherwise.
func ebBenchSettings() (rate, seconds int) {
	rate, seconds = 500, 20
	if v, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	return rate, seconds
}

// ebMeasureLatency ingests write management events at a steady rate (in
// batches of 10 every 10/rate seconds), notes when each POST /v1/events
// was acknowledged, waits until arrived reports every event, and reports
// the acknowledged → arrived p50, p99 and max.
func ebMeasureLatency(b *testing.B, srv *Server, arrived func(id string) (time.Time, bool)) {
	rate, seconds := ebBenchSettings()
	const batch = 10
	interval := time.Second * batch / time.Duration(rate)
	acked := map[string]time.Time{}
	var order []string
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := time.Now()
	for n := 0; n < rate*seconds/batch; n++ {
		<-tick.C
		recs := make([]map[string]any, batch)
		for i := range recs {
			recs[i] = ebRecord(fmt.Sprintf("PutBench%d", n*batch+i), "iam.amazonaws.com", Account1, false, nil)
		}
		res := srv.Ingest(b, IngestKey, IngestSecret, recs...)
		at := time.Now()
		if res.Accepted != batch {
			b.Fatalf("ingest accepted %d of %d: %+v", res.Accepted, batch, res.Failed)
		}
		for _, id := range res.EventIDs {
			acked[id] = at
			order = append(order, id)
		}
	}
	sent := time.Since(start)
	ebWaitFor(b, "every event to arrive", 2*time.Minute, func() bool {
		for _, id := range order {
			if _, ok := arrived(id); !ok {
				return false
			}
		}
		return true
	})
	lat := make([]time.Duration, 0, len(order))
	for _, id := range order {
		at, _ := arrived(id)
		lat = append(lat, max(0, at.Sub(acked[id])))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(float64(len(order))/sent.Seconds(), "events/s")
}

// BenchmarkStreamLatencyWebhook measures acknowledged → arrived for a
// webhook target (a local HTTP listener) at default settings.
func BenchmarkStreamLatencyWebhook(b *testing.B) {
	for range b.N {
		hook := newEBHook(b, "bench")
		srv := Start(b, Options{Config: ebConfig(ebBus(Account1, "", ebWebhookTarget(hook.URL(), "bench", "")))})
		ebMeasureLatency(b, srv, func(id string) (time.Time, bool) {
			hook.mu.Lock()
			defer hook.mu.Unlock()
			at, ok := hook.arrived[id]
			return at, ok
		})
		srv.Stop(b)
	}
}

// BenchmarkStreamLatencyEventBridge measures acknowledged → arrived for a
// PutEvents target at default settings: arrival is when the PutEvents
// request carrying the event reaches the API (a local endpoint that speaks
// PutEvents; moto's own rule evaluation and SQS are not Cairn's latency).
func BenchmarkStreamLatencyEventBridge(b *testing.B) {
	for range b.N {
		fake := newEBFakeEventBridge(b)
		target := fmt.Sprintf("      - url: %q\n        access_key_id: AKIABENCH0000000001\n        secret_access_key: bench\n",
			"eventbridge://?endpoint="+fake.srv.URL)
		srv := Start(b, Options{Config: ebConfig(ebBus(Account1, "", target))})
		ebMeasureLatency(b, srv, fake.arrivedAt)
		srv.Stop(b)
	}
}
