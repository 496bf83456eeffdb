package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/segment"
)

// The event log proper: records live in append-only segment files beside
// the database, one frame per event, written with one write and one fsync
// per group commit. The database keeps only what finds them (the blocks
// table: which seqs are where) and the lookup indexes. A commit writes and
// syncs its frames first and then commits the rows that point at them, so
// a frame is never referenced before it is durable; bytes past the last
// committed block are an interrupted commit and are cut off at open.

// segmentBytes is the size at which the writer starts a new segment file.
const segmentBytes = 256 << 20

// format is the layout of a segment file: no magic, and frames of
// [u32 body length][u32 crc32c(body)] and the body.
var format = segment.MustFormat(segment.Format{HeaderLen: frameHeader, LenAt: 0, CRCAt: 4, SeqAt: -1})

// frameHeader is the size of a frame's fixed part: body length and CRC-32C.
const frameHeader = 8

// appendFrame encodes one event: a frame whose body is seq, eventTime,
// account, region, category, eventID, the event's index keys (so that the
// index can be rebuilt from the log) and record.
func appendFrame(dst []byte, e *event.Event, seq int64, keys []int64) []byte {
	start := len(dst)
	dst = format.Begin(dst)
	dst = binary.AppendVarint(dst, seq)
	dst = binary.AppendVarint(dst, e.Time.Unix())
	for _, s := range []string{e.Account, e.Region, e.Category, e.ID} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(k))
	}
	dst = append(dst, e.Record...)
	format.Finish(dst[start:], uint64(seq))
	return dst
}

var errFrame = errors.New("sqlite: damaged event frame")

// parseFrame decodes the frame at the start of b and returns the event and
// the frame's size. The record aliases b.
func parseFrame(b []byte) (*event.Event, int, error) {
	e, _, n, err := parseFrameKeys(b, false)
	return e, n, err
}

// parseFrameKeys is parseFrame that also returns the frame's index keys
// when wantKeys is set.
func parseFrameKeys(b []byte, wantKeys bool) (*event.Event, []int64, int, error) {
	fr, err := format.Parse(b)
	if err != nil {
		return nil, nil, 0, errFrame
	}
	e, keys, err := parseBody(fr.Payload, wantKeys)
	return e, keys, fr.Size, err
}

// parseBody decodes the body of a frame. The record aliases body.
func parseBody(body []byte, wantKeys bool) (*event.Event, []int64, error) {
	e := &event.Event{}
	var t int64
	var k int
	if e.Seq, k = binary.Varint(body); k <= 0 {
		return nil, nil, errFrame
	}
	body = body[k:]
	if t, k = binary.Varint(body); k <= 0 {
		return nil, nil, errFrame
	}
	body = body[k:]
	e.Time = time.Unix(t, 0).UTC()
	for _, dst := range []*string{&e.Account, &e.Region, &e.Category, &e.ID} {
		l, k := binary.Uvarint(body)
		if k <= 0 || uint64(len(body)-k) < l {
			return nil, nil, errFrame
		}
		*dst = string(body[k : k+int(l)])
		body = body[k+int(l):]
	}
	nk, k := binary.Uvarint(body)
	if k <= 0 || uint64(len(body)-k)/8 < nk {
		return nil, nil, errFrame
	}
	body = body[k:]
	var keys []int64
	if wantKeys {
		keys = make([]int64, nk)
		for i := range keys {
			keys[i] = int64(binary.LittleEndian.Uint64(body[8*i:]))
		}
	}
	e.Record = body[8*nk:]
	return e, keys, nil
}

// block is one commit's run of consecutive events in one segment.
type block struct {
	seq0, seqN int64 // first and last seq
	seg        int64 // segment number
	off, size  int64 // byte range in the segment
	lens       []byte
	// marks, when set, say where every markEvery-th frame is, so that a
	// frame is found without reading every length before it.
	marks []frameMark
}

// markEvery is the distance, in frames, between a block's marks.
const markEvery = 32

// frameMark is where frame seq0+i*markEvery of a block starts: its byte
// offset in the segment and the position of its length in lens.
type frameMark struct {
	off  int64
	lens int
}

// withMarks returns b with marks, for a block that is kept and read from
// many times (pending or cached); a short block needs none.
func (b block) withMarks() block {
	if b.marks != nil || b.seqN-b.seq0 < markEvery {
		return b
	}
	marks := make([]frameMark, 0, (b.seqN-b.seq0)/markEvery+1)
	off, pos := b.off, 0
	for i := int64(0); i <= b.seqN-b.seq0; i++ {
		if i%markEvery == 0 {
			marks = append(marks, frameMark{off: off, lens: pos})
		}
		n, k := binary.Uvarint(b.lens[pos:])
		if k <= 0 {
			return b // frameOffset reports the damage
		}
		off += int64(n)
		pos += k
	}
	b.marks = marks
	return b
}

