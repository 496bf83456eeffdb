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
	moveAllStaged(t, s)
	// Format 1's layout.
	for _, q := range []string{`DROP INDEX spans`, `ALTER TABLE span_rows RENAME TO spans`, `DROP TABLE packs`,
		`DROP TABLE postings_stage`, `DROP TABLE span_stage`,
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
// creates a table named spans) fails on a store of format 2 or later instead of
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
		t.Fatalf("format 1's schema on a format 3 store: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE seqs SET last = 4 WHERE name = 'index_format'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("a store of index format 4 opened")
	}
	if !strings.Contains(err.Error(), "index format 4") {
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

// TestPacksListLikeRows appends the same history, in the same appends, to
// a store that packs one-off keys and one that does not (every key in
// dense and span rows, as before packs), and checks that every lookup
// attribute value, over several time ranges and page by page, lists the
// same events in the same order, that histograms count the same, and
// again after both restart.
func TestPacksListLikeRows(t *testing.T) {
	ctx := context.Background()
	dirs := []string{t.TempDir(), t.TempDir()}
	var stores [2]*Store
	for i, most := range []int{packMax, 0} {
		s, err := open(dirs[i], most, Options{})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	defer func() {
		for _, s := range stores {
			s.Close()
		}
	}()
	first := storetest.Base.Add(-45 * 24 * time.Hour)
	type value struct {
		attr event.Attribute
		v    string
	}
	var values []value
	seen := map[value]bool{}
	add := func(a event.Attribute, v string) {
		if !seen[value{a, v}] {
			seen[value{a, v}] = true
			values = append(values, value{a, v})
		}
	}
	n := 0
	for part, size := range []int{700, 40, 1, 900, 3, 250} {
		var evs []*event.Event
		for range size {
			i := n
			n++
			at := first.Add(time.Duration(i*i*7919%(45*86400)) * time.Second)
			if i%5 == 0 {
				at = first.Add(20*24*time.Hour + time.Duration(i%300)*time.Second) // a busy day, same seconds too
			}
			name := fmt.Sprintf("Op%d", i%7)
			user := fmt.Sprintf("u-%d", i%(1+i%5*40)) // pools of 1 to 161 users, and some of one event
			if i%3 == 0 {
				user = fmt.Sprintf("solo-%d", i)
			}
			key := fmt.Sprintf("AKIA%016d", i%(2+part*50))
			bucket := fmt.Sprintf("bucket-%d", i)
			add(event.AttrEventName, name)
			add(event.AttrUsername, user)
			add(event.AttrAccessKeyID, key)
			add(event.AttrResourceName, bucket)
			add(event.AttrResourceName, "arn:aws:s3:::"+bucket)
			evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, at, map[string]any{
				"eventID":  fmt.Sprintf("diff-%05d", i),
				"readOnly": i%4 == 0,
				"userIdentity": map[string]any{"type": "IAMUser", "userName": user, "accessKeyId": key,
					"sessionContext": map[string]any{"sessionIssuer": map[string]any{"userName": user}}},
				"resources": []map[string]any{{"ARN": "arn:aws:s3:::" + bucket, "type": "AWS::S3::Bucket"}},
			}))
		}
		for _, s := range stores {
			if _, err := s.Append(ctx, evs); err != nil {
				t.Fatal(err)
			}
			s.flushIndex()
		}
	}
	add(event.AttrReadOnly, "true")
	add(event.AttrReadOnly, "false")
	add("", "")
	if rows := indexRows(t, stores[0]); rows["packs"] == 0 {
		t.Fatalf("the packing store has no pack rows: %v", rows)
	} else if ref := indexRows(t, stores[1]); ref["packs"] != 0 {
		t.Fatalf("the reference store has pack rows: %v", ref)
	}
	ranges := [][2]time.Time{
		{first.Add(-time.Hour), storetest.Base},
		{first.Add(20 * 24 * time.Hour), first.Add(20*24*time.Hour + 100*time.Second)},
		{first.Add(3 * 24 * time.Hour), first.Add(9*24*time.Hour + 7*time.Hour)},
		{first.Add(40 * 24 * time.Hour), storetest.Base},
	}
	list := func(s *Store, v value, r [2]time.Time, hide bool) []string {
		var ids []string
		qq := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Attr: v.attr, Value: v.v, Start: r[0], End: r[1], Limit: 9, HideReadOnly: hide}
		for range 10_000 {
			p, err := s.Lookup(ctx, qq)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				ids = append(ids, e.ID)
			}
			if p.Next == nil {
				return ids
			}
			qq.After = p.Next
		}
		t.Fatal("paging does not end")
		return nil
	}
	compare := func(when string) {
		t.Helper()
		checked := 0
		for i, v := range values {
			// Every attribute value over the whole range; a sample of them
			// over the others (the test's time).
			for j, r := range ranges {
				if j > 0 && i%5 != 0 {
					continue
				}
				hide := (i+j)%3 == 0
				got, want := list(stores[0], v, r, hide), list(stores[1], v, r, hide)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: %s=%q over %v (hide read-only %v): packed lists %v, rows list %v", when, v.attr, v.v, r, hide, got, want)
				}
				checked += len(want)
				if j == 0 && i%11 == 0 {
					hq := store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
						Attr: v.attr, Value: v.v, Start: r[0], End: r[1], Width: 24 * time.Hour, HideReadOnly: hide}
					hg, err := stores[0].Histogram(ctx, hq)
					if err != nil {
						t.Fatal(err)
					}
					hw, err := stores[1].Histogram(ctx, hq)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(hg) != fmt.Sprint(hw) {
						t.Fatalf("%s: histogram of %s=%q: packed %v, rows %v", when, v.attr, v.v, hg, hw)
					}
				}
			}
		}
		if checked < n {
			t.Fatalf("%s: only %d events listed", when, checked)
		}
	}
	compare("indexed")
	for i := range stores {
		stores[i].Close()
		s, err := open(dirs[i], []int{packMax, 0}[i], Options{})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	compare("after a restart")
}
