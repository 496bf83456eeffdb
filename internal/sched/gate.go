// Package sched lets latency-sensitive work take the CPU before background
// work on a server with few cores.
//
// On 2 cores a LookupEvents call needs about a millisecond of CPU, but
// while ingest runs it waits most of its time for a CPU: behind ingest
// handlers decoding batches and the indexer writing a transaction, which
// Go's scheduler preempts only after a 10 ms time slice. A Gate tells the
// background work that a lookup is in flight, and the background work
// steps aside at its yield points until none is, for a bounded time, so
// that it always progresses.
package sched

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxWait bounds one Yield. A lookup takes about a millisecond of
// CPU: that long lets the lookups waiting for a CPU get one. A background
// task yields a few times a batch or transaction, so under a constant
// stream of lookups it still runs, each step delayed at most this long.
const DefaultMaxWait = time.Millisecond

// Gate counts the urgent work in flight and makes background work wait for
// it at its yield points. A nil *Gate never waits. Its methods are safe
// for concurrent use.
type Gate struct {
	maxWait time.Duration

	mu      sync.Mutex
	urgent  int           // urgent calls in flight
	clear   chan struct{} // closed when urgent falls to zero; nil while it is zero
	waiting int           // Yields waiting
}

// New makes a gate whose Yield waits at most maxWait (DefaultMaxWait if
// maxWait is zero or less).
func New(maxWait time.Duration) *Gate {
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	return &Gate{maxWait: maxWait}
}

// Urgent marks one urgent call in flight until the returned func is
// called (later calls of it do nothing).
func (g *Gate) Urgent() (done func()) {
	if g == nil {
		return func() {}
	}
	g.mu.Lock()
	if g.urgent == 0 {
		g.clear = make(chan struct{})
	}
	g.urgent++
	g.mu.Unlock()
	var once sync.Once
	return func() { once.Do(g.leave) }
}

// leave ends one urgent call and wakes the waiters after the last.
func (g *Gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.urgent--; g.urgent == 0 {
		close(g.clear)
		g.clear = nil
	}
}

// Yield is a background task's yield point. While urgent work is in
// flight it waits until there is none, at most the gate's maxWait or
// until ctx is done, and reports true; otherwise it returns false at once
// (no runtime.Gosched: an ingest handler that gave way to the indexer at
// each yield point lost a fifth of its throughput).
func (g *Gate) Yield(ctx context.Context) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	clear := g.clear
	if clear != nil {
		g.waiting++
	}
	g.mu.Unlock()
	if clear == nil {
		return false
	}
	t := time.NewTimer(g.maxWait)
	select {
	case <-clear:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	g.mu.Lock()
	g.waiting--
	g.mu.Unlock()
	return true
}

// Waiting returns the Yields waiting for urgent work now (for tests and
// metrics).
func (g *Gate) Waiting() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// InFlight returns the urgent calls in flight (for tests and metrics).
func (g *Gate) InFlight() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.urgent
}