// blockCols are the columns of a block row, in the order scanBlock reads.
const blockCols = `seq0, seqn, seg, off, size, lens`

// scanBlock reads a row of blockCols.
func scanBlock(row interface{ Scan(...any) error }) (block, error) {
	var b block
	err := row.Scan(&b.seq0, &b.seqN, &b.seg, &b.off, &b.size, &b.lens)
	return b, err
}

// scanBlocks reads every row of blockCols.
func scanBlocks(rows *sql.Rows) ([]block, error) {
	defer rows.Close()
	var out []block
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// frameOffset returns the offset and length of seq's frame in the segment.
func (b block) frameOffset(seq int64) (int64, int64, error) {
	off, lens, from := b.off, b.lens, b.seq0
	if i := (seq - b.seq0) / markEvery; seq >= b.seq0 && i < int64(len(b.marks)) {
		m := b.marks[i]
		off, lens, from = m.off, lens[m.lens:], b.seq0+i*markEvery
	}
	for s := from; s <= b.seqN; s++ {
		n, k := binary.Uvarint(lens)
		if k <= 0 {
			return 0, 0, errFrame
		}
		if s == seq {
			return off, int64(n), nil
		}
		off += int64(n)
		lens = lens[k:]
	}
	return 0, 0, fmt.Errorf("sqlite: seq %d not in block %d–%d", seq, b.seq0, b.seqN)
}

// segments owns the segment files of one store: the writer's current file
// and read handles, opened on first use.
type segments struct {
	dir string

	// mu guards the read handles and active; it is never held during I/O,
	// so reads do not wait for a commit's fsync.
	mu     sync.Mutex
	files  map[int64]*os.File // read handles
	active int64              // the writer's segment (0: none yet)

	// wmu serializes writes; w and end are the writer's.
	wmu sync.Mutex
	w   *os.File
	end int64 // committed size of the active segment

	// rollBytes is the size at which the writer starts a new segment
	// (segmentBytes; smaller in tests).
	rollBytes int64
	// keep is how many of the segments the writer filled last stay in the
	// OS page cache (see dropBehind); 0 keeps all. filled lists those the
	// writer filled and has not dropped, oldest first (the writer's).
	keep   int
	filled []int64
	// drops runs the page cache drops, one at a time, in the background.
	dropMu    sync.Mutex
	dropping  sync.WaitGroup
	dropCache func(path string)
}

// segmentName is the path of segment n, named by the first seq it holds.
func segmentName(dir string, n int64) string {
	return filepath.Join(dir, segment.Name(uint64(n)))
}

// listSegments returns the segment numbers in dir, in order.
func listSegments(dir string) ([]int64, error) {
	firsts, err := segment.List(dir)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(firsts))
	for i, n := range firsts {
		out[i] = int64(n)
	}
	return out, nil
}

// openSegments opens the segment directory; the writer starts with resume.
func openSegments(dir string) (*segments, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &segments{dir: dir, files: map[int64]*os.File{}, rollBytes: segmentBytes, dropCache: dropFileCache}, nil
}

// keepCached sets how much of the log the writer leaves in the OS page
// cache behind it: the last segments it filled, bytes' worth (at least
// one); bytes < 0 leaves the page cache to the OS.
func (s *segments) keepCached(bytes int64) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.keep = 0
	if bytes >= 0 {
		k := bytes / s.rollBytes
		if bytes%s.rollBytes != 0 {
			k++
		}
		s.keep = int(min(max(1, k), math.MaxInt32))
	}
}

// dropBehind drops from the OS page cache the segments the writer filled
// before the last keep; the caller holds wmu and has just filled one.
//
// The log is written once and then read near its end (trail delivery and
// the other consumers follow it) or a few records at a time (lookups).
// Left to the OS, every segment written stays cached until memory runs
// short, so a long import fills the page cache with pages nothing reads,
// each one new memory: on a VM whose host takes freed guest memory back
// (free page reporting, DAMON reclaim), the copy of a commit into pages
// the host must first back again was 3–19 % of the server's CPU in a
// 10M-event import. Pages dropped here are reused by the next segment.
// What a lookup reads from an older segment comes from the disk, and the
// OS caches it as usual.
func (s *segments) dropBehind() {
	if s.keep == 0 || len(s.filled) <= s.keep {
		return
	}
	old := s.filled[:len(s.filled)-s.keep]
	paths := make([]string, len(old))
	for i, n := range old {
		paths[i] = segmentName(s.dir, n)
	}
	s.filled = slices.Delete(s.filled, 0, len(old))
	// In the background: dropping 256 MiB of pages takes milliseconds
	// that commits need not wait for.
	s.dropping.Add(1)
	go func() {
		defer s.dropping.Done()
		s.dropMu.Lock()
		defer s.dropMu.Unlock()
		for _, p := range paths {
			s.dropCache(p)
		}
	}()
}

