package e2e

// Catch-up and memory benchmarks of the streams (BENCHMARKS.md, "Session
// 7: streams"):
//
//	CAIRN_E2E_NORACE=1 go test -run '^$' -bench 'StreamCatchUp|TailMemory' -benchtime 1x ./internal/e2e
//
// BenchmarkStreamCatchUp<Dest>: a destination is down (it answers 503, or
// its log group or file cannot be written) while CAIRN_BENCH_BACKLOG events
// (default 200,000) are ingested, then comes up; it reports how fast the
// backlog drains (events a second from the moment it is up to the moment
// the server counts the last one sent, cairn_stream_events_sent_total).
// BenchmarkTailMemory: the server's resident memory with 100 open
// GET /v1/stream connections, idle and while events flow to each.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// perfBacklog is how many events a catch-up benchmark ingests while its
// destination is down.
func perfBacklog() int {
	if v, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_BACKLOG")); err == nil && v > 0 {
		return v
	}
	return 200000
}

// perfGate is an HTTP endpoint that answers 503 while down; up, it answers
// what answer says (204 when nil).
type perfGate struct {
	down   atomic.Bool
	answer func(w http.ResponseWriter, body []byte)
}

func (g *perfGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if g.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if g.answer != nil {
		g.answer(w, body)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// startGate serves g on 127.0.0.1, down at first.
func startGate(b *testing.B, g *perfGate) string {
	g.down.Store(true)
	srv := httptest.NewServer(g)
	b.Cleanup(srv.Close)
	return srv.URL
}

// perfSent is the server's count of events destinations of kind accepted.
func perfSent(b *testing.B, srv *Server, kind string) int64 {
	return int64(metricValue(b, srv, `cairn_stream_events_sent_total{kind="`+kind+`"}`))
}

// perfIngest stores n write management events of Account1 in us-east-1
// (every destination here takes them), in POSTs of 500 from 2 clients.
func perfIngest(b *testing.B, srv *Server, n int) {
	const batch = 500
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				i := int(next.Add(batch)) - batch
				if i >= n {
					return
				}
				recs := make([]map[string]any, min(batch, n-i))
				for j := range recs {
					recs[j] = ebRecord(fmt.Sprintf("PutBench%d", i+j), "iam.amazonaws.com", Account1, false, nil)
				}
				if res := srv.Ingest(b, IngestKey, IngestSecret, recs...); res.Accepted != len(recs) {
					b.Errorf("ingest accepted %d of %d", res.Accepted, len(recs))
					return
				}
			}
		})
	}
	wg.Wait()
}

// perfCatchUp ingests the backlog while the destination (kind) is down,
// brings it up and reports the time to the first event sent after (the
// engine's retry backoff), the time to the last and the drain rate in
// between.
func perfCatchUp(b *testing.B, srv *Server, kind string, up func()) {
	n := perfBacklog()
	base := perfSent(b, srv, kind)
	start := time.Now()
	perfIngest(b, srv, n)
	b.Logf("%d events ingested in %v while %s was down", n, time.Since(start).Round(time.Millisecond), kind)
	b.ResetTimer()
	upAt := time.Now()
	up()
	var first time.Time
	ebWaitFor(b, "the backlog to drain", 10*time.Minute, func() bool {
		sent := perfSent(b, srv, kind) - base
		if sent > 0 && first.IsZero() {
			first = time.Now()
		}
		return sent >= int64(n)
	})
	end := time.Now()
	b.StopTimer()
	b.ReportMetric(first.Sub(upAt).Seconds(), "first-s")
	b.ReportMetric(end.Sub(upAt).Seconds(), "drained-s")
	b.ReportMetric(float64(n)/end.Sub(first).Seconds(), "events/s")
}

// perfTrail creates and starts a trail of Account1 sending to log group
// name (configured in srv's config).
func perfTrail(b *testing.B, srv *Server, name string) {
	if err := os.MkdirAll(filepath.Join(srv.DataDir, "buckets", "bench-logs"), 0o755); err != nil {
		b.Fatal(err)
	}
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ctx := context.Background()
	tr, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bench"), S3BucketName: aws.String("bench-logs"),
		CloudWatchLogsLogGroupArn: aws.String(cwlGroupARN(name)), CloudWatchLogsRoleArn: aws.String(cwlRole)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: tr.TrailARN}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkStreamCatchUpHTTP(b *testing.B) {
	for range b.N {
		g := &perfGate{}
		url := startGate(b, g)
		srv := Start(b, Options{Config: dlConfig(cwlGroups("bench=" + url + "/logs"))})
		perfTrail(b, srv, "bench")
		perfCatchUp(b, srv, "log-http", func() { g.down.Store(false) })
		srv.Stop(b)
	}
}

func BenchmarkStreamCatchUpFile(b *testing.B) {
	for range b.N {
		// Down: the file's directory is a regular file.
		dir := filepath.Join(b.TempDir(), "logs")
		if err := os.WriteFile(dir, nil, 0o600); err != nil {
			b.Fatal(err)
		}
		srv := Start(b, Options{Config: dlConfig(cwlGroups("bench=file://" + filepath.Join(dir, "bench.ndjson")))})
		perfTrail(b, srv, "bench")
		perfCatchUp(b, srv, "log-file", func() {
			if err := os.Remove(dir); err != nil {
				b.Fatal(err)
			}
		})
		srv.Stop(b)
	}
}

