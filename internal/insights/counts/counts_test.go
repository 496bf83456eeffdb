package counts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
	"github.com/cairn-audit/cairn/internal/trail"
)

// t0 is the test's "now": minutes A and B are before it.
var (
	t0 = time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)
	mA = time.Date(2026, 3, 10, 11, 52, 10, 0, time.UTC)
	mB = time.Date(2026, 3, 10, 11, 57, 40, 0, time.UTC)
)

// failOnce fails the engine's next checkpoint write after the counts were
// written: what a crash between the two leaves.
type failOnce struct {
	*sqlite.Store
	fail bool
}

func (f *failOnce) PutState(ctx context.Context, key string, doc []byte, v int64) (int64, error) {
	if key == "insights/checkpoint" && f.fail {
		f.fail = false
		return 0, errors.New("injected crash before the checkpoint")
	}
	return f.Store.PutState(ctx, key, doc, v)
}

type trails []*trail.Trail

func (t trails) All(context.Context) ([]*trail.Trail, error) { return t, nil }

var n int

// add stores k records of ec2 eventName at t; extra are more members.
func add(t *testing.T, st *sqlite.Store, at time.Time, k int, name, extra string) {
	t.Helper()
	var evs []*event.Event
	for range k {
		n++
		rec := fmt.Sprintf(`{"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","eventID":"e-%d"%s}`,
			at.Format(event.TimeFormat), name, n, extra)
		ev, ferr := event.Decode([]byte(rec), event.Context{Account: "111111111111", Now: t0})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs = append(evs, ev)
	}
	if _, err := st.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// TestCountsAgreeWithEngineAcrossACrash: write calls count for the call
// rate, calls with an errorCode for the error rate by code, reads without
// one for neither; a crash after the counts were written and before the
// checkpoint makes the engine read the events again, and nothing is
// counted twice.
func TestCountsAgreeWithEngineAcrossACrash(t *testing.T) {
	ctx := context.Background()
	sq := sqlitetest.Open(t)
	st := &failOnce{Store: sq, fail: true}
	add(t, sq, mA, 3, "RunInstances", `,"readOnly":false`)
	add(t, sq, mA, 4, "RunInstances", `,"readOnly":true`) // not a write: not counted
	add(t, sq, mA, 2, "RunInstances", `,"readOnly":false,"errorCode":"AccessDenied"`)
	add(t, sq, mB, 1, "RunInstances", `,"readOnly":true,"errorCode":"Throttling"`)
	add(t, sq, mB, 5, "RunInstances", `,"readOnly":false`)
	ty := insights.TypeCallRate
	tr := &trail.Trail{Account: "111111111111", HomeRegion: "us-east-1", Name: "t", IsLogging: true,
		InsightSelectors: []trail.InsightSelector{{InsightType: &ty, EventCategories: []string{"Management"}}}}
	c := New(st, func() time.Time { return t0 }, nil)
	e := insights.NewEngine(st, trails{tr}, insights.Options{Window: 168 * time.Hour, Settle: time.Minute,
		Regions: []string{"us-east-1"}}, insights.WithClock(func() time.Time { return t0 }), insights.WithCounter(c))
	if err := e.RunOnce(ctx); err == nil {
		t.Fatal("the injected checkpoint failure did not happen")
	}
	for range 2 {
		if err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Another process's counts read the same documents.
	r := New(sq, func() time.Time { return t0 }, nil)
	call := Series{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com", EventName: "RunInstances",
		InsightType: insights.TypeCallRate}
	denied := call
	denied.InsightType, denied.ErrorCode = insights.TypeErrorRate, "AccessDenied"
	throttled := denied
	throttled.ErrorCode = "Throttling"
	from, to := t0.Add(-time.Hour).Truncate(time.Hour), t0.Add(time.Hour)
	for _, tc := range []struct {
		s      Series
		period int64
		want   map[int64]float64
	}{
		{call, 60, map[int64]float64{mA.Truncate(time.Minute).Unix(): 5, mB.Truncate(time.Minute).Unix(): 5}},
		{call, 300, map[int64]float64{mA.Truncate(5 * time.Minute).Unix(): 5, mB.Truncate(5 * time.Minute).Unix(): 5}},
		{call, 3600, map[int64]float64{mA.Truncate(time.Hour).Unix(): 10}},
		{denied, 60, map[int64]float64{mA.Truncate(time.Minute).Unix(): 2}},
		{throttled, 3600, map[int64]float64{mB.Truncate(time.Hour).Unix(): 1}},
	} {
		got, err := r.Read(ctx, tc.s, from, to, tc.period)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s %s at %d: %v, want %v", tc.s.InsightType, tc.s.ErrorCode, tc.period, got, tc.want)
		}
	}
}

// TestRetention: a day's minutes become 5-minute counts after 15 days and
// hours after 63, and go after 90; a late event of an old day lands at
// that day's resolution, and one older than 90 days is not kept.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	sq := sqlitetest.Open(t)
	now := t0
	c := New(sq, func() time.Time { return now }, nil)
	k := insights.Key{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com", EventName: "RunInstances",
		InsightType: insights.TypeCallRate}
	s := Series{Account: k.Account, Region: k.Region, EventSource: k.EventSource, EventName: k.EventName, InsightType: k.InsightType}
	day := func(d int) time.Time { return t0.Truncate(24*time.Hour).AddDate(0, 0, -d) }
	for i, d := range []int{1, 20, 70, 95} {
		at := day(d).Add(3*time.Hour + 7*time.Minute)
		c.Count(int64(2*i+1), k, at, "")
		c.Count(int64(2*i+2), k, at.Add(2*time.Minute), "")
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := func(d int, period int64) map[int64]float64 {
		m, err := c.Read(ctx, s, day(d), day(d).Add(24*time.Hour), period)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	h3 := func(d int, off time.Duration) int64 { return day(d).Add(3*time.Hour + off).Unix() }
	if m := got(1, 60); len(m) != 2 || m[h3(1, 7*time.Minute)] != 1 || m[h3(1, 9*time.Minute)] != 1 {
		t.Errorf("1 day ago at 60s: %v", m)
	}
	if m := got(20, 60); len(m) != 1 || m[h3(20, 5*time.Minute)] != 2 {
		t.Errorf("20 days ago (5-minute counts) read at 60s: %v", m)
	}
	if m := got(70, 300); len(m) != 1 || m[h3(70, 0)] != 2 {
		t.Errorf("70 days ago (hour counts) read at 300s: %v", m)
	}
	if m := got(95, 3600); len(m) != 0 {
		t.Errorf("95 days ago: %v, want nothing", m)
	}
	// A late event of day 20 (5-minute counts) and one of day 100.
	c.Count(100, k, day(20).Add(3*time.Hour+8*time.Minute), "")
	c.Count(101, k, day(100), "")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m := got(20, 300); len(m) != 1 || m[h3(20, 5*time.Minute)] != 3 {
		t.Errorf("day 20 after a late event: %v", m)
	}
	if m := got(100, 3600); len(m) != 0 {
		t.Errorf("100 days ago: %v, want nothing", m)
	}
	// A day later, day 1's neighbours are untouched and maintenance runs
	// again without harm.
	now = now.Add(24 * time.Hour)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m := got(1, 60); len(m) != 2 {
		t.Errorf("1 day ago after a day: %v", m)
	}
}

// TestErrorCodesPerAPICapped: a producer that invents a new error code for
// every error makes at most MaxErrorCodes series of an API a day; errors of
// codes already counted still count, other APIs keep their own codes, and
// the next day counts new codes again.
func TestErrorCodesPerAPICapped(t *testing.T) {
	ctx := context.Background()
	sq := sqlitetest.Open(t)
	now := t0
	c := New(sq, func() time.Time { return now }, nil)
	k := insights.Key{Account: "111111111111", Region: "us-east-1", EventSource: "ssm.amazonaws.com", EventName: "GetParameter",
		InsightType: insights.TypeErrorRate}
	other := k
	other.EventName = "PutParameter"
	at := t0.Add(-time.Hour)
	seq := int64(0)
	count := func(k insights.Key, code string) { seq++; c.Count(seq, k, at, code) }
	for i := range 3 * MaxErrorCodes {
		count(k, fmt.Sprintf("Invented%d", i))
	}
	count(k, "Invented0")
	count(other, "AccessDenied")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(k insights.Key, code string) float64 {
		s := Series{Account: k.Account, Region: k.Region, EventSource: k.EventSource, EventName: k.EventName, InsightType: k.InsightType, ErrorCode: code}
		m, err := c.Read(ctx, s, at.Truncate(time.Hour), at.Add(time.Hour), 3600)
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, v := range m {
			n += v
		}
		return n
	}
	if n := read(k, "Invented0"); n != 2 {
		t.Errorf("Invented0 counted %v times, want 2", n)
	}
	if n := read(k, fmt.Sprintf("Invented%d", MaxErrorCodes-1)); n != 1 {
		t.Errorf("the last code within the cap counted %v times, want 1", n)
	}
	if n := read(k, fmt.Sprintf("Invented%d", MaxErrorCodes)); n != 0 {
		t.Errorf("a code past the cap counted %v times, want 0", n)
	}
	if n := read(other, "AccessDenied"); n != 1 {
		t.Errorf("another API's code counted %v times, want 1", n)
	}
	now = now.Add(24 * time.Hour)
	count(k, fmt.Sprintf("Invented%d", MaxErrorCodes))
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := read(k, fmt.Sprintf("Invented%d", MaxErrorCodes)); n != 1 {
		t.Errorf("a new code on the next day counted %v times, want 1", n)
	}
}
