package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/e2e"
	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
)

// TestFileBaseline appends for a short while and checks that the file
// holds exactly what the report counts: every batch body, whole, once.
func TestFileBaseline(t *testing.T) {
	dir := t.TempDir()
	rep, err := RunFileBaseline(context.Background(), FileBaselineConfig{
		Dir: dir, Clients: 3, Batch: 40, Duration: 700 * time.Millisecond,
		Gen: GenOptions{RecordBytes: 900}, Keep: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !rep.OK() || rep.Batches == 0 || rep.BatchesDurable != rep.Batches || rep.EventsDurable != 40*rep.Batches ||
		rep.Latency.Count != int(rep.Batches) || rep.SyncLatency.Count != int(rep.Batches) || len(rep.Errors) != 0 {
		t.Fatalf("report: %d of %d batches durable, %d events, %d latency samples, errors %v",
			rep.BatchesDurable, rep.Batches, rep.EventsDurable, rep.Latency.Count, rep.Errors)
	}
	if rep.EventsPerSec <= 0 || rep.MiBPerSec <= 0 || rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 ||
		rep.MeanRecordSize < 900 || rep.MeanRecordSize > 1000 || rep.FileRemoved {
		t.Errorf("report numbers: %+v", rep)
	}
	fi, err := os.Stat(rep.Params.File)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(rep.Params.File) != dir || fi.Size() != rep.BytesWritten || rep.FileSize != rep.BytesWritten {
		t.Fatalf("file %s is %d bytes; the report says %d written, file size %d", rep.Params.File, fi.Size(), rep.BytesWritten, rep.FileSize)
	}
	// One batch body a line, each whole, with unique eventIDs.
	f, err := os.Open(rep.Params.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines, records := 0, 0
	ids := map[string]bool{}
	for sc.Scan() {
		lines++
		var body struct {
			Records []struct {
				EventID   string `json:"eventID"`
				EventTime string `json:"eventTime"`
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &body); err != nil {
			t.Fatalf("line %d is not a batch body: %v", lines, err)
		}
		for _, r := range body.Records {
			records++
			if ids[r.EventID] || r.EventID == idPlaceholder || r.EventTime == timePlaceholder {
				t.Fatalf("line %d: eventID %s eventTime %s repeated or not filled in", lines, r.EventID, r.EventTime)
			}
			ids[r.EventID] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if int64(lines) != rep.Batches || int64(records) != rep.EventsDurable {
		t.Errorf("file holds %d batches of %d records; the report says %d and %d", lines, records, rep.Batches, rep.EventsDurable)
	}

	// A total: exactly that many events, in a last short batch; the file is
	// removed, and the JSON report names the parameters.
	rep, err = RunFileBaseline(context.Background(), FileBaselineConfig{
		Dir: dir, Clients: 2, Batch: 100, Total: 1234, Gen: GenOptions{RecordBytes: 600},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.EventsDurable != 1234 || rep.Batches != 13 || !rep.FileRemoved || rep.FileSize != rep.BytesWritten {
		t.Errorf("total 1234: %+v", rep)
	}
	if _, err := os.Stat(rep.Params.File); !os.IsNotExist(err) {
		t.Errorf("file not removed: %v", err)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSONFile(path, rep); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	params, _ := j["params"].(map[string]any)
	if j["command"] != "baseline-file" || params["total"] != 1234.0 || j["events_per_second"] == nil || j["fsync_latency"] == nil {
		t.Errorf("JSON report: %s", b)
	}

	if _, err := RunFileBaseline(context.Background(), FileBaselineConfig{Dir: dir, Clients: 1, Batch: 10}); err == nil {
		t.Error("no duration and no total: no error")
	}
}

// checkControlPlane checks a control plane report against what was asked.
func checkControlPlane(t *testing.T, rep *ControlPlaneReport, cycles, describes, standing int) {
	t.Helper()
	var out bytes.Buffer
	rep.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !rep.OK() || len(rep.Errors) != 0 || len(rep.LeftBehind) != 0 {
		t.Fatalf("not OK: errors %v, left behind %v", rep.Errors, rep.LeftBehind)
	}
	if rep.Cycle.Calls != cycles || rep.Cycle.Failed != 0 || rep.Cycle.Latency.Count != cycles ||
		rep.CreateTrail.Calls != cycles || rep.CreateTrail.Latency.Count != cycles ||
		rep.DeleteTrail.Calls != cycles || rep.DeleteTrail.Latency.Count != cycles {
		t.Errorf("cycles: %+v / %+v / %+v", rep.Cycle, rep.CreateTrail, rep.DeleteTrail)
	}
	if rep.Cycle.PerSec <= 0 || rep.Cycle.Latency.P50 < rep.CreateTrail.Latency.Min || rep.Cycle.Latency.Max < rep.Cycle.Latency.P99 {
		t.Errorf("cycle numbers: %+v", rep.Cycle)
	}
	if rep.DescribeTrails.Calls != describes || rep.DescribeTrails.Failed != 0 || rep.DescribeTrails.Latency.Count != describes ||
		rep.DescribeTrails.PerSec <= 0 {
		t.Errorf("describes: %+v", rep.DescribeTrails)
	}
	if rep.TrailsPerAnswer != float64(standing) {
		t.Errorf("DescribeTrails listed %.2f trails per answer, want the %d standing", rep.TrailsPerAnswer, standing)
	}
}

// remainingTrails lists the trails of the region named with prefix.
func remainingTrails(t *testing.T, ct *cloudtrail.Client, prefix string) []string {
	t.Helper()
	out, err := ct.DescribeTrails(context.Background(), &cloudtrail.DescribeTrailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range out.TrailList {
		if strings.HasPrefix(aws.ToString(tr.Name), prefix) {
			names = append(names, aws.ToString(tr.Name))
		}
	}
	return names
}

// TestControlPlaneAgainstCairn runs trail cycles and DescribeTrails calls
// against a real server, on a directory bucket.
func TestControlPlaneAgainstCairn(t *testing.T) {
	srv := e2e.Start(t, e2e.Options{Config: e2e.StandardConfig})
	ctx := context.Background()

	// Without the bucket, the run does not start, and says why.
	_, err := RunControlPlane(ctx, ControlPlaneConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Bucket: "no-such-bucket", Cycles: 3, Describes: 3, Concurrency: 2})
	if err == nil || !strings.Contains(err.Error(), "S3BucketDoesNotExist") {
		t.Errorf("missing bucket: %v", err)
	}

	bucketDir := filepath.Join(srv.DataDir, "buckets", "cp-bench")
	rep, err := RunControlPlane(ctx, ControlPlaneConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: e2e.AdminSecret,
		Region: "us-west-2", Bucket: "cp-bench", BucketDir: bucketDir, Cycles: 14, Describes: 40, Trails: 2, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkControlPlane(t, rep, 14, 40, 2)
	if fi, err := os.Stat(bucketDir); err != nil || !fi.IsDir() {
		t.Errorf("bucket directory: %v", err)
	}
	if left := remainingTrails(t, srv.CloudTrail(e2e.AdminKey, e2e.AdminSecret, "us-west-2"), "cairn-bench-cp-"); len(left) != 0 {
		t.Errorf("trails left behind: %v", left)
	}

	// A wrong secret stops the run before the timed phase.
	if _, err := RunControlPlane(ctx, ControlPlaneConfig{Endpoint: srv.URL, AccessKeyID: e2e.AdminKey, SecretAccessKey: "wrong",
		Bucket: "cp-bench", Cycles: 3, Concurrency: 1}); err == nil {
		t.Error("wrong secret: no error")
	}
}

// TestControlPlaneAgainstMoto runs the same against moto_server, which
// needs its bucket created through its S3 API first.
func TestControlPlaneAgainstMoto(t *testing.T) {
	endpoint := buckettest.StartMoto(t)
	ctx := context.Background()
	cfg := ControlPlaneConfig{Endpoint: endpoint, AccessKeyID: buckettest.AccessKeyID, SecretAccessKey: buckettest.SecretAccessKey,
		Bucket: "moto-cp-bench", Cycles: 10, Describes: 30, Trails: 3, Concurrency: 4}
	// Without the bucket, moto refuses the trail.
	if _, err := RunControlPlane(ctx, cfg); err == nil {
		t.Error("moto without the bucket: no error")
	}
	cfg.CreateBucket = true
	rep, err := RunControlPlane(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkControlPlane(t, rep, 10, 30, 3)
	if !rep.BucketCreated {
		t.Error("bucket not reported created")
	}
	ct := NewCloudTrailClient(endpoint, buckettest.AccessKeyID, buckettest.SecretAccessKey, "us-east-1", 1, time.Minute)
	if left := remainingTrails(t, ct, "cairn-bench-cp-"); len(left) != 0 {
		t.Errorf("trails left behind: %v", left)
	}
	// Again, on the bucket that now exists.
	cfg.Cycles, cfg.Describes, cfg.Trails = 4, 4, 0
	if rep, err = RunControlPlane(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	checkControlPlane(t, rep, 4, 4, 0)
}

// TestPostgresBaseline loads a throw-away database, checks that the table
// holds every record with its columns, and that the lookups find them.
func TestPostgresBaseline(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	rep, err := RunPostgresBaseline(ctx, PostgresBaselineConfig{
		DSN: dsn, Clients: 3, Batch: 200, Total: 3100, Lookups: 70, Keep: true,
		Gen: GenOptions{RecordBytes: 800, Spread: 24 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	t.Logf("\n%s", out.String())
	l := rep.Load
	if !rep.OK() || l.EventsCommitted != 3100 || l.EventsSent != 3100 || l.Batches != 16 || l.BatchesOK != 16 ||
		l.Latency.Count != 16 || l.CopyLatency.Count != 16 || rep.Rows != 3100 || len(rep.Errors) != 0 {
		t.Fatalf("load: %+v, rows %d, errors %v", l, rep.Rows, rep.Errors)
	}
	if rep.Env.GoVersion == "" || rep.Env.NumCPU == 0 || rep.Env.Time.IsZero() {
		t.Errorf("env: %+v", rep.Env)
	}
	if l.EventsPerSec <= 0 || l.Latency.P50 < l.CopyLatency.Min || rep.TableBytes <= 0 || rep.TableDropped {
		t.Errorf("load numbers: %+v, table %d bytes, dropped %v", l, rep.TableBytes, rep.TableDropped)
	}
	k := rep.Lookup
	if k == nil || k.Requests != 70 || k.Failed != 0 || k.Latency.Count != 70 || len(k.Queries) != 7 || k.LookupsPerSec <= 0 {
		t.Fatalf("lookup: %+v", k)
	}
	for _, q := range k.Queries {
		if q.Requests != 10 || q.Events == 0 || q.Events > 50*int64(q.Requests) {
			t.Errorf("query %s: %d calls returned %d rows", q.Query, q.Requests, q.Events)
		}
		if (q.Query == "none" || q.Query == "read_only") && q.Events != 500 {
			t.Errorf("query %s: %d rows in 10 calls, want 50 each", q.Query, q.Events)
		}
	}
	var settings []string
	for _, s := range rep.Settings {
		settings = append(settings, s.Name+"="+s.Value)
	}
	if !strings.Contains(strings.Join(settings, " "), "synchronous_commit=on") {
		t.Errorf("settings: %v", settings)
	}

	// The kept table: each row's columns are those of its record.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, distinctIDs, mismatched int64
	err = conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT record->>'eventID'),
		count(*) FILTER (WHERE event_name IS DISTINCT FROM record->>'eventName'
			OR event_source IS DISTINCT FROM record->>'eventSource'
			OR username IS DISTINCT FROM record->'userIdentity'->>'userName'
			OR access_key IS DISTINCT FROM record->'userIdentity'->>'accessKeyId'
			OR read_only IS DISTINCT FROM (record->>'readOnly')::bool
			OR resource_name IS DISTINCT FROM record->'resources'->0->>'ARN'
			OR event_time IS DISTINCT FROM (record->>'eventTime')::timestamptz)
		FROM `+PostgresTable).Scan(&rows, &distinctIDs, &mismatched)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 3100 || distinctIDs != 3100 || mismatched != 0 {
		t.Errorf("table: %d rows, %d distinct eventIDs, %d rows whose columns differ from their record", rows, distinctIDs, mismatched)
	}
	var oldest time.Time
	if err := conn.QueryRow(ctx, `SELECT min(event_time) FROM `+PostgresTable).Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(oldest); age < 12*time.Hour || age > 25*time.Hour {
		t.Errorf("with a day's spread, the oldest event is %v old", age)
	}

	// The kept table stops the next run, unless it is replaced; a run by
	// duration drops its table at the end.
	_, err = RunPostgresBaseline(ctx, PostgresBaselineConfig{DSN: dsn, Clients: 1, Batch: 10, Total: 10})
	if err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("existing table: %v", err)
	}
	rep, err = RunPostgresBaseline(ctx, PostgresBaselineConfig{DSN: dsn, Clients: 2, Batch: 50, Duration: 500 * time.Millisecond,
		Lookups: 14, Replace: true, Gen: GenOptions{RecordBytes: 700}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Load.EventsCommitted == 0 || rep.Rows != rep.Load.EventsCommitted || !rep.TableDropped || rep.Lookup.Requests != 14 {
		t.Errorf("replacing run: %+v", rep)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, PostgresTable).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("table not dropped")
	}

	// A DSN with nothing behind it: an error, not a report.
	if _, err := RunPostgresBaseline(ctx, PostgresBaselineConfig{DSN: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=5",
		Clients: 1, Batch: 10, Total: 10}); err == nil {
		t.Error("unreachable server: no error")
	}
}
