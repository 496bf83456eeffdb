package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
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
func BenchmarkLookup(b *testing.B) { storetest.BenchLookup(b, benchStore(b)) }

// benchStore opens the store in CAIRN_BENCH_DIR (to reuse a loaded history
// between runs) or a temporary directory, closed when b ends.
func benchStore(b *testing.B) *sqlite.Store {
	dir := os.Getenv("CAIRN_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	s, err := sqlite.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// TestTornTailIsCutAtOpen: bytes a crashed commit left after the last
// committed block, and a segment it started, are dropped at open; the log
// goes on from the last commit.
func TestTornTailIsCutAtOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := storetest.Rec(t, "111111111111", "us-east-1", "Kept", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{first}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half a frame from a commit that never finished"))
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "log", "00000000000000099999.seg"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	second := storetest.Rec(t, "111111111111", "us-east-1", "After", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{second}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ReadLog(ctx, 0, 10)
	if err != nil || len(evs) != 2 || evs[0].ID != first.ID || evs[1].ID != second.ID || string(evs[1].Record) != string(second.Record) {
		t.Fatalf("log after recovery: %d events, %v", len(evs), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "log", "00000000000000099999.seg")); !os.IsNotExist(err) {
		t.Fatalf("uncommitted segment kept: %v", err)
	}
}

// BenchmarkHistogram: the console chart's counts over 30 days of a million
// events (CAIRN_BENCH_EVENTS), loaded into CAIRN_BENCH_DIR when set (kept
// between runs) or a temporary directory.
func BenchmarkHistogram(b *testing.B) { storetest.BenchHistogram(b, benchStore(b)) }
