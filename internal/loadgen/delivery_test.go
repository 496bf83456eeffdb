package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/e2e"
)

// TestDeliveryPercentiles checks that the delivery report counts probes
// right and summarizes latencies with the exact percentiles of stats.go.
func TestDeliveryPercentiles(t *testing.T) {
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	timeout := 10 * time.Second
	r := &deliveryRun{}
	var want []time.Duration
	// 20 delivered probes, latencies 20 × 250ms … 250ms, in that order.
	for i := range 20 {
		lat := time.Duration(20-i) * 250 * time.Millisecond
		acked := base.Add(time.Duration(i) * time.Second)
		r.probes = append(r.probes, probeState{id: "d", sent: acked.Add(-time.Millisecond), acked: acked, found: acked.Add(lat), copies: 1})
		want = append(want, lat)
	}
	r.probes[3].copies = 2
	// Not acknowledged; acknowledged and never found; found after the timeout.
	r.probes = append(r.probes,
		probeState{sent: base, err: "HTTP 403"},
		probeState{sent: base, acked: base},
		probeState{sent: base, acked: base, found: base.Add(timeout + time.Millisecond), copies: 1},
		probeState{sent: base.Add(time.Minute), acked: base.Add(time.Minute)}, // awaited at the end
		probeState{}) // never sent
	rep := &DeliveryReport{Sent: len(r.probes) - 1}
	rep.Params.Probes = len(r.probes)
	r.summarize(rep, timeout, base.Add(time.Minute+time.Second))

	if rep.Delivered != 20 || rep.Acknowledged != 23 || rep.Failed != 1 || rep.Lost != 2 || rep.Late != 1 ||
		rep.Pending != 1 || rep.Duplicated != 1 {
		t.Errorf("counts: %d delivered, %d acknowledged, %d failed, %d lost, %d late, %d pending, %d duplicated",
			rep.Delivered, rep.Acknowledged, rep.Failed, rep.Lost, rep.Late, rep.Pending, rep.Duplicated)
	}
	if len(rep.Probes) != 24 || !rep.Probes[22].Late || rep.Probes[21].Delivered || rep.Probes[20].Acknowledged ||
		!rep.Probes[23].Pending || rep.Probes[23].Delivered {
		t.Errorf("per-probe results: %+v", rep.Probes[20:])
	}
	if got := rep.Latency; got != Summarize(slices.Clone(want)) {
		t.Errorf("latency %+v, want Summarize's %+v", got, Summarize(want))
	}
	slices.Sort(want)
	l := rep.Latency
	if l.Count != 20 || l.Min != 250*time.Millisecond || l.Max != 5*time.Second ||
		l.P50 != Percentile(want, 50) || l.P50 != 2500*time.Millisecond ||
		l.P90 != Percentile(want, 90) || l.P90 != 4500*time.Millisecond ||
		l.P99 != Percentile(want, 99) || l.P99 != 5*time.Second || l.Mean != 2625*time.Millisecond {
		t.Errorf("latency %+v", l)
	}
	if ms := rep.Probes[0].LatencyMs; ms == nil || *ms != 5000 {
		t.Errorf("probe 1 latency_ms %v", ms)
	}
	if rep.OK() {
		t.Error("a report with lost probes is OK")
	}
}

