package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// spreadDays is how many days testSpread's events cover: more than
// store.SpanDays, so that a key's sparse days need more than one span row.
const spreadDays = 45

// spreadEvent is one event of testSpread with what lookups find it by.
type spreadEvent struct {
	e    *event.Event
	name string
	user string
}

// spreadEvents builds events over spreadDays days before Base: a busy
// event name with dozens of events on some days (a day's row of its own)
// and a few on others, rare event names, and a user of its own for each
// event (one posting a key), the way a backfill of an archive looks.
func spreadEvents(t *testing.T, acct string) []spreadEvent {
	var out []spreadEvent
	first := Base.Add(-spreadDays * 24 * time.Hour)
	for i := 0; i < 600; i++ {
		var at time.Time
		name := "GetObject"
		switch {
		case i < 300: // busy days: 3, 17 and 40
			day := []int{3, 17, 40}[i%3]
			at = first.Add(time.Duration(day)*24*time.Hour + time.Duration(i*97%86400)*time.Second)
		default: // every day, a few events of several names
			at = first.Add(time.Duration(i*i*7919%(spreadDays*86400)) * time.Second)
			name = []string{"GetObject", "PutObject", "DeleteObject", "ListBuckets"}[i%4]
		}
		user := fmt.Sprintf("user-%d", i)
		e := Rec(t, acct, "us-east-1", name, at, map[string]any{
			"eventID": fmt.Sprintf("ssssssss-0000-0000-0000-%012d", i),
			"userIdentity": map[string]any{"type": "IAMUser", "userName": user,
				"accessKeyId": "AKIASPREAD"},
		})
		out = append(out, spreadEvent{e: e, name: name, user: user})
	}
	return out
}

// pageAll lists every event of qq, page by page (small pages, to cross
// index rows), and returns their eventIDs in the order listed.
func pageAll(t *testing.T, s store.Store, qq store.Query) []string {
	t.Helper()
	qq.Limit = 7
	var ids []string
	for range 1000 {
		p := lookup(t, s, qq)
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
		if p.Next == nil {
			return ids
		}
		qq.After = p.Next
	}
	t.Fatalf("more than 1000 pages")
	return nil
}

// wantSpread is the eventIDs of evs that match, newest first (by time,
// then by the order appended).
func wantSpread(evs []spreadEvent, seqs map[string]int64, start, end time.Time, match func(spreadEvent) bool) []string {
	var sel []spreadEvent
	for _, se := range evs {
		if !se.e.Time.Before(start) && !se.e.Time.After(end) && match(se) {
			sel = append(sel, se)
		}
	}
	slices.SortFunc(sel, func(a, b spreadEvent) int {
		return cmp.Or(b.e.Time.Compare(a.e.Time), cmp.Compare(seqs[b.e.ID], seqs[a.e.ID]))
	})
	ids := make([]string, len(sel))
	for i, se := range sel {
		ids[i] = se.e.ID
	}
	return ids
}

// testSpread: events whose eventTime spreads over more days than a span
// row covers are each found by every attribute and by time ranges of
// every size, listed newest first and paged without a gap, counted
// exactly by the histogram, both while the store may hold them in memory
// and once indexed (a purge of nothing indexes the SQLite store's
// pending events), and a purge leaves exactly the events after its cut.
func testSpread(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	const acct = "111111111111"
	evs := spreadEvents(t, acct)
	all := make([]*event.Event, len(evs))
	for i, se := range evs {
		all[i] = se.e
	}
	seqs := map[string]int64{}
	for i, r := range append(mustAppend(t, s, all[:len(all)/2]...), mustAppend(t, s, all[len(all)/2:]...)...) {
		seqs[all[i].ID] = r.Seq
	}
	check := func(when string, since time.Time) {
		t.Helper()
		base := q(acct, "us-east-1")
		base.Start, base.End = Base.Add(-60*24*time.Hour), Base
		any := func(spreadEvent) bool { return true }
		if got, want := pageAll(t, s, base), wantSpread(evs, seqs, since, base.End, any); !slices.Equal(got, want) {
			t.Fatalf("%s: all events: %d listed, want %d\n got %v\nwant %v", when, len(got), len(want), got, want)
		}
		for _, name := range []string{"GetObject", "PutObject", "DeleteObject", "ListBuckets"} {
			qq := base
			qq.Attr, qq.Value = event.AttrEventName, name
			want := wantSpread(evs, seqs, since, base.End, func(se spreadEvent) bool { return se.name == name })
			if got := pageAll(t, s, qq); !slices.Equal(got, want) {
				t.Fatalf("%s: EventName=%s: %d listed, want %d", when, name, len(got), len(want))
			}
		}
		// Windows of an hour to ten days, anywhere in the spread.
		first := Base.Add(-spreadDays * 24 * time.Hour)
		for i := range 24 {
			start := first.Add(time.Duration(i*i*40009%(spreadDays*86400)) * time.Second)
			end := start.Add(time.Duration(1+i*i%240) * time.Hour)
			qq := base
			qq.Start, qq.End = start, end
			from := start
			if since.After(from) {
				from = since
			}
			if got, want := pageAll(t, s, qq), wantSpread(evs, seqs, from, end, any); !slices.Equal(got, want) {
				t.Fatalf("%s: window %v to %v: %d listed, want %d", when, start, end, len(got), len(want))
			}
			qq.Attr, qq.Value = event.AttrEventName, "GetObject"
			want := wantSpread(evs, seqs, from, end, func(se spreadEvent) bool { return se.name == "GetObject" })
			if got := pageAll(t, s, qq); !slices.Equal(got, want) {
				t.Fatalf("%s: GetObject in window %v to %v: %d listed, want %d", when, start, end, len(got), len(want))
			}
		}
		// Each event by its own user, over the whole range and its hour.
		for i, se := range evs {
			if i%5 != 0 {
				continue
			}
			qq := base
			qq.Attr, qq.Value = event.AttrUsername, se.user
			want := wantSpread(evs, seqs, since, base.End, func(o spreadEvent) bool { return o.user == se.user })
			if got := pageAll(t, s, qq); !slices.Equal(got, want) {
				t.Fatalf("%s: Username=%s: %v, want %v", when, se.user, got, want)
			}
			qq.Start, qq.End = se.e.Time.Add(-30*time.Minute), se.e.Time.Add(30*time.Minute)
			if got := pageAll(t, s, qq); !slices.Equal(got, want) {
				t.Fatalf("%s: Username=%s in its hour: %v, want %v", when, se.user, got, want)
			}
		}
		// The histogram, a bucket a day.
		hq := store.HistogramQuery{Account: acct, Region: "us-east-1", Category: event.CategoryManagement,
			Start: base.Start, End: base.End, Width: 24 * time.Hour}
		var kept []histEvent
		for _, se := range evs {
			if !se.e.Time.Before(since) {
				kept = append(kept, histEvent{e: se.e, name: se.name})
			}
		}
		sameBuckets(t, when+": histogram", histogram(t, s, hq), wantHistogram(kept, hq))
		hq.Attr, hq.Value = event.AttrEventName, "PutObject"
		sameBuckets(t, when+": histogram of PutObject", histogram(t, s, hq), wantHistogram(kept, hq))
	}
	check("just appended", time.Time{})
	// A purge of nothing: on SQLite it indexes every pending event first.
	if _, err := s.Purge(ctx, Base.Add(-400*24*time.Hour), store.ReadAll); err != nil {
		t.Fatal(err)
	}
	check("indexed", time.Time{})
	cut := Base.Add(-20*24*time.Hour - 7*time.Hour)
	if _, err := s.Purge(ctx, cut, store.ReadAll); err != nil {
		t.Fatal(err)
	}
	check("after a purge", cut)
}

