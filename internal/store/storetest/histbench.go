package storetest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// LoadBenchHistory appends, unless s holds them already, CAIRN_BENCH_EVENTS
// events (default 1,000,000) of account 111111111111 in us-east-1 spread
// evenly over the 30 days before Base: 40 event names, half read-only, one
// in 20 failed. It returns where they begin and how many there are.
func LoadBenchHistory(b *testing.B, s store.Store) (start time.Time, n int) {
	n = 1_000_000
	if v := os.Getenv("CAIRN_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	span := 30 * 24 * time.Hour
	start = Base.Add(-span)
	step := span / time.Duration(n)
	templates := make([]*event.Event, 200)
	for i := range templates {
		extra := map[string]any{"readOnly": i%2 == 0}
		if i%20 == 0 {
			extra["errorCode"] = "AccessDenied"
		}
		templates[i] = Rec(b, "111111111111", "us-east-1", fmt.Sprintf("Op%d", i%40), start, extra)
	}
	if st, _ := s.Stats(ctx); st.LastSeq < int64(n) {
		const batch = 5000
		for i := int(st.LastSeq); i < n; i += batch {
			evs := make([]*event.Event, 0, batch)
			for j := i; j < i+batch && j < n; j++ {
				c := *templates[j%len(templates)]
				c.ID = fmt.Sprintf("h-%d", j)
				c.Time = start.Add(time.Duration(j) * step).Truncate(time.Second)
				evs = append(evs, &c)
			}
			if _, err := s.Append(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
	}
	return start, n
}

// BenchHistogram measures the console chart's histograms over a history of
// CAIRN_BENCH_EVENTS events (default 1,000,000) of one account and region
// spread evenly over 30 days, one in 20 failed: the whole range hourly with
// and without the errors, one event name's, and the last day's.
func BenchHistogram(b *testing.B, s store.Store) {
	ctx := context.Background()
	start, n := LoadBenchHistory(b, s)
	q := store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: start, End: Base, Width: time.Hour}
	run := func(name string, q store.HistogramQuery, want int64) {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				bs, err := s.Histogram(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				var total int64
				for _, bk := range bs {
					total += bk.Count
				}
				if want > 0 && total != want {
					b.Fatalf("counted %d events, want %d", total, want)
				}
			}
		})
	}
	run("30d-hourly", q, int64(n))
	withErrors := q
	withErrors.Errors = true
	run("30d-hourly-errors", withErrors, int64(n))
	name := q
	name.Attr, name.Value = event.AttrEventName, "Op7"
	run("30d-hourly-one-name", name, int64(n/40))
	day := q
	day.Start, day.Width = Base.Add(-24*time.Hour), 10*time.Minute
	run("24h-10min", day, 0)
	hide := withErrors
	hide.HideReadOnly = true
	run("30d-hourly-errors-hide-read-only", hide, int64(n/2))
}
