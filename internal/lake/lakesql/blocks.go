package lakesql

// The records of a store's events are kept in blocks: up to blockSlots
// records of one store, written together by one Insert, in one row of
// lake_blocks. An event's row in lake_events points at its record with
// ref = block<<8 | slot. Compared with a row per record (as JSONB) this
// writes a fraction of the bytes to the WAL and the database, one B-tree
// insert per block instead of one per event, and no JSON conversion at
// all.
//
// A block's records are compressed (zstd) in frames of about frameBytes,
// each decodable alone: a query that reads one record of a block decodes
// its frame, not the whole block. That matters for a store filled live at
// a low rate, where a user's events lie one to a block: a needle query
// (one user's events) reads a record from each of thousands of blocks.
// A query that reads many records of a block decodes each frame once
// (lake_rec keeps the last frames decoded; the block-order path keeps
// the statement's blocks). Blocks written before the frames (one zstd
// frame of the whole block) are read as blocks of one frame.

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
	// a row of lake_blocks for ~100 records of ~1 KB.
	blockBytes = 96 << 10
	// frameBytes closes a frame once its records reach this many bytes:
	// small enough that reading one record decodes little more (a whole
	// 96 KB block took ~100 µs to decode), large enough to compress well.
	frameBytes = 16 << 10
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

// encode is the bytes of slots [from, to) of b before compression: the
// slot count, then each slot's record length (0: a removed record) and
// time, then the records one after another. (A block written before the
// frames is this of all its slots, compressed as one frame.)
func (b *block) encode(dst []byte, from, to int) []byte {
	dst = binary.AppendUvarint(dst[:0], uint64(to-from))
	start := b.start(from)
	for i := from; i < to; i++ {
		dst = binary.AppendUvarint(dst, uint64(b.ends[i]-start))
		dst = binary.AppendVarint(dst, b.times[i])
		start = b.ends[i]
	}
	return append(dst, b.body[b.start(from):b.start(to)]...)
}

// start is the offset in body of slot i's record.
func (b *block) start(i int) int {
	if i == 0 {
		return 0
	}
	return b.ends[i-1]
}

// decoded is a frame (or a whole block) read back: each slot's time and
// record.
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

// A block's stored bytes (lake_blocks.data) are framedTag, the number of
// frames, each frame's slot count and compressed length (uvarints), then
// the frames one after another, each the zstd compression of encode of
// its slots. A block written before the frames is one zstd frame of all
// its slots: its first byte is zstd's magic number's (0x28), never
// framedTag.
const framedTag = 0x01

// codec compresses and decompresses blocks; the decoder is shared, safe
// for concurrent use. compress takes mu for its scratch buffers: the
// writers (Insert, retention, the rewrite in frames) take turns on the one
// writer connection, but a writer whose context is cancelled gives the
// connection back (database/sql rolls back at once) while its goroutine
// may still be compressing, and the next writer would build its blocks
// from the same buffers: blocks that fail to decode.
type codec struct {
	enc    *zstd.Encoder
	mu     sync.Mutex
	raw    []byte // scratch for encode
	frames []byte // scratch: the compressed frames
	heads  []int  // scratch: each frame's slot count and compressed length
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("lakesql: zstd: %w", err)
	}
	return &codec{enc: enc}, nil
}

// compress is b's stored form: its slots in frames of about frameBytes of
// records (a frame holds one slot at least).
func (c *codec) compress(b *block) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames, c.heads = c.frames[:0], c.heads[:0]
	from := 0
	for i := range b.times {
		if i == len(b.times)-1 || b.ends[i]-b.start(from) >= frameBytes {
			c.raw = b.encode(c.raw, from, i+1)
			n := len(c.frames)
			c.frames = c.enc.EncodeAll(c.raw, c.frames)
			c.heads = append(c.heads, i+1-from, len(c.frames)-n)
			from = i + 1
		}
	}
	out := make([]byte, 0, len(c.frames)+2+3*len(c.heads))
	out = append(out, framedTag)
	out = binary.AppendUvarint(out, uint64(len(c.heads)/2))
	for _, h := range c.heads {
		out = binary.AppendUvarint(out, uint64(h))
	}
	return append(out, c.frames...)
}

// frame is where a slot's record lies in a block's stored bytes.
type frame struct {
	data  []byte // the frame's compressed bytes; nil: no such slot
	index int    // the frame's place in the block
	first int    // the block's slot of the frame's first slot
	slots int    // how many slots the frame holds
}

