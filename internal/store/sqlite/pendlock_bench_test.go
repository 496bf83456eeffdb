package sqlite

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkDropPending measures what the indexer does under the pending
// lock once a transaction of 128 commits of 500 spread events is indexed:
// the lock readers and the writer wait for meanwhile.
func BenchmarkDropPending(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().Unix()
	var batches []*batch
	for i := range 128 {
		batches = append(batches, spreadBatch(rng, int64(i*500+1), 500, now, 0))
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := &Store{pendingIDs: newPendingIDSet()}
		for _, bt := range batches {
			s.pending = append(s.pending, bt)
			for _, id := range bt.ids {
				s.pendingIDs.add(id.h, id.seq)
			}
		}
		b.StartTimer()
		s.dropIndexed(batches, newIDTable(0))
	}
}
