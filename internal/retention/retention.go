// Package retention purges events older than the event history window from
// the event log, but never one a consumer of the log (trail delivery) has
// yet to read: an undelivered event stays until its trails have written it.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// DefaultInterval is how often Run purges when Options.Interval is zero.
const DefaultInterval = time.Hour

// Options configure Run.
type Options struct {
	// Events is the event log to purge.
	Events store.Purger
	// ReadTo returns the log position every consumer has read past
	// (delivery.Engine.ReadTo): events after it are kept even when expired.
	ReadTo func(context.Context) (int64, error)
	// Days is the event history window: events older than Days days are
	// expired.
	Days int
	// Interval is the time between purges; 0 means DefaultInterval.
	Interval time.Duration
	// Logger receives a line per purge; nil discards them.
	Logger *slog.Logger
}

// Run purges at once and then every interval until ctx ends. A purge that
// fails is logged and tried again at the next interval.
func Run(ctx context.Context, o Options) {
	interval := o.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		o.purgeAndLog(ctx, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// purgeAndLog runs one purge with the cut at now minus the window and logs
// its outcome (a failure caused by ctx ending is not worth a line).
func (o Options) purgeAndLog(ctx context.Context, log *slog.Logger) {
	cut := time.Now().Add(-time.Duration(o.Days) * 24 * time.Hour)
	n, to, err := o.purge(ctx, cut)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("retention: purge failed", "err", err)
		}
		return
	}
	log.Info("retention: purged expired events", "events", n, "before", cut.Format(time.RFC3339), "kept_after_seq", to)
}

// purge purges the events before cut that every consumer has read, and
// returns how many and the log position it kept the events after. The
// position is read first: consumers only move past it meanwhile, and one
// started meanwhile reads from the log's end. When the position cannot be
// read, nothing is purged.
func (o Options) purge(ctx context.Context, cut time.Time) (n, to int64, err error) {
	if to, err = o.ReadTo(ctx); err != nil {
		return 0, 0, fmt.Errorf("what trails have delivered: %w", err)
	}
	n, err = o.Events.Purge(ctx, cut, to)
	return n, to, err
}