// locate finds the frame of slot in data, a block's stored bytes, reading
// the frames' sizes only. A slot past the block's is in no frame.
func locate(data []byte, slot int) (frame, error) {
	if len(data) == 0 {
		return frame{}, errBadBlock
	}
	if data[0] != framedTag {
		return frame{data: data, slots: -1}, nil // a block of one frame (its slots known once decoded)
	}
	p := data[1:]
	nf, k := binary.Uvarint(p)
	if k <= 0 || nf > blockSlots {
		return frame{}, errBadBlock
	}
	p = p[k:]
	at := frame{index: -1}
	var at0, atLen int // the frame's offset and length past the header
	first, off := 0, 0
	for i := range int(nf) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n == 0 || n > blockSlots {
			return frame{}, errBadBlock
		}
		p = p[k:]
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(data)) {
			return frame{}, errBadBlock
		}
		p = p[k:]
		if at.index < 0 && slot >= first && slot < first+int(n) {
			at = frame{index: i, first: first, slots: int(n)}
			at0, atLen = off, int(l)
		}
		first += int(n)
		off += int(l)
		if first > blockSlots || off > len(data) {
			return frame{}, errBadBlock
		}
	}
	if off != len(p) {
		return frame{}, errBadBlock
	}
	if at.index >= 0 {
		at.data = p[at0 : at0+atLen : at0+atLen]
	}
	return at, nil
}

// frameRecs decodes frame f and checks it holds the slots its block says.
func frameRecs(f frame, get func([]byte) (*decoded, error)) (*decoded, error) {
	d, err := get(f.data)
	if err != nil {
		return nil, err
	}
	if f.slots >= 0 && len(d.recs) != f.slots {
		return nil, errBadBlock
	}
	return d, nil
}

// maxBlockDecoded bounds what decodeAll decodes of one block. A block the
// fill writes holds under blockBytes of records plus its last record (at
// most event.MaxRecordBytes, 256 KiB); each frame is bounded by the
// decoder (16 MiB), but a crafted block of 256 frames would have been
// decoded whole.
const maxBlockDecoded = 4 << 20

// decodeAll returns all the records of a block's stored bytes (retention
// and the rewrite in frames rewrite blocks from them).
func decodeAll(data []byte) (*decoded, error) {
	all, total := &decoded{}, 0
	for slot := 0; ; {
		f, err := locate(data, slot)
		if err != nil {
			return nil, err
		}
		if f.data == nil {
			return all, nil
		}
		d, err := frameRecs(f, decompress)
		if err != nil {
			return nil, err
		}
		if total += d.size(); total > maxBlockDecoded {
			return nil, errBadBlock
		}
		all.times = append(all.times, d.times...)
		all.recs = append(all.recs, d.recs...)
		if f.slots < 0 {
			return all, nil // a block of one frame
		}
		slot += f.slots
	}
}

var (
	decoderOnce sync.Once
	decoder     *zstd.Decoder
	decoderErr  error
)

// frameDecodes counts the frames decompressed in the process, and
// bytesDecoded their bytes decompressed (tests check how much a query
// decodes).
var frameDecodes, bytesDecoded atomic.Int64

// decompress returns the records of a frame's compressed bytes.
func decompress(data []byte) (*decoded, error) {
	frameDecodes.Add(1)
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
	bytesDecoded.Add(int64(len(raw)))
	return decodeBlock(raw)
}

// blockCache keeps the frames lake_rec decoded last, by their stored
// bytes (so that it is right for any database of the process: the same
// bytes are the same records wherever they come from), up to cacheBytes
// of decoded and stored bytes, the least recently read going first. A
// query reading rows in eventTime order from the user index (a needle)
// comes back to a frame once for each of its user's events in it (Insert
// groups a pass's events by user), between reads of other frames: a few
// entries would miss almost every time. Lookups go by a hash of the
// bytes, then compare them.
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
	data []byte // the stored (compressed) frame
	d    *decoded
	size int
}

// cacheBytes bounds what recCache holds: the frames of one user's events
// over 30 days at 10M events in a store filled by large passes (~600
// blocks' worth).
const cacheBytes = 64 << 20

func newBlockCache(max int) *blockCache {
	return &blockCache{seed: maphash.MakeSeed(), max: max, entries: map[uint64]*list.Element{}}
}

var recCache = newBlockCache(cacheBytes)

