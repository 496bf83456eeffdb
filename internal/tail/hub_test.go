package tail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// countingLog counts the store reads.
type countingLog struct {
	Log
	reads atomic.Int64
}

func (c *countingLog) ReadLog(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	c.reads.Add(1)
	return c.Log.ReadLog(ctx, after, limit)
}

func all(*Entry) (bool, error) { return true, nil }

func appendNames(t *testing.T, st store.Store, names ...string) {
	t.Helper()
	var evs []*event.Event
	for _, n := range names {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", n, time.Now(), nil))
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func nameOf(t *testing.T, ev *Entry) string {
	var r struct{ EventName string }
	if err := json.Unmarshal(ev.Record, &r); err != nil || r.EventName == "" {
		t.Fatalf("event %d has no name: %v", ev.Seq, err)
	}
	return r.EventName
}

// subscribe subscribes key to every event until the test ends.
func subscribe(t *testing.T, h *Hub, key string) *Subscription {
	t.Helper()
	s, err := h.Subscribe(context.Background(), key, all)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func runHub(t *testing.T, h *Hub) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestSubscribeSeesOnlyNewEvents(t *testing.T) {
	st := sqlitetest.Open(t)
	appendNames(t, st, "Old1", "Old2")
	h := New(st, Options{PollInterval: 5 * time.Millisecond})
	runHub(t, h)
	s := subscribe(t, h, "k")
	appendNames(t, st, "New1", "New2")
	got := names(t, s, 2)
	if fmt.Sprint(got) != "[New1 New2]" {
		t.Fatalf("got %v, want [New1 New2]", got)
	}
}

func names(t *testing.T, s *Subscription, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []string
	for len(got) < n {
		evs, err := s.Next(ctx, 10*time.Millisecond)
		if err != nil {
			t.Fatalf("Next after %d events: %v", len(got), err)
		}
		for _, ev := range evs {
			got = append(got, nameOf(t, ev))
		}
	}
	return got
}

func TestFilter(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{PollInterval: 5 * time.Millisecond})
	runHub(t, h)
	s, err := h.Subscribe(context.Background(), "k", func(ev *Entry) (bool, error) {
		n := nameOf(t, ev)
		if n == "Bad" {
			return false, errors.New("unreadable")
		}
		return n[0] == 'D', nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendNames(t, st, "Get", "Delete1", "Bad", "Put", "Delete2")
	if got := names(t, s, 2); fmt.Sprint(got) != "[Delete1 Delete2]" {
		t.Fatalf("got %v", got)
	}
}

// A subscriber that does not read while many events pass falls behind the
// hub's window; it then reads on from the store and loses nothing, and the
// window stays within its bounds.
func TestSlowSubscriberCatchesUpFromStore(t *testing.T) {
	st := sqlitetest.Open(t)
	log := &countingLog{Log: st}
	h := New(log, Options{PollInterval: time.Hour, WindowEvents: 4})
	s := subscribe(t, h, "k")
	var want []string
	ctx := context.Background()
	for i := range 10 {
		batch := []string{fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i), fmt.Sprintf("C%d", i)}
		want = append(want, batch...)
		appendNames(t, st, batch...)
		if _, err := h.poll(ctx); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		n := len(h.window)
		h.mu.Unlock()
		if n > 4 {
			t.Fatalf("window holds %d events, bound 4", n)
		}
	}
	before := log.reads.Load()
	if got := names(t, s, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if log.reads.Load() == before {
		t.Fatal("the slow subscriber did not read from the store")
	}
}

// Subscribers inside the window share the hub's reads: no store read per
// subscriber.
func TestOneReaderForAllSubscribers(t *testing.T) {
	st := sqlitetest.Open(t)
	log := &countingLog{Log: st}
	h := New(log, Options{PollInterval: time.Hour})
	var subs []*Subscription
	for i := range 20 {
		subs = append(subs, subscribe(t, h, fmt.Sprint(i)))
	}
	appendNames(t, st, "E1", "E2")
	if _, err := h.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			if got := names(t, s, 2); fmt.Sprint(got) != "[E1 E2]" {
				t.Errorf("got %v", got)
			}
		})
	}
	wg.Wait()
	if n := log.reads.Load(); n != 1 {
		t.Fatalf("%d store reads for 20 subscribers, want the hub's 1", n)
	}
}

func TestLimits(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{MaxStreams: 3, MaxStreamsPerKey: 2})
	ctx := context.Background()
	a1, err := h.Subscribe(ctx, "a", all)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(ctx, "a", all); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(ctx, "a", all); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third stream of a key: %v, want ErrTooMany", err)
	}
	if _, err := h.Subscribe(ctx, "b", all); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(ctx, "c", all); !errors.Is(err, ErrTooMany) {
		t.Fatalf("fourth stream: %v, want ErrTooMany", err)
	}
	a1.Close()
	a1.Close() // twice gives back one place
	if _, err := h.Subscribe(ctx, "c", all); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	if h.Streams() != 3 {
		t.Fatalf("%d streams, want 3", h.Streams())
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{})
	s := subscribe(t, h, "k")
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background(), time.Hour)
		done <- err
	}()
	h.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if _, err := h.Subscribe(context.Background(), "k", all); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

