package retention

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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

// logged is a slog.Handler that keeps each record's level, message and
// "err" attribute, for tests to check what Run logged.
type logged struct {
	mu    sync.Mutex
	lines []string
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logged) WithGroup(string) slog.Handler            { return l }

func (l *logged) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += ": " + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return nil
}

// all returns the lines logged so far.
func (l *logged) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// has reports whether a line was logged.
func (l *logged) has(line string) bool { return slices.Contains(l.all(), line) }

// start runs Run in the bubble with o (logging to the returned handler)
// and returns a cancel that stops it and a channel closed when Run has
// returned.
func start(t *testing.T, o Options) (cancel func(), done <-chan struct{}, logs *logged) {
	t.Helper()
	logs = &logged{}
	o.Logger = slog.New(logs)
	ctx, cancel := context.WithCancel(t.Context())
	d := make(chan struct{})
	go func() { Run(ctx, o); close(d) }()
	t.Cleanup(func() { cancel(); <-d })
	return cancel, d, logs
}

// advance moves the bubble's clock by d and waits for Run to settle.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// wantPurges checks how many purges the log has received.
func wantPurges(t *testing.T, log *fakeLog, want int, when string) {
	t.Helper()
	if n := len(log.purges()); n != want {
		t.Fatalf("purges %s: %d, want %d", when, n, want)
	}
}

// readToConst is a ReadTo that always answers seq.
func readToConst(seq int64) func(context.Context) (int64, error) {
	return func(context.Context) (int64, error) { return seq, nil }
}

// TestRunPurgesAtInterval: Run purges at once, then once per interval, each
// time cutting at the time of the purge minus the event history window and
// keeping what the consumers have yet to read.
func TestRunPurgesAtInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		var readMu sync.Mutex
		readTo := int64(40)
		o := Options{Events: log, Days: 90, Interval: time.Hour, ReadTo: func(context.Context) (int64, error) {
			readMu.Lock()
			defer readMu.Unlock()
			return readTo, nil
		}}
		begin := time.Now()
		start(t, o)
		synctest.Wait()
		wantPurges(t, log, 1, "at start")
		advance(time.Hour - time.Nanosecond)
		wantPurges(t, log, 1, "before an interval passed")
		readMu.Lock()
		readTo = 75
		readMu.Unlock()
		advance(time.Nanosecond)
		advance(time.Hour)
		wantPurges(t, log, 3, "after two intervals")
		got := log.purges()
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

// TestRunDefaultInterval: without an interval, Run purges hourly, and logs
// each purge.
func TestRunDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		_, _, logs := start(t, Options{Events: log, Days: 1, ReadTo: readToConst(1)})
		synctest.Wait()
		if !logs.has("INFO retention: purged expired events") {
			t.Errorf("purge not logged: %q", logs.all())
		}
		advance(DefaultInterval - time.Nanosecond)
		wantPurges(t, log, 1, "within the first hour")
		advance(time.Nanosecond)
		wantPurges(t, log, 2, "after an hour")
	})
}

// TestRunReadToFailure: when what the consumers have read cannot be known,
// nothing is purged (an undelivered event must not go), the failure is
// logged, and the next interval tries again.
func TestRunReadToFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		var mu sync.Mutex
		fail := true
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
		wantPurges(t, log, 0, "though readTo failed")
		if want := "ERROR retention: purge failed: what trails have delivered: state unreadable"; !logs.has(want) {
			t.Fatalf("logged %q, want %q", logs.all(), want)
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		advance(time.Minute)
		if got := log.purges(); len(got) != 1 || got[0].readTo != 12 {
			t.Fatalf("purges after readTo recovered: %+v, want one to 12", got)
		}
	})
}

// TestRunPurgeFailureLogged: a failed purge is logged and does not stop Run.
func TestRunPurgeFailureLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{err: errors.New("disk full")}
		_, _, logs := start(t, Options{Events: log, Days: 7, Interval: time.Minute, ReadTo: readToConst(3)})
		synctest.Wait()
		if want := "ERROR retention: purge failed: disk full"; !logs.has(want) {
			t.Fatalf("logged %q, want %q", logs.all(), want)
		}
		advance(time.Minute)
		wantPurges(t, log, 2, "after a failure and an interval")
	})
}

// TestRunStopsOnCancel: Run returns once its context ends, purging no more,
// and a purge cut short by the end is not logged as a failure.
func TestRunStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{}
		cancel, done, logs := start(t, Options{Events: log, Days: 7, Interval: time.Minute, ReadTo: func(ctx context.Context) (int64, error) {
			if len(log.purges()) == 1 {
				<-ctx.Done() // the second purge waits until Run is stopped
				return 0, ctx.Err()
			}
			return 3, nil
		}})
		synctest.Wait()
		advance(time.Minute)
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run still running after its context ended")
		}
		advance(time.Hour)
		wantPurges(t, log, 1, "after cancel")
		for _, l := range logs.all() {
			if strings.HasPrefix(l, "ERROR") {
				t.Errorf("logged a failure at shutdown: %q", l)
			}
		}
	})
}
