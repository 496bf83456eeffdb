package storetest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// BenchAppend measures durable appends of 500-event batches from 4
// concurrent clients (the shape of the ingest API under load), the same
// for every backend.
func BenchAppend(b *testing.B, s store.Store) {
	const batch = 500
	var n atomic.Int64
	mk := func(i int64) []*event.Event {
		evs := make([]*event.Event, batch)
		for j := range evs {
			evs[j] = Rec(b, "111111111111", "us-east-1", fmt.Sprintf("Op%d", j%40),
				Base.Add(time.Duration(i*batch+int64(j))*time.Millisecond), map[string]any{
					"readOnly":  j%2 == 0,
					"resources": []map[string]any{{"ARN": fmt.Sprintf("arn:aws:s3:::bucket-%d", j%100), "type": "AWS::S3::Bucket"}},
				})
		}
		return evs
	}
	batches := make([][]*event.Event, 64)
	for i := range batches {
		batches[i] = mk(int64(i))
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/4 + 1
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				k := n.Add(1)
				evs := batches[k%64]
				// fresh IDs so nothing is a duplicate
				cp := make([]*event.Event, len(evs))
				for j, e := range evs {
					c := *e
					c.ID = fmt.Sprintf("%d-%d", k, j)
					cp[j] = &c
				}
				if _, err := s.Append(context.Background(), cp); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(4*per*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchLookup measures LookupEvents-shaped queries over a history of
// CAIRN_BENCH_EVENTS events (default 20,000) spread over 10 days, loading
// the history first when s holds fewer events.
func BenchLookup(b *testing.B, s store.Store) {
	n := 20000
	if v := os.Getenv("CAIRN_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	end := Base
	span := 10 * 24 * time.Hour
	if st, _ := s.Stats(ctx); st.LastSeq < int64(n) {
		const batch = 1000
		for i := int(st.LastSeq); i < n; i += batch {
			evs := make([]*event.Event, 0, batch)
			for j := i; j < i+batch && j < n; j++ {
				at := end.Add(-span + time.Duration(float64(span)*float64(j)/float64(n)))
				evs = append(evs, Rec(b, "111111111111", "us-east-1", fmt.Sprintf("Op%d", j%40), at, map[string]any{
					"eventID":  fmt.Sprintf("ev-%d", j),
					"readOnly": j%3 == 0,
					"userIdentity": map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("user%d", j%50),
						"accessKeyId": fmt.Sprintf("AKIA%d", j%50)},
					"resources": []map[string]any{{"ARN": fmt.Sprintf("arn:aws:s3:::bucket-%d", j%5000), "type": "AWS::S3::Bucket"}},
				}))
			}
			if _, err := s.Append(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
	}
	queries := []struct {
		name  string
		attr  event.Attribute
		value string
	}{
		{"All", "", ""},
		{"EventName", event.AttrEventName, "Op7"},
		{"Username", event.AttrUsername, "user3"},
		{"ReadOnly", event.AttrReadOnly, "true"},
		{"ResourceName", event.AttrResourceName, "bucket-42"},
		{"EventId", event.AttrEventID, fmt.Sprintf("ev-%d", n/2)},
	}
	for _, qq := range queries {
		b.Run(qq.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1",
					Category: event.CategoryManagement, Attr: qq.attr, Value: qq.value,
					Start: end.Add(-90 * 24 * time.Hour), End: end, Limit: 50})
				if err != nil || len(p.Events) == 0 {
					b.Fatalf("lookup %s: %d events, %v", qq.name, len(p.Events), err)
				}
			}
		})
	}
}
