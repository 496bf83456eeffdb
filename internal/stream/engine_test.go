package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

const acct = "111111111111"

// appendN stores n events named prefix-0 … prefix-(n-1) and returns their
// IDs in log order.
func appendN(t *testing.T, st store.Store, prefix string, n int) []string {
	t.Helper()
	var evs []*event.Event
	var ids []string
	for i := range n {
		id := uuid.NewString()
		e, err := event.Decode([]byte(fmt.Sprintf(`{"eventTime":"2026-11-26T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"%s-%d","awsRegion":"us-east-1","eventID":%q}`,
			prefix, i, id)), event.Context{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		ids = append(ids, id)
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// fakeSink records what it is sent; fail makes Send fail while it is set.
type fakeSink struct {
	mu   sync.Mutex
	got  []string // event IDs in the order received
	fail error
	// inflight counts Sends running now across every sink sharing it.
	inflight *atomic.Int32
	overlap  *atomic.Bool
}

func (s *fakeSink) Send(ctx context.Context, evs []*event.Event) error {
	if s.inflight != nil {
		if s.inflight.Add(1) > 1 {
			s.overlap.Store(true)
		}
		defer s.inflight.Add(-1)
		time.Sleep(time.Millisecond) // widen the window a second sender would hit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, ev := range evs {
		s.got = append(s.got, ev.ID)
	}
	return nil
}

func (s *fakeSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *fakeSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixed is a Source of the given destinations.
func fixed(ds ...Destination) Source {
	return SourceFunc(func(context.Context) ([]Destination, error) { return ds, nil })
}

func TestRestartResumes(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	before := appendN(t, st, "before", 3) // before the destination: not sent (Start -1)
	_ = before
	sink := &fakeSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: -1, Sink: sink}
	e1 := New(st, []Source{fixed(d)}, Options{Node: "n1"})
	if err := e1.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := appendN(t, st, "first", 5)
	if err := e1.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); !slices.Equal(got, first) {
		t.Fatalf("first run sent %v, want %v", got, first)
	}
	// A restart (a new engine, the same node) sends only what came since.
	second := appendN(t, st, "second", 4)
	sink2 := &fakeSink{}
	d.Sink = sink2
	e2 := New(st, []Source{fixed(d)}, Options{Node: "n1"})
	if err := e2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink2.ids(); !slices.Equal(got, second) {
		t.Fatalf("after restart sent %v, want %v", got, second)
	}
	s, err := e2.Status(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent != 9 || s.LastDelivery.IsZero() || s.LastError != "" || s.Kind != "test" {
		t.Fatalf("status %+v", s)
	}
}

func TestFailureRetriesThenCatchesUp(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	clk := &clock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	sink := &fakeSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	e := New(st, []Source{fixed(d)}, Options{Node: "n1", Now: clk.Now, ReadChunk: 4, MaxBackoff: 8 * time.Second})
	sink.setFail(errors.New("destination down"))
	want := appendN(t, st, "ev", 10)
	if err := e.RunOnce(ctx); err == nil || !strings.Contains(err.Error(), "destination down") {
		t.Fatalf("RunOnce = %v, want the sink's error", err)
	}
	s, _ := e.Status(ctx, d.ID)
	if s.LastError != "destination down" || s.Failures != 1 || !s.RetryAt.Equal(clk.Now().Add(time.Second)) || s.Cursor != 0 {
		t.Fatalf("status after a failure: %+v", s)
	}
	// Within the backoff nothing is tried.
	if err := e.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce within the backoff = %v", err)
	}
	// Each failure doubles the wait, up to MaxBackoff.
	for i, wait := range []time.Duration{2, 4, 8, 8} {
		clk.Add(time.Hour)
		e.RunOnce(ctx)
		s, _ = e.Status(ctx, d.ID)
		if s.Failures != i+2 || !s.RetryAt.Equal(clk.Now().Add(wait*time.Second)) {
			t.Fatalf("after failure %d: %+v, want a wait of %ds", i+2, s, wait)
		}
	}
	// The retention position stays at the start while the sink is down.
	if to, err := e.ReadTo(ctx); err != nil || to != 0 {
		t.Fatalf("ReadTo while down = %d, %v; want 0", to, err)
	}
	sink.setFail(nil)
	clk.Add(time.Hour)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); !slices.Equal(got, want) {
		t.Fatalf("caught up with %v, want %v", got, want)
	}
	s, _ = e.Status(ctx, d.ID)
	if s.LastError != "" || s.Failures != 0 || s.Cursor != 10 || !s.LastDelivery.Equal(clk.Now()) {
		t.Fatalf("status after catching up: %+v", s)
	}
	if to, _ := e.ReadTo(ctx); to != 10 {
		t.Fatalf("ReadTo after catching up = %d, want 10", to)
	}
}

func TestSelectEpochAndBound(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	ids := appendN(t, st, "ev", 10) // seqs 1..10
	sink := &fakeSink{}
	even := func(ev *event.Event) bool { return ev.Seq%2 == 0 }
	d := Destination{ID: "test/a", Kind: "test", Epoch: 1, Start: 2, Bound: 7, Select: even, Sink: sink}
	src := &d
	e := New(st, []Source{SourceFunc(func(context.Context) ([]Destination, error) { return []Destination{*src}, nil })},
		Options{Node: "n1", ReadChunk: 3})
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Seqs 3..7, even ones: 4 and 6.
	if got, want := sink.ids(), []string{ids[3], ids[5]}; !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	// The bound is reached: retention is not held.
	if to, _ := e.ReadTo(ctx); to != 10 {
		t.Fatalf("ReadTo of a finished destination = %d, want 10", to)
	}
	// A new epoch starts again from its Start.
	d.Epoch, d.Start, d.Bound = 2, 8, 0
	if to, _ := e.ReadTo(ctx); to != 8 {
		t.Fatalf("ReadTo of a new epoch = %d, want 8", to)
	}
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := sink.ids(), []string{ids[3], ids[5], ids[9]}; !slices.Equal(got, want) {
		t.Fatalf("after the new epoch sent %v, want %v", got, want)
	}
	// Bound < 0 takes nothing.
	d.Epoch, d.Start, d.Bound = 3, 10, -1
	appendN(t, st, "more", 2)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); len(got) != 3 {
		t.Fatalf("a destination with a negative bound was sent %v", got[3:])
	}
	// … and its cursor follows the log's end: taking events again in the
	// same epoch, it takes only new ones.
	if s, _ := e.Status(ctx, d.ID); s.Cursor != 12 {
		t.Fatalf("cursor of a destination that takes nothing = %d, want the log's end 12", s.Cursor)
	}
	d.Bound, d.Select = 0, nil
	last := appendN(t, st, "last", 1)
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); !slices.Equal(got[3:], last) {
		t.Fatalf("taking events again, sent %v, want %v", got[3:], last)
	}
}

