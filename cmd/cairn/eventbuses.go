package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/eventbus"
	"github.com/cairn-audit/cairn/internal/stream"
)

// eventBusSource is the stream source of config event_buses. Targets new
// to the store start at the log's end now, before the server listens, so
// every event acknowledged afterwards is sent.
// Each target is logged with the ID the engine's logs name it by.
func eventBusSource(st stream.Store, cfg *config.Config, log *slog.Logger) (stream.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	src, err := eventbus.NewSource(cfg, stats.LastSeq)
	if err != nil {
		return nil, err
	}
	for _, t := range src.Targets() {
		log.Info("event bus target", "destination", t.ID, "kind", t.Kind, "account", t.Account, "url", t.URL)
	}
	return src, nil
}
