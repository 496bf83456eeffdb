package sqlite

import (
	"sort"
	"sync"
)

// blockCacheSize bounds the blocks kept (each holds a commit's frame
// lengths, a few KB at most).
const blockCacheSize = 4096

// blockCache keeps indexed blocks that reads found, so that a lookup's
// events, spread over many commits, are found without a query each. A
// block never changes once indexed; Purge, which deletes blocks, clears
// the cache and starts a new generation, so that a block read before the
// purge is not cached after it.
type blockCache struct {
	mu     sync.Mutex
	gen    uint64
	blocks []block // by seq0
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
		return c.blocks[i], true
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
	if len(c.blocks) >= blockCacheSize {
		c.blocks = c.blocks[:0]
		i = 0
	}
	c.blocks = append(c.blocks, block{})
	copy(c.blocks[i+1:], c.blocks[i:])
	c.blocks[i] = b
}

// clear empties the cache and starts a new generation.
func (c *blockCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.blocks = nil
}
