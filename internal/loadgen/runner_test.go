package loadgen

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// claim is what a unit of a test load was handed.
type claim struct {
	worker int
	i      int64
	n      int
	at     time.Duration // since the load started (fake time in a bubble)
}

// recordingLoad is a load whose units record their claims and answer with
// how(claim).
func recordingLoad(workers int, how func(claim) outcome) load[claim] {
	start := time.Now()
	return load[claim]{
		Workers: workers,
		Worker: func(w int) func(int64, int) (claim, outcome) {
			return func(i int64, n int) (claim, outcome) {
				c := claim{worker: w, i: i, n: n, at: time.Since(start)}
				return c, how(c)
			}
		},
	}
}

func always(o outcome) func(claim) outcome { return func(claim) outcome { return o } }

// claimNumbers are the sorted claim numbers of samples.
func claimNumbers(samples ...[]claim) []int64 {
	var out []int64
	for _, s := range samples {
		for _, c := range s {
			out = append(out, c.i)
		}
	}
	slices.Sort(out)
	return out
}

func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestLoadTotalInBatches(t *testing.T) {
	l := recordingLoad(3, always(unitOK))
	l.Batch, l.Total = 10, 95
	res := l.run(context.Background())
	if len(res.Failed) != 0 || res.GaveUp || res.Stopped || res.Interrupted {
		t.Fatalf("%+v", res)
	}
	if got := claimNumbers(res.OK); !slices.Equal(got, seq(10)) {
		t.Errorf("claims %v, want 0…9, each once", got)
	}
	var events int
	for _, c := range res.OK {
		want := 10
		if c.i == 9 {
			want = 5
		}
		if c.n != want {
			t.Errorf("claim %d of %d units, want %d", c.i, c.n, want)
		}
		events += c.n
	}
	if events != 95 {
		t.Errorf("%d units in all, want 95", events)
	}
	if res.Env.GoVersion == "" || res.Env.Time.IsZero() || res.ElapsedSec != seconds(res.Elapsed) {
		t.Errorf("env %+v, phase %+v", res.Env, res.Phase)
	}
}

func TestLoadCallsDefaultToBatchOfOne(t *testing.T) {
	l := recordingLoad(4, always(unitOK))
	l.Total = 7
	res := l.run(context.Background())
	if got := claimNumbers(res.OK); !slices.Equal(got, seq(7)) {
		t.Errorf("claims %v, want 0…6", got)
	}
	for _, c := range res.OK {
		if c.n != 1 {
			t.Errorf("claim %d of %d units", c.i, c.n)
		}
	}
}

func TestLoadDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := recordingLoad(2, func(claim) outcome {
			time.Sleep(100 * time.Millisecond)
			return unitOK
		})
		l.Batch, l.Duration = 5, time.Second
		res := l.run(context.Background())
		// Claims start at 0, 100ms, … 900ms on each worker; none at 1s.
		if len(res.OK) != 20 || res.Elapsed != time.Second || res.Interrupted {
			t.Errorf("%d units in %v, interrupted %v; want 20 in 1s", len(res.OK), res.Elapsed, res.Interrupted)
		}
		if got := claimNumbers(res.OK); !slices.Equal(got, seq(20)) {
			t.Errorf("claims %v", got)
		}
		for _, c := range res.OK {
			if c.n != 5 || c.at >= time.Second {
				t.Errorf("claim %+v", c)
			}
		}
	})
}

func TestLoadNothingToDo(t *testing.T) {
	res := recordingLoad(3, always(unitOK)).run(context.Background()) // no total, no duration
	if len(res.OK)+len(res.Failed) != 0 || res.GaveUp || res.Stopped {
		t.Errorf("%+v", res)
	}
}

func TestLoadGivesUpWhenNothingSucceeds(t *testing.T) {
	l := recordingLoad(1, always(unitFailed))
	l.Total = 1000
	res := l.run(context.Background())
	if !res.GaveUp || len(res.Failed) != abandonAfter || len(res.OK) != 0 {
		t.Errorf("gave up %v after %d failed units, want after %d", res.GaveUp, len(res.Failed), abandonAfter)
	}

	// One success is enough to go on.
	l = recordingLoad(1, func(c claim) outcome {
		if c.i == 0 {
			return unitOK
		}
		return unitFailed
	})
	l.Total = 50
	res = l.run(context.Background())
	if res.GaveUp || len(res.OK) != 1 || len(res.Failed) != 49 {
		t.Errorf("gave up %v with %d ok, %d failed", res.GaveUp, len(res.OK), len(res.Failed))
	}
}

func TestLoadStop(t *testing.T) {
	l := recordingLoad(1, func(c claim) outcome {
		if c.i == 3 {
			return unitFailed | unitStop
		}
		return unitOK
	})
	l.Total = 100
	res := l.run(context.Background())
	if !res.Stopped || res.GaveUp || !slices.Equal(claimNumbers(res.OK), seq(3)) || claimNumbers(res.Failed)[0] != 3 || len(res.Failed) != 1 {
		t.Errorf("stopped %v, ok %v, failed %v", res.Stopped, claimNumbers(res.OK), claimNumbers(res.Failed))
	}
}

func TestLoadQuitEndsOneWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Worker 0 quits at its first claim, which is not done; worker 1
		// does all the others.
		l := recordingLoad(2, func(c claim) outcome {
			if c.worker == 0 {
				return unitQuit
			}
			time.Sleep(time.Millisecond)
			return unitOK
		})
		l.Total = 20
		res := l.run(context.Background())
		if len(res.OK) != 19 || len(res.Failed) != 0 || res.Stopped {
			t.Fatalf("%d ok, %d failed, stopped %v", len(res.OK), len(res.Failed), res.Stopped)
		}
		for _, c := range res.OK {
			if c.worker != 1 {
				t.Errorf("worker 0 went on after it quit: %+v", c)
			}
		}
	})
}

func TestLoadFailedAndQuit(t *testing.T) {
	l := recordingLoad(1, always(unitFailed|unitQuit))
	l.Total = 5
	res := l.run(context.Background())
	if len(res.Failed) != 1 || len(res.OK) != 0 || res.Stopped || res.GaveUp {
		t.Errorf("%d failed, %d ok, stopped %v", len(res.Failed), len(res.OK), res.Stopped)
	}
}

func TestLoadInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := recordingLoad(1, always(unitOK))
		l.Total, l.Interval = 4, time.Second
		res := l.run(context.Background())
		var at []time.Duration
		for _, c := range res.OK {
			at = append(at, c.at)
		}
		if want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(at, want) {
			t.Errorf("units started at %v, want %v", at, want)
		}
	})
}

func TestLoadInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(2500*time.Millisecond, cancel)
		l := recordingLoad(1, always(unitOK))
		l.Total, l.Interval = 10, time.Second
		res := l.run(ctx)
		// Units at 0, 1s and 2s; the wait for the one at 3s is cut short
		// and that claim is not done.
		if !res.Interrupted || len(res.OK) != 3 || res.Elapsed != 2500*time.Millisecond {
			t.Errorf("interrupted %v after %d units in %v", res.Interrupted, len(res.OK), res.Elapsed)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := recordingLoad(2, always(unitOK))
	l.Total = 10
	if res := l.run(ctx); !res.Interrupted || len(res.OK) != 0 {
		t.Errorf("canceled before the start: interrupted %v, %d units", res.Interrupted, len(res.OK))
	}
}

func TestLoadDrainIsTimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var drained bool
		l := recordingLoad(2, func(claim) outcome {
			time.Sleep(time.Second)
			return unitOK
		})
		l.Total = 2
		l.Drain = func(context.Context) {
			time.Sleep(3 * time.Second)
			drained = true
		}
		res := l.run(context.Background())
		if !drained || res.Elapsed != 4*time.Second {
			t.Errorf("drained %v, elapsed %v; want 1s of units and 3s of drain", drained, res.Elapsed)
		}
	})
}

func TestLoadProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer // read after run, which waits for the progress goroutine
		var errs errorTally
		l := recordingLoad(1, func(c claim) outcome {
			time.Sleep(70 * time.Millisecond) // never done on a tick
			if c.i%2 == 1 {
				errs.add("odd", 1)
				return unitFailed
			}
			return unitOK
		})
		l.Batch, l.Total = 10, 300 // 30 claims of 70ms: 2.1s
		l.Progress, l.ProgressEvery, l.ProgressWhat, l.Errors = &out, time.Second, "widgets made", &errs
		l.Count = func(c claim) int64 { return int64(c.n) }
		l.run(context.Background())
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		// At 1s: claims 0…13 done, 7 of them OK; at 2s: 14 OK, 14 failed.
		want := []string{
			"[   1.0s] 70 widgets made (70.0/s over the last 1s), 7 errors",
			"[   2.0s] 140 widgets made (70.0/s over the last 1s), 14 errors",
		}
		if !slices.Equal(lines, want) {
			t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestSummarizeMix(t *testing.T) {
	ms := time.Millisecond
	ok := []callSample{{0, 3 * ms, 5}, {1, 1 * ms, 0}, {0, 1 * ms, 2}, {0, 2 * ms, 0}}
	failed := []callSample{{1, 9 * ms, 0}, {2, 7 * ms, 0}}
	qs, all, requests, fails := summarizeMix([]string{"a", "b", "c", "d"}, ok, failed)
	want := []QueryStats{
		{Query: "a", Requests: 3, Events: 7, Empty: 1, Latency: Summarize([]time.Duration{3 * ms, 1 * ms, 2 * ms})},
		{Query: "b", Requests: 2, Errors: 1, Empty: 1, Latency: Summarize([]time.Duration{ms})},
		{Query: "c", Requests: 1, Errors: 1},
		{Query: "d"},
	}
	if !slices.Equal(qs, want) {
		t.Errorf("queries\n%+v\nwant\n%+v", qs, want)
	}
	if requests != 6 || fails != 2 || all != Summarize([]time.Duration{3 * ms, ms, ms, 2 * ms}) {
		t.Errorf("%d requests, %d failed, latency %+v", requests, fails, all)
	}
}

func TestIngestRateInterval(t *testing.T) {
	for _, c := range []struct {
		batch int
		rate  float64
		want  time.Duration
	}{
		{500, 50_000, 10 * time.Millisecond},
		{1000, 50_000, 20 * time.Millisecond},
		{500, 0, 0},
	} {
		cfg := IngestConfig{Batch: c.batch, Rate: c.rate}
		if got := cfg.interval(); got != c.want {
			t.Errorf("batch %d at %v events/s: interval %v, want %v", c.batch, c.rate, got, c.want)
		}
	}
	cfg := IngestConfig{Endpoint: "http://x", AccessKeyID: "a", SecretAccessKey: "b", Clients: 1, Batch: 1, Total: 1, Rate: -1}
	if err := cfg.check(); err == nil {
		t.Error("a negative rate was accepted")
	}
}
