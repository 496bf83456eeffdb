package main

import (
	"context"
	"log/slog"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/eventbus"
	"github.com/cairn-audit/cairn/internal/stream"
)

// runStreams starts the one stream engine over every streaming source (one
// engine only: it forgets the state of destinations no source lists) and
// returns the log position it has sent past (for retention) and the
// function that stops it, sending what waits first.
func runStreams(st stream.Store, sources []stream.Source, log *slog.Logger, node string) (readTo func(context.Context) (int64, error), stop func()) {
	e := stream.New(st, sources, stream.Options{Node: node, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return e.ReadTo, func() { cancel(); <-done }
}

// eventBusSource is the stream source of config event_buses. Targets new
// to the store start at the log's end now, before the server listens.
func eventBusSource(ctx context.Context, st stream.Store, cfg *config.Config) (stream.Source, error) {
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return eventbus.NewSource(cfg, stats.LastSeq)
}
