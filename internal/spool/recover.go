package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairn-audit/cairn/internal/segment"
)

// recover loads the spool's state from disk at Open. It verifies every
// record, truncates a torn tail of the last segment, refuses damage anywhere
// else, and deletes segments that were fully acknowledged before a crash.
func (s *Spool) recover() error {
	if err := os.Remove(filepath.Join(s.dir, ackTmpName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ack, err := readAck(s.dir)
	if err != nil {
		return err
	}
	firsts, err := segment.List(s.dir)
	if err != nil {
		return err
	}

	if len(firsts) == 0 {
		seg, err := createSegment(s.dir, ack+1)
		if err != nil {
			return err
		}
		s.segs = []*segFile{seg}
		s.ack, s.synced, s.nextSeq, s.peeked = ack, ack, ack+1, ack
		s.ackPos = pos{seg: seg, off: segHeaderLen, seq: ack + 1}
		return nil
	}
	if firsts[0] > ack+1 {
		return fmt.Errorf("records %d to %d are missing: acknowledged up to %d, but the oldest segment is %s",
			ack+1, firsts[0]-1, ack, segName(firsts[0]))
	}

	next := firsts[0] // seq the next record must carry
	ackFound := false
	for i, first := range firsts {
		last := i == len(firsts)-1
		seg := &segFile{first: first, path: filepath.Join(s.dir, segName(first))}
		s.segs = append(s.segs, seg) // before any error, so that Open closes its file
		if first != next {
			return fmt.Errorf("segment %s should start at seq %d: records are missing", segName(first), next)
		}
		if last {
			seg.f, err = os.OpenFile(seg.path, os.O_RDWR, 0)
		} else {
			seg.f, err = os.Open(seg.path)
		}
		if err != nil {
			return err
		}
		size, err := s.checkHeader(seg, last)
		if err != nil {
			return err
		}
		good, end, err := format.Scan(seg.f, segHeaderLen, size, first, func(off int64, seq uint64, _ []byte) error {
			if seq == ack+1 && !ackFound {
				s.ackPos = pos{seg: seg, off: off, seq: seq}
				ackFound = true
			}
			return nil
		})
		if err != nil && (!last || !segment.IsCorrupt(err)) {
			return fmt.Errorf("segment %s: %w", segName(first), err)
		}
		if err != nil {
			// The torn tail of the last segment: a write that never
			// completed, so its Append never returned nil.
			s.log.Warn("spool: dropping the torn end of the last segment",
				"segment", seg.path, "offset", good, "bytes", size-good, "reason", err)
			if err := segment.Cut(seg.f, good); err != nil {
				return err
			}
		}
		if end == ack+1 && !ackFound {
			s.ackPos = pos{seg: seg, off: good, seq: end}
			ackFound = true
		}
		seg.size, seg.synced = good, good
		next = end
		if !last {
			// Opened again on demand by Peek.
			if err := seg.f.Close(); err != nil {
				return err
			}
			seg.f = nil
		}
	}
	if ack >= next {
		return fmt.Errorf("acknowledged up to %d, but the spool ends at %d", ack, next-1)
	}
	if !ackFound {
		return fmt.Errorf("record %d not found", ack+1) // unreachable: ack+1 is in [firsts[0], next]
	}
	s.ack, s.synced, s.nextSeq, s.peeked = ack, next-1, next, ack
	s.pendingBytes = s.bytesBetween(s.ackPos, pos{seg: s.active(), off: s.active().size, seq: next})
	dead := s.dropAcked()
	return s.removeSegments(dead)
}

// checkHeader verifies the magic of seg and returns its size. A last
// segment with a missing or torn magic (a crash while it was being
// created, before any record was written to it) is rewritten.
func (s *Spool) checkHeader(seg *segFile, last bool) (int64, error) {
	fi, err := seg.f.Stat()
	if err != nil {
		return 0, err
	}
	ok, err := format.HasMagic(seg.f)
	if err != nil {
		return 0, err
	}
	if ok {
		return fi.Size(), nil
	}
	if !last {
		return 0, fmt.Errorf("segment %s: not a spool segment (bad magic)", segName(seg.first))
	}
	s.log.Warn("spool: rewriting the torn header of the last segment", "segment", seg.path, "bytes", fi.Size())
	if err := format.Reset(seg.f); err != nil {
		return 0, err
	}
	return segHeaderLen, nil
}

// createSegment durably creates an empty segment file whose first record
// will be first, and returns it open for appending.
func createSegment(dir string, first uint64) (*segFile, error) {
	f, err := format.Create(dir, first, false)
	if err != nil {
		return nil, err
	}
	return &segFile{first: first, path: filepath.Join(dir, segName(first)), f: f, size: segHeaderLen, synced: segHeaderLen}, nil
}
