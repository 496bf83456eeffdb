package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// histEvent is one appended event with what the histogram test counts by.
type histEvent struct {
	e      *event.Event
	name   string
	failed bool
}

// histEvents builds events of one account and region over four days around
// Base, some failed, and look-alikes of other accounts, regions and data
// events, which no histogram of the account may count.
func histEvents(t *testing.T, acct string) []histEvent {
	var out []histEvent
	add := func(account, region, name string, at time.Time, failed bool, extra map[string]any) {
		if extra == nil {
			extra = map[string]any{}
		}
		extra["eventID"] = fmt.Sprintf("hhhhhhhh-0000-0000-0000-%012d", len(out))
		if failed {
			extra["errorCode"] = "AccessDenied"
			extra["errorMessage"] = "no"
		}
		e := Rec(t, account, region, name, at, extra)
		if account == acct && region == "us-east-1" {
			out = append(out, histEvent{e: e, name: name, failed: failed})
		} else {
			out = append(out, histEvent{e: e, name: "-"}) // never counted
		}
	}
	first := Base.Add(-48 * time.Hour)
	for i := 0; i < 400; i++ {
		// Spread over 4 days at uneven steps, with repeats of one second.
		at := first.Add(time.Duration(i*i%345600) * time.Second)
		name := []string{"GetObject", "PutObject", "DeleteObject"}[i%3]
		add(acct, "us-east-1", name, at, i%7 == 0, nil)
		if i%10 == 0 {
			add("999999999999", "us-east-1", name, at, true, nil)
			add(acct, "eu-west-1", name, at, true, nil)
		}
	}
	// An errorCode named inside the parameters is not a failed call.
	add(acct, "us-east-1", "PutObject", Base, false, map[string]any{
		"requestParameters": map[string]any{"errorCode": "NotReally"}})
	// A data event is not in event history.
	add(acct, "us-east-1", "GetObject", Base, true, map[string]any{
		"managementEvent": false, "eventCategory": "Data", "readOnly": true})
	return out
}

// wantHistogram counts evs independently of the store.
func wantHistogram(evs []histEvent, q store.HistogramQuery) []store.Bucket {
	start, end := q.Start.Unix(), q.End.Unix()
	if q.Start.Nanosecond() != 0 {
		start++
	}
	w := int64(q.Width / time.Second)
	n := (end - start + w) / w
	out := make([]store.Bucket, n)
	for i := range out {
		out[i].Start = time.Unix(start+int64(i)*w, 0).UTC()
	}
	for _, he := range evs {
		e := he.e
		if he.name == "-" || !e.InEventHistory() || e.Category != q.Category {
			continue
		}
		if q.Attr == event.AttrEventName && he.name != q.Value {
			continue
		}
		if q.Attr == event.AttrEventID && e.ID != q.Value {
			continue
		}
		t := e.Time.Unix()
		if t < start || t > end {
			continue
		}
		b := &out[(t-start)/w]
		b.Count++
		if he.failed && q.Errors {
			b.Errors++
		}
	}
	return out
}

func histogram(t *testing.T, s store.Store, q store.HistogramQuery) []store.Bucket {
	t.Helper()
	got, err := s.Histogram(context.Background(), q)
	if err != nil {
		t.Fatalf("histogram %+v: %v", q, err)
	}
	return got
}

func sameBuckets(t *testing.T, what string, got, want []store.Bucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Count != want[i].Count || got[i].Errors != want[i].Errors {
			t.Errorf("%s: bucket %d: got %v %d/%d, want %v %d/%d", what, i, got[i].Start, got[i].Count, got[i].Errors,
				want[i].Start, want[i].Count, want[i].Errors)
		}
	}
}

