package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/envelope"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
	"github.com/cairn-audit/cairn/internal/trail"
)

const acctA = "111111111111"

// newEngine is the one place these tests construct an engine (so a change
// of New's signature is a one-line change here). It names the engine node
// in leases and sets its clock.
func newEngine(st store.Store, trails Trails, cfg *config.Config, node string, now func() time.Time) *Engine {
	e := New(st, trails, resolverOf(cfg), optionsOf(cfg, node))
	e.now = now
	return e
}

// optionsOf is what the engine reads of cfg, as cairn serve gives it.
func optionsOf(cfg *config.Config, node string) Options {
	return Options{
		Owners:    trail.OwnersOptions{Ownership: cfg.Ownership(), Buckets: cfg.Buckets, KMSKeys: cfg.KMSKeys, Topics: cfg.Topics},
		Partition: cfg.Partition, Regions: cfg.Regions, GlobalRegion: cfg.GlobalRegion,
		FlushInterval: cfg.Delivery.FlushInterval.Duration, DigestInterval: cfg.Delivery.DigestInterval.Duration,
		KMS:  envelope.NewConfigKeys(envelope.KeysOptions{DataDir: cfg.DataDir, KMSKeys: cfg.KMSKeys, Create: true}),
		Node: node, Log: slog.New(slog.DiscardHandler),
	}
}

// resolverOf is the bucket resolver of cfg.
func resolverOf(cfg *config.Config) *bucket.Resolver {
	return bucket.NewResolver(bucket.ResolverOptions{DataDir: cfg.DataDir, Buckets: cfg.Buckets})
}

