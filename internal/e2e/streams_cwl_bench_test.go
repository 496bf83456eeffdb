package e2e

// Acknowledged → arrived latency of a trail's log group destinations at
// default settings: events are ingested at a steady rate (500 a second for
// 20 seconds unless CAIRN_BENCH_RATE / CAIRN_BENCH_SECONDS say otherwise,
// in POSTs of 10), each POST's acknowledgement time is noted, and so is
// when each event reaches the destination. Run with
//
//	CAIRN_E2E_NORACE=1 go test -run '^$' -bench StreamLatency -benchtime 1x ./internal/e2e
//
// (CAIRN_E2E_NORACE builds the server without the race detector).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// cwlBenchBatch is how many events a POST of a latency run carries; the
// rate and duration are ebBenchSettings' (CAIRN_BENCH_RATE,
// CAIRN_BENCH_SECONDS).
const cwlBenchBatch = 10

// cwlArrivals notes when each eventID first arrived.
type cwlArrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *cwlArrivals) note(ids []string, when time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if _, ok := a.at[id]; !ok {
			a.at[id] = when
		}
	}
}

func BenchmarkStreamLatencyCloudWatchLogs(b *testing.B) {
	endpoint := buckettest.StartMoto(b)
	logs := cwlLogsClient(endpoint)
	ctx := context.Background()
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	cwlBenchRun(b, "bench=cloudwatch-logs://?endpoint="+endpoint, func(ctx context.Context, a *cwlArrivals) {
		// GetLogEvents from the last forward token, as often as moto answers.
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("bench"),
			LogStreamName: aws.String(cwlStreamName(Account1, "us-east-1")), StartFromHead: aws.Bool(true)}
		for ctx.Err() == nil {
			page, err := logs.GetLogEvents(ctx, in)
			now := time.Now()
			if err != nil {
				time.Sleep(20 * time.Millisecond) // the stream is not there yet
				continue
			}
			var ids []string
			for _, e := range page.Events {
				ids = append(ids, cwlParse(aws.ToString(e.Message)).ID)
			}
			a.note(ids, now)
			if len(page.Events) == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			in.NextToken = page.NextForwardToken
		}
	})
}

func BenchmarkStreamLatencyFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.ndjson")
	cwlBenchRun(b, "bench=file://"+path, func(ctx context.Context, a *cwlArrivals) {
		// Read what was appended since the last look, every 5 ms.
		var off int64
		var partial []byte
		for ctx.Err() == nil {
			f, err := os.Open(path)
			if err != nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			f.Seek(off, io.SeekStart)
			chunk, _ := io.ReadAll(f)
			f.Close()
			now := time.Now()
			off += int64(len(chunk))
			data := append(partial, chunk...)
			var ids []string
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				ids = append(ids, cwlParse(string(data[:i])).ID)
				data = data[i+1:]
			}
			partial = append([]byte(nil), data...)
			a.note(ids, now)
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func BenchmarkStreamLatencyHTTP(b *testing.B) {
	a := &cwlArrivals{at: map[string]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		var ids []string
		for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			ids = append(ids, cwlParse(string(line)).ID)
		}
		a.note(ids, now)
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	cwlBenchRunWith(b, a, "bench=http://"+ln.Addr().String()+"/bench", func(context.Context, *cwlArrivals) {})
}

// cwlStreamName is CloudTrail's log stream of an account's events of a
// region (as loggroup.StreamName).
func cwlStreamName(account, region string) string { return account + "_CloudTrail_" + region }

func cwlBenchRun(b *testing.B, group string, watch func(context.Context, *cwlArrivals)) {
	cwlBenchRunWith(b, &cwlArrivals{at: map[string]time.Time{}}, group, watch)
}

// cwlBenchRunWith starts a server whose trail sends to group (name=url),
// ingests at the steady rate while watch notes arrivals, and reports the
// acknowledged → arrived percentiles.
func cwlBenchRunWith(b *testing.B, a *cwlArrivals, group string, watch func(context.Context, *cwlArrivals)) {
	srv := Start(b, Options{Config: dlConfig(cwlGroups(group))})
	name, _, _ := strings.Cut(group, "=")
	dir := filepath.Join(srv.DataDir, "buckets", "bench-logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	tr, err := ct.CreateTrail(context.Background(), &cloudtrail.CreateTrailInput{Name: aws.String("bench"), S3BucketName: aws.String("bench-logs"),
		CloudWatchLogsLogGroupArn: aws.String(cwlGroupARN(name)), CloudWatchLogsRoleArn: aws.String(cwlRole)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ct.StartLogging(context.Background(), &cloudtrail.StartLoggingInput{Name: tr.TrailARN}); err != nil {
		b.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { watch(wctx, a); close(watched) }()
	defer func() { stopWatch(); <-watched }()

	for i := 0; i < b.N; i++ {
		rate, seconds := ebBenchSettings()
		acked := map[string]time.Time{}
		tick := time.NewTicker(time.Second * cwlBenchBatch / time.Duration(rate))
		end := time.Now().Add(time.Duration(seconds) * time.Second)
		b.ResetTimer()
		for time.Now().Before(end) {
			<-tick.C
			var recs []map[string]any
			for range cwlBenchBatch {
				recs = append(recs, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
			}
			body, _ := json.Marshal(map[string]any{"Records": recs})
			status, resp, err := dlPost(srv.URL, IngestKey, IngestSecret, "/v1/events", body)
			now := time.Now()
			if err != nil || status != http.StatusOK {
				b.Fatalf("ingest: HTTP %d %s %v", status, resp, err)
			}
			var res IngestResult
			if err := json.Unmarshal(resp, &res); err != nil || res.Accepted != cwlBenchBatch {
				b.Fatalf("ingest: %s", resp)
			}
			for _, id := range res.EventIDs {
				acked[id] = now
			}
		}
		tick.Stop()
		deadline := time.Now().Add(60 * time.Second)
		for {
			a.mu.Lock()
			missing := 0
			for id := range acked {
				if _, ok := a.at[id]; !ok {
					missing++
				}
			}
			a.mu.Unlock()
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d events did not arrive within 60s of the last\nserver log:\n%s", missing, len(acked), dlTail(srv.Log(), 30))
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		var lat []time.Duration
		a.mu.Lock()
		for id, at := range acked {
			lat = append(lat, a.at[id].Sub(at))
		}
		a.mu.Unlock()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "p50_ms")
		b.ReportMetric(pct(0.99), "p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
		b.ReportMetric(float64(len(lat)), "events")
		b.Logf("%s: %d events at %d/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms", group, len(lat), rate, pct(0.5), pct(0.99),
			float64(lat[len(lat)-1].Microseconds())/1000)
	}
}
