package main

import (
	"context"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/eventbus"
	"github.com/cairn-audit/cairn/internal/stream"
)

// eventBusSource is the stream source of config event_buses. Targets new
// to the store start at the log's end now, before the server listens, so
// every event acknowledged afterwards is sent.
func eventBusSource(st stream.Store, cfg *config.Config) (stream.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return eventbus.NewSource(cfg, stats.LastSeq)
}