// SpreadEvents are n events of account 111111111111 in us-east-1 over 40
// days before Base, each with a user of its own ("<tag>-user-<i>") and one
// of three event names, a quarter of them on one busy day: history as an
// import of an archive stores it. The upgrade tests of both backends
// store them with an earlier version's index layout.
func SpreadEvents(t testing.TB, tag string, n int) []*event.Event {
	var evs []*event.Event
	first := Base.Add(-40 * 24 * time.Hour)
	for i := range n {
		at := first.Add(time.Duration(i*i*7919%(40*86400)) * time.Second)
		if i%4 == 0 {
			at = first.Add(10*24*time.Hour + time.Duration(i)*time.Minute) // a busy day
		}
		evs = append(evs, Rec(t, "111111111111", "us-east-1", []string{"GetObject", "PutObject", "ListBuckets"}[i%3], at,
			map[string]any{"eventID": fmt.Sprintf("%s-%04d", tag, i),
				"userIdentity": map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("%s-user-%d", tag, i), "accessKeyId": "AKIAOLD"}}))
	}
	return evs
}

// CheckStored checks that s holds exactly evs (SpreadEvents) in their
// account and region: each found by its user over 50 days and within a
// minute of it, each listed once when paging through every event, and
// every one counted by the histogram.
func CheckStored(t *testing.T, s store.Store, when string, evs []*event.Event) {
	t.Helper()
	ctx := context.Background()
	for _, e := range evs {
		var user string
		for _, k := range e.Keys {
			if k.Attr == event.AttrUsername {
				user = k.Value
			}
		}
		for _, qq := range []store.Query{
			{Start: Base.Add(-50 * 24 * time.Hour), End: Base},
			{Start: e.Time.Add(-time.Minute), End: e.Time.Add(time.Minute)},
		} {
			qq.Account, qq.Region, qq.Category, qq.Limit = e.Account, e.Region, event.CategoryManagement, 5
			qq.Attr, qq.Value = event.AttrUsername, user
			p, err := s.Lookup(ctx, qq)
			if err != nil || len(p.Events) != 1 || p.Events[0].ID != e.ID {
				t.Fatalf("%s: %s by its user: %+v, %v", when, e.ID, p.Events, err)
			}
		}
	}
	all := q("111111111111", "us-east-1")
	all.Start, all.End = Base.Add(-50*24*time.Hour), Base
	seen := map[string]bool{}
	for _, id := range pageAll(t, s, all) {
		if seen[id] {
			t.Fatalf("%s: %s listed twice", when, id)
		}
		seen[id] = true
	}
	if len(seen) != len(evs) {
		t.Fatalf("%s: %d events listed, want %d", when, len(seen), len(evs))
	}
	var total int64
	for _, b := range histogram(t, s, store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: all.Start, End: all.End, Width: 24 * time.Hour}) {
		total += b.Count
	}
	if total != int64(len(evs)) {
		t.Fatalf("%s: the histogram counts %d events, want %d", when, total, len(evs))
	}
}
