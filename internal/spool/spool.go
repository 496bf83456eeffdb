// Package spool provides a durable on-disk queue of records: the buffer
// between `cairn proxy` recording an event and a sender delivering it to the
// Cairn server.
//
// A record is on disk and fsynced before Append returns nil, so it survives a
// crash of the process or the machine. The sender reads the oldest records
// with Peek, delivers them, and then acknowledges them with Ack; until then
// they stay in the spool, also across restarts. Resending after a crash is
// safe because ingest is idempotent on event IDs, so the spool delivers each
// record at least once and never loses one that Append accepted.
//
// On disk a spool is a directory of segment files, each named for the
// sequence number (seq) of its first record, plus an ack file holding the
// highest acknowledged seq. Positions only advance after the data they cover
// is fsynced ("write, fsync, then advance the position"): Peek only returns
// records whose fsync completed, and the ack file is replaced atomically
// before acknowledged segments are deleted. See format.go for the byte layout.
package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/segment"
)

// ErrFull: the spool holds MaxBytes already; the record was not stored.
var ErrFull = errors.New("spool: full")

// errClosed is returned by every method of a closed Spool.
var errClosed = errors.New("spool: closed")

// Default option values.
const (
	defaultMaxBytes     = 256 << 20
	defaultSegmentBytes = 16 << 20
)

// fullLogInterval is how often "spool full" is logged while the spool stays full.
const fullLogInterval = time.Minute

// Options configure a Spool. The zero value is usable.
type Options struct {
	// MaxBytes bounds the unacknowledged data on disk, record framing
	// included (default 256 MiB). An Append that would exceed it fails with
	// ErrFull. Acknowledged records that share a segment file with
	// unacknowledged ones stay on disk until the whole segment is
	// acknowledged, so disk use can exceed MaxBytes by about one segment.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started
	// (default 16 MiB). A single Append never spans two segments, so a
	// segment can exceed it by one Append's worth of records.
	SegmentBytes int64
	// Logger receives "spool full" (at most once per minute while the spool
	// stays full) and recovery warnings. Nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Entry is one record returned by Peek.
type Entry struct {
	Seq  uint64 // position in the spool: consecutive, never reused once acknowledged
	Data []byte // the record as appended; owned by the caller
}

// Stats describe the spool's current contents.
type Stats struct {
	Pending      int64 // records stored and not yet acknowledged
	PendingBytes int64 // their size on disk, framing included; compared with MaxBytes
	Segments     int   // segment files on disk
	Full         bool  // an Append was refused with ErrFull and no space has been freed since
}

// A Spool is a durable queue of records in one directory. Its methods are
// safe for concurrent use. Appends from many goroutines share fsyncs. Peek
// and Ack are meant for one sender; concurrent calls are serialized.
type Spool struct {
	dir    string
	opts   Options
	log    *slog.Logger
	now    func() time.Time // the clock for rate-limiting the "spool full" log
	unlock func() error     // releases the directory lock

	// readMu serializes the sender side (Peek, Ack) and Close. It is taken
	// before mu. Segment files other than the active one are opened, closed
	// and deleted only with readMu held.
	readMu sync.Mutex
	ackPos pos   // where the first unacknowledged record starts (seq == ack+1)
	hints  []pos // positions of the records returned by the last Peek, and its end

	mu   sync.Mutex
	cond *sync.Cond // signalled with mu when a sync ends
	segs []*segFile // oldest first; the last one is active (appended to)
	// Sequence numbers: records [ack+1, synced] are durable and readable,
	// (synced, nextSeq) are written and being fsynced.
	ack, synced, nextSeq uint64
	peeked               uint64 // highest seq Peek has returned (at least ack)
	pendingBytes         int64  // bytes of records after ack, including those being fsynced
	syncing              bool   // an fsync of the active segment is running without mu
	err                  error  // sticky: a failed fsync leaves the file in an unknown state
	closed               bool
	filesClosed          bool
	waitCh               chan struct{} // closed when synced advances
	buf                  []byte        // encoding buffer for Append
	full                 bool
	lastFullLog          time.Time
}

// segFile is one segment file.
type segFile struct {
	first  uint64   // seq of its first record (also in its name)
	path   string   // full path
	f      *os.File // read-write for the active segment; nil until read for older ones
	size   int64    // bytes written; fixed once the segment is no longer active
	synced int64    // bytes known to be durable (== size for older segments)
}

// pos is the position of a record: the segment holding it and its offset
// there. A position at the end of a segment is equivalent to the start of the
// next one.
type pos struct {
	seg *segFile
	off int64
	seq uint64
}

// Open opens the spool in dir, creating dir if needed, and recovers after a
// crash: a torn or corrupt record at the end of the last segment (one whose
// Append never returned nil) is dropped by truncating the file there, while
// damage anywhere else is refused with an error rather than silently losing
// records. Only one Spool may have dir open at a time; a second Open, from
// this or another process, fails.
func Open(dir string, o Options) (*Spool, error) {
	o = o.withDefaults()
	if err := makeDir(dir); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		dir:    dir,
		opts:   o,
		log:    o.Logger.With("spool", dir),
		now:    time.Now,
		unlock: unlock,
	}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		s.closeFiles()
		unlock()
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	return s, nil
}