func TestGoneDestinationForgotten(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	appendN(t, st, "ev", 3)
	a := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: &fakeSink{fail: errors.New("down")}}
	b := Destination{ID: "test/b", Kind: "test", Start: 0, Sink: &fakeSink{}}
	list := []Destination{a, b}
	e := New(st, []Source{SourceFunc(func(context.Context) ([]Destination, error) { return list, nil })}, Options{})
	e.RunOnce(ctx)
	if to, _ := e.ReadTo(ctx); to != 0 {
		t.Fatalf("ReadTo with a failing destination = %d, want 0", to)
	}
	list = []Destination{b}
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetState(ctx, "stream/test/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state of a gone destination: %v, want it removed", err)
	}
	if to, _ := e.ReadTo(ctx); to != 3 {
		t.Fatalf("ReadTo once the failing destination is gone = %d, want 3", to)
	}
	// No destination at all: retention is held by nothing (the log's end).
	list = nil
	e.RunOnce(ctx)
	if to, _ := e.ReadTo(ctx); to != 3 {
		t.Fatalf("ReadTo with no destination = %d, want 3", to)
	}
}

// droppingSink drops every event whose name starts with "x-big".
type droppingSink struct{ fakeSink }

func (s *droppingSink) Send(ctx context.Context, evs []*event.Event) error {
	var keep []*event.Event
	for _, ev := range evs {
		if !strings.Contains(string(ev.Record), `x-big`) {
			keep = append(keep, ev)
		}
	}
	s.fakeSink.Send(ctx, keep)
	if n := len(evs) - len(keep); n > 0 {
		return &DroppedError{Count: n, Reason: "too large"}
	}
	return nil
}

