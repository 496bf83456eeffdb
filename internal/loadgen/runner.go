package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The one runner of every timed phase: ingest, lookup, delivery, the file
// and PostgreSQL baselines and the control plane cycles and describes all
// hand it their unit of work (one batch, one call, one probe) and read
// their numbers from the samples it returns. It owns what they have in
// common: the concurrent workers, the end of the run (a total or a
// duration, an interrupt, a run given up), pacing, progress lines, the
// clock and the client's CPU time.

// outcome says how one unit of work went.
type outcome uint8

const (
	// unitOK: the unit succeeded; its sample goes to results.OK.
	unitOK outcome = 0
	// unitFailed: the unit failed; its sample goes to results.Failed. A
	// run whose first abandonAfter units all fail is given up: its numbers
	// would mean nothing, and it would only hammer the server.
	unitFailed outcome = 1 << 0
	// unitQuit: this worker does no more units (its connection is gone).
	unitQuit outcome = 1 << 1
	// unitStop: no worker starts another unit (a full or failing disk).
	unitStop outcome = 1 << 2
)

// abandonAfter is how many failed units, with none successful, end a run.
const abandonAfter = 10

// Phase is the timing of one timed phase of a run, as reported.
type Phase struct {
	// Elapsed is from the first unit's start to the last unit's end (and
	// the drain's, if any).
	Elapsed     time.Duration `json:"-"`
	ElapsedSec  float64       `json:"elapsed_seconds"`
	Interrupted bool          `json:"interrupted,omitempty"`
	// Aborted says why the phase stopped early, if it did.
	Aborted   string     `json:"aborted,omitempty"`
	ClientCPU *ClientCPU `json:"client_cpu,omitempty"`
}

// load describes a timed phase whose units yield samples of type S.
// Workers goroutines each claim and do one unit after another until Total
// units are claimed, or, with Total 0, until Duration has passed since the
// start; or until ctx is canceled, a unit says unitStop, or the run is
// given up. A unit in progress is always finished and counted.
type load[S any] struct {
	// Workers is how many units are in progress at once.
	Workers int
	// Batch is how many of Total a claim takes: the events of a batch, or
	// 1 for calls. 0 means 1. The last claim of a Total may be smaller.
	Batch int
	// Total, when positive, bounds the run by the units done in all.
	Total int64
	// Duration bounds the run when Total is 0: no claim starts after it.
	Duration time.Duration
	// Interval, when positive, paces the run: claim i starts no sooner
	// than i × Interval after the start.
	Interval time.Duration
	// Worker makes worker w's unit function, before the clock starts
	// (warm-up: its buffers, signer, connection). The function does claim
	// number i (0, 1, … in the order claimed across workers) of n units
	// and says how it went.
	Worker func(w int) func(i int64, n int) (S, outcome)
	// Drain, if set, runs on the clock after the last unit, e.g. to wait
	// for what the units started.
	Drain func(ctx context.Context)
	// Started, if set, receives the time the clock started, before any
	// unit runs: a paced unit's scheduled start is that plus i × Interval.
	Started func(start time.Time)

	// Progress, if set, receives a line every ProgressEvery saying how
	// many ProgressWhat the successful units did (Count of each sample) and
	// how many errors Errors holds.
	Progress      io.Writer
	ProgressEvery time.Duration
	ProgressWhat  string
	Count         func(S) int64
	Errors        *errorTally
}

// results is the outcome of a timed phase. Phase.Aborted is the caller's
// to fill in, from GaveUp and Stopped, in the words of its run.
type results[S any] struct {
	Phase
	// Env is where and when the clock started.
	Env Env
	// OK and Failed are the samples of the units that succeeded and of
	// those that failed. A unit that quit or stopped without failing is in
	// neither: it was not done.
	OK, Failed []S
	// GaveUp says the first abandonAfter units failed; Stopped that a unit
	// said unitStop.
	GaveUp, Stopped bool
}

// claimer hands out claims of a load until it is over.
type claimer struct {
	ctx      context.Context
	batch    int64
	total    int64
	deadline time.Time
	claimed  atomic.Int64
	stopped  atomic.Bool
	gaveUp   atomic.Bool
}

