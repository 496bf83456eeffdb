package main

import (
	"context"
	"log/slog"
	"math"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/metrics"
)

// runInsights starts the Insights consumer of the event log, which keeps
// its per-minute counts in counts, and returns the log position it has read
// past (for retention) and the function that stops it and waits for it.
func runInsights(st insights.Store, trails insights.Trails, counts insights.Counter, cfg *config.Config, log *slog.Logger,
	node string, m *metrics.Metrics) (readTo func(context.Context) (int64, error), stop func()) {
	e := insights.NewEngine(st, trails, insights.Options{
		Window:  cfg.Insights.BaselineWindow.Duration,
		Settle:  cfg.Insights.Settle.Duration,
		MaxAPIs: cfg.Insights.MaxAPIs,
		Regions: cfg.Regions,
		Members: cfg.OrganizationMembers(),
		Log:     log,
	}, insights.WithNode(node), insights.WithCounter(counts), insights.WithUntracked(m.InsightsUntracked))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return e.ReadTo, func() { cancel(); <-done }
}

// readToAll is the log position every consumer has read past: the least
// of theirs.
func readToAll(consumers ...func(context.Context) (int64, error)) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		to := int64(math.MaxInt64)
		for _, c := range consumers {
			n, err := c(ctx)
			if err != nil {
				return 0, err
			}
			to = min(to, n)
		}
		return to, nil
	}
}
