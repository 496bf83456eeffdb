package lakesql

// The records of a store's events are kept in blocks: up to blockSlots
// records of one store, written together by one Insert, compressed
// together (zstd) in one row of lake_blocks. An event's row in lake_events
// points at its record with ref = block<<8 | slot. Compared with a row
// per record (as JSONB) this writes a sixth of the bytes to the WAL and
// the database, one B-tree insert per block instead of one per event, and
// no JSON conversion at all; a query that reads records pays a block's
// decompression once for the rows it reads from the block (lake_rec keeps
// the last blocks decoded).

import (
	"bytes"
	"container/list"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"modernc.org/sqlite"
)

const (
	// blockSlots is the most records a block holds (ref's low 8 bits).
	blockSlots = 256
	// blockBytes closes a block once its records reach this many bytes:
	// large enough to compress well, small enough that a query reading
	// one record of a block does not decode much more.
	blockBytes = 96 << 10
	// slotBits is how far a block's number is shifted in ref.
	slotBits = 8
)

// block gathers the records of one block as Insert writes them.
type block struct {
	id    int64
	times []int64 // eventTime of each slot, Unix ms
	ends  []int   // end offset of each slot's record in body
	body  []byte
	tmin  int64
	tmax  int64
}

// ref is the reference the next record added will have.
func (b *block) ref() int64 { return b.id<<slotBits | int64(len(b.times)) }

// add appends a record of time t (Unix ms).
func (b *block) add(rec []byte, t int64) {
	if len(b.times) == 0 || t < b.tmin {
		b.tmin = t
	}
	if len(b.times) == 0 || t > b.tmax {
		b.tmax = t
	}
	b.times = append(b.times, t)
	b.body = append(b.body, rec...)
	b.ends = append(b.ends, len(b.body))
}

// full reports whether the block takes no more records.
func (b *block) full() bool { return len(b.times) >= blockSlots || len(b.body) >= blockBytes }

// reset empties b for block id.
func (b *block) reset(id int64) {
	b.id, b.times, b.ends, b.body = id, b.times[:0], b.ends[:0], b.body[:0]
}

// encode is the block's bytes before compression: the slot count, then
// each slot's record length (0: a removed record) and time, then the
// records one after another.
func (b *block) encode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst[:0], uint64(len(b.times)))
	start := 0
	for i, t := range b.times {
		dst = binary.AppendUvarint(dst, uint64(b.ends[i]-start))
		dst = binary.AppendVarint(dst, t)
		start = b.ends[i]
	}
	return append(dst, b.body...)
}

// decoded is a block read back: each slot's time and record.
type decoded struct {
	times []int64
	recs  [][]byte // nil: removed
}

// size is about the memory d holds, in bytes.
func (d *decoded) size() int {
	n := 32 * len(d.times)
	for _, r := range d.recs {
		n += len(r)
	}
	return n
}

var errBadBlock = errors.New("lakesql: damaged record block")

// decodeBlock reads what encode wrote.
func decodeBlock(raw []byte) (*decoded, error) {
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > blockSlots {
		return nil, errBadBlock
	}
	raw = raw[k:]
	d := &decoded{times: make([]int64, n), recs: make([][]byte, n)}
	lens := make([]int, n)
	total := 0
	for i := range lens {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)) {
			return nil, errBadBlock
		}
		raw = raw[k:]
		t, k := binary.Varint(raw)
		if k <= 0 {
			return nil, errBadBlock
		}
		raw = raw[k:]
		lens[i], d.times[i] = int(l), t
		total += int(l)
	}
	if total != len(raw) {
		return nil, errBadBlock
	}
	for i, l := range lens {
		if l > 0 {
			d.recs[i] = raw[:l:l]
		}
		raw = raw[l:]
	}
	return d, nil
}

// codec compresses and decompresses blocks. The encoder belongs to the
// one writer connection (Insert, DeleteBefore run one at a time); the
// decoder is shared, safe for concurrent use.
type codec struct {
	enc *zstd.Encoder
	raw []byte // scratch for encode
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("lakesql: zstd: %w", err)
	}
	return &codec{enc: enc}, nil
}

// compress is b's stored form.
func (c *codec) compress(b *block) []byte {
	c.raw = b.encode(c.raw)
	return c.enc.EncodeAll(c.raw, nil)
}

var (
	decoderOnce sync.Once
	decoder     *zstd.Decoder
	decoderErr  error
)

// blockDecodes counts the blocks decompressed in the process (tests check
// that a query decodes each block it reads about once).
var blockDecodes atomic.Int64

// decompress returns a stored block's records.
func decompress(data []byte) (*decoded, error) {
	blockDecodes.Add(1)
	decoderOnce.Do(func() {
		decoder, decoderErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(ReadConns+1),
			zstd.WithDecoderMaxMemory(16<<20))
	})
	if decoderErr != nil {
		return nil, decoderErr
	}
	raw, err := decoder.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadBlock, err)
	}
	return decodeBlock(raw)
}

// blockCache keeps the blocks lake_rec decoded last, by their stored
// bytes (so that it is right for any database of the process: the same
// bytes are the same block's records wherever they come from), up to
// cacheBytes of decoded and stored bytes, the least recently read going
// first. A query reading rows in eventTime order from the user index (a
// needle) comes back to a block once for each of its user's events in it
// (Insert groups a pass's events by user), between reads of other
// blocks: a few entries would miss almost every time. Lookups go by a
// hash of the bytes, then compare them.
type blockCache struct {
	mu      sync.Mutex
	seed    maphash.Seed
	max     int // bytes
	bytes   int
	entries map[uint64]*list.Element // of *cacheEntry, by hash
	lru     list.List                // most recent first
}

