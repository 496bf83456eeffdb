package stream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// worker follows the log for one destination in a goroutine of its own, so
// that a slow or failing destination delays no other.
type worker struct {
	mu   sync.Mutex
	d    Destination // the latest listing of it
	stop chan struct{}
	done chan struct{}
}

func (w *worker) dest() Destination {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d
}

// Run follows the log for every listed destination until ctx ends. At the
// end it sends what is waiting (for a few seconds at most: the rest is sent
// at the next start) and gives up its leases.
func (e *Engine) Run(ctx context.Context) {
	// Workers outlive ctx by the drain: wctx ends drainTime after ctx.
	wctx, cancelWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWorkers()
	draining := make(chan struct{})
	var wg sync.WaitGroup
	var lastIDs []string
	var lastRetire time.Time
	t := time.NewTicker(e.opts.Poll)
	defer t.Stop()
	for {
		ids, err := e.refresh(wctx, draining, &wg)
		switch {
		case err != nil:
			e.log.Error("stream: listing destinations failed", "err", err)
		case !slices.Equal(ids, lastIDs) || e.now().Sub(lastRetire) >= retireEvery:
			if err := e.retire(wctx, ids); err != nil {
				e.log.Warn("stream: removing the state of gone destinations failed", "err", err)
			}
			lastIDs, lastRetire = ids, e.now()
		}
		select {
		case <-ctx.Done():
			close(draining)
			timer := time.AfterFunc(drainTime, cancelWorkers)
			wg.Wait()
			timer.Stop()
			return
		case <-t.C: // (Wake wakes the workers; the list is read at each poll)
		}
	}
}

// refresh lists the destinations, starts a worker for each new one, hands
// the others their latest listing and stops those of destinations gone. It
// returns the listed IDs, sorted.
func (e *Engine) refresh(ctx context.Context, draining chan struct{}, wg *sync.WaitGroup) ([]string, error) {
	listed, err := e.listedAfter(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	dests := slices.SortedFunc(maps.Values(listed), func(a, b Destination) int { return strings.Compare(a.ID, b.ID) })
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range dests {
		if w := e.workers[d.ID]; w != nil {
			w.mu.Lock()
			w.d = d
			w.mu.Unlock()
			continue
		}
		w := &worker{d: d, stop: make(chan struct{}), done: make(chan struct{})}
		e.workers[d.ID] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(w.done)
			e.follow(ctx, w, draining)
		}()
	}
	for id, w := range e.workers {
		if !slices.ContainsFunc(dests, func(d Destination) bool { return d.ID == id }) {
			close(w.stop)
			delete(e.workers, id)
		}
	}
	return slices.Sorted(maps.Keys(e.workers)), nil
}

// listing is one listing of the destinations and when it began.
type listing struct {
	began time.Time
	dests map[string]Destination
}

// listedAfter returns the destinations by ID as a listing begun after t
// found them: the last one if it began after t, else a new one. One
// listing at a time is made; workers that need one at once share it.
func (e *Engine) listedAfter(ctx context.Context, t time.Time) (map[string]Destination, error) {
	e.listMu.Lock()
	defer e.listMu.Unlock()
	if e.last != nil && e.last.began.After(t) {
		return e.last.dests, nil
	}
	began := time.Now()
	ds, err := e.list(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Destination, len(ds))
	for _, d := range ds {
		m[d.ID] = d
	}
	e.last = &listing{began: began, dests: m}
	return m, nil
}

// list asks every source for its destinations. An ID listed twice is an
// error of the sources: the first listing wins.
func (e *Engine) list(ctx context.Context) ([]Destination, error) {
	var all []Destination
	seen := map[string]bool{}
	for _, s := range e.sources {
		ds, err := s.Destinations(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.ID == "" || d.Sink == nil {
				return nil, fmt.Errorf("stream: destination %q has no ID or no sink", d.ID)
			}
			if seen[d.ID] {
				e.log.Error("stream: destination listed twice; the second is ignored", "destination", d.ID)
				continue
			}
			seen[d.ID] = true
			all = append(all, d)
		}
	}
	return all, nil
}

// follow is a worker's loop: a pass at each poll or wake, but not sooner
// than Options.Gather after the last one began (so that a steady ingest's
// wakes are gathered into fewer, larger passes); at once again while
// catching up; at shutdown, passes until nothing is left (or the drain time
// is up), then the lease goes.
func (e *Engine) follow(ctx context.Context, w *worker, draining chan struct{}) {
	t := time.NewTicker(e.opts.Poll)
	defer t.Stop()
	gather := time.NewTimer(0)
	defer gather.Stop()
	h := &held{}
	for {
		woken := e.woken()
		if w.dest().Bound < 0 {
			// It takes nothing: its cursor follows the log at each poll,
			// not at every ingest.
			woken = nil
		}
		began := time.Now()
		more, err := e.step(ctx, w.dest(), h)
		if err != nil && !errors.Is(err, errNotMine) && ctx.Err() == nil {
			e.log.Debug("stream: pass failed", "destination", w.dest().ID, "err", err)
		}
		if more && err == nil {
			select {
			case <-w.stop:
				return
			default:
				continue
			}
		}
		if !e.await(ctx, w, h, draining, t.C, woken) {
			return
		}
		if wait := e.opts.Gather - time.Since(began); wait > 0 {
			gather.Reset(wait)
			if !e.await(ctx, w, h, draining, gather.C, nil) {
				return
			}
		}
	}
}

// await waits for tick or woken; false means the worker is to end (its
// destination is gone, or the engine stops: then it drains first).
func (e *Engine) await(ctx context.Context, w *worker, h *held, draining chan struct{}, tick <-chan time.Time, woken <-chan struct{}) bool {
	select {
	case <-w.stop:
		return false
	case <-draining:
		e.drain(ctx, w, h)
		return false
	case <-tick:
	case <-woken:
	}
	return true
}

// drain sends what is waiting for w's destination at shutdown, then gives
// up the lease.
func (e *Engine) drain(ctx context.Context, w *worker, h *held) {
	d := w.dest()
	for ctx.Err() == nil {
		more, err := e.step(ctx, d, h)
		if err != nil || !more {
			break
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	e.release(rctx, d.ID)
	cancel()
}

// RunOnce makes one pass for every destination, one after another, until
// each has read the log to its end (or failed): what Run does, without
// goroutines or waiting, for tests and tools.
func (e *Engine) RunOnce(ctx context.Context) error {
	dests, err := e.list(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dests {
		for {
			more, err := e.pass(ctx, d)
			if err != nil {
				errs = append(errs, err)
			}
			if err != nil || !more {
				break
			}
		}
	}
	ids := make([]string, len(dests))
	for i, d := range dests {
		ids[i] = d.ID
	}
	slices.Sort(ids)
	return errors.Join(append(errs, e.retire(ctx, ids))...)
}

// retire removes the state documents of destinations no source lists (ids
// is the sorted list of those listed): nothing is sent to them any more,
// so their cursors need not hold retention back.
func (e *Engine) retire(ctx context.Context, ids []string) error {
	docs, err := e.st.ListState(ctx, statePrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range docs {
		id := strings.TrimPrefix(d.Key, statePrefix)
		if _, listed := slices.BinarySearch(ids, id); listed {
			continue
		}
		e.log.Info("stream: destination gone; its state is removed", "destination", id)
		if err := e.st.DeleteState(ctx, d.Key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