// get returns the records of frame data, decoding them on a miss.
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
// block-order path read, by the query's token and the block's id, with
// the frames decoded so far. A token (lake_token) is drawn once per
// statement run and never again, so an entry is only ever found by the
// statement that made it: the same database, the same snapshot (a block
// retention rewrites afterwards, or another lake.db's block of the same
// id, has another token), and no query sees the blocks another tenant's
// query decoded. Such a statement reads its rows in block order, so it
// needs one entry at a time; the others serve the statements running at
// the same time.
type queryBlocks struct {
	mu      sync.Mutex
	entries [16]*queryEntry
	next    int
}

// queryEntry is a block a statement reads. Only that statement, which
// runs on one connection, one call at a time, reads or changes it.
type queryEntry struct {
	tok, block int64
	data       []byte     // the block's stored bytes (a copy)
	frames     []*decoded // by frame index; nil: not decoded yet
}

// get is the block of statement tok, nil when it is not kept.
func (c *queryBlocks) get(tok, block int64) *queryEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e != nil && e.tok == tok && e.block == block {
			return e
		}
	}
	return nil
}

// put keeps e, in place of the oldest entry.
func (c *queryBlocks) put(e *queryEntry) {
	c.mu.Lock()
	c.entries[c.next] = e
	c.next = (c.next + 1) % len(c.entries)
	c.mu.Unlock()
}

// rec is the record (JSON text) of slot of e's block, decoding its frame
// when the statement has not yet.
func (e *queryEntry) rec(slot int) (driver.Value, error) {
	f, err := locate(e.data, slot)
	if err != nil || f.data == nil {
		return nil, err
	}
	for len(e.frames) <= f.index {
		e.frames = append(e.frames, nil)
	}
	d := e.frames[f.index]
	if d == nil {
		if d, err = frameRecs(f, decompress); err != nil {
			return nil, err
		}
		e.frames[f.index] = d
	}
	return slotRec(d, slot-f.first), nil
}

var (
	recBlocks queryBlocks
	// recTokens numbers the statements that read records in block order.
	recTokens atomic.Int64
)

// slotRec is the record (JSON text) of slot i of frame d, nil for a
// removed one.
func slotRec(d *decoded, i int) driver.Value {
	if i < 0 || i >= len(d.recs) || d.recs[i] == nil {
		return nil
	}
	return string(d.recs[i])
}

// slotOf is the slot of ref in its block.
func slotOf(ref int64) int { return int(ref & (1<<slotBits - 1)) }

var registerRecOnce sync.Once

// registerRec registers lake_rec(data, ref): the record (JSON text) of
// slot ref of the block whose stored bytes are data; NULL for a removed
// record. It decodes the slot's frame only (or finds it in recCache). Its
// arguments are read in place (VolatileArgs): a frame's bytes are
// compared with the cache's, kept only when decoded.
func registerRec() {
	registerRecOnce.Do(func() {
		sqlite.MustRegisterFunction("lake_rec", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, VolatileArgs: true,
			Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				data, ok := args[0].([]byte)
				ref, ok2 := args[1].(int64)
				if !ok || !ok2 {
					return nil, nil
				}
				f, err := locate(data, slotOf(ref))
				if err != nil || f.data == nil {
					return nil, err
				}
				d, err := frameRecs(f, recCache.get)
				if err != nil {
					return nil, err
				}
				return slotRec(d, slotOf(ref)-f.first), nil
			}})
		registerQueryRec()
	})
}

// registerQueryRec registers the functions of the block-order path
// (dialect.go): lake_token(), a number new to each call (the statement's
// token, drawn once in an uncorrelated subquery); lake_hit(tok, ref), the
// record of ref if statement tok keeps its block already (decoding ref's
// frame if need be), else NULL; and lake_recq(data, tok, ref), which
// keeps the block whose stored bytes are data for statement tok and
// returns ref's record. coalesce(lake_hit(…), lake_recq((SELECT data …),
// …)) reads a block's bytes only when lake_hit misses.
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
			if e := recBlocks.get(tok, ref>>slotBits); e != nil {
				return e.rec(slotOf(ref))
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
			e := &queryEntry{tok: tok, block: ref >> slotBits, data: bytes.Clone(data)}
			v, err := e.rec(slotOf(ref))
			if err != nil {
				return nil, err
			}
			recBlocks.put(e)
			return v, nil
		}})
}