type cacheEntry struct {
	hash uint64
	data []byte // the stored (compressed) block
	d    *decoded
	size int
}

// cacheBytes bounds what recCache holds: at ~100 KB a block decoded
// (96 KB of records and their compressed bytes), ~600 blocks, the
// blocks of one user's events over 30 days at 10M events in a store
// filled by large passes.
const cacheBytes = 64 << 20

func newBlockCache(max int) *blockCache {
	return &blockCache{seed: maphash.MakeSeed(), max: max, entries: map[uint64]*list.Element{}}
}

var recCache = newBlockCache(cacheBytes)

// get returns data's records, decoding them on a miss.
func (c *blockCache) get(data []byte) (*decoded, error) {
	h := maphash.Bytes(c.seed, data)
	c.mu.Lock()
	if el, ok := c.entries[h]; ok {
		if e := el.Value.(*cacheEntry); bytes.Equal(e.data, data) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.d, nil
		}
	}
	c.mu.Unlock()
	d, err := decompress(data)
	if err != nil {
		return nil, err
	}
	c.put(&cacheEntry{hash: h, data: bytes.Clone(data), d: d, size: len(data) + d.size()})
	return d, nil
}

// put adds e (in place of an entry of the same hash), then drops the
// least recently read entries past the bound.
func (c *blockCache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[e.hash]; ok {
		c.drop(old)
	}
	c.entries[e.hash] = c.lru.PushFront(e)
	c.bytes += e.size
	for c.bytes > c.max && c.lru.Len() > 1 {
		c.drop(c.lru.Back())
	}
}

// drop removes el's entry.
func (c *blockCache) drop(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.hash)
	c.bytes -= e.size
}

// queryBlocks keeps the blocks the record-reading queries of storeTable's
// block-order path decoded, by the query's token and the block's id. A
// token (lake_token) is drawn once per statement run and never again, so
// an entry is only ever found by the statement that made it: the same
// database, the same snapshot (a block retention rewrites afterwards, or
// another lake.db's block of the same id, has another token), and no
// query sees the blocks another tenant's query decoded. Such a statement
// reads its rows in block order, so it needs one entry at a time; the
// others serve the statements running at the same time.
type queryBlocks struct {
	mu      sync.Mutex
	entries [16]queryEntry
	next    int
}

type queryEntry struct {
	tok, block int64
	d          *decoded
}

// get is the block of statement tok, nil when it is not kept.
func (c *queryBlocks) get(tok, block int64) *decoded {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.entries {
		if e := &c.entries[i]; e.d != nil && e.tok == tok && e.block == block {
			return e.d
		}
	}
	return nil
}

// put keeps d as block of statement tok, in place of the oldest entry.
func (c *queryBlocks) put(tok, block int64, d *decoded) {
	c.mu.Lock()
	c.entries[c.next] = queryEntry{tok: tok, block: block, d: d}
	c.next = (c.next + 1) % len(c.entries)
	c.mu.Unlock()
}

var (
	recBlocks queryBlocks
	// recTokens numbers the statements that read records in block order.
	recTokens atomic.Int64
)

// slotRec is the record (JSON text) of slot ref of d, nil for a removed one.
func slotRec(d *decoded, ref int64) driver.Value {
	slot := int(ref & (1<<slotBits - 1))
	if slot >= len(d.recs) || d.recs[slot] == nil {
		return nil
	}
	return string(d.recs[slot])
}

var registerRecOnce sync.Once

// registerRec registers lake_rec(data, ref): the record (JSON text) of
// slot ref of the block whose stored bytes are data; NULL for a removed
// record. Its arguments are read in place (VolatileArgs): a block's bytes
// are compared with the cache's, never kept.
func registerRec() {
	registerRecOnce.Do(func() {
		sqlite.MustRegisterFunction("lake_rec", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, VolatileArgs: true,
			Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				data, ok := args[0].([]byte)
				ref, ok2 := args[1].(int64)
				if !ok || !ok2 {
					return nil, nil
				}
				d, err := recCache.get(data)
				if err != nil {
					return nil, err
				}
				return slotRec(d, ref), nil
			}})
		registerQueryRec()
	})
}

// registerQueryRec registers the functions of the block-order path
// (dialect.go): lake_token(), a number new to each call (the statement's
// token, drawn once in an uncorrelated subquery); lake_hit(tok, ref), the
// record of ref if statement tok decoded its block already, else NULL;
// and lake_recq(data, tok, ref), which decodes the block whose stored
// bytes are data, keeps it for statement tok and returns ref's record.
// coalesce(lake_hit(…), lake_recq((SELECT data …), …)) reads a block's
// bytes only when lake_hit misses.
func registerQueryRec() {
	sqlite.MustRegisterFunction("lake_token", &sqlite.FunctionImpl{NArgs: 0,
		Scalar: func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
			return recTokens.Add(1), nil
		}})
	sqlite.MustRegisterFunction("lake_hit", &sqlite.FunctionImpl{NArgs: 2,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			tok, ok := args[0].(int64)
			ref, ok2 := args[1].(int64)
			if !ok || !ok2 {
				return nil, nil
			}
			if d := recBlocks.get(tok, ref>>slotBits); d != nil {
				return slotRec(d, ref), nil
			}
			return nil, nil
		}})
	sqlite.MustRegisterFunction("lake_recq", &sqlite.FunctionImpl{NArgs: 3, VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			data, ok := args[0].([]byte)
			tok, ok2 := args[1].(int64)
			ref, ok3 := args[2].(int64)
			if !ok || !ok2 || !ok3 {
				return nil, nil
			}
			d, err := decompress(data)
			if err != nil {
				return nil, err
			}
			recBlocks.put(tok, ref>>slotBits, d)
			return slotRec(d, ref), nil
		}})
}
