package stream

import (
	"context"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// sharedRead is one ReadLog that the destinations reading from the same
// log position at about the same time share: each destination follows the
// log on its own, yet under a steady ingest they are woken together with
// the same cursor, and reading (and decoding) the same entries once for
// all of them is enough. The events are shared: Select and Sinks only read
// them.
type sharedRead struct {
	from  int64
	limit int
	gen   uint64    // the wakes counted when it began
	began time.Time // when it began
	done  chan struct{}
	evs   []*event.Event
	err   error
}

// readLog returns the log entries after from (at most limit), from a read
// another destination made if one from the same position began since the
// last Wake and less than half a poll ago (so that it has every event this
// node acknowledged before the wake that started this pass, and other
// nodes' events as fresh as a poll would see them), else from a new read.
func (e *Engine) readLog(ctx context.Context, from int64, limit int) ([]*event.Event, error) {
	now := time.Now()
	e.mu.Lock()
	gen := e.wakes
	if r := e.reads[from]; r != nil && r.limit == limit && r.gen == gen && now.Sub(r.began) < e.opts.Poll/2 {
		e.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.err == nil {
			return r.evs, nil
		}
		return e.st.ReadLog(ctx, from, limit) // its reader failed (or gave up): read anew
	}
	r := &sharedRead{from: from, limit: limit, gen: gen, began: now, done: make(chan struct{})}
	for k, old := range e.reads {
		if now.Sub(old.began) >= e.opts.Poll {
			delete(e.reads, k)
		}
	}
	e.reads[from] = r
	e.mu.Unlock()
	r.evs, r.err = e.st.ReadLog(ctx, from, limit)
	close(r.done)
	return r.evs, r.err
}