// resume makes segment n, cut to end bytes, the writer's.
func (s *segments) resume(n, end int64) error {
	f, err := os.OpenFile(segmentName(s.dir, n), os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: segment %d: %w", n, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.Size() < end {
		f.Close()
		return fmt.Errorf("sqlite: segment %d is %d bytes, shorter than its indexed %d", n, fi.Size(), end)
	}
	if fi.Size() > end {
		if err := segment.Cut(f, end); err != nil {
			f.Close()
			return err
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.w, s.end = f, end
	s.mu.Lock()
	s.active = n
	s.mu.Unlock()
	return nil
}

// write appends one commit's frames (the caller has numbered them from
// firstSeq) and syncs them. It returns where they went. On failure
// nothing of them stays in the file.
func (s *segments) write(frames []byte, firstSeq int64) (seg, off int64, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil || s.end >= s.rollBytes {
		if err := s.roll(firstSeq); err != nil {
			return 0, 0, err
		}
	}
	if err := segment.Write(s.w, s.end, frames); err != nil {
		if errors.Is(err, segment.ErrDirty) {
			s.leave()
		}
		return 0, 0, fmt.Errorf("sqlite: write segment: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		s.takeBack()
		return 0, 0, fmt.Errorf("sqlite: sync segment: %w", err)
	}
	off = s.end
	s.end += int64(len(frames))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active, off, nil
}

// takeBack removes what a failed write may have left after end. If that
// fails too, the writer leaves the segment: the next write starts a new
// one, and recovery cuts this one's tail (the next segment begins with the
// next frame).
func (s *segments) takeBack() {
	if segment.Cut(s.w, s.end) != nil {
		s.leave()
	}
}

// leave closes the writer's segment: the next write starts a new one.
func (s *segments) leave() {
	s.w.Close()
	s.w = nil
	s.filled = append(s.filled, s.activeSegment())
}

// activeSegment is the writer's segment.
func (s *segments) activeSegment() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// undo forgets the last write (its commit failed).
func (s *segments) undo(seg, off int64) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	if seg == active && s.w != nil {
		s.w.Truncate(off)
		s.end = off
	}
}

// roll starts segment n (the first seq it will hold). The directory is
// synced so that the new file survives a crash.
func (s *segments) roll(n int64) error {
	f, err := format.Create(s.dir, uint64(n), true)
	if err != nil {
		return fmt.Errorf("sqlite: new segment: %w", err)
	}
	if s.w != nil {
		s.w.Close()
		s.filled = append(s.filled, s.activeSegment())
	}
	s.w, s.end = f, 0
	s.mu.Lock()
	s.active = n
	s.mu.Unlock()
	s.dropBehind()
	return nil
}

// readAt reads n bytes at off of segment seg.
func (s *segments) readAt(seg, off, n int64) ([]byte, error) {
	f, err := s.file(seg)
	if err != nil {
		return nil, err
	}
	buf, err := segment.ReadAt(f, off, n)
	if err != nil {
		if segment.IsCorrupt(err) {
			return nil, errFrame
		}
		return nil, fmt.Errorf("sqlite: read segment: %w", err)
	}
	return buf, nil
}

func (s *segments) file(seg int64) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[seg]; ok {
		return f, nil
	}
	f, err := os.Open(segmentName(s.dir, seg))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open segment: %w", err)
	}
	s.files[seg] = f
	return f, nil
}

// current is the writer's segment (math.MaxInt64 before the first write).
func (s *segments) current() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == 0 {
		return math.MaxInt64
	}
	return s.active
}

// remove deletes segment seg unless the writer is on it.
func (s *segments) remove(seg int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seg == s.active {
		return nil
	}
	if f, ok := s.files[seg]; ok {
		f.Close()
		delete(s.files, seg)
	}
	if err := os.Remove(segmentName(s.dir, seg)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// size is the bytes of every segment file.
func (s *segments) size() int64 {
	nums, _ := listSegments(s.dir)
	var total int64
	for _, n := range nums {
		if fi, err := os.Stat(segmentName(s.dir, n)); err == nil {
			total += fi.Size()
		}
	}
	return total
}

func (s *segments) close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dropping.Wait() // no write starts another now
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	s.files = map[int64]*os.File{}
	if s.w != nil {
		errs = append(errs, s.w.Close())
		s.w = nil
	}
	return errors.Join(errs...)
}
