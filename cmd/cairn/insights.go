package main

import (
	"context"
	"log/slog"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/metrics"
)

// runInsights starts the Insights consumer of the event log and returns
// the function that stops it and waits for it.
func runInsights(st insights.Store, trails insights.Trails, cfg *config.Config, log *slog.Logger, node string, m *metrics.Metrics) func() {
	e := insights.NewEngine(st, trails, insights.Options{
		Window:  cfg.Insights.BaselineWindow.Duration,
		Settle:  cfg.Insights.Settle.Duration,
		MaxAPIs: cfg.Insights.MaxAPIs,
		Regions: cfg.Regions,
		Members: cfg.OrganizationMembers(),
		Log:     log,
	}, insights.WithNode(node), insights.WithUntracked(m.InsightsUntracked))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}
