package sqlite

import (
	"sort"
	"sync"
	"unsafe"
)

// blockCacheBytes bounds the memory of the blocks kept. A block costs its
// frame lengths (about two bytes an event) and marks: a store of 10M
// events backfilled over 30 days has ~24,000 blocks of ~1.2 KB, all of
// which fit, so a lookup's events, each in a different commit, are found
// without a query each. (A bound of 4,096 blocks held a sixth of them;
// lookups on that store spent a fifth of their CPU asking for blocks.)
const blockCacheBytes = 64 << 20

// blockCache keeps indexed blocks that reads found, so that a lookup's
// events, spread over many commits, are found without a query each. A
// block never changes once indexed; Purge, which deletes blocks, clears
// the cache and starts a new generation, so that a block read before the
// purge is not cached after it.
type blockCache struct {
	mu     sync.Mutex
	gen    uint64
	blocks []*block // by seq0
	bytes  int      // what blocks hold, by blockBytes
}

// blockBytes is what a cached block costs in memory, about.
func blockBytes(b *block) int {
	return int(unsafe.Sizeof(*b)) + 8 + cap(b.lens) + cap(b.marks)*int(unsafe.Sizeof(frameMark{}))
}

// generation is to be read before the database is asked for a block.
func (c *blockCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get returns the cached block holding seq.
func (c *blockCache) get(seq int64) (block, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].seqN >= seq })
	if i < len(c.blocks) && c.blocks[i].seq0 <= seq {
		return *c.blocks[i], true
	}
	return block{}, false
}

// put caches b, read from the database in generation gen. A full cache
// starts over.
func (c *blockCache) put(b block, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	i := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].seq0 >= b.seq0 })
	if i < len(c.blocks) && c.blocks[i].seq0 == b.seq0 {
		return
	}
	n := blockBytes(&b)
	if c.bytes+n > blockCacheBytes {
		c.blocks, c.bytes, i = nil, 0, 0
	}
	// Pointers, so that an insertion moves 8 bytes a block.
	c.blocks = append(c.blocks, nil)
	copy(c.blocks[i+1:], c.blocks[i:])
	c.blocks[i] = &b
	c.bytes += n
}

// clear empties the cache and starts a new generation.
func (c *blockCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.blocks, c.bytes = nil, 0
}