// makeDir creates dir if it does not exist, durably.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return segment.SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// active returns the segment appended to. mu must be held.
func (s *Spool) active() *segFile { return s.segs[len(s.segs)-1] }

// Wait returns a channel that is closed when records are appended after the
// call (once they are durable and Peek can return them). It is also closed
// at once if records are already waiting that no Peek has returned yet, so
// that "Peek returned nothing, then Wait" cannot miss an Append that landed in
// between; and when the spool is closed.
func (s *Spool) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.synced > s.peeked {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if s.waitCh == nil {
		s.waitCh = make(chan struct{})
	}
	return s.waitCh
}

// Stats returns the spool's current contents.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Pending:      int64(s.nextSeq - 1 - s.ack),
		PendingBytes: s.pendingBytes,
		Segments:     len(s.segs),
		Full:         s.full,
	}
}

// Close waits for running appends to become durable, fsyncs what was
// written and closes the files. Records that were not acknowledged stay in
// the spool for the next Open. Close is idempotent.
func (s *Spool) Close() error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for s.syncing {
		s.cond.Wait()
	}
	var errs []error
	if s.err == nil && s.synced < s.nextSeq-1 {
		seg := s.active()
		if err := seg.f.Sync(); err != nil {
			s.fail(fmt.Errorf("fsync %s: %w", seg.path, err))
			errs = append(errs, s.err)
		} else {
			s.advance(seg, s.nextSeq-1, seg.size)
		}
	}
	s.cond.Broadcast()
	if s.waitCh != nil {
		close(s.waitCh)
		s.waitCh = nil
	}
	errs = append(errs, s.closeFiles(), s.unlock())
	s.filesClosed = true
	return errors.Join(errs...)
}

// closeFiles closes every open segment file.
func (s *Spool) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		if seg.f != nil {
			errs = append(errs, seg.f.Close())
			seg.f = nil
		}
	}
	return errors.Join(errs...)
}

// advance records that the active segment seg is durable up to size bytes,
// which hold the records up to seq, and wakes Wait. mu must be held.
func (s *Spool) advance(seg *segFile, seq uint64, size int64) {
	if size > seg.synced {
		seg.synced = size
	}
	if seq <= s.synced {
		return
	}
	s.synced = seq
	if s.waitCh != nil {
		close(s.waitCh)
		s.waitCh = nil
	}
}

// fail makes err sticky: after a failed fsync the kernel may have dropped
// the dirty pages, so what the file holds is unknown and no further Append
// may claim durability. Reopening the spool recovers from what is on disk.
// mu must be held.
func (s *Spool) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("spool: unusable until reopened: %w", err)
		s.log.Error("spool I/O error; appends fail until the spool is reopened", "err", err)
	}
}
