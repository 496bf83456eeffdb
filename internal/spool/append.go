package spool

import (
	"errors"
	"fmt"

	"github.com/cairn-audit/cairn/internal/segment"
)

// maxBufCap bounds the encoding buffer kept between Appends.
const maxBufCap = 1 << 20

// Append stores records durably: when it returns nil, they survive a crash
// (fsync). The records of one call get consecutive seqs and are stored all
// or none: if they do not fit under MaxBytes, Append returns ErrFull and
// stores none of them. Many goroutines may call it at once; concurrent
// appends share fsyncs (group commit): while one fsync runs, the appends
// that arrive write their records and then share the next one.
func (s *Spool) Append(records ...[]byte) error {
	if len(records) == 0 {
		return nil
	}
	var n int64
	for _, r := range records {
		if int64(len(r)) > maxDataLen {
			return fmt.Errorf("spool: record of %d bytes is too large", len(r))
		}
		n += recHeaderLen + int64(len(r))
	}
	if n > s.opts.MaxBytes {
		// Never fits, however much is acknowledged: not ErrFull, which
		// callers may treat as "try again later".
		return fmt.Errorf("spool: %d bytes of records exceed MaxBytes (%d)", n, s.opts.MaxBytes)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return errClosed
		}
		if s.err != nil {
			return s.err
		}
		if s.pendingBytes+n > s.opts.MaxBytes {
			s.noteFull()
			return ErrFull
		}
		if seg := s.active(); seg.size > segHeaderLen && seg.size+n > s.opts.SegmentBytes {
			if s.syncing {
				s.cond.Wait() // the running fsync uses the active segment
				continue
			}
			if err := s.rotate(); err != nil {
				return err
			}
			continue
		}
		break
	}

	seg := s.active()
	buf := s.buf[:0]
	seq := s.nextSeq
	for _, r := range records {
		buf = appendRecord(buf, seq, r)
		seq++
	}
	if cap(buf) <= maxBufCap {
		s.buf = buf
	}
	if err := segment.Write(seg.f, seg.size, buf); err != nil {
		// Write took back what it could, so that the next record follows
		// the last complete one. If it could not, the file is in an
		// unknown state.
		if errors.Is(err, segment.ErrDirty) {
			s.fail(fmt.Errorf("write %s: %w", seg.path, err))
		}
		return fmt.Errorf("spool: write %s: %w", seg.path, err)
	}
	seg.size += n
	s.nextSeq = seq
	s.pendingBytes += n
	s.clearFull()
	return s.waitDurable(seq - 1)
}

// waitDurable returns once the records up to seq are fsynced. The first
// waiter that finds no fsync running becomes the leader: it fsyncs the
// active segment without holding mu, covering every record written so far,
// and wakes the others; records written meanwhile wait for the next fsync.
// mu must be held.
func (s *Spool) waitDurable(seq uint64) error {
	for s.synced < seq {
		if s.err != nil {
			return s.err
		}
		if s.filesClosed {
			return errClosed
		}
		if s.syncing {
			s.cond.Wait()
			continue
		}
		s.syncing = true
		seg, target, size := s.active(), s.nextSeq-1, s.active().size
		s.mu.Unlock()
		err := seg.f.Sync()
		s.mu.Lock()
		s.syncing = false
		if err != nil {
			s.fail(fmt.Errorf("fsync %s: %w", seg.path, err))
		} else {
			s.advance(seg, target, size)
		}
		s.cond.Broadcast()
	}
	return nil
}

// rotate fsyncs the active segment and starts a new one. mu must be held
// and no fsync may be running.
func (s *Spool) rotate() error {
	old := s.active()
	if old.synced < old.size {
		if err := old.f.Sync(); err != nil {
			s.fail(fmt.Errorf("fsync %s: %w", old.path, err))
			return s.err
		}
		s.advance(old, s.nextSeq-1, old.size)
		s.cond.Broadcast()
	}
	seg, err := createSegment(s.dir, s.nextSeq)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.segs = append(s.segs, seg)
	return nil
}

// noteFull marks the spool full and logs it, at most once per
// fullLogInterval. mu must be held.
func (s *Spool) noteFull() {
	s.full = true
	now := s.now()
	if !s.lastFullLog.IsZero() && now.Sub(s.lastFullLog) < fullLogInterval {
		return
	}
	s.lastFullLog = now
	s.log.Warn("spool full: refusing new records until the sender catches up",
		"pending_records", s.nextSeq-1-s.ack,
		"pending_bytes", s.pendingBytes,
		"max_bytes", s.opts.MaxBytes)
}
