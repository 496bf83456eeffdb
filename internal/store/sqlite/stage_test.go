package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// moveAllStaged moves the staged index rows into the key tables, as the
// indexer does once there are stageMax of them.
func moveAllStaged(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := moveStaged(func(q string, args []any) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// tableRows counts the rows of each table.
func tableRows(t *testing.T, s *Store, tables ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := s.w.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestStagedRowsMove: index rows go to the staging tables, move to the key
// tables once there are more than stageMax, and every event is found by
// its attributes and time wherever its rows are; after a restart, the
// staged rows are still read, and retention deletes staged rows too.
func TestStagedRowsMove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.stageMax = 60
	var all []*event.Event
	moved := false
	for round := range 8 {
		evs := storetest.SpreadEvents(t, fmt.Sprintf("st%d", round), 60)
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		s.flushIndex()
		all = append(all, evs...)
		rows := tableRows(t, s, "postings", "span_rows", "postings_stage", "span_stage")
		if staged := rows["postings_stage"] + rows["span_stage"]; staged == 0 || staged > 60+200 {
			t.Fatalf("round %d: %d staged rows (%v)", round, staged, rows)
		}
		moved = moved || rows["postings"]+rows["span_rows"] > 0
		storetest.CheckStored(t, s, fmt.Sprintf("round %d", round), all)
	}
	if !moved {
		t.Fatal("no staged rows were moved to the key tables")
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckStored(t, s, "after a restart", all)
	// Retention: every event is older than the cut.
	if _, err := s.Purge(ctx, storetest.Base.Add(time.Hour), store.ReadAll); err != nil {
		t.Fatal(err)
	}
	rows := tableRows(t, s, "postings", "span_rows", "postings_stage", "span_stage")
	for _, n := range rows {
		if n != 0 {
			t.Fatalf("after retention: %v", rows)
		}
	}
}

// TestLookupsWhileStagedRowsMove: a lookup that runs while the indexer
// moves staged rows (as often as every transaction here) finds every
// event acknowledged before it began.
func TestLookupsWhileStagedRowsMove(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.stageMax = 10
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failure atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			want := acked.Load()
			p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
				Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Limit: 5000})
			if err != nil {
				failure.Store(err.Error())
				return
			}
			if int64(len(p.Events)) < want {
				failure.Store(fmt.Sprintf("a lookup found %d events, %d were acknowledged before it", len(p.Events), want))
				return
			}
		}
	}()
	for round := range 40 {
		evs := storetest.SpreadEvents(t, fmt.Sprintf("mv%d", round), 50)
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		acked.Add(int64(len(evs)))
		if round%3 == 0 {
			s.flushIndex()
		}
	}
	s.flushIndex()
	close(stop)
	wg.Wait()
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}
	if rows := tableRows(t, s, "postings", "span_rows"); rows["postings"]+rows["span_rows"] == 0 {
		t.Fatalf("no staged rows were moved: %v", rows)
	}
}

// TestUpgradesIndexFormat2: a store of index format 2 (no staging tables)
// opens as format 3, its events stay found, and events appended after go
// to the staging tables and are found too.
func TestUpgradesIndexFormat2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := storetest.SpreadEvents(t, "f2old", 150)
	if _, err := s.Append(ctx, old); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	moveAllStaged(t, s)
	for _, q := range []string{`DROP TABLE postings_stage`, `DROP TABLE span_stage`, `UPDATE seqs SET last = 2 WHERE name = 'index_format'`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := seqValue(ctx, s.w, "index_format"); err != nil || v != 3 {
		t.Fatalf("index format %d, %v; want 3", v, err)
	}
	more := storetest.SpreadEvents(t, "f2new", 150)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	if rows := tableRows(t, s, "postings_stage", "span_stage"); rows["postings_stage"]+rows["span_stage"] == 0 {
		t.Fatalf("nothing staged after the upgrade: %v", rows)
	}
	storetest.CheckStored(t, s, "old and new", append(old, more...))
}

// TestHistogramWhileStagedRowsMove: a histogram during which the staged
// rows move to the key tables (between its reads of the two) counts each
// event once.
func TestHistogramWhileStagedRowsMove(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs := storetest.SpreadEvents(t, "hm", 300)
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	if rows := tableRows(t, s, "postings_stage", "span_stage"); rows["postings_stage"]+rows["span_stage"] == 0 {
		t.Fatalf("nothing staged: %v", rows)
	}
	moved := false
	s.afterStagedRead = func() {
		if !moved {
			moved = true
			moveAllStaged(t, s)
		}
	}
	days, err := s.Histogram(ctx, store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Width: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Fatal("the staged rows were not moved during the histogram")
	}
	var total int64
	for _, d := range days {
		total += d.Count
	}
	if total != int64(len(evs)) {
		t.Fatalf("the histogram counts %d events, want %d", total, len(evs))
	}
}
