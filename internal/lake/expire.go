package lake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// expirer removes the events of queried stores that are past their
// retention, on behalf of the queries about to read them, with as few
// writes as it can: the engine has one writer, shared with the filler and
// imports, and a delete per query would queue every query behind it.
//
//   - Batched: queries that ask while a delete runs wait for the next
//     batch, which serves all of them with one delete per store, whatever
//     their number.
//   - Remembered: a store's cut (the oldest eventTime it keeps) moves by
//     whole seconds, and a delete already made at a store's current cut is
//     not made again; so queries of a store within the same second share
//     one delete.
//
// The cut a batch applies is computed when the batch starts, after every
// query it serves asked, so each query still reads no event older than
// its store's retention when it started (to the second: events carry
// whole-second times).
type expirer struct {
	s *Service

	mu      sync.Mutex
	pending map[string]int       // store ID: retention days, for the next batch
	next    *expireBatch         // the batch the next askers join
	busy    bool                 // a batch runs
	done    map[string]time.Time // store ID: the cut last applied
}

// expireBatch is one round of deletes; done closes when it has ended.
type expireBatch struct {
	done chan struct{}
	err  error
}

func newExpirer(s *Service) *expirer {
	return &expirer{s: s, pending: map[string]int{}, done: map[string]time.Time{}}
}

// cut is the cut a store of days' retention has at now, truncated to the
// second so that queries within one second share it.
func cutAt(now time.Time, days int) time.Time {
	return (&DataStore{RetentionDays: days}).retentionCut(now.Truncate(time.Second))
}

// expire waits until the stores of retention (store ID: days) hold no
// event past their retention as of now, or ctx ends.
func (e *expirer) expire(ctx context.Context, retention map[string]int) error {
	if len(retention) == 0 {
		return nil
	}
	e.mu.Lock()
	if e.next == nil {
		e.next = &expireBatch{done: make(chan struct{})}
	}
	b := e.next
	for id, days := range retention {
		if cur, ok := e.pending[id]; !ok || days < cur {
			e.pending[id] = days
		}
	}
	if !e.busy {
		e.busy = true
		go e.loop()
	}
	e.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop runs batches until none is waiting.
func (e *expirer) loop() {
	for {
		e.mu.Lock()
		b, todo := e.next, e.pending
		if b == nil {
			e.busy = false
			e.mu.Unlock()
			return
		}
		e.next, e.pending = nil, map[string]int{}
		e.mu.Unlock()
		b.err = e.run(todo)
		close(b.done)
	}
}

// run deletes, in each store of todo, the events before its cut at now,
// unless that cut was already applied.
func (e *expirer) run(todo map[string]int) error {
	ctx, cancel := context.WithTimeout(e.s.base, time.Minute)
	defer cancel()
	now := e.s.now()
	var errs []error
	for id, days := range todo {
		cut := cutAt(now, days)
		e.mu.Lock()
		applied := !e.done[id].Before(cut)
		e.mu.Unlock()
		if applied {
			continue
		}
		if _, err := e.s.engine.DeleteBefore(ctx, id, cut); err != nil {
			errs = append(errs, fmt.Errorf("lake: retention of store %s: %w", id, err))
			continue
		}
		e.mu.Lock()
		if e.done[id].Before(cut) {
			e.done[id] = cut
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}