// deliveryConfig is one account, two regions, and the directory bucket
// "logs" at bucketDir; batches are due after a second.
func deliveryConfig(t *testing.T, bucketDir string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.Accounts = []config.Account{{ID: acctA}}
	cfg.Delivery.FlushInterval = config.Duration{Duration: time.Second}
	cfg.Buckets = []config.Bucket{{Name: "logs", URL: "file://" + bucketDir, Account: acctA}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loggingTrail is a logging multi-region trail of account A writing to "logs".
func loggingTrail() *trail.Trail {
	return &trail.Trail{ID: "trail-1", Account: acctA, HomeRegion: "us-east-1", Name: "main",
		ARN: trail.ARN("aws", "us-east-1", acctA, "main"), S3BucketName: "logs", IsMultiRegionTrail: true,
		IncludeGlobalServiceEvents: true, IsLogging: true, LoggingEpoch: 1}
}

// appendNamed stores one event per name, in awsRegion region of account.
func appendNamed(t *testing.T, st store.Store, account, region string, names ...string) {
	t.Helper()
	var evs []*event.Event
	for _, n := range names {
		e, ferr := event.Decode([]byte(fmt.Sprintf(`{"eventTime":"2026-11-26T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":%q,"eventID":%q}`,
			n, region, uuid.NewString())), event.Context{Account: account})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs = append(evs, e)
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// objects returns the files in a directory bucket by key, leaving out the
// bucket's own .cairn- files.
func objects(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, ".cairn-") {
			return nil
		}
		b, rerr := os.ReadFile(p)
		if rerr != nil {
			t.Fatal(rerr)
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out
}

// eventNames are the eventNames of a log file's records, in order.
func eventNames(t *testing.T, gz []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Records []struct{ EventName string } }
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range f.Records {
		names = append(names, r.EventName)
	}
	return names
}

// storedState reads a trail's delivery state document.
func storedState(t *testing.T, st store.Store, tr *trail.Trail) *state {
	t.Helper()
	d, err := st.GetState(context.Background(), stateKey(tr))
	if err != nil {
		t.Fatal(err)
	}
	var s state
	if err := json.Unmarshal(d.Doc, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// A batch is planned once its oldest event has waited (nearly) the flush
// interval, and written as one file per account and region, records in log
// order; the cursor then moves past it and the next pass writes nothing.
func TestPlanAndWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := deliveryConfig(t, dir)
	st := sqlitetest.Open(t)
	appendNamed(t, st, acctA, "us-east-1", "E1", "E2")
	appendNamed(t, st, acctA, "eu-west-1", "W1", "W2")
	appendNamed(t, st, "999999999999", "us-east-1", "NotOurs")
	appendNamed(t, st, acctA, "us-east-1", "E3")
	tr := loggingTrail()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := t0
	e := newEngine(st, trailList{tr}, cfg, "node-1", func() time.Time { return now })

	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := objects(t, dir); len(got) != 0 {
		t.Fatalf("files written before the batch was due: %v", slices.Collect(maps.Keys(got)))
	}
	if s := storedState(t, st, tr); s.Pending != nil || s.Lease == nil || s.Lease.Node != "node-1" {
		t.Fatalf("state after the first pass: %+v", s)
	}
	now = t0.Add(time.Second - dueEarly)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := objects(t, dir)
	want := map[string][]string{"us-east-1": {"E1", "E2", "E3"}, "eu-west-1": {"W1", "W2"}}
	if len(got) != len(want) {
		t.Fatalf("files %v, want one per region", slices.Collect(maps.Keys(got)))
	}
	for key, body := range got {
		region := strings.Split(key, "/")[3]
		prefix := "AWSLogs/" + acctA + "/CloudTrail/" + region + "/2026/11/26/" + acctA + "_CloudTrail_" + region + "_20261126T0900Z_"
		if !strings.HasPrefix(key, prefix) || !strings.HasSuffix(key, ".json.gz") {
			t.Errorf("key %s, want %s….json.gz", key, prefix)
		}
		if names := eventNames(t, body); !slices.Equal(names, want[region]) {
			t.Errorf("%s holds %v, want %v", key, names, want[region])
		}
	}
	stats, _ := st.Stats(ctx)
	s := storedState(t, st, tr)
	if s.Pending != nil || s.Cursor != stats.LastSeq || s.Epoch != 1 {
		t.Errorf("state after delivery: pending %+v, cursor %d (log end %d), epoch %d", s.Pending, s.Cursor, stats.LastSeq, s.Epoch)
	}
	ds, err := e.DeliveryStatus(ctx, tr, "eu-west-1")
	if err != nil || !ds.LatestDeliveryTime.Equal(now) || ds.LatestDeliveryError != "" {
		t.Errorf("eu-west-1 status: %+v, %v", ds, err)
	}
	now = now.Add(time.Minute)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if again := objects(t, dir); len(again) != len(got) {
		t.Errorf("a pass with nothing new wrote files: %d, then %d", len(got), len(again))
	}
}

// plannedKeys are the file names of a stored pending batch.
func plannedKeys(s *state) []string {
	if s.Pending == nil {
		return nil
	}
	var keys []string
	for _, f := range s.Pending.Files {
		keys = append(keys, f.Key)
	}
	slices.Sort(keys)
	return keys
}

// cursorSaveFails is a store on which the save that moves a trail's cursor
// past a written batch fails, as if the process died right after writing
// the files.
type cursorSaveFails struct{ store.Store }

func (s cursorSaveFails) PutState(ctx context.Context, key string, doc []byte, version int64) (int64, error) {
	var st state
	if strings.HasPrefix(key, statePrefix) && json.Unmarshal(doc, &st) == nil && st.Pending == nil && st.Cursor > 0 {
		return 0, fmt.Errorf("crash: state %s not saved", key)
	}
	return s.Store.PutState(ctx, key, doc, version)
}

// Exactly once across a crash: whether the process dies after planning a
// batch but before writing it, or after writing it but before moving the
// cursor, the engine that comes next writes the stored plan's files under
// the same names (with the same bytes), and nothing twice.
func TestReplayAfterCrash(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// first is the engine that dies: its store and configuration.
		first func(t *testing.T, st store.Store, bucketDir string) (store.Store, *config.Config)
		// wroteFirst: the dying engine wrote the files.
		wroteFirst bool
	}{
		{name: "between plan and write", first: func(t *testing.T, st store.Store, bucketDir string) (store.Store, *config.Config) {
			// The bucket cannot be written: a file stands where its directory goes.
			blocked := filepath.Join(t.TempDir(), "blocked")
			if err := os.WriteFile(blocked, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return st, deliveryConfig(t, blocked)
		}},
		{name: "between write and cursor", wroteFirst: true, first: func(t *testing.T, st store.Store, bucketDir string) (store.Store, *config.Config) {
			return cursorSaveFails{st}, deliveryConfig(t, bucketDir)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st := sqlitetest.Open(t)
			appendNamed(t, st, acctA, "us-east-1", "E1", "E2")
			appendNamed(t, st, acctA, "eu-west-1", "W1")
			tr := loggingTrail()
			t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
			now := t0
			firstStore, firstCfg := c.first(t, st, dir)
			dying := newEngine(firstStore, trailList{tr}, firstCfg, "node-1", func() time.Time { return now })
			dying.RunOnce(ctx)
			now = t0.Add(time.Second)
			if err := dying.RunOnce(ctx); err == nil {
				t.Fatal("the dying engine's pass succeeded")
			}
			planned := plannedKeys(storedState(t, st, tr))
			if len(planned) != 2 {
				t.Fatalf("stored plan %v, want two files", planned)
			}
			before := objects(t, dir)
			if wrote := len(before) > 0; wrote != c.wroteFirst {
				t.Fatalf("dying engine wrote %d files", len(before))
			}

			// The restart: same node name, so its own lease does not hold it up.
			now = now.Add(time.Minute)
			next := newEngine(st, trailList{tr}, deliveryConfig(t, dir), "node-1", func() time.Time { return now })
			if err := next.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			after := objects(t, dir)
			if got := slices.Sorted(maps.Keys(after)); !slices.Equal(got, planned) {
				t.Errorf("files after the replay %v, want the planned %v", got, planned)
			}
			for k, b := range before {
				if !bytes.Equal(after[k], b) {
					t.Errorf("replay wrote other bytes to %s", k)
				}
			}
			if s := storedState(t, st, tr); s.Pending != nil || s.Cursor == 0 {
				t.Errorf("after the replay: pending %+v, cursor %d", s.Pending, s.Cursor)
			}
			now = now.Add(time.Minute)
			next.RunOnce(ctx)
			if n := len(objects(t, dir)); n != len(planned) {
				t.Errorf("%d files after another pass, want %d", n, len(planned))
			}
		})
	}
}

// write takes plan's findings when it follows plan in the same pass; a
// batch loaded from the store has none and write reads the log. Both write
// the same files under the same names with the same bytes, and the
// findings are not part of the stored plan.
func TestWriteFromPlanAsReplayed(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	appendNamed(t, st, acctA, "us-east-1", "E1", "E2")
	appendNamed(t, st, "999999999999", "us-east-1", "NotOurs")
	appendNamed(t, st, acctA, "eu-west-1", "W1")
	appendNamed(t, st, acctA, "ap-south-1", "NotCovered")
	appendNamed(t, st, acctA, "us-east-1", "E3")
	tr := loggingTrail()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	planDir, replayDir := t.TempDir(), t.TempDir()
	planner := newEngine(st, trailList{tr}, deliveryConfig(t, planDir), "node-1", func() time.Time { return now })
	replayer := newEngine(st, trailList{tr}, deliveryConfig(t, replayDir), "node-1", func() time.Time { return now })
	planner.draining = true

	s := &state{Epoch: tr.LoggingEpoch}
	if planned, err := planner.plan(ctx, tr, s, now, math.MaxInt64, math.MaxInt64); err != nil || !planned || s.Pending.taken == nil {
		t.Fatalf("plan: planned %v, err %v, pending %+v", planned, err, s.Pending)
	}
	doc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var stored state
	if err := json.Unmarshal(doc, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Pending.taken != nil {
		t.Fatal("the stored plan carries plan's findings")
	}
	if err := planner.write(ctx, tr, s, now); err != nil {
		t.Fatal(err)
	}
	if err := replayer.write(ctx, tr, &stored, now); err != nil {
		t.Fatal(err)
	}
	fromPlan, replayed := objects(t, planDir), objects(t, replayDir)
	if len(fromPlan) != 2 || !maps.EqualFunc(fromPlan, replayed, bytes.Equal) {
		t.Fatalf("files from plan %v, replayed %v: want the same two", slices.Sorted(maps.Keys(fromPlan)), slices.Sorted(maps.Keys(replayed)))
	}
	for key, body := range fromPlan {
		want := []string{"E1", "E2", "E3"}
		if strings.Contains(key, "eu-west-1") {
			want = []string{"W1"}
		}
		if names := eventNames(t, body); !slices.Equal(names, want) {
			t.Errorf("%s holds %v, want %v", key, names, want)
		}
	}
}

// readsFrom records where each ReadLog of the store starts.
type readsFrom struct {
	store.Store
	from []int64
}

func (s *readsFrom) ReadLog(ctx context.Context, after int64, n int) ([]*event.Event, error) {
	s.from = append(s.from, after)
	return s.Store.ReadLog(ctx, after, n)
}

// A pass whose batch is not yet due keeps what it found: the next pass
// reads the log on from there, not again from the cursor, and writes what
// both found, in log order. When the trail has changed in between, the
// next pass reads from the cursor again, by the trail as it is.
func TestPlanResumesScan(t *testing.T) {
	ctx := context.Background()
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("trail changed %v", changed), func(t *testing.T) {
			dir := t.TempDir()
			st := &readsFrom{Store: sqlitetest.Open(t)}
			appendNamed(t, st, acctA, "us-east-1", "E1", "E2")
			tr := loggingTrail()
			t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
			now := t0
			e := newEngine(st, trailList{tr}, deliveryConfig(t, dir), "node-1", func() time.Time { return now })
			if err := e.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(objects(t, dir)); n != 0 {
				t.Fatalf("%d files before the batch was due", n)
			}
			appendNamed(t, st, acctA, "us-east-1", "E3")
			appendNamed(t, st, acctA, "eu-west-1", "W1")
			want := map[string][]string{"us-east-1": {"E1", "E2", "E3"}, "eu-west-1": {"W1"}}
			if changed {
				field := "eventName"
				tr.AdvancedEventSelectors = []trail.AdvancedEventSelector{{FieldSelectors: []trail.AdvancedFieldSelector{
					{Field: &field, NotEquals: []string{"E2"}}}}}
				want["us-east-1"] = []string{"E1", "E3"}
			}
			st.from = nil
			now = t0.Add(time.Second - dueEarly)
			if err := e.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			wantFrom := int64(2) // past E1 and E2
			if changed {
				wantFrom = 0
			}
			if len(st.from) == 0 || st.from[0] != wantFrom {
				t.Errorf("the second pass read the log from %v, want first from %d", st.from, wantFrom)
			}
			got := objects(t, dir)
			if len(got) != len(want) {
				t.Fatalf("files %v, want one per region", slices.Collect(maps.Keys(got)))
			}
			for key, body := range got {
				region := strings.Split(key, "/")[3]
				if names := eventNames(t, body); !slices.Equal(names, want[region]) {
					t.Errorf("%s holds %v, want %v", key, names, want[region])
				}
			}
		})
	}
}

// stopsAfterListing lists the trail as it is and then, before the engine
// reads the log, stops it (as StopLogging does: StopSeq is the log's end)
// and stores one more event: a StopLogging that lands between the listing
// and the read.
type stopsAfterListing struct {
	t   *testing.T
	st  store.Store
	cur *trail.Trail
	arm bool
}

func (s *stopsAfterListing) All(ctx context.Context) ([]*trail.Trail, error) {
	listed := *s.cur
	if s.arm {
		s.arm = false
		stats, err := s.st.Stats(ctx)
		if err != nil {
			return nil, err
		}
		stopped := *s.cur
		stopped.IsLogging, stopped.StopSeq = false, stats.LastSeq
		stopped.Version++
		s.cur = &stopped
		appendNamed(s.t, s.st, acctA, "us-east-1", "AfterStop")
	}
	return []*trail.Trail{&listed}, nil
}

// What a pass writes is decided by a listing of the trails made after the
// events were stored: an event recorded after a StopLogging that came
// between the pass's listing and its read of the log is not written, even
// though the trail the pass listed was still logging.
func TestStopBetweenListingAndRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := sqlitetest.Open(t)
	appendNamed(t, st, acctA, "us-east-1", "BeforeStop")
	trails := &stopsAfterListing{t: t, st: st, cur: loggingTrail()}
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := t0
	e := newEngine(st, trails, deliveryConfig(t, dir), "node-1", func() time.Time { return now })
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Second)
	trails.arm = true
	for range 3 {
		if err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	var names []string
	for _, body := range objects(t, dir) {
		names = append(names, eventNames(t, body)...)
	}
	if !slices.Equal(names, []string{"BeforeStop"}) {
		t.Fatalf("delivered %v, want only the event stored before the stop", names)
	}
}
