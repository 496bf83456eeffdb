package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkStreamLatencyTail measures acknowledged → arrived for the live
// tail at default settings: 500 events a second (a POST /v1/events of 10
// every 20 ms) for 20 seconds, with a SigV4 stream open; each event's
// latency is from the moment its POST was answered to the moment its
// data line was read from the stream (negative when the stream was
// faster than the answer: counted as 0).
//
//	CAIRN_E2E_NORACE=1 go test -run '^$' -bench StreamLatencyTail -benchtime 1x ./internal/e2e
func BenchmarkStreamLatencyTail(b *testing.B) {
	const perPost = 10
	rate, seconds := ebBenchSettings()
	every := time.Second * perPost / time.Duration(rate)
	duration := time.Duration(seconds) * time.Second
	for range b.N {
		srv := Start(b, Options{Config: StandardConfig})
		s := openTail(b, srv, AdminKey, AdminSecret, "us-east-1", `{"detail":{"eventSource":["bench.example.com"]}}`)
		var mu sync.Mutex
		acked := map[string]time.Time{}
		arrived := map[string]time.Time{}
		done := make(chan struct{})
		total := int(duration/every) * perPost
		go func() {
			defer close(done)
			for len(arrived) < total {
				select {
				case rec := <-s.events:
					mu.Lock()
					arrived[rec["eventName"].(string)] = time.Now()
					mu.Unlock()
				case err := <-s.done:
					b.Errorf("stream ended: %v", err)
					return
				case <-time.After(time.Minute):
					b.Errorf("stream idle for a minute with %d of %d events", len(arrived), total)
					return
				}
			}
		}()
		b.ResetTimer()
		tick := time.NewTicker(every)
		var posts sync.WaitGroup
		// At most 8 POSTs at once: the server answers 429 beyond 16 a key
		// (a high CAIRN_BENCH_RATE on a busy machine would get there).
		slots := make(chan struct{}, 8)
		for i := 0; i < total; i += perPost {
			<-tick.C
			var recs []map[string]any
			var names []string
			now := time.Now().UTC()
			for j := i; j < i+perPost; j++ {
				n := fmt.Sprintf("Bench%06d", j)
				names = append(names, n)
				recs = append(recs, Record(n, "bench.example.com", "us-east-1", now, nil))
			}
			body, _ := json.Marshal(map[string]any{"Records": recs})
			slots <- struct{}{}
			posts.Go(func() {
				defer func() { <-slots }()
				resp, err := http.DefaultClient.Do(srv.SignedRequest(b, AdminKey, AdminSecret, "/v1/events", body, nil, time.Now(), true))
				at := time.Now()
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("ingest: HTTP %d", resp.StatusCode)
					return
				}
				mu.Lock()
				for _, n := range names {
					acked[n] = at
				}
				mu.Unlock()
			})
		}
		tick.Stop()
		posts.Wait()
		<-done
		b.StopTimer()
		mu.Lock()
		var lat []time.Duration
		for n, at := range acked {
			if got, ok := arrived[n]; ok {
				lat = append(lat, max(0, got.Sub(at)))
			}
		}
		mu.Unlock()
		if len(lat) != total {
			b.Fatalf("%d of %d events arrived", len(lat), total)
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(total), "events")
		srv.Stop(b)
	}
}