// next returns the next claim's number and size, or a size of 0 when the
// run is over.
func (c *claimer) next() (int64, int) {
	if c.ctx.Err() != nil || c.stopped.Load() || c.gaveUp.Load() {
		return 0, 0
	}
	if c.total <= 0 && !time.Now().Before(c.deadline) {
		return 0, 0
	}
	end := c.claimed.Add(c.batch)
	i, n := end/c.batch-1, c.batch
	if c.total > 0 {
		n = max(min(c.batch, c.total-(end-c.batch)), 0)
	}
	return i, int(n)
}

// run runs the phase. It needs Workers of at least 1 and a Worker.
func (l load[S]) run(ctx context.Context) *results[S] {
	batch := int64(max(l.Batch, 1))
	units := make([]func(int64, int) (S, outcome), l.Workers)
	for w := range units {
		units[w] = l.Worker(w)
	}
	var (
		res        results[S]
		mu         sync.Mutex
		ok, failed atomic.Int64
		counted    atomic.Int64
		wg         sync.WaitGroup
	)
	cpu := startCPU()
	start := time.Now()
	res.Env = currentEnv(start)
	if l.Started != nil {
		l.Started(start)
	}
	claim := &claimer{ctx: ctx, batch: batch, total: l.Total, deadline: start.Add(l.Duration)}
	errs := l.Errors
	if errs == nil {
		errs = &errorTally{}
	}
	stopProgress := func() {}
	if l.Count != nil {
		stopProgress = progressPrinter(l.Progress, l.ProgressEvery, start, l.ProgressWhat, &counted, errs)
	}
	for _, unit := range units {
		wg.Go(func() {
			var good, bad []S
			for {
				i, n := claim.next()
				if n == 0 || !pace(ctx, start, i, l.Interval) {
					break
				}
				s, o := unit(i, n)
				switch {
				case o&unitFailed != 0:
					bad = append(bad, s)
					if failed.Add(1) >= abandonAfter && ok.Load() == 0 {
						claim.gaveUp.Store(true)
					}
				case o == unitOK:
					good = append(good, s)
					ok.Add(1)
					if l.Count != nil {
						counted.Add(l.Count(s))
					}
				}
				if o&unitStop != 0 {
					claim.stopped.Store(true)
				}
				if o&(unitStop|unitQuit) != 0 {
					break
				}
			}
			mu.Lock()
			res.OK, res.Failed = append(res.OK, good...), append(res.Failed, bad...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if l.Drain != nil {
		l.Drain(ctx)
	}
	res.Elapsed = time.Since(start)
	res.ClientCPU = cpu.stop(res.Elapsed)
	stopProgress()
	res.ElapsedSec = seconds(res.Elapsed)
	res.Interrupted = ctx.Err() != nil
	res.GaveUp, res.Stopped = claim.gaveUp.Load(), claim.stopped.Load()
	return &res
}

// pace waits until claim i of a run started at start may begin, every
// interval; it reports false if ctx was canceled first.
func pace(ctx context.Context, start time.Time, i int64, interval time.Duration) bool {
	if interval <= 0 || i == 0 {
		return true
	}
	if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// progressPrinter prints "[  10.0s] N <what> (R/s over the last 10s), E
// errors" to w every every until stopped.
func progressPrinter(w io.Writer, every time.Duration, start time.Time, what string, count *atomic.Int64, errs *errorTally) (stop func()) {
	if w == nil || every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				n := count.Load()
				errs.mu.Lock()
				e := errs.total
				errs.mu.Unlock()
				fmt.Fprintf(w, "[%6.1fs] %s %s (%s/s over the last %.0fs), %d errors\n",
					now.Sub(start).Seconds(), group(n), what, groupf(rate(n-last, now.Sub(lastAt))), now.Sub(lastAt).Seconds(), e)
				last, lastAt = n, now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// latencies summarizes one duration of each sample.
func latencies[S any](samples []S, of func(S) time.Duration) Latency {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = of(s)
	}
	return Summarize(out)
}

// sum adds up one number of each sample.
func sum[S any](samples []S, of func(S) int64) int64 {
	var n int64
	for _, s := range samples {
		n += of(s)
	}
	return n
}
