package proxy

// What the proxy costs a call: the same signed DynamoDB-style JSON request
// sent straight to an upstream answering a small JSON body, and through a
// proxy recording it (a real fsync'd spool in a temporary directory, a
// sender draining it to a stub ingest server), in one run.
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/proxy/
//
// BenchmarkProxy/direct, /proxy and /proxy-discard: sequential calls,
// ns/op each; proxy-discard is the proxy with a recorder that drops the
// events (no spool, no sender): the cost of forwarding and describing a
// call without that of storing and sending it.
// BenchmarkProxyAddedLatency: direct and proxied calls alternate; reports
// each one's mean and the difference (added-ns/op).
// BenchmarkProxyLoad: 8 concurrent clients, b.N calls direct, then b.N
// through the proxy, then b.N through proxy-discard; reports p50/p99
// latency and calls per second of each, and how many connections the
// upstream saw opened in each phase.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/spool"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// benchRig is an upstream, a recording proxy in front of it, one that
// discards its events, and a client.
type benchRig struct {
	direct, proxied, discard string
	client                   *http.Client
	header                   http.Header
	body                     []byte
	delivered                *atomic.Int64
	sp                       *spool.Spool
	upstreamConns            *atomic.Int64
}

// discardRecorder drops events.
type discardRecorder struct{}

func (discardRecorder) Append(...[]byte) error { return nil }

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	conns := &atomic.Int64{}
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-RequestId", "bench-request-id")
		io.WriteString(w, `{"Table":{"TableName":"bench","TableStatus":"ACTIVE","ItemCount":42}}`)
	}))
	upstream.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	upstream.Start()
	b.Cleanup(upstream.Close)

	// A stub ingest endpoint: accepts every batch.
	delivered := &atomic.Int64{}
	ingest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte(`"eventVersion"`))
		delivered.Add(int64(n))
		fmt.Fprintf(w, `{"accepted":%d,"eventIDs":[],"failed":[]}`, n)
	}))
	b.Cleanup(ingest.Close)

	dir := b.TempDir()
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(upstream.URL)
	p, err := New(Options{Upstream: u, Recorder: sp})
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(p)
	pd, err := New(Options{Upstream: u, Recorder: discardRecorder{}})
	if err != nil {
		b.Fatal(err)
	}
	discard := httptest.NewServer(pd)
	b.Cleanup(discard.Close)
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() {
		(&Sender{Spool: sp, Server: ingest.URL, Key: testKey, Secret: testSecret, Dir: dir, Log: slog.New(slog.DiscardHandler)}).Run(ctx)
		close(sent)
	}()
	b.Cleanup(func() {
		front.Close()
		p.Close()
		cancel()
		<-sent
		sp.Close()
	})

	// One signed request, replayed: the upstream does not check signatures
	// and signing would cost both paths the same.
	body := []byte(`{"TableName":"bench"}`)
	req, _ := http.NewRequest(http.MethodPost, upstream.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sign(b, req, sha(body), "dynamodb", "us-east-1", "")
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}}
	return &benchRig{direct: upstream.URL, proxied: front.URL, discard: discard.URL, client: client, header: req.Header,
		body: body, delivered: delivered, sp: sp, upstreamConns: conns}
}

// call sends the request to base and returns how long the answer took.
// It may run on any goroutine: failures are b.Error.
func (r *benchRig) call(b *testing.B, base string) time.Duration {
	req, _ := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(r.body))
	req.Header = r.header.Clone()
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Errorf("HTTP %d", resp.StatusCode)
	}
	return d
}

// drained waits until every call so far is spooled and sent, so that one
// benchmark's background work does not run into the next one's timing.
func (r *benchRig) drained(b *testing.B, calls int64) {
	testutil.PollEvery(30*time.Second, 5*time.Millisecond, func() (bool, string) {
		return r.delivered.Load() >= calls && r.sp.Stats().Pending == 0, ""
	})
	if got := r.delivered.Load(); got < calls {
		b.Errorf("%d of %d events reached the ingest stub", got, calls)
	}
}

func BenchmarkProxy(b *testing.B) {
	r := newBenchRig(b)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			r.call(b, r.direct)
		}
	})
	var calls int64
	b.Run("proxy", func(b *testing.B) {
		for b.Loop() {
			r.call(b, r.proxied)
		}
		calls += int64(b.N)
	})
	r.drained(b, calls)
	b.Run("proxy-discard", func(b *testing.B) {
		for b.Loop() {
			r.call(b, r.discard)
		}
	})
}

