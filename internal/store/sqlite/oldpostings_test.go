package sqlite

import (
	"context"
	"fmt"
	"os"
	"slices"
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

// spreadFixture is the fixture's events: two commits of events over 40 days
// before storetest.Base, each with a user of its own and one of three
// event names.
func spreadFixture(t testing.TB, tag string, n int) []*event.Event {
	var evs []*event.Event
	first := storetest.Base.Add(-40 * 24 * time.Hour)
	for i := range n {
		at := first.Add(time.Duration(i*i*7919%(40*86400)) * time.Second)
		if i%4 == 0 {
			at = first.Add(10*24*time.Hour + time.Duration(i)*time.Minute) // a busy day
		}
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", []string{"GetObject", "PutObject", "ListBuckets"}[i%3], at,
			map[string]any{"eventID": fmt.Sprintf("%s-%04d", tag, i),
				"userIdentity": map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("%s-user-%d", tag, i), "accessKeyId": "AKIAOLD"}}))
	}
	return evs
}

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
	evs := spreadFixture(t, "old", 160)
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
	for _, table := range []string{"postings", "spans"} {
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
	old := spreadFixture(t, "old", 160)
	check := func(when string, evs []*event.Event) {
		t.Helper()
		for _, e := range evs {
			var user string
			for _, k := range e.Keys {
				if k.Attr == event.AttrUsername {
					user = k.Value
				}
			}
			for _, qq := range []store.Query{
				{Attr: event.AttrUsername, Value: user, Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base},
				{Attr: event.AttrUsername, Value: user, Start: e.Time.Add(-time.Minute), End: e.Time.Add(time.Minute)},
				{Attr: event.AttrEventID, Value: e.ID, Start: e.Time, End: e.Time},
			} {
				qq.Account, qq.Region, qq.Category, qq.Limit = e.Account, e.Region, event.CategoryManagement, 5
				p, err := s.Lookup(ctx, qq)
				if err != nil || len(p.Events) != 1 || p.Events[0].ID != e.ID {
					t.Fatalf("%s: %s by %s=%s: %+v, %v", when, e.ID, qq.Attr, qq.Value, p.Events, err)
				}
			}
		}
		// Every event listed once, newest first, page by page.
		qq := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Limit: 9}
		var got []string
		for {
			p, err := s.Lookup(ctx, qq)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				got = append(got, e.ID)
			}
			if p.Next == nil {
				break
			}
			qq.After = p.Next
		}
		var want []*event.Event
		want = append(want, old...)
		if len(evs) > len(old) {
			want = evs
		}
		slices.SortStableFunc(want, func(a, b *event.Event) int { return b.Time.Compare(a.Time) })
		if len(got) != len(want) {
			t.Fatalf("%s: %d events listed, want %d", when, len(got), len(want))
		}
		seen := map[string]bool{}
		for _, id := range got {
			seen[id] = true
		}
		for _, e := range want {
			if !seen[e.ID] {
				t.Fatalf("%s: %s not listed", when, e.ID)
			}
		}
		b, err := s.Histogram(ctx, store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Width: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, x := range b {
			total += x.Count
		}
		if total != int64(len(want)) {
			t.Fatalf("%s: the histogram counts %d events, want %d", when, total, len(want))
		}
	}
	check("old store", old)
	more := spreadFixture(t, "new", 120)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM spans`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("span rows after appending: %d, %v", n, err)
	}
	check("old and new rows", append(slices.Clone(old), more...))
}
