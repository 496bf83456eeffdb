package spool

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend appends 1 KiB records, one per call, from 8 goroutines:
// the proxy's request handlers. Each Append waits for its fsync, so the rate
// comes from group commit.
func BenchmarkAppend(b *testing.B) {
	const goroutines, size = 8, 1 << 10
	s, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := make([]byte, size)
	b.SetBytes(size)
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := s.Append(rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
