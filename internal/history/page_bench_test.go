package history

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// BenchmarkEventsPage measures what the console's event history costs the
// server per page view (Page: a page of 50 and the chart's counts, errors
// apart, read-only events hidden) over a million events of 30 days
// (CAIRN_BENCH_EVENTS; loaded into CAIRN_BENCH_DIR when set, kept between
// runs): the default 24 hours, 7 days, 30 days, and a user's 30 days.
func BenchmarkEventsPage(b *testing.B) {
	dir := os.Getenv("CAIRN_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	st, err := sqlite.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	storetest.LoadBenchHistory(b, st)
	s := New(st, 90)
	s.now = func() time.Time { return storetest.Base }
	ctx := context.Background()
	run := func(name string, span, bucket time.Duration, attrs []LookupAttribute, hide bool) {
		b.Run(name, func(b *testing.B) {
			end := storetest.Base
			in := PageInput{Input: Input{LookupAttributes: attrs, StartTime: &awsproto.Time{Time: end.Add(-span)},
				EndTime: &awsproto.Time{Time: end}, MaxResults: ptr(50)}, HideReadOnly: hide, BucketSeconds: int64(bucket / time.Second)}
			var out PageOutput
			for range b.N {
				if out, err = s.Page(ctx, "111111111111", "us-east-1", in); err != nil {
					b.Fatal(err)
				}
			}
			if len(out.Events) != 50 || (bucket > 0 && (out.Counts == nil || out.Counts.Total == 0)) {
				b.Fatalf("%d events, counts %+v", len(out.Events), out.Counts)
			}
			if out.Counts != nil {
				b.ReportMetric(float64(out.Counts.Total), "matching")
			}
		})
	}
	user := []LookupAttribute{{AttributeKey: ptr("EventName"), AttributeValue: ptr("Op7")}}
	run("24h-hide-read-only", 24*time.Hour, 30*time.Minute, nil, true)
	run("24h-all", 24*time.Hour, 30*time.Minute, nil, false)
	run("7d-hide-read-only", 7*24*time.Hour, 3*time.Hour, nil, true)
	run("30d-hide-read-only", 30*24*time.Hour, 12*time.Hour, nil, true)
	run("30d-one-name-hide-read-only", 30*24*time.Hour, 12*time.Hour, user, true)
	run("30d-all", 30*24*time.Hour, 12*time.Hour, nil, false)
	run("30d-table-only-hide-read-only", 30*24*time.Hour, 0, nil, true)
}