func writeLogFile(t *testing.T, path string, records ...map[string]any) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(map[string]any{"Records": records}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryWatcher checks the watcher: it finds this run's probes in new
// log files anywhere under AWSLogs/, reads each file once, and ignores
// other files and other runs' probes.
func TestDeliveryWatcher(t *testing.T) {
	root := t.TempDir()
	r := &deliveryRun{prefix: "CairnBenchProbe-abc-", rootDir: root, watchDir: filepath.Join(root, "p", "AWSLogs"), seen: map[string]int{}}
	for i := range 3 {
		r.probes = append(r.probes, probeState{name: r.prefix + string(rune('1'+i)), id: "id" + string(rune('1'+i))})
	}
	r.scan() // no directory yet: nothing, no error
	dir := filepath.Join(r.watchDir, "111111111111", "CloudTrail", "us-east-1", "2026", "11", "26")
	writeLogFile(t, filepath.Join(dir, "a.json.gz"),
		map[string]any{"eventName": "CairnBenchProbe-abc-1", "eventID": "id1"},
		map[string]any{"eventName": "CairnBenchProbe-other-2", "eventID": "id2"},
		map[string]any{"eventName": "CairnBenchProbe-abc-9", "eventID": "id9"},
		map[string]any{"eventName": "StartLogging", "eventID": "x"})
	writeLogFile(t, filepath.Join(root, "p", "elsewhere.json.gz"), map[string]any{"eventName": "CairnBenchProbe-abc-2", "eventID": "id2"})
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	r.scan()
	first := r.probes[0].found
	if first.IsZero() || r.probes[0].file != "p/AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/26/a.json.gz" ||
		!r.probes[1].found.IsZero() || r.files != 1 {
		t.Fatalf("after one file: %+v, %d files", r.probes, r.files)
	}
	writeLogFile(t, filepath.Join(dir, "b.json.gz"),
		map[string]any{"eventName": "CairnBenchProbe-abc-2", "eventID": "id2"},
		map[string]any{"eventName": "CairnBenchProbe-abc-1", "eventID": "id1"}, // a second copy
		map[string]any{"eventName": "CairnBenchProbe-abc-3", "eventID": "wrong"})
	os.WriteFile(filepath.Join(dir, "c.json.gz"), []byte("not gzip"), 0o644)
	for range 6 {
		r.scan()
	}
	if r.probes[0].found != first || r.probes[0].copies != 2 || r.probes[1].found.IsZero() || !r.probes[2].found.IsZero() || r.files != 2 {
		t.Errorf("after more files: %+v, %d files", r.probes, r.files)
	}
	errs := r.errs.list()
	if len(errs) != 2 || !strings.Contains(errs[0].Error+errs[1].Error, "c.json.gz") || !strings.Contains(errs[0].Error+errs[1].Error, `"wrong"`) {
		t.Errorf("errors %v", errs)
	}
}

// TestDeliveryAgainstServer measures delivery on a real server with a 1s
// flush interval, and checks that the run cleans up its trail.
func TestDeliveryAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := e2e.Start(t, e2e.Options{Config: e2e.StandardConfig + "\ndelivery: {flush_interval: 1s, digest_interval: 1h}\n"})
	ctx := context.Background()
	bucketDir := filepath.Join(srv.DataDir, "buckets", "benchbucket") // not there yet: the run makes it

	rep, err := RunDelivery(ctx, DeliveryConfig{
		Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Bucket: "benchbucket", BucketDir: bucketDir, Probes: 5, Interval: 200 * time.Millisecond,
		Region: "us-east-1", Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !rep.OK() || rep.Sent != 5 || rep.Acknowledged != 5 || rep.Delivered != 5 || rep.Lost != 0 || rep.Failed != 0 ||
		rep.Duplicated != 0 || rep.Latency.Count != 5 || len(rep.Errors) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	for _, p := range rep.Probes {
		if p.LatencyMs == nil || *p.LatencyMs <= 0 || *p.LatencyMs >= 10000 || p.Copies != 1 ||
			!strings.HasPrefix(p.File, rep.KeyPrefix+"/AWSLogs/"+e2e.Account1+"/CloudTrail/us-east-1/") {
			t.Errorf("probe %+v", p)
		}
	}
	if rep.Latency.Min <= 0 || rep.Latency.Max >= 10*time.Second {
		t.Errorf("latency %+v", rep.Latency)
	}
	if !rep.LoggingStopped || !rep.TrailDeleted {
		t.Errorf("cleanup: logging stopped %v, trail deleted %v", rep.LoggingStopped, rep.TrailDeleted)
	}
	ct := srv.CloudTrail(e2e.AdminKey, e2e.AdminSecret, "us-east-1")
	trails, err := ct.DescribeTrails(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(trails.TrailList) != 0 {
		t.Errorf("trails left: %+v", trails.TrailList)
	}

	// The JSON report has the parameters, the summary and each probe.
	path := filepath.Join(t.TempDir(), "delivery.json")
	if err := WriteJSONFile(path, rep); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var j struct {
		Command   string         `json:"command"`
		Params    map[string]any `json:"params"`
		Delivered int            `json:"delivered"`
		Lost      int            `json:"lost"`
		Latency   map[string]any `json:"latency"`
		Probes    []ProbeResult  `json:"probes"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if j.Command != "delivery" || j.Params["probes"] != 5.0 || j.Params["interval"] != "200ms" || j.Delivered != 5 ||
		j.Lost != 0 || j.Latency["p99_ms"] == nil || len(j.Probes) != 5 {
		t.Errorf("JSON report: %s", b)
	}

	// Watching the wrong directory: the probes are lost, the report says
	// why, and the trail is still deleted.
	lost, err := RunDelivery(ctx, DeliveryConfig{
		Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Bucket: "benchbucket", BucketDir: filepath.Join(t.TempDir(), "wrong"), Probes: 2, Interval: 100 * time.Millisecond,
		Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	lost.WriteText(&out)
	t.Logf("\n%s", out.String())
	if lost.OK() || lost.Sent != 2 || lost.Acknowledged != 2 || lost.Lost != 2 || lost.Delivered != 0 ||
		!strings.Contains(lost.Note, "no log file appeared") || !lost.TrailDeleted {
		t.Errorf("wrong bucket dir: %+v", lost)
	}

	// A bucket the server does not have: the trail cannot be created.
	_, err = RunDelivery(ctx, DeliveryConfig{
		Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Bucket: "nosuchbucket", BucketDir: filepath.Join(t.TempDir(), "nosuchbucket"), Probes: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "S3BucketDoesNotExistException") {
		t.Errorf("a bucket the server does not have: %v", err)
	}
	if trails, err := ct.DescribeTrails(ctx, nil); err != nil || len(trails.TrailList) != 0 {
		t.Errorf("trails left: %v %+v", err, trails)
	}
}