// Next returns nothing when its wait passes (time for a heartbeat).
func TestNextTimesOut(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{})
	s := subscribe(t, h, "k")
	evs, err := s.Next(context.Background(), time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Fatalf("Next: %v, %v", evs, err)
	}
}

// Subscribers reading while the hub's small window moves on under them
// each get every event, in order (some from the window, some from the
// store).
func TestSubscribersWhileWindowMoves(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{PollInterval: time.Millisecond, WindowEvents: 4})
	runHub(t, h)
	var subs []*Subscription
	for i := range 6 {
		subs = append(subs, subscribe(t, h, fmt.Sprint(i)))
	}
	var want []string
	for i := range 40 {
		want = append(want, fmt.Sprintf("E%02d", i))
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			if got := names(t, s, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v", got)
			}
		})
	}
	for i := 0; i < len(want); i += 2 {
		appendNames(t, st, want[i], want[i+1])
	}
	wg.Wait()
}

// A subscriber behind the window reads at most behindChunk events from the
// store at once: what a slow reader holds is bounded by records, not by how
// far behind it is.
func TestBehindReadsAreBounded(t *testing.T) {
	st := sqlitetest.Open(t)
	h := New(st, Options{PollInterval: time.Hour, WindowEvents: 4})
	s := subscribe(t, h, "k")
	ctx := context.Background()
	var names []string
	for i := range 5 * behindChunk {
		names = append(names, fmt.Sprintf("E%d", i))
	}
	appendNames(t, st, names...)
	for {
		more, err := h.poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	got := 0
	for got < len(names) {
		evs, _, err := s.step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > behindChunk {
			t.Fatalf("one step took %d events, bound %d", len(evs), behindChunk)
		}
		if len(evs) == 0 {
			t.Fatalf("no progress after %d of %d events", got, len(names))
		}
		got += len(evs)
	}
}

// Appends woken in quick succession are read together: the hub reads the
// log at most once a Gather, not once a Wake.
func TestWakesGathered(t *testing.T) {
	st := sqlitetest.Open(t)
	log := &countingLog{Log: st}
	h := New(log, Options{PollInterval: time.Hour, Gather: 200 * time.Millisecond})
	s := subscribe(t, h, "k")
	runHub(t, h)
	before := log.reads.Load()
	var want []string
	for i := range 20 {
		name := fmt.Sprintf("E%d", i)
		want = append(want, name)
		appendNames(t, st, name)
		h.Wake()
	}
	if got := names(t, s, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if n := log.reads.Load() - before; n > 10 {
		t.Fatalf("%d log reads for 20 wakes: wakes are not gathered", n)
	}
}
