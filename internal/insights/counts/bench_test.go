package counts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
)

// BenchmarkCount is the engine's extra cost per counted event: noting it
// (1,000 distinct APIs).
func BenchmarkCount(b *testing.B) {
	c := New(nil, func() time.Time { return t0 }, nil)
	keys := make([]insights.Key, 1000)
	for i := range keys {
		keys[i] = insights.Key{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com",
			EventName: fmt.Sprintf("Op%d", i), InsightType: insights.TypeCallRate}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if c.Full() {
			c.Reset()
		}
		c.Count(int64(i), keys[i%len(keys)], mA, "")
	}
}

// BenchmarkFlushMinute is writing one minute of counts of 1,000 APIs into
// SQLite (one document each): what a checkpoint costs a busy account.
func BenchmarkFlushMinute(b *testing.B) {
	st, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c := New(st, func() time.Time { return t0 }, nil)
	seq := int64(0)
	b.ResetTimer()
	for i := range b.N {
		at := mA.Add(time.Duration(i) * time.Minute)
		for k := range 1000 {
			seq++
			c.Count(seq, insights.Key{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com",
				EventName: fmt.Sprintf("Op%d", k), InsightType: insights.TypeCallRate}, at, "")
		}
		if err := c.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/minute")
}
