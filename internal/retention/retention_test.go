package retention

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// purgeCall is one Purge the fake log received.
type purgeCall struct {
	before time.Time
	readTo int64
	at     time.Time // the (bubble's) time of the call
}

// fakeLog records the purges asked of it.
type fakeLog struct {
	mu    sync.Mutex
	calls []purgeCall
	err   error
}

func (f *fakeLog) Purge(_ context.Context, before time.Time, readTo int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, purgeCall{before: before, readTo: readTo, at: time.Now()})
	return 7, f.err
}

func (f *fakeLog) purges() []purgeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]purgeCall(nil), f.calls...)
}

// syncBuffer is a log destination safe for the goroutine Run logs from.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs Run in the bubble with o (its Logger writing to the returned
// buffer) and returns a cancel that stops it and a channel closed when Run
// has returned.
func start(t *testing.T, o Options) (cancel func(), done <-chan struct{}, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	d := make(chan struct{})
	go func() { Run(ctx, o); close(d) }()
	t.Cleanup(func() { cancel(); <-d })
	return cancel, d, logs
}

// TestRunPurgesAtInterval: Run purges at once, then once per interval, each
// time cutting at the time of the purge minus the event history window and
// keeping what the consumers have yet to read.
func TestRunPurgesAtInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		readTo := int64(40)
		var readMu sync.Mutex
		o := Options{Events: log, Days: 90, Interval: time.Hour, ReadTo: func(context.Context) (int64, error) {
			readMu.Lock()
			defer readMu.Unlock()
			return readTo, nil
		}}
		begin := time.Now()
		start(t, o)
		synctest.Wait()
		if n := len(log.purges()); n != 1 {
			t.Fatalf("purges at start: %d, want 1", n)
		}
		time.Sleep(time.Hour - time.Nanosecond)
		synctest.Wait()
		if n := len(log.purges()); n != 1 {
			t.Fatalf("purges before an interval passed: %d, want 1", n)
		}
		readMu.Lock()
		readTo = 75
		readMu.Unlock()
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		time.Sleep(time.Hour)
		synctest.Wait()
		got := log.purges()
		if len(got) != 3 {
			t.Fatalf("purges after two intervals: %d, want 3", len(got))
		}
		window := 90 * 24 * time.Hour
		for i, c := range got {
			wantAt := begin.Add(time.Duration(i) * time.Hour)
			if !c.at.Equal(wantAt) {
				t.Errorf("purge %d at %v, want %v", i, c.at, wantAt)
			}
			if want := wantAt.Add(-window); !c.before.Equal(want) {
				t.Errorf("purge %d cut at %v, want now - 90 days = %v", i, c.before, want)
			}
		}
		if got[0].readTo != 40 || got[1].readTo != 75 || got[2].readTo != 75 {
			t.Errorf("readTo passed to Purge: %d, %d, %d; want 40, 75, 75", got[0].readTo, got[1].readTo, got[2].readTo)
		}
	})
}

// TestRunDefaultInterval: without an interval, Run purges hourly.
func TestRunDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		start(t, Options{Events: log, Days: 1, ReadTo: func(context.Context) (int64, error) { return 1, nil }})
		synctest.Wait()
		time.Sleep(DefaultInterval - time.Nanosecond)
		synctest.Wait()
		if n := len(log.purges()); n != 1 {
			t.Fatalf("purges within the first hour: %d, want 1", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := len(log.purges()); n != 2 {
			t.Fatalf("purges after an hour: %d, want 2", n)
		}
	})
}

// TestRunReadToFailure: when what the consumers have read cannot be known,
// nothing is purged (an undelivered event must not go), the failure is
// logged, and the next interval tries again.
func TestRunReadToFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		fail := true
		var mu sync.Mutex
		readTo := func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return 0, errors.New("state unreadable")
			}
			return 12, nil
		}
		_, _, logs := start(t, Options{Events: log, Days: 7, Interval: time.Minute, ReadTo: readTo})
		synctest.Wait()
		if n := len(log.purges()); n != 0 {
			t.Fatalf("purged %d times though readTo failed", n)
		}
		if out := logs.String(); !strings.Contains(out, "retention: purge failed") || !strings.Contains(out, "state unreadable") {
			t.Fatalf("failure not logged with its cause: %q", out)
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := log.purges(); len(got) != 1 || got[0].readTo != 12 {
			t.Fatalf("purges after readTo recovered: %+v, want one to 12", got)
		}
	})
}

// TestRunPurgeFailureLogged: a failed purge is logged and does not stop Run.
func TestRunPurgeFailureLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{err: errors.New("disk full")}
		_, _, logs := start(t, Options{Events: log, Days: 7, Interval: time.Minute, ReadTo: func(context.Context) (int64, error) { return 3, nil }})
		synctest.Wait()
		if out := logs.String(); !strings.Contains(out, "retention: purge failed") || !strings.Contains(out, "disk full") {
			t.Fatalf("purge failure not logged: %q", out)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(log.purges()); n != 2 {
			t.Fatalf("purges after a failure and an interval: %d, want 2", n)
		}
	})
}

// TestRunStopsOnCancel: Run returns once its context ends, purging no more.
func TestRunStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		cancel, done, _ := start(t, Options{Events: log, Days: 7, Interval: time.Minute, ReadTo: func(context.Context) (int64, error) { return 3, nil }})
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run still running after its context ended")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(log.purges()); n != 1 {
			t.Fatalf("purges after cancel: %d, want the 1 before it", n)
		}
	})
}