func TestDroppedEventsShowInStatus(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	appendN(t, st, "small", 2)
	appendN(t, st, "x-big", 1)
	sink := &droppingSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	m := &countMetrics{}
	e := New(st, []Source{fixed(d)}, Options{Metrics: m})
	if err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := e.Status(ctx, d.ID)
	if s.Cursor != 3 || s.Sent != 2 || s.Dropped != 1 || !strings.Contains(s.LastError, "too large") || s.Failures != 0 {
		t.Fatalf("status %+v", s)
	}
	if m.sent.Load() != 2 || m.dropped.Load() != 1 || m.failed.Load() != 0 {
		t.Fatalf("metrics sent %d dropped %d failed %d", m.sent.Load(), m.dropped.Load(), m.failed.Load())
	}
}

type countMetrics struct{ sent, failed, dropped atomic.Int64 }

func (m *countMetrics) StreamSent(kind string, n int)    { m.sent.Add(int64(n)) }
func (m *countMetrics) StreamFailed(kind string)         { m.failed.Add(1) }
func (m *countMetrics) StreamDropped(kind string, n int) { m.dropped.Add(int64(n)) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTwoEnginesNeverBothSend(t *testing.T) {
	st := sqlitetest.Open(t)
	var inflight atomic.Int32
	var overlap atomic.Bool
	s1 := &fakeSink{inflight: &inflight, overlap: &overlap}
	s2 := &fakeSink{inflight: &inflight, overlap: &overlap}
	d1 := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: s1}
	d2 := d1
	d2.Sink = s2
	e1 := New(st, []Source{fixed(d1)}, Options{Node: "n1", ReadChunk: 7})
	e2 := New(st, []Source{fixed(d2)}, Options{Node: "n2", ReadChunk: 7})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, e := range []*Engine{e1, e2} {
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx) }()
	}
	var want []string
	for range 20 {
		want = append(want, appendN(t, st, "ev", 5)...)
		e1.Wake()
		e2.Wake()
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "every event sent", func() bool { return len(s1.ids())+len(s2.ids()) >= len(want) })
	cancel()
	wg.Wait()
	if overlap.Load() {
		t.Fatal("two engines sent to one destination at the same time")
	}
	got := append(s1.ids(), s2.ids()...)
	if !slices.Equal(got, want) && !slices.Equal(append(s2.ids(), s1.ids()...), want) {
		t.Fatalf("sent %d events (%d by n1, %d by n2), want each of %d once, in order", len(got), len(s1.ids()), len(s2.ids()), len(want))
	}
}

func TestRunWakeAndDrain(t *testing.T) {
	st := sqlitetest.Open(t)
	sink := &fakeSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	e := New(st, []Source{fixed(d)}, Options{Node: "n1", Poll: time.Hour}) // only Wake moves it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	want := appendN(t, st, "ev", 3)
	e.Wake()
	waitFor(t, "the woken engine to send", func() bool { return len(sink.ids()) == 3 })
	// At shutdown what is waiting is sent, and the lease is given up.
	want = append(want, appendN(t, st, "late", 2)...)
	cancel()
	<-done
	if got := sink.ids(); !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	st2, _, err := e.load(context.Background(), d.ID)
	if err != nil || st2.Lease != nil {
		t.Fatalf("lease after shutdown: %+v, %v", st2.Lease, err)
	}
}

// A pass decides what a destination takes by a listing made after it read
// the events: a worker holding an older listing (the trail still logging)
// does not send events stored after the change (StopLogging).
func TestPassUsesAListingAfterTheRead(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	sink := &fakeSink{}
	d := Destination{ID: "test/a", Kind: "test", Epoch: 1, Start: 0, Sink: sink}
	current := d
	e := New(st, []Source{SourceFunc(func(context.Context) ([]Destination, error) { return []Destination{current}, nil })}, Options{})
	before := appendN(t, st, "before", 3)
	current.Bound = 3 // stopped after seq 3
	appendN(t, st, "after", 2)
	stale := d // what a worker listed before the stop
	for {
		more, err := e.pass(ctx, stale)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	if got := sink.ids(); !slices.Equal(got, before) {
		t.Fatalf("sent %d events, want the %d stored before the stop", len(got), len(before))
	}
}
