package insights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/trail"
)

type fakeTrails []*trail.Trail

func (f fakeTrails) All(context.Context) ([]*trail.Trail, error) { return f, nil }

func insightTrail(types ...string) *trail.Trail {
	t := &trail.Trail{Account: testKey.Account, HomeRegion: testKey.Region, Name: "t", ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/t", IsLogging: true}
	for _, ty := range types {
		t.InsightSelectors = append(t.InsightSelectors, trail.InsightSelector{InsightType: &ty, EventCategories: []string{"Management"}})
	}
	return t
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// flakyStore fails the next checkpoint write when failCheckpoint is set,
// as a crash between the append and the checkpoint would leave things.
// With frozen set, checkpoint writes seem to succeed and are not made: the
// store keeps an old checkpoint, as after a crash.
type flakyStore struct {
	*sqlite.Store
	failCheckpoint bool
	frozen         bool
}

func (f *flakyStore) PutState(ctx context.Context, key string, doc []byte, v int64) (int64, error) {
	if key == checkpointKey && f.failCheckpoint {
		f.failCheckpoint = false
		return 0, errors.New("injected checkpoint failure")
	}
	if key == checkpointKey && f.frozen {
		return v + 1, nil
	}
	return f.Store.PutState(ctx, key, doc, v)
}

func openStore(t *testing.T) *flakyStore {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &flakyStore{Store: st}
}

var seq int

// appendEvents stores n write calls of testKey's API at eventTime at.
func appendEvents(t *testing.T, st store.Appender, at time.Time, n int, who Attrs, extra string) {
	t.Helper()
	var evs []*event.Event
	for range n {
		seq++
		rec := fmt.Sprintf(`{"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":%q,"eventID":"ev-%d","readOnly":false,`+
			`"userAgent":%q,"userIdentity":{"type":"IAMUser","arn":%q}%s}`,
			at.UTC().Format(event.TimeFormat), testKey.EventSource, testKey.EventName, testKey.Region, seq,
			who.UserAgent, who.UserIdentityARN, extra)
		ev, ferr := event.Decode([]byte(rec), event.Context{Account: testKey.Account, Now: at})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs = append(evs, ev)
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// storeHistory stores days of alice's usual traffic before t0: n calls
// every 10 minutes.
func storeHistory(t *testing.T, st store.Appender, days int64, n int) {
	t.Helper()
	for m := t0Minute - days*1440; m < t0Minute; m += 10 {
		appendEvents(t, st, time.Unix(m*60, 0), n, alice, "")
	}
}

// insightRecords returns the Insights records in the store.
func insightRecords(t *testing.T, st store.LogReader) []Transition {
	t.Helper()
	evs, err := st.ReadLog(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []Transition
	for _, ev := range evs {
		if ev.Category == event.CategoryInsight {
			tr, ok := ParseRecord(ev.Record)
			if !ok {
				t.Fatalf("unreadable Insights record %s", ev.Record)
			}
			out = append(out, tr)
		}
	}
	return out
}

func newEngine(st Store, c *clock, trails Trails) *Engine {
	return NewEngine(st, trails, Options{Window: 168 * time.Hour, Settle: 30 * time.Second, Regions: []string{"us-east-1"}},
		WithClock(c.now), WithNode("n1"))
}

// TestEngineStartEndAcrossRestarts: a week of history backfilled, a burst
// now → one Start; the engine restarts (and once loses its checkpoint
// write after appending) → still one Start, then one End.
func TestEngineStartEndAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := t0.Add(30 * time.Second)
	c := &clock{t: now}
	trails := fakeTrails{insightTrail(TypeCallRate)}
	storeHistory(t, st, 7, 2)
	e := newEngine(st, c, trails)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The burst, in the open minute t0.
	appendEvents(t, st, t0.Add(5*time.Second), 60, mallory, "")
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := insightRecords(t, st); len(got) != 0 {
		t.Fatalf("Insight before its minute closed: %+v", got)
	}
	// Minute t0 closes at t0+1m+settle; the checkpoint write after the
	// Start is lost.
	c.set(t0.Add(90 * time.Second))
	st.failCheckpoint = true
	if err := e.RunOnce(ctx); err == nil {
		t.Fatal("injected checkpoint failure not reported")
	}
	got := insightRecords(t, st)
	if len(got) != 1 || got[0].State != "Start" {
		t.Fatalf("want one Start, got %+v", got)
	}
	s := got[0].Statistics
	if s.Insight.Average != 60 || s.InsightDuration != 1 || s.BaselineDuration != 7*1440 || s.Baseline.Average != 0.2 {
		t.Errorf("Start statistics %+v", s)
	}
	// The next pass re-reads from the old checkpoint: no second Start.
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// A restart (a new engine on the same store) during the Insight.
	e2 := newEngine(st, c, trails)
	if err := e2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, t0.Add(65*time.Second), 70, mallory, "")
	if err := e2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Minute t0+1 (70 calls) keeps it; t0+2 (none) ends it.
	for _, at := range []time.Duration{150 * time.Second, 210 * time.Second, 5 * time.Minute} {
		c.set(t0.Add(at))
		if err := e2.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got = insightRecords(t, st)
	if len(got) != 2 || got[0].State != "Start" || got[1].State != "End" || got[0].SharedEventID != got[1].SharedEventID {
		t.Fatalf("want Start then End, got %+v", got)
	}
	end := got[1]
	if !end.Time.Equal(t0.Add(2*time.Minute)) || end.Statistics.InsightDuration != 2 || end.Statistics.Insight.Average != 65 {
		t.Errorf("End %v %+v", end.Time, end.Statistics)
	}
	if who := end.Attributions[0]; who.Insight[0].Value != mallory.UserIdentityARN || who.Baseline[0].Value != alice.UserIdentityARN {
		t.Errorf("End attributions %+v", end.Attributions)
	}
}

// TestEngineOnlyForSelectedTrails: no trail with insight selectors, no
// Insights; an error-rate selector turns error bursts into
// ApiErrorRateInsight only.
func TestEngineOnlyForSelectedTrails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trails fakeTrails
		want   []string
	}{
		{"no selectors", fakeTrails{insightTrail()}, nil},
		{"error rate only", fakeTrails{insightTrail(TypeErrorRate)}, []string{TypeErrorRate}},
		{"both", fakeTrails{insightTrail(TypeCallRate, TypeErrorRate)}, []string{TypeCallRate, TypeErrorRate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			c := &clock{t: t0.Add(30 * time.Second)}
			storeHistory(t, st, 3, 1)
			e := newEngine(st, c, tc.trails)
			appendEvents(t, st, t0.Add(5*time.Second), 60, mallory, `,"errorCode":"AccessDenied"`)
			for _, at := range []time.Duration{40 * time.Second, 100 * time.Second} {
				c.set(t0.Add(at))
				if err := e.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var types []string
			for _, tr := range insightRecords(t, st) {
				types = append(types, tr.Key.InsightType)
				if tr.Key.InsightType == TypeErrorRate {
					if ec := tr.Attributions[2]; ec.Insight[0].Value != "AccessDenied" {
						t.Errorf("errorCode attribution %+v", ec)
					}
				}
			}
			if strings.Join(types, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("Insights %v, want %v", types, tc.want)
			}
		})
	}
}

// TestEngineLease: a second node does nothing while the first holds the lease.
func TestEngineLease(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0}
	a := newEngine(st, c, fakeTrails{})
	b := NewEngine(st, fakeTrails{}, Options{Window: time.Hour}, WithClock(c.now), WithNode("n2"))
	if err := a.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.RunOnce(ctx); err != nil || b.det != nil {
		t.Fatalf("second node worked while the lease was held: %v", err)
	}
	c.set(t0.Add(leaseTTL + time.Second))
	if err := b.RunOnce(ctx); err != nil || b.det == nil {
		t.Fatalf("second node did not take over an expired lease: %v", err)
	}
	var l lease
	doc, _ := st.GetState(ctx, leaseKey)
	json.Unmarshal(doc.Doc, &l)
	if l.Node != "n2" {
		t.Fatalf("lease held by %q", l.Node)
	}
}

// TestEngineReplayKeepsOneStart: after a crash, the engine re-reads the log
// from an older checkpoint; events that came late the first time now fall
// into a minute it judges again, which would start another Insight — the
// Start record in the log keeps it to one.
func TestEngineReplayKeepsOneStart(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0.Add(30 * time.Second)}
	trails := fakeTrails{insightTrail(TypeCallRate)}
	storeHistory(t, st, 7, 2)
	e := newEngine(st, c, trails)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st.frozen = true // the checkpoint stays here: the crash comes later
	appendEvents(t, st, t0.Add(5*time.Second), 5, alice, "")
	c.set(t0.Add(95 * time.Second))
	if err := e.RunOnce(ctx); err != nil { // minute t0 (5 calls) closes: usual
		t.Fatal(err)
	}
	appendEvents(t, st, t0.Add(10*time.Second), 40, mallory, "") // late for t0: baseline only
	appendEvents(t, st, t0.Add(70*time.Second), 80, mallory, "")
	c.set(t0.Add(155 * time.Second))
	if err := e.RunOnce(ctx); err != nil { // minute t0+1 (80 calls) starts one
		t.Fatal(err)
	}
	if got := insightRecords(t, st); len(got) != 1 || !got[0].Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("want one Start at t0+1m, got %+v", got)
	}
	// Crash and restart: the old checkpoint, then the log from there.
	st.frozen = false
	e2 := newEngine(st, c, trails)
	for _, at := range []time.Duration{155 * time.Second, 215 * time.Second} {
		c.set(t0.Add(at))
		if err := e2.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := insightRecords(t, st)
	if len(got) != 2 || got[0].State != "Start" || got[1].State != "End" || got[0].SharedEventID != got[1].SharedEventID {
		t.Fatalf("want one Start and its End, got %+v", got)
	}
}

// switchTrails is a trail list a test changes.
type switchTrails struct{ v fakeTrails }

func (s *switchTrails) All(ctx context.Context) ([]*trail.Trail, error) { return s.v.All(ctx) }

// TestEngineIdleUntilSelected: while no trail has insight selectors the
// engine reads nothing; a burst stored then is history once a selector
// appears (no Insight for a minute long closed), and a burst after it is
// an Insight.
func TestEngineIdleUntilSelected(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: t0.Add(30 * time.Second)}
	storeHistory(t, st, 3, 1)
	trails := &switchTrails{v: fakeTrails{insightTrail()}}
	e := NewEngine(st, trails, Options{Window: 168 * time.Hour, Settle: 30 * time.Second, Regions: []string{"us-east-1"}},
		WithClock(c.now), WithNode("n1"))
	run := func(at time.Duration) {
		t.Helper()
		c.set(t0.Add(at))
		if err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(30 * time.Second)
	appendEvents(t, st, t0.Add(5*time.Second), 60, mallory, "")
	run(2 * time.Minute) // idle: minute t0 closes unread
	if e.cursor != 0 {
		t.Fatalf("an idle engine read the log (cursor %d)", e.cursor)
	}
	trails.v = fakeTrails{insightTrail(TypeCallRate)}
	run(2*time.Minute + 10*time.Second)
	if got := insightRecords(t, st); len(got) != 0 {
		t.Fatalf("a burst stored while idle started an Insight: %+v", got)
	}
	appendEvents(t, st, t0.Add(2*time.Minute+20*time.Second), 200, mallory, "") // above 1.5 × the first (now history)
	run(3*time.Minute + 31*time.Second)
	if got := insightRecords(t, st); len(got) != 1 || got[0].State != "Start" || !got[0].Time.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("want one Start at t0+2m, got %+v", got)
	}
}

