package importer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/event"
)

// maxLogFileBytes bounds a log file's size once gunzipped (a gzip bomb in
// an archive is refused, not read into memory).
const maxLogFileBytes = 1 << 30

// Options say what an import reads and where it sends it.
type Options struct {
	Filter     Filter
	Client     *Client
	Checkpoint *Checkpoint
	// Refusals receives the refused records and failed files.
	Refusals io.Writer
	// Parallel is the number of batches in flight; Readers the files read
	// at once. BatchRecords and BatchBytes bound a batch.
	Parallel, Readers        int
	BatchRecords, BatchBytes int
	// Verified, when set, says whether a log file passed the digest
	// check, and why not; Force imports failed files all the same.
	Verified func(key string) (ok bool, problem string)
	Force    bool
	// Stats receives the counters (for the progress display); nil makes
	// new ones.
	Stats *Stats
}

// wholeLimit is the largest log file (inflated) sent as it is: a batch's
// bytes, and no more than a kibibyte for each record a batch may hold, so
// that a file sent whole seldom holds more records than the server takes
// (CloudTrail's records are 1-2 KB).
func (o *Options) wholeLimit() int {
	return min(o.BatchBytes, o.BatchRecords<<10)
}

func (o *Options) defaults() {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Readers <= 0 {
		o.Readers = runtime.GOMAXPROCS(0)
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = DefaultBatchRecords
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
}

// Result is what an import did besides its Stats.
type Result struct {
	// Unverified counts log files that failed the digest check.
	Unverified int
	// Unreadable counts log files that could not be read or parsed.
	Unreadable int
	// Interrupted says the import was stopped before its end.
	Interrupted bool
}

// ImportArchive sends the log files of files (from Plan) that the
// checkpoint does not hold yet. Canceling ctx stops it: batches in flight
// are answered and their finished files checkpointed. The error is for an
// import that had to stop (a batch the server refused as a whole).
func ImportArchive(ctx context.Context, src Source, files []LogFile, o Options) (Result, error) {
	o.defaults()
	todo := make(chan LogFile, len(files))
	for _, f := range files {
		if o.Checkpoint.Done(f.Key) {
			o.Stats.UnitsEarlier.Add(1)
			continue
		}
		todo <- f
	}
	close(todo)
	o.Stats.UnitsTotal.Store(int64(len(files)))
	return pump(ctx, o, o.Readers, func(p *producer, _ int) {
		for f := range todo {
			if p.ctx.Err() != nil {
				return
			}
			if o.Verified != nil && !p.verified(f.Key, o) {
				continue
			}
			u, err := readLogFile(p.ctx, src, f, o.Filter, p.bufs, o.wholeLimit())
			if err != nil {
				p.fail(f.Key, "UnreadableLogFile", err)
				continue
			}
			if !p.emit(u) {
				return
			}
		}
	})
}

// verified applies the digest check to a log file: false when the file is
// to be left out. Every failure is listed, imported or not.
func (p *producer) verified(key string, o Options) bool {
	ok, problem := o.Verified(key)
	if ok {
		return true
	}
	p.mu.Lock()
	p.res.Unverified++
	p.mu.Unlock()
	if !o.Force {
		p.refusals.write(refusalLine{File: key, ErrorCode: "DigestCheckFailed",
			ErrorMessage: problem + "; not imported (--force imports it all the same)"})
		p.stats.UnitsFailed.Add(1)
		return false
	}
	p.refusals.write(refusalLine{File: key, ErrorCode: "DigestCheckFailed",
		ErrorMessage: problem + "; imported all the same (--force)"})
	return true
}

// readLogFile reads, gunzips and splits one log file, keeping the records
// within the filter's time range. With whole > 0, a file that may go to
// the server as it is (sendsWhole) is not gunzipped: the unit holds its
// gzip'd bytes.
func readLogFile(ctx context.Context, src Source, f LogFile, flt Filter, bufs *bufPool, whole int) (unit, error) {
	o, err := getRetrying(ctx, src, f.Key)
	if err != nil {
		return unit{}, err
	}
	if whole > 0 && flt.Start.IsZero() && flt.End.IsZero() && sendsWhole(o.Body, whole) {
		return unit{name: f.Key, gz: o.Body}, nil
	}
	return splitLogFile(f.Key, o.Body, flt, bufs)
}

// minWholeFile is the smallest log file (inflated) sent as it is: smaller
// ones share batches with other files' records.
const minWholeFile = 64 << 10

// sendsWhole says whether a gzip'd log file goes to the server as it is
// (Content-Encoding: gzip), its records neither split nor joined again
// here: when its gzip trailer says it inflates to between minWholeFile and
// limit bytes. The trailer is only a hint (it gives the last member's
// length); the server refuses a body that inflates past its own limit or
// holds too many records, and the sender then splits the file here.
func sendsWhole(b []byte, limit int) bool {
	if len(b) < 18 || b[0] != 0x1f || b[1] != 0x8b {
		return false
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-4:]))
	return n >= minWholeFile && n <= limit
}

