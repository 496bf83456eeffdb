package insights

import (
	"context"
	"time"
)

// Counter keeps the per-minute counts the engine counts, for
// ListInsightsMetricData (package counts). The engine hands it every
// counted event with its log position, writes the counts out before each
// checkpoint (so that a checkpoint never passes counts not yet stored) and
// whenever it is Full, and resets it when it goes back to its checkpoint
// (the events are read again).
type Counter interface {
	// Count notes one event (log position seq) of k at eventTime t;
	// errorCode is "" for the call rate.
	Count(seq int64, k Key, t time.Time, errorCode string)
	// Full reports whether the pending counts should be written now.
	Full() bool
	// Flush writes the pending counts.
	Flush(ctx context.Context) error
	// Reset drops the pending counts.
	Reset()
}

// WithCounter makes the engine keep its counts in c.
func WithCounter(c Counter) EngineOption { return func(e *Engine) { e.counts = c } }

// count hands one counted event to the Counter, if there is one.
func (e *Engine) count(seq int64, k Key, t time.Time, errorCode string) {
	if e.counts != nil {
		e.counts.Count(seq, k, t, errorCode)
	}
}

// flushCounts writes the pending counts: always before a checkpoint
// (force), otherwise when the Counter is full.
func (e *Engine) flushCounts(ctx context.Context, force bool) error {
	if e.counts == nil || !force && !e.counts.Full() {
		return nil
	}
	return e.counts.Flush(ctx)
}

// resetCounts drops the pending counts when the engine goes back to its
// checkpoint.
func (e *Engine) resetCounts() {
	if e.counts != nil {
		e.counts.Reset()
	}
}