// TestFieldsOf: the fields are read exactly as the record has them: a
// nested or look-alike member never stands in for a top-level one, and a
// record without readOnly is a write.
func TestFieldsOf(t *testing.T) {
	for _, tc := range []struct {
		rec  string
		want fields
		ok   bool
	}{
		{`{"eventSource":"s","eventName":"N","readOnly":false,"userAgent":"ua","errorCode":"E","userIdentity":{"type":"IAMUser","arn":"a"}}`,
			fields{EventSource: "s", EventName: "N", ErrorCode: "E", UserAgent: "ua", UserARN: "a", Write: true}, true},
		{`{"eventSource":"s","eventName":"N","readOnly":true}`, fields{EventSource: "s", EventName: "N"}, true},
		{`{"eventSource":"s","eventName":"N"}`, fields{EventSource: "s", EventName: "N", Write: true}, true},
		{`{"eventSource":"s","EventName":"N","requestParameters":{"eventName":"X","errorCode":"Y","readOnly":true}}`,
			fields{EventSource: "s", Write: true}, false},
		{`{"eventSource":"s\u0031","eventName":"N\"q","userIdentity":{"sessionContext":{"arn":"inner"}}}`,
			fields{EventSource: "s1", EventName: `N"q`, Write: true}, true},
		{`not json`, fields{Write: true}, false},
	} {
		got, ok := fieldsOf([]byte(tc.rec))
		if got != tc.want || ok != tc.ok {
			t.Errorf("fieldsOf(%s) = %+v, %v; want %+v, %v", tc.rec, got, ok, tc.want, tc.ok)
		}
	}
}

