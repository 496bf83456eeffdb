package sqlite

import (
	"bytes"
	"testing"
)

// TestBlockCacheHoldsBackfilledStore: the blocks of a store of 10M events
// backfilled over 30 days (~24,000 commits of ~425 events) all stay
// cached once read, so lookups, whose events are each in another commit,
// stop asking the database for blocks; and the cache's memory stays under
// its bound however many blocks are put.
func TestBlockCacheHoldsBackfilledStore(t *testing.T) {
	var c blockCache
	const events = 425
	lens := bytes.Repeat([]byte{0x90, 0x08}, events) // frames of 1,040 bytes
	mk := func(i int64) block {
		return block{seq0: i*events + 1, seqN: (i + 1) * events, seg: 1, off: i * events * 1040, size: events * 1040,
			lens: append([]byte(nil), lens...)}.withMarks()
	}
	const blocks = 24_000
	for i := range int64(blocks) {
		c.put(mk(i), c.generation())
	}
	for i := range int64(blocks) {
		b, ok := c.get(i*events + 7)
		if !ok || b.seq0 != i*events+1 {
			t.Fatalf("block %d of %d not cached (got %v, seq0 %d)", i, blocks, ok, b.seq0)
		}
	}
	for i := int64(blocks); i < 200_000; i++ {
		c.put(mk(i), c.generation())
		if c.bytes > blockCacheBytes {
			t.Fatalf("after %d blocks the cache holds %d bytes, over its bound of %d", i+1, c.bytes, blockCacheBytes)
		}
	}
	if b, ok := c.get(199_999*events + 1); !ok || b.seq0 != 199_999*events+1 {
		t.Fatalf("the last block put is not cached")
	}
}
