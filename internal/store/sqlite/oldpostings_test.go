package sqlite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// oldPostingsDir holds a data directory (events.db and log/) written by the
// code before span rows (commit 8ffe628): events spread over 40 days,
// indexed as a posting row per day and key. TestGenerateOldPostings wrote
// it, run on that code with CAIRN_WRITE_OLD_POSTINGS set to the directory.
const oldPostingsDir = "testdata/oldpostings"

// TestGenerateOldPostings writes the fixture's events into a new store and
// reads them back. With CAIRN_WRITE_OLD_POSTINGS set to a directory, it
// writes them there and stops: run so on the code before span rows, it
// made testdata/oldpostings.
func TestGenerateOldPostings(t *testing.T) {
	ctx := context.Background()
	dir := os.Getenv("CAIRN_WRITE_OLD_POSTINGS")
	out := dir != ""
	if !out {
		dir = t.TempDir()
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.SpreadEvents(t, "old", 160)
	for _, part := range [][]*event.Event{evs[:80], evs[80:]} {
		if _, err := s.Append(ctx, part); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out {
		return
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Limit: 1000})
	if err != nil || len(p.Events) != len(evs) {
		t.Fatalf("reopened: %d events, %v; want %d", len(p.Events), err, len(evs))
	}
}

// TestBackfillRowsPerKey: a commit of events spread over 60 days, all
// under the same few lookup keys, writes a handful of index rows per key
// (span rows of at most store.SpanDays days), not a row per day and key
// as the code before span rows did (9 keys × 60 days).
func TestBackfillRowsPerKey(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []*event.Event
	first := storetest.Base.Add(-60 * 24 * time.Hour)
	for i := range 60 {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", "GetObject", first.Add(time.Duration(i)*24*time.Hour),
			map[string]any{"eventID": fmt.Sprintf("backfill-%d", i)}))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	keys := len(store.EventKeys(evs[0]))
	rows := 0
	for _, table := range []string{"postings", "span_rows"} {
		var n int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Logf("%s: %v", table, err)
		}
		rows += n
	}
	if max := keys * (60/store.SpanDays + 1); rows > max {
		t.Fatalf("%d index rows for %d keys over 60 days, want at most %d", rows, keys, max)
	}
	p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Attr: event.AttrEventName, Value: "GetObject", Start: first, End: storetest.Base, Limit: 100})
	if err != nil || len(p.Events) != len(evs) {
		t.Fatalf("lookup: %d events, %v", len(p.Events), err)
	}
}

// TestOpensOldPostings opens a store whose index the code before span rows
// wrote (a row per day and key, no spans table): every event is found by
// its attributes and time, the histogram counts them, and events appended
// by this code (span rows) are found beside them.
func TestOpensOldPostings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	copyDir(t, oldPostingsDir, dir) // with log/
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM postings`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("the fixture's posting rows: %d, %v", n, err)
	}
	old := storetest.SpreadEvents(t, "old", 160)
	storetest.CheckStored(t, s, "old store", old)
	more := storetest.SpreadEvents(t, "new", 120)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	if err := s.w.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM span_rows) + (SELECT count(*) FROM span_stage)`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("span rows after appending: %d, %v", n, err)
	}
	storetest.CheckStored(t, s, "old and new rows", append(old, more...))
}