// TestEngineDataEvents: data events count only for trails whose insight
// selector has EventCategories Data, and their Insights go only to those.
// Also when the burst is read and checkpointed before its minute closes and
// the minute closes in a restarted engine: it is still judged as data
// events.
func TestEngineDataEvents(t *testing.T) {
	data := `,"eventCategory":"Data","managementEvent":false`
	for _, tc := range []struct {
		name       string
		categories []string
		restart    bool
		want       int
	}{
		{"management selector", []string{"Management"}, false, 0},
		{"data selector", []string{"Data"}, false, 1},
		{"management selector, restart before the minute closes", []string{"Management"}, true, 0},
		{"data selector, restart before the minute closes", []string{"Data"}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			c := &clock{t: t0.Add(30 * time.Second)}
			for m := t0Minute - 3*1440; m < t0Minute; m += 10 {
				appendEvents(t, st, time.Unix(m*60, 0), 1, alice, data)
			}
			tr := insightTrail(TypeCallRate)
			tr.InsightSelectors[0].EventCategories = tc.categories
			e := newEngine(st, c, fakeTrails{tr})
			if err := e.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			appendEvents(t, st, t0.Add(5*time.Second), 60, mallory, data)
			if tc.restart {
				c.set(t0.Add(45 * time.Second))
				if err := e.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if err := e.checkpoint(ctx, c.now()); err != nil {
					t.Fatal(err)
				}
				e = newEngine(st, c, fakeTrails{tr})
			}
			c.set(t0.Add(100 * time.Second))
			if err := e.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := insightRecords(t, st); len(got) != tc.want {
				t.Fatalf("%d Insights, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
}