func testHistogram(t *testing.T, s store.Store) {
	defer s.Close()
	acct := "111111111111"
	evs := histEvents(t, acct)
	all := make([]*event.Event, len(evs))
	for i, he := range evs {
		all[i] = he.e
	}
	appendHalves(t, s, all)
	total := int64(0)
	for _, b := range wantHistogram(evs, store.HistogramQuery{Category: event.CategoryManagement,
		Start: Base.Add(-72 * time.Hour), End: Base.Add(72 * time.Hour), Width: time.Hour}) {
		total += b.Count
	}
	if total < 400 {
		t.Fatalf("the test counts %d events of the account, want at least 400", total)
	}
	base := store.HistogramQuery{Account: acct, Region: "us-east-1", Category: event.CategoryManagement, Errors: true}
	cases := []struct {
		name string
		mod  func(q *store.HistogramQuery)
	}{
		{"all four days hourly", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-72*time.Hour), Base.Add(72*time.Hour), time.Hour
		}},
		// Edges inside days and inside buckets; events before and after.
		{"unaligned range", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-30*time.Hour+17*time.Second), Base.Add(20*time.Hour+3*time.Second), 7*time.Minute
		}},
		{"start inside a second", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-time.Hour+time.Millisecond), Base.Add(time.Hour), time.Minute
		}},
		{"one second", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base, Base, time.Second
		}},
		{"by event name", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-40*time.Hour), Base.Add(40*time.Hour), 90*time.Minute
			q.Attr, q.Value = event.AttrEventName, "PutObject"
		}},
		{"by event ID", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-72*time.Hour), Base.Add(72*time.Hour), 24*time.Hour
			q.Attr, q.Value = event.AttrEventID, evs[7].e.ID
		}},
		{"without errors", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-72*time.Hour), Base.Add(72*time.Hour), 6*time.Hour
			q.Errors = false
		}},
		{"no such account", func(q *store.HistogramQuery) {
			q.Start, q.End, q.Width = Base.Add(-72*time.Hour), Base.Add(72*time.Hour), 6*time.Hour
			q.Account = "222222222222"
		}},
	}
	for _, c := range cases {
		q := base
		c.mod(&q)
		want := wantHistogram(evs, q)
		if q.Account != acct {
			for i := range want {
				want[i].Count, want[i].Errors = 0, 0
			}
		}
		sameBuckets(t, c.name, histogram(t, s, q), want)
	}
	// Events stored before failures were indexed (numbered below the mark)
	// are counted from their records: the same counts, whatever the mark.
	ctx := context.Background()
	doc, err := s.GetState(ctx, store.ErrorKeysState)
	if err != nil {
		t.Fatalf("the error keys mark: %v", err)
	}
	if string(doc.Doc) != "1" {
		t.Errorf("a new store's error keys mark is %q, want 1", doc.Doc)
	}
	q := base
	cases[0].mod(&q)
	q.Attr, q.Value = event.AttrEventName, "GetObject"
	want := wantHistogram(evs, q)
	for _, mark := range []string{fmt.Sprint(len(all) / 3), fmt.Sprint(len(all) + 1)} {
		if doc.Version, err = s.PutState(ctx, store.ErrorKeysState, []byte(mark), doc.Version); err != nil {
			t.Fatal(err)
		}
		sameBuckets(t, "mark "+mark, histogram(t, s, q), want)
	}
	if err := s.DeleteState(ctx, store.ErrorKeysState); err != nil {
		t.Fatal(err)
	}
	sameBuckets(t, "no mark", histogram(t, s, q), want)
	for _, bad := range []store.HistogramQuery{
		{Start: Base, End: Base.Add(time.Hour), Width: 0},
		{Start: Base, End: Base.Add(time.Hour), Width: 1500 * time.Millisecond},
		{Start: Base.Add(time.Hour), End: Base, Width: time.Second},
		{Start: Base.Add(-90 * 24 * time.Hour), End: Base, Width: time.Minute},
	} {
		if _, err := s.Histogram(context.Background(), bad); !errors.Is(err, store.ErrHistogram) {
			t.Errorf("histogram %+v: err %v, want ErrHistogram", bad, err)
		}
	}
}

// testHistogramAfterPurge: purged events are not counted, though their
// index rows may remain.
func testHistogramAfterPurge(t *testing.T, s store.Store) {
	defer s.Close()
	acct := "111111111111"
	var evs []histEvent
	for i := 0; i < 48; i++ {
		e := Rec(t, acct, "us-east-1", "GetObject", Base.Add(time.Duration(i)*30*time.Minute), map[string]any{
			"eventID": fmt.Sprintf("pppppppp-0000-0000-0000-%012d", i)})
		evs = append(evs, histEvent{e: e, name: "GetObject"})
		mustAppend(t, s, e)
	}
	cut := Base.Add(5 * time.Hour)
	if _, err := s.Purge(context.Background(), cut, store.ReadAll); err != nil {
		t.Fatal(err)
	}
	var kept []histEvent
	for _, he := range evs {
		if !he.e.Time.Before(cut) {
			kept = append(kept, he)
		}
	}
	q := store.HistogramQuery{Account: acct, Region: "us-east-1", Category: event.CategoryManagement,
		Start: Base.Add(-time.Hour), End: Base.Add(30 * time.Hour), Width: time.Hour, Errors: true}
	sameBuckets(t, "after purge", histogram(t, s, q), wantHistogram(kept, q))
	q.Errors = false
	sameBuckets(t, "after purge, no errors", histogram(t, s, q), wantHistogram(kept, q))
}

// appendHalves appends evs in two calls: on SQLite the second may still be
// pending in memory when a query runs.
func appendHalves(t *testing.T, s store.Store, evs []*event.Event) {
	t.Helper()
	mustAppend(t, s, evs[:len(evs)/2]...)
	mustAppend(t, s, evs[len(evs)/2:]...)
}
