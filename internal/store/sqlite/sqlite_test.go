package sqlite_test

import (
	"context"
	"database/sql"
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

// TestMigratesEventsTable: a data directory written before segment files
// (records in an events table) opens with every event readable, by seq,
// lookup and eventID, and the table gone.
func TestMigratesEventsTable(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Index the events through the store, then move their records into an
	// events table as the old layout kept them.
	var evs []*event.Event
	for _, name := range []string{"One", "Two", "Three"} {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, storetest.Base, nil))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
		event_id TEXT NOT NULL, t INTEGER NOT NULL, category TEXT NOT NULL, record BLOB NOT NULL);
		CREATE UNIQUE INDEX events_by_id ON events(account, event_id); DELETE FROM blocks; DELETE FROM ids; DELETE FROM seqs WHERE name LIKE 'indexed%'`); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if _, err := db.Exec(`INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Account, e.Region, e.ID, e.Time.Unix(), e.Category, e.Record); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	os.RemoveAll(filepath.Join(dir, "log"))

	s, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ReadLog(ctx, 0, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadLog after migration: %d, %v", len(got), err)
	}
	for i, e := range got {
		if e.Seq != evs[i].Seq || e.ID != evs[i].ID || string(e.Record) != string(evs[i].Record) {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Attr: event.AttrEventID, Value: evs[1].ID, Start: storetest.Base, End: storetest.Base, Limit: 5})
	if err != nil || len(p.Events) != 1 || p.Events[0].ID != evs[1].ID {
		t.Fatalf("lookup by eventID after migration: %+v, %v", p, err)
	}
	if res, err := s.Append(ctx, []*event.Event{evs[0]}); err != nil || !res[0].Duplicate {
		t.Fatalf("a migrated event appended again: %+v, %v", res, err)
	}
}