func BenchmarkProxyAddedLatency(b *testing.B) {
	r := newBenchRig(b)
	r.call(b, r.direct) // open the connections
	r.call(b, r.proxied)
	var direct, proxied time.Duration
	n := 0
	for b.Loop() {
		direct += r.call(b, r.direct)
		proxied += r.call(b, r.proxied)
		n++
	}
	b.StopTimer()
	d, p := float64(direct.Nanoseconds())/float64(n), float64(proxied.Nanoseconds())/float64(n)
	b.ReportMetric(d, "direct-ns/op")
	b.ReportMetric(p, "proxy-ns/op")
	b.ReportMetric(p-d, "added-ns/op")
	if n >= 100 {
		b.Logf("%d sequential calls each way: direct %.1f µs, through the proxy %.1f µs, added %.1f µs per call",
			n, d/1e3, p/1e3, (p-d)/1e3)
	}
	r.drained(b, int64(n)+1)
}

// loadRun makes total calls to base from workers goroutines and returns
// every call's latency and the wall time.
func (r *benchRig) loadRun(b *testing.B, base string, total, workers int) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, total)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				lat[i] = r.call(b, base)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	slices.Sort(lat)
	return lat, wall
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func BenchmarkProxyLoad(b *testing.B) {
	const workers = 8
	r := newBenchRig(b)
	r.loadRun(b, r.direct, 2*workers, workers) // warm up connections
	r.loadRun(b, r.proxied, 2*workers, workers)
	r.drained(b, 2*workers)
	r.loadRun(b, r.discard, 2*workers, workers)
	b.ResetTimer()
	c0 := r.upstreamConns.Load()
	dl, dw := r.loadRun(b, r.direct, b.N, workers)
	c1 := r.upstreamConns.Load()
	pl, pw := r.loadRun(b, r.proxied, b.N, workers)
	c2 := r.upstreamConns.Load()
	b.StopTimer()
	r.drained(b, int64(2*workers+b.N)) // the spool's work does not overlap the next phase
	b.StartTimer()
	xl, xw := r.loadRun(b, r.discard, b.N, workers)
	c3 := r.upstreamConns.Load()
	b.StopTimer()
	dRate, pRate, xRate := float64(b.N)/dw.Seconds(), float64(b.N)/pw.Seconds(), float64(b.N)/xw.Seconds()
	b.ReportMetric(float64(pct(dl, 0.50).Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(pct(dl, 0.99).Microseconds()), "direct-p99-µs")
	b.ReportMetric(float64(pct(pl, 0.50).Microseconds()), "proxy-p50-µs")
	b.ReportMetric(float64(pct(pl, 0.99).Microseconds()), "proxy-p99-µs")
	b.ReportMetric(dRate, "direct-calls/s")
	b.ReportMetric(pRate, "proxy-calls/s")
	b.ReportMetric(xRate, "discard-calls/s")
	if b.N >= 100 {
		b.Logf("%d calls each way, %d concurrent clients:", b.N, workers)
		b.Logf("  direct:        p50 %8v  p99 %8v  %6.0f calls/s  %4d upstream connections opened",
			pct(dl, 0.5).Round(time.Microsecond), pct(dl, 0.99).Round(time.Microsecond), dRate, c1-c0)
		b.Logf("  proxy:         p50 %8v  p99 %8v  %6.0f calls/s  %4d upstream connections opened",
			pct(pl, 0.5).Round(time.Microsecond), pct(pl, 0.99).Round(time.Microsecond), pRate, c2-c1)
		b.Logf("  proxy-discard: p50 %8v  p99 %8v  %6.0f calls/s  %4d upstream connections opened",
			pct(xl, 0.5).Round(time.Microsecond), pct(xl, 0.99).Round(time.Microsecond), xRate, c3-c2)
		b.Logf("  the proxy adds p50 %v, p99 %v", (pct(pl, 0.5) - pct(dl, 0.5)).Round(time.Microsecond),
			(pct(pl, 0.99) - pct(dl, 0.99)).Round(time.Microsecond))
	}
}