func BenchmarkStreamCatchUpCloudWatchLogs(b *testing.B) {
	for range b.N {
		// Down: the log group does not exist (PutLogEvents fails).
		endpoint := buckettest.StartMoto(b)
		srv := Start(b, Options{Config: dlConfig(cwlGroups("bench=cloudwatch-logs://?endpoint=" + endpoint))})
		perfTrail(b, srv, "bench")
		perfCatchUp(b, srv, "cloudwatch-logs", func() {
			_, err := cwlLogsClient(endpoint).CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bench")})
			if err != nil {
				b.Fatal(err)
			}
		})
		srv.Stop(b)
	}
}

func BenchmarkStreamCatchUpWebhook(b *testing.B) {
	for range b.N {
		g := &perfGate{}
		url := startGate(b, g)
		srv := Start(b, Options{Config: ebConfig(ebBus(Account1, "", ebWebhookTarget(url+"/hook", "bench", "")))})
		perfCatchUp(b, srv, "webhook", func() { g.down.Store(false) })
		srv.Stop(b)
	}
}

func BenchmarkStreamCatchUpEventBridge(b *testing.B) {
	for range b.N {
		// Up, the gate answers PutEvents: every entry accepted.
		g := &perfGate{answer: func(w http.ResponseWriter, body []byte) {
			var in struct{ Entries []json.RawMessage }
			json.Unmarshal(body, &in)
			out := struct {
				FailedEntryCount int
				Entries          []map[string]string
			}{}
			for i := range in.Entries {
				out.Entries = append(out.Entries, map[string]string{"EventId": fmt.Sprintf("e-%d", i)})
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			json.NewEncoder(w).Encode(out)
		}}
		url := startGate(b, g)
		target := fmt.Sprintf("      - url: %q\n        access_key_id: AKIABENCH0000000001\n        secret_access_key: bench\n",
			"eventbridge://?endpoint="+url)
		srv := Start(b, Options{Config: ebConfig(ebBus(Account1, "", target))})
		perfCatchUp(b, srv, "eventbridge", func() { g.down.Store(false) })
		srv.Stop(b)
	}
}

// perfRSS is the server's resident memory in MiB.
func perfRSS(b *testing.B, srv *Server) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Pid()))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// perfTailConfig has the standard config's accounts plus n read-only
// users of Account1 (tail0 …), each with one key: a key may hold only a
// few streams at once.
func perfTailConfig(n int) (string, []string) {
	var b strings.Builder
	var keys []string
	head, rest, _ := strings.Cut(StandardConfig, "      - name: alice\n")
	b.WriteString(head)
	for i := range n {
		key := fmt.Sprintf("AKIAPERFTAIL%08d", i)
		keys = append(keys, key)
		fmt.Fprintf(&b, "      - name: tail%d\n        access_keys: [{id: %s, secret: perf-tail-secret}]\n        policy: read-only\n", i, key)
	}
	b.WriteString("      - name: alice\n" + rest)
	return b.String(), keys
}

// BenchmarkTailMemory opens 100 live tails (SigV4, GET /v1/stream, 5 a
// key) and reports the server's RSS before, with them idle, and with 200
// events a second (10 s) reaching each.
func BenchmarkTailMemory(b *testing.B) {
	const streams, rate, seconds = 100, 200, 10
	for range b.N {
		cfg, keys := perfTailConfig(streams / 5)
		srv := Start(b, Options{Config: cfg})
		srv.Ingest(b, IngestKey, IngestSecret, ebRecord("Warm", "iam.amazonaws.com", Account1, false, nil))
		before := perfRSS(b, srv)
		ctx, cancel := context.WithCancel(context.Background())
		var lines atomic.Int64
		var wg sync.WaitGroup
		for i := range streams {
			resp, err := http.DefaultClient.Do(signedTailRequest(b, ctx, srv, keys[i/5], "perf-tail-secret", "us-east-1", ""))
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("GET /v1/stream: %v %v", resp, err)
			}
			wg.Go(func() {
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 64<<10), 1<<20)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "data: ") {
						lines.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Second) // (a settle time before a reading, not an assertion)
		idle := perfRSS(b, srv)
		b.ResetTimer()
		tick := time.NewTicker(time.Second / (rate / 10))
		peak := idle
		for n := 0; n < rate*seconds/10; n++ {
			<-tick.C
			recs := make([]map[string]any, 10)
			for i := range recs {
				recs[i] = ebRecord("PutBench", "iam.amazonaws.com", Account1, false, nil)
			}
			srv.Ingest(b, IngestKey, IngestSecret, recs...)
			if n%10 == 0 {
				peak = max(peak, perfRSS(b, srv))
			}
		}
		tick.Stop()
		want := int64(streams * rate * seconds)
		ebWaitFor(b, "every stream to get every event", time.Minute, func() bool { return lines.Load() >= want })
		b.StopTimer()
		flowing := max(peak, perfRSS(b, srv))
		cancel()
		wg.Wait()
		b.ReportMetric(before, "rss-MiB-no-streams")
		b.ReportMetric(idle, "rss-MiB-100-idle")
		b.ReportMetric(flowing, "rss-MiB-100-flowing")
		b.ReportMetric((idle-before)*1024/streams, "KiB/stream-idle")
		srv.Stop(b)
	}
}
