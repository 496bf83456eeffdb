// Package stream follows the event log for streaming destinations —
// CloudWatch Logs log groups of trails, EventBridge buses, webhooks — each
// with a durable cursor of its own: it reads the log past the cursor, keeps
// the events the destination selects, hands them to the destination's Sink
// and moves the cursor only once the Sink has accepted them.
//
// Delivery is at least once. Nothing acknowledged is skipped: the cursor is
// saved after a Send succeeds, so a crash (or a lost lease) between the two
// sends the last batch again at the next start — a destination may see at
// most one batch (at most Options.ReadChunk log entries) twice per crash or
// failure. Several nodes sharing a store take turns through a lease per
// destination kept in its state document ("stream/<ID>"): only the holder
// sends, and a Send is cut off before the lease could lapse.
//
// A destination that fails is retried with capped exponential backoff; its
// error is kept in its status, and its cursor holds retention back (ReadTo)
// until it has caught up.
//
// Cost: every acknowledged append wakes the engine, but a destination
// passes at most once every Options.Gather (50 ms), so a steady ingest makes
// one Send and one cursor save of many appends; destinations woken together
// at the same cursor share one read of the log; and a worker keeps its
// destination's state document in memory while it holds the lease, reading
// it again only after a save found it changed. None of this changes what
// may be sent twice: a Send still covers at most ReadChunk log entries, and
// its cursor is saved before the next one.
package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// Sink sends records to one destination. Send delivers evs (in log order)
// and returns nil only when the destination accepted every one; on error the
// engine sends the same events again later (so a destination may see some
// twice after a failure or crash: at most one batch). A Sink splits evs as
// its destination's limits require.
//
// A Sink that delivered evs except some that the destination will never
// accept (too large, too old) returns a *DroppedError: the engine moves on
// past them, counts them and shows the error in the status, rather than
// retrying them forever.
type Sink interface {
	Send(ctx context.Context, evs []*event.Event) error
}

// Destination is one follower of the log with its own durable cursor (state
// doc "stream/<ID>").
type Destination struct {
	// ID is stable across restarts, e.g. "cwl/<trailARN>#<trailID>",
	// "eb/<account>/<n>".
	ID string
	// Kind names the sort of destination ("cloudwatch-logs", "eventbridge",
	// "webhook") in status, logs and metrics.
	Kind string
	// Epoch: when it differs from the stored one, the cursor is reset to
	// Start (a trail's StartLogging).
	Epoch int64
	// Start is where a new destination (or epoch) starts: the cursor is set
	// to it, so the first event sent is the first one after it. -1 means
	// the log's end when the destination is first seen.
	Start int64
	// Bound is the last log position the destination takes (a stopped
	// trail's StopSeq); 0 means no bound. A negative Bound takes nothing:
	// the cursor follows the log's end (so that, should the destination
	// take events again in the same epoch, it takes them from then on).
	Bound int64
	// Select reports whether the destination takes ev; nil takes every
	// event.
	Select func(ev *event.Event) bool
	// Sink sends what is selected.
	Sink Sink
}

// Source lists the current destinations. The engine asks every pass, so a
// source reflects changes (trails updated through the API) at once.
type Source interface {
	Destinations(ctx context.Context) ([]Destination, error)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func(ctx context.Context) ([]Destination, error)

// Destinations calls f.
func (f SourceFunc) Destinations(ctx context.Context) ([]Destination, error) { return f(ctx) }

// DroppedError is what a Sink returns when the destination took every event
// it was sent except Count of them that it will never take (Reason says
// why). The engine treats the batch as delivered.
type DroppedError struct {
	Count  int
	Reason string
}

func (e *DroppedError) Error() string {
	return fmt.Sprintf("%d event(s) not delivered: %s", e.Count, e.Reason)
}

// Status is what the engine reports about one destination.
type Status struct {
	// Kind is the destination's kind as last seen.
	Kind string
	// LastDelivery is when a Send last succeeded.
	LastDelivery time.Time
	// LastAttempt is when a Send was last tried.
	LastAttempt time.Time
	// LastError is the error of the last attempt ("" after a success), or
	// the last DroppedError.
	LastError string
	// Failures counts failed attempts in a row; RetryAt is when the next
	// attempt may be made after them.
	Failures int
	RetryAt  time.Time
	// Cursor is the last log position handled.
	Cursor int64
	// Sent counts the events delivered; Dropped those given up on.
	Sent, Dropped int64
}

// Metrics is told what the engine does (a nil Metrics is told nothing).
type Metrics interface {
	// StreamSent counts n events a destination of kind accepted.
	StreamSent(kind string, n int)
	// StreamFailed counts a failed Send of a destination of kind.
	StreamFailed(kind string)
	// StreamDropped counts n events a destination of kind will never take.
	StreamDropped(kind string, n int)
}