// splitLogFile gunzips and splits one log file's bytes, keeping the
// records within the filter's time range.
func splitLogFile(key string, gz []byte, flt Filter, bufs *bufPool) (_ unit, err error) {
	buf := bufs.get()
	defer func() {
		if err != nil {
			bufs.put(buf)
		}
	}()
	body, err := gunzip(gz, buf)
	if err != nil {
		return unit{}, err
	}
	raw, ok := event.OnlyRecords(body)
	if !ok {
		members, err := event.Members(body)
		if err != nil {
			return unit{}, fmt.Errorf("not a CloudTrail log file ({\"Records\":[…]}): %w", err)
		}
		if raw, ok = members["Records"]; !ok {
			return unit{}, errors.New("not a CloudTrail log file: no Records list")
		}
	}
	recs, err := event.SplitArray(raw)
	if err != nil {
		return unit{}, fmt.Errorf("not a CloudTrail log file: Records is not a list: %w", err)
	}
	u := unit{name: key, records: recs, buf: buf}
	if flt.Start.IsZero() && flt.End.IsZero() {
		return u, nil
	}
	u.records = make([]json.RawMessage, 0, len(recs))
	for _, r := range recs {
		if !inRange(r, flt.Start, flt.End) {
			u.filtered++
			continue
		}
		u.records = append(u.records, r)
	}
	return u, nil
}

// readAttempts bounds the reads of one object (a network error, a 5xx of
// the object store); a file that still fails is listed and left for the
// next run.
const readAttempts = 4

// getRetrying reads an object, retrying what may pass (not a missing or
// too large object) with backoff.
func getRetrying(ctx context.Context, src Source, key string) (bucket.Object, error) {
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		o, err := src.Bucket.Get(ctx, key)
		if err == nil || attempt == readAttempts || errors.Is(err, bucket.ErrNotFound) || errors.Is(err, bucket.ErrTooLarge) {
			return o, err
		}
		select {
		case <-ctx.Done():
			return o, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// gzipReaders are gzip readers to reuse (their inflate tables are large).
// They are klauspost/compress's: its inflate of a bytes.Reader reads the
// bytes directly rather than a byte at a time through io.ByteReader, and
// gunzip was about a third of the importer's CPU with compress/gzip.
var gzipReaders sync.Pool

// gunzip inflates a gzip'd log file (every member, as CloudTrail readers
// do) into *buf, refusing more than maxLogFileBytes. The buffer is grown to
// the gzip trailer's length first, so a file is inflated without regrowing;
// *buf is left holding the (possibly new) buffer for its pool.
func gunzip(b []byte, buf *[]byte) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	defer gzipReaders.Put(zr)
	size := 64 << 10
	if len(b) >= 4 {
		// ISIZE: the last member's length mod 2^32 — a hint only.
		if n := int(binary.LittleEndian.Uint32(b[len(b)-4:])); n > 0 && n <= maxLogFileBytes {
			size = n + bytes.MinRead
		}
	}
	if cap(*buf) < size {
		*buf = make([]byte, 0, size)
	}
	out := bytes.NewBuffer((*buf)[:0])
	n, err := out.ReadFrom(io.LimitReader(zr, maxLogFileBytes+1))
	*buf = out.Bytes()[:0]
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if n > maxLogFileBytes {
		return nil, fmt.Errorf("inflates to more than %d bytes", maxLogFileBytes)
	}
	return out.Bytes(), nil
}

// ReadLogFile reads, gunzips and splits one log file of src, keeping the
// records within flt's time range (what `cairn import` sends; CloudTrail
// Lake's StartImport reads log files with it too). filtered counts the
// records left out.
func ReadLogFile(ctx context.Context, src Source, f LogFile, flt Filter) (records []json.RawMessage, filtered int, err error) {
	u, err := readLogFile(ctx, src, f, flt, new(bufPool), 0) // a buffer of its own: the caller keeps the records
	return u.records, u.filtered, err
}

// bufPool keeps the buffers of log files whose records are all answered,
// for the next files: making (and clearing) a buffer of a megabyte or two
// for each file, and collecting it, cost about a tenth of the importer's
// CPU. It holds at most what the import held at once.
type bufPool struct{ p sync.Pool }

// get returns a buffer (empty, of any capacity).
func (b *bufPool) get() *[]byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return buf
	}
	return new([]byte)
}

// put keeps buf, which nothing reads any more; nil is ignored.
func (b *bufPool) put(buf *[]byte) {
	if b == nil || buf == nil || cap(*buf) == 0 {
		return
	}
	*buf = (*buf)[:0]
	b.p.Put(buf)
}
