package sqlite_test

import (
	"context"
	"os"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.Rec(t, "111111111111", "us-east-1", "Kept", storetest.Base, nil)
	if _, err := s.Append(context.Background(), []*event.Event{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Lookup(context.Background(), store.Query{Account: "111111111111", Region: "us-east-1",
		Category: event.CategoryManagement, Start: storetest.Base, End: storetest.Base, Limit: 5})
	if err != nil || len(p.Events) != 1 {
		t.Fatalf("after reopen: %d events, %v", len(p.Events), err)
	}
}

// BenchmarkAppend measures durable appends of 500-event batches from 4
// concurrent clients (the shape of the ingest API under load).
func BenchmarkAppend(b *testing.B) {
	s, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchAppend(b, s)
}

// BenchmarkLookup is storetest.BenchLookup on SQLite (CAIRN_BENCH_DIR keeps
// a loaded history between runs).
func BenchmarkLookup(b *testing.B) {
	dir := os.Getenv("CAIRN_BENCH_DIR") // reuse a loaded history between runs
	if dir == "" {
		dir = b.TempDir()
	}
	s, err := sqlite.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchLookup(b, s)
}
