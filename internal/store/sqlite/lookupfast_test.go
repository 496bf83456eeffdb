package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// lookupNames returns the eventNames of every event a listing of the
// account's events from start to end finds, page by page.
func lookupNames(t *testing.T, s *Store, q store.Query) []string {
	t.Helper()
	var names []string
	for {
		p, err := s.Lookup(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			v := event.ReadView(e.Record)
			names = append(names, v.Summary.EventName)
		}
		if p.Next == nil {
			return names
		}
		q.After = p.Next
	}
}

// TestLookupAsksOnlyForEventDays: lookups ask SQLite only for the days the
// store's events fall on (and, once a page is found, none older than it);
// events on days outside what was stored before — older than any, dated in
// the future — are found while pending, once indexed, and after a reopen,
// in dense rows (many events a day) and span rows (few).
func TestLookupAsksOnlyForEventDays(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	acct, region := "111111111111", "us-east-1"
	now := time.Now().UTC().Truncate(time.Second)
	var evs []*event.Event
	var want []string
	for i := range 12 { // a dense row: 12 events on one day
		name := "Dense" + string(rune('A'+i))
		evs = append(evs, storetest.Rec(t, acct, region, name, now.Add(-72*time.Hour-time.Duration(i)*time.Second), nil))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	late := []*event.Event{
		storetest.Rec(t, acct, region, "Old", now.Add(-60*24*time.Hour), nil),
		storetest.Rec(t, acct, region, "Future", now.Add(50*time.Hour), nil),
	}
	if _, err := s.Append(ctx, late); err != nil {
		t.Fatal(err)
	}
	want = append(want, "Future")
	for i := range 12 {
		want = append(want, "Dense"+string(rune('A'+i)))
	}
	want = append(want, "Old")
	q := store.Query{Account: acct, Region: region, Category: event.CategoryManagement,
		Start: now.Add(-90 * 24 * time.Hour), End: now.Add(90 * time.Hour), Limit: 5}
	check := func(stage string, s *Store) {
		t.Helper()
		if got := lookupNames(t, s, q); !slices.Equal(got, want) {
			t.Errorf("%s: listing %v, want %v", stage, got, want)
		}
		byName := q
		byName.Attr, byName.Value = event.AttrEventName, "Old"
		if got := lookupNames(t, s, byName); !slices.Equal(got, []string{"Old"}) {
			t.Errorf("%s: EventName Old finds %v", stage, got)
		}
		var days []store.Bucket
		if days, err = s.Histogram(ctx, store.HistogramQuery{Account: acct, Region: region, Category: event.CategoryManagement,
			Start: q.Start, End: q.End, Width: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for _, b := range days {
			total += b.Count
		}
		if total != int64(len(want)) {
			t.Errorf("%s: the histogram counts %d events, want %d", stage, total, len(want))
		}
	}
	check("pending", s)
	s.flushIndex()
	check("indexed", s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("reopened", s)
}
