package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

// countingStore counts the state documents read (GetState) and written
// (PutState).
type countingStore struct {
	store.Store
	gets, puts atomic.Int64
}

func (c *countingStore) GetState(ctx context.Context, key string) (store.StateDoc, error) {
	c.gets.Add(1)
	return c.Store.GetState(ctx, key)
}

func (c *countingStore) PutState(ctx context.Context, key string, doc []byte, expect int64) (int64, error) {
	c.puts.Add(1)
	return c.Store.PutState(ctx, key, doc, expect)
}

// countingSink counts its Sends and records what it got.
type countingSink struct {
	fakeSink
	sends atomic.Int64
}

func (s *countingSink) Send(ctx context.Context, evs []*event.Event) error {
	s.sends.Add(1)
	return s.fakeSink.Send(ctx, evs)
}

// A worker that holds its destination's lease keeps the state document
// between passes: it reads it from the store once, not at every pass,
// and still saves every cursor.
func TestWorkerKeepsItsStateDocument(t *testing.T) {
	st := &countingStore{Store: sqlitetest.Open(t)}
	sink := &countingSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	e := New(st, []Source{fixed(d)}, Options{Gather: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	var want []string
	for i := range 20 {
		want = append(want, appendN(t, st, "ev", 3)...)
		e.Wake()
		waitFor(t, "the batch to be sent", func() bool { return len(sink.ids()) == 3*(i+1) })
	}
	gets, puts := st.gets.Load(), st.puts.Load()
	cancel()
	<-done
	if got := sink.ids(); !slices.Equal(got, want) {
		t.Fatalf("sent %d events, want each of %d once, in order", len(got), len(want))
	}
	if sink.sends.Load() < 20 || puts < 20 {
		t.Fatalf("%d sends, %d saves: want one a batch", sink.sends.Load(), puts)
	}
	if gets > 2 {
		t.Fatalf("the state document was read %d times for %d passes; want once", gets, sink.sends.Load())
	}
	// What was saved is what a restart resumes from.
	s, err := e.Status(context.Background(), d.ID)
	if err != nil || s.Sent != int64(len(want)) || s.Cursor != 60 {
		t.Fatalf("status %+v, %v; want 60 sent, cursor 60", s, err)
	}
}

// A document changed behind a worker's back (a writer that ignored its
// lease; retire removing it) makes the worker's next save fail: it reads
// the document again and goes on from the stored cursor. The batch it sent
// before the failed save is the bounded duplicate of a lost lease.
func TestWorkerRereadsAChangedDocument(t *testing.T) {
	st := sqlitetest.Open(t)
	sink := &fakeSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	e := New(st, []Source{fixed(d)}, Options{})
	h := &held{}
	ctx := context.Background()
	a := appendN(t, st, "a", 3)
	if _, err := e.step(ctx, d, h); err != nil {
		t.Fatal(err)
	}
	if h.st == nil {
		t.Fatal("no document held after a pass")
	}
	// The other writer moves the cursor past "b" and bumps the version.
	b := appendN(t, st, "b", 2)
	doc, err := st.GetState(ctx, stateKey(d.ID))
	if err != nil {
		t.Fatal(err)
	}
	other := *h.st
	other.Cursor = 5
	if _, err := e.save(ctx, d.ID, &other, doc.Version); err != nil {
		t.Fatal(err)
	}
	c := appendN(t, st, "c", 2)
	if _, err := e.step(ctx, d, h); err != errNotMine {
		t.Fatalf("step with a stale document: %v, want errNotMine", err)
	}
	if h.st != nil {
		t.Fatal("a stale document is still held")
	}
	for range 2 {
		if _, err := e.step(ctx, d, h); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Concat(a, b, c, c)
	if got := sink.ids(); !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	if s, err := e.Status(ctx, d.ID); err != nil || s.Cursor != 7 {
		t.Fatalf("status %+v, %v; want cursor 7", s, err)
	}
}

// Wakes that come while a destination waits for its next pass are
// gathered: many appends, each with a Wake, make few Sends.
func TestWakesGathered(t *testing.T) {
	st := sqlitetest.Open(t)
	sink := &countingSink{}
	d := Destination{ID: "test/a", Kind: "test", Start: 0, Sink: sink}
	// Nothing but the shutdown's drain ends the wait after a pass.
	e := New(st, []Source{fixed(d)}, Options{Gather: time.Hour, Poll: time.Hour})
	want := appendN(t, st, "first", 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	waitFor(t, "the first batch", func() bool { return len(sink.ids()) == 2 })
	for range 30 {
		want = append(want, appendN(t, st, "ev", 2)...)
		e.Wake()
	}
	cancel()
	wg.Wait()
	if got := sink.ids(); !slices.Equal(got, want) {
		t.Fatalf("sent %d events, want each of %d once, in order", len(got), len(want))
	}
	if n := sink.sends.Load(); n > 2 {
		t.Fatalf("%d Sends for 31 appends and wakes within the gather time; want 2", n)
	}
}

// readCountingStore counts ReadLog calls.
type readCountingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *readCountingStore) ReadLog(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	c.reads.Add(1)
	return c.Store.ReadLog(ctx, after, limit)
}

// Destinations woken together at the same cursor share one read of the
// log, and each still gets every event once, in order.
func TestWorkersShareLogReads(t *testing.T) {
	st := &readCountingStore{Store: sqlitetest.Open(t)}
	sinks := []*fakeSink{{}, {}, {}}
	var ds []Destination
	for i, s := range sinks {
		ds = append(ds, Destination{ID: fmt.Sprintf("test/%d", i), Kind: "test", Start: 0, Sink: s})
	}
	e := New(st, []Source{fixed(ds...)}, Options{Poll: time.Hour, Gather: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	const rounds = 10
	var want []string
	for range rounds {
		want = append(want, appendN(t, st, "ev", 3)...)
		e.Wake()
		waitFor(t, "every destination to get the batch", func() bool {
			for _, s := range sinks {
				if len(s.ids()) != len(want) {
					return false
				}
			}
			return true
		})
	}
	cancel()
	wg.Wait()
	for i, s := range sinks {
		if got := s.ids(); !slices.Equal(got, want) {
			t.Fatalf("destination %d got %d events, want each of %d once, in order", i, len(got), len(want))
		}
	}
	if n := st.reads.Load(); n > rounds+5 {
		t.Fatalf("%d log reads for %d wakes of 3 destinations; want about one a wake", n, rounds)
	}
}
