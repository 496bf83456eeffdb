package sqlite

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// indexRows counts the rows of the lookup index tables the store has
// (the tables of every layout so far, those that exist).
func indexRows(t *testing.T, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"postings", "spans", "span_rows", "packs"} {
		var n int
		err := s.w.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n)
		if err != nil && strings.Contains(err.Error(), "no such table") {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// userLookup finds the events of user from start to end.
func userLookup(t *testing.T, s *Store, user string, start, end time.Time) []*event.Event {
	t.Helper()
	p, err := s.Lookup(context.Background(), store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Attr: event.AttrUsername, Value: user, Start: start, End: end, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	return p.Events
}

// TestOneOffKeysShareRows appends, in one index transaction, 20,000
// events spread over 40 days each with a user of its own (as an import of
// a CloudTrail archive has access keys, sessions and objects): their
// one-off keys share pack rows, so the index holds far fewer rows than
// events (the code before packs wrote a span row for each user); every
// event is still found by its user, before and after a restart.
func TestOneOffKeysShareRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	evs := storetest.SpreadEvents(t, "oneoff", 20_000)
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	rows := indexRows(t, s)
	total := 0
	for _, n := range rows {
		total += n
	}
	if total > len(evs)/2 {
		t.Fatalf("index rows %v (%d) for %d events with a user each, want at most %d", rows, total, len(evs), len(evs)/2)
	}
	t.Logf("index rows: %v", rows)
	check := func(when string) {
		t.Helper()
		for i := 0; i < len(evs); i += 97 {
			e := evs[i]
			user := fmt.Sprintf("oneoff-user-%d", i)
			for _, r := range [][2]time.Time{{storetest.Base.Add(-50 * 24 * time.Hour), storetest.Base},
				{e.Time, e.Time}, {e.Time.Add(-time.Minute), e.Time.Add(time.Minute)}} {
				got := userLookup(t, s, user, r[0], r[1])
				if len(got) != 1 || got[0].ID != e.ID {
					t.Fatalf("%s: %s by its user over %v: %v", when, e.ID, r, got)
				}
			}
			// Outside its time: nothing.
			if got := userLookup(t, s, user, e.Time.Add(time.Second), e.Time.Add(time.Hour)); len(got) != 0 {
				t.Fatalf("%s: %s found after its time: %v", when, e.ID, got)
			}
		}
	}
	check("indexed")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	check("after a restart")
}

// TestPackedKeysEveryRead checks every read of SpreadEvents (lookups by
// user in two ranges, paging through all events, the histogram) with the
// users' postings in pack rows, and again after a restart.
func TestPackedKeysEveryRead(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.SpreadEvents(t, "pk", 300)
	// Two appends, one index transaction each: a user's rows in two
	// generations' worth of packs is no different.
	for _, part := range [][]*event.Event{evs[:150], evs[150:]} {
		if _, err := s.Append(context.Background(), part); err != nil {
			t.Fatal(err)
		}
		s.flushIndex()
	}
	if rows := indexRows(t, s); rows["packs"] == 0 {
		t.Fatalf("no pack rows: %v", rows)
	}
	storetest.CheckStored(t, s, "packed", evs)
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckStored(t, s, "packed, after a restart", evs)
}

// TestPurgeRemovesPackRows purges the first half of 40 days of one-off
// keys' events: the pack rows all of whose postings are older go, the
// events before the cut are no longer found and those after still are.
func TestPurgeRemovesPackRows(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs := storetest.SpreadEvents(t, "purge", 3000)
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	before := indexRows(t, s)["packs"]
	cut := storetest.Base.Add(-20 * 24 * time.Hour)
	if _, err := s.Purge(ctx, cut, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	var old, after int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM packs WHERE tmax < ?`, cut.Unix()).Scan(&old); err != nil {
		t.Fatal(err)
	}
	after = indexRows(t, s)["packs"]
	if old != 0 || after >= before || after == 0 {
		t.Fatalf("pack rows: %d before the purge, %d after, %d wholly before the cut", before, after, old)
	}
	for i := 0; i < len(evs); i += 7 {
		e := evs[i]
		got := userLookup(t, s, fmt.Sprintf("purge-user-%d", i), storetest.Base.Add(-50*24*time.Hour), storetest.Base)
		if want := !e.Time.Before(cut); (len(got) == 1) != want {
			t.Fatalf("%s at %v (cut %v): found %d", e.ID, e.Time, cut, len(got))
		}
	}
}

// TestUpgradesIndexFormat1 opens a store in index format 1 (span rows in
// a table named spans, no packs): its events stay found, the span rows
// move to span_rows, and events appended after are packed and found too.
func TestUpgradesIndexFormat1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Events of users with three events each: span rows, no packs.
	var old []*event.Event
	first := storetest.Base.Add(-40 * 24 * time.Hour)
	for i := range 120 {
		old = append(old, storetest.Rec(t, "111111111111", "us-east-1", "GetObject", first.Add(time.Duration(i)*7*time.Hour),
			map[string]any{"eventID": fmt.Sprintf("f1-%d", i), "userIdentity": map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("f1-user-%d", i/3)}}))
	}
	if _, err := s.Append(ctx, old); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	// Format 1's layout.
	for _, q := range []string{`DROP INDEX spans`, `ALTER TABLE span_rows RENAME TO spans`, `DROP TABLE packs`,
		`DELETE FROM seqs WHERE name = 'index_format'`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	spans := indexRows(t, s)["spans"]
	if spans == 0 {
		t.Fatal("no span rows in the format 1 store")
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rows := indexRows(t, s); rows["span_rows"] != spans || rows["spans"] != 0 {
		t.Fatalf("after the upgrade: %v, want %d span rows in span_rows", rows, spans)
	}
	if v, err := seqValue(ctx, s.w, "index_format"); err != nil || v != indexFormat {
		t.Fatalf("index format %d, %v", v, err)
	}
	more := storetest.SpreadEvents(t, "f2", 200)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	for i, e := range old {
		got := userLookup(t, s, fmt.Sprintf("f1-user-%d", i/3), first, storetest.Base)
		if len(got) != 3 {
			t.Fatalf("%s's user: %d events, want 3", e.ID, len(got))
		}
	}
	for i, e := range more {
		got := userLookup(t, s, fmt.Sprintf("f2-user-%d", i), first, storetest.Base)
		if len(got) != 1 || got[0].ID != e.ID {
			t.Fatalf("%s by its user: %v", e.ID, got)
		}
	}
	p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: first, End: storetest.Base, Limit: 1000})
	if err != nil || len(p.Events) != len(old)+len(more) {
		t.Fatalf("all events: %d, %v; want %d", len(p.Events), err, len(old)+len(more))
	}
}

// TestIndexFormatRefusals: a store of a later index format is refused
// with a message that says so, and the schema of a format 1 binary (which
// creates a table named spans) fails on a format 2 store instead of
// reading it without its pack rows.
func TestIndexFormatRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS spans (
	d    INTEGER NOT NULL,
	k    INTEGER NOT NULL,
	tmax INTEGER NOT NULL,
	seq0 INTEGER NOT NULL,
	tmin INTEGER NOT NULL,
	n    INTEGER NOT NULL,
	data BLOB    NOT NULL,
	PRIMARY KEY (d, k, tmax, seq0)
) WITHOUT ROWID`)
	if err == nil || !strings.Contains(err.Error(), "already an index named spans") {
		t.Fatalf("format 1's schema on a format 2 store: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE seqs SET last = 3 WHERE name = 'index_format'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("a store of index format 3 opened")
	}
	if !strings.Contains(err.Error(), "index format 3") {
		t.Fatalf("refusal: %v", err)
	}
}

// TestPackRowsRoundTrip: every entry of pack rows is found by its key and
// only by it, with its postings newest first.
func TestPackRowsRoundTrip(t *testing.T) {
	want := map[int64][]store.Posting{}
	var entries []packEntry
	for i := range 5000 {
		k := int64(uint64(i%3000+1) * 0x9E3779B97F4A7C15)
		p := store.Posting{Time: 1_700_000_000 + int64(i*7919%86400), Seq: int64(1<<20 - 2500 + i)}
		want[k] = append(want[k], p)
		entries = append(entries, packEntry{g: idGen(p.Seq), b: packBucket(k), k: k, p: p})
	}
	got := map[int64][]store.Posting{}
	for _, r := range makePackRows(entries) {
		for k := range want {
			if packBucket(k) != r.b {
				continue
			}
			ps, err := packPostings(r.data, r.seq0, r.tmax, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(ps); i++ {
				if ps[i].Time > ps[i-1].Time {
					t.Fatalf("key %d: postings not newest first: %v", k, ps)
				}
			}
			for _, p := range ps {
				if idGen(p.Seq) != r.g || p.Time < r.tmin || p.Time > r.tmax || p.Seq < r.seq0 {
					t.Fatalf("posting %v in row %+v", p, r)
				}
			}
			got[k] = append(got[k], ps...)
		}
	}
	for k, ps := range want {
		if len(got[k]) != len(ps) {
			t.Fatalf("key %d: %d postings, want %d", k, len(got[k]), len(ps))
		}
		seen := map[store.Posting]bool{}
		for _, p := range got[k] {
			seen[p] = true
		}
		for _, p := range ps {
			if !seen[p] {
				t.Fatalf("key %d: %v missing", k, p)
			}
		}
	}
}
