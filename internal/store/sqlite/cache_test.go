package sqlite

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// writerCacheKiB is the index writer connection's page cache as SQLite
// reports it (PRAGMA cache_size, negative: KiB).
func writerCacheKiB(t *testing.T, s *Store) int64 {
	t.Helper()
	var v int64
	if err := s.w.QueryRow(`PRAGMA cache_size`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return -v
}

// TestOpenWithCache: the writer's page cache is what Options asks for
// (the default when zero), and a cache below the minimum is refused
// without making the store.
func TestOpenWithCache(t *testing.T) {
	for _, c := range []struct {
		bytes, wantKiB int64
	}{{0, DefaultCacheBytes >> 10}, {MinCacheBytes, MinCacheBytes >> 10}, {512 << 20, 512 << 10}} {
		s, err := OpenWith(t.TempDir(), Options{CacheBytes: c.bytes})
		if err != nil {
			t.Fatal(err)
		}
		if got := writerCacheKiB(t, s); got != c.wantKiB {
			t.Errorf("CacheBytes %d: writer cache %d KiB, want %d", c.bytes, got, c.wantKiB)
		}
		s.Close()
	}
	_, err := OpenWith(t.TempDir(), Options{CacheBytes: MinCacheBytes - 1})
	if err == nil || !strings.Contains(err.Error(), "below the minimum") {
		t.Errorf("a cache below the minimum: %v", err)
	}
}

// TestIndexConflictRollsBackWholeTransaction: the index inserts are OR
// ROLLBACK (no statement journal), so a row that conflicts undoes the
// whole index transaction, the block written before it included, and the
// writer connection goes on to index the next batch.
func TestIndexConflictRollsBackWholeTransaction(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{CacheBytes: MinCacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now().Unix()
	a := spreadBatch(rand.New(rand.NewPCG(1, 2)), 1, 1000, now, 1)
	if err := s.writeIndex(ctx, []*batch{a}); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		var n int
		if err := s.w.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	blocks, spans, dense := count("blocks"), count("span_rows"), count("postings")
	// A batch with a block of its own but a posting row of a's (same
	// day, key, tmax and first seq): its postings conflict.
	dup := spreadBatch(rand.New(rand.NewPCG(1, 2)), 1, 1000, now, 1)
	dup.b.seq0, dup.b.seqN = 5000, 5999
	dup.ids = nil
	if err := s.writeIndex(ctx, []*batch{dup}); err == nil {
		t.Fatal("a batch of conflicting posting rows was indexed")
	}
	if b, sp, d := count("blocks"), count("span_rows"), count("postings"); b != blocks || sp != spans || d != dense {
		t.Errorf("after the conflict: %d blocks, %d span rows, %d posting rows; want %d, %d, %d", b, sp, d, blocks, spans, dense)
	}
	next := spreadBatch(rand.New(rand.NewPCG(3, 4)), 1001, 1000, now, 1)
	if err := s.writeIndex(ctx, []*batch{next}); err != nil {
		t.Fatalf("the batch after a conflict: %v", err)
	}
	if b := count("blocks"); b != blocks+1 {
		t.Errorf("%d blocks after the next batch, want %d", b, blocks+1)
	}
}
