package spool

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/cairn-audit/cairn/internal/segment"
)

// Peek returns up to maxRecords of the oldest unacknowledged records (and at
// most maxBytes of record data, but always at least one record if any is
// waiting), without removing them: they are returned again by the next Peek
// until Ack covers them. It returns no entries when nothing is waiting; see
// Wait. Only durable records are returned. A maxRecords below 1 counts as 1.
func (s *Spool) Peek(maxRecords int, maxBytes int) ([]Entry, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	v, err := s.view()
	if err != nil {
		return nil, err
	}
	maxRecords = max(maxRecords, 1)

	var (
		entries []Entry
		bounds  []int // entry i's data is buf[bounds[i]:bounds[i+1]]
		buf     []byte
		hints   []pos
		cur     = s.ackPos
		i       = v.index(cur.seg)
		rr      *segment.Reader
	)
	for len(entries) < maxRecords && cur.seq <= v.synced {
		if cur.off >= v.ends[i] {
			if i+1 >= len(v.segs) {
				break
			}
			i++
			cur, rr = pos{seg: v.segs[i], off: segHeaderLen, seq: v.segs[i].first}, nil
			continue
		}
		if rr == nil {
			f, err := s.file(cur.seg)
			if err != nil {
				return nil, err
			}
			rr = format.NewReader(f, cur.off, v.ends[i], cur.seq)
		}
		n, err := rr.NextLen()
		if err != nil {
			return nil, s.readError(cur.seg, err)
		}
		if len(entries) > 0 && len(buf)+n > maxBytes {
			break
		}
		hints = append(hints, cur)
		bounds = append(bounds, len(buf))
		if buf, err = rr.Next(buf); err != nil {
			return nil, s.readError(cur.seg, err)
		}
		entries = append(entries, Entry{Seq: cur.seq})
		cur = pos{seg: cur.seg, off: rr.Off(), seq: rr.Seq()}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	bounds = append(bounds, len(buf))
	for k := range entries {
		entries[k].Data = buf[bounds[k]:bounds[k+1]:bounds[k+1]]
	}
	s.hints = append(hints, cur)

	s.mu.Lock()
	s.peeked = max(s.peeked, cur.seq-1)
	s.mu.Unlock()
	return entries, nil
}

// Ack marks every record with Seq <= seq as sent, durably: the ack file is
// replaced first, then segments whose records are all acknowledged are
// deleted. Acknowledging a seq at or below an earlier Ack does nothing; seq
// must not exceed the last record Peek could return.
func (s *Spool) Ack(seq uint64) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	v, err := s.view()
	if err != nil {
		return err
	}
	if seq <= s.ack {
		return nil
	}
	if seq > v.synced {
		return fmt.Errorf("spool: ack of seq %d beyond the last stored record %d", seq, v.synced)
	}
	p, err := s.locate(v, seq+1)
	if err != nil {
		return err
	}
	if err := writeAck(s.dir, seq); err != nil {
		return err
	}

	s.mu.Lock()
	freed := s.bytesBetween(s.ackPos, p)
	s.ack, s.ackPos = seq, p
	s.pendingBytes -= freed
	s.peeked = max(s.peeked, seq)
	if freed > 0 {
		s.clearFull()
	}
	dead := s.dropAcked()
	s.mu.Unlock()

	s.hints = slices.DeleteFunc(s.hints, func(h pos) bool { return h.seq <= seq || h.seg.first < s.ackPos.seg.first })
	if err := s.removeSegments(dead); err != nil {
		// The ack is durable; Open deletes the segment next time.
		s.log.Warn("spool: cannot delete an acknowledged segment", "err", err)
	}
	return nil
}

// view is a consistent snapshot of where records can be read.
type view struct {
	segs   []*segFile
	ends   []int64 // readable bytes of each segment: durable ones only
	synced uint64  // the last durable record
}

// index returns the index of seg in v.segs.
func (v *view) index(seg *segFile) int {
	i, _ := slices.BinarySearchFunc(v.segs, seg.first, func(s *segFile, first uint64) int {
		return cmp.Compare(s.first, first)
	})
	return i
}

// view snapshots the segments. readMu must be held.
func (s *Spool) view() (*view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	v := &view{segs: slices.Clone(s.segs), synced: s.synced}
	for _, seg := range s.segs {
		v.ends = append(v.ends, seg.synced)
	}
	return v, nil
}

// file returns seg's file, opening it for reading if needed. readMu must be
// held.
func (s *Spool) file(seg *segFile) (*os.File, error) {
	if seg.f != nil {
		return seg.f, nil
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg.f = f
	return f, nil
}

// readError describes a failure to read a record that was durable when it
// was appended.
func (s *Spool) readError(seg *segFile, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("spool: segment %s: %w", seg.path, err)
}

// locate returns the position of the record seq, which must be in
// [ack+1, synced+1]. It uses the positions Peek saw, and otherwise walks
// the record headers from the first unacknowledged record. readMu must be
// held.
func (s *Spool) locate(v *view, seq uint64) (pos, error) {
	if len(s.hints) > 0 && seq >= s.hints[0].seq && seq-s.hints[0].seq < uint64(len(s.hints)) {
		return s.hints[seq-s.hints[0].seq], nil
	}
	cur := s.ackPos
	i := v.index(cur.seg)
	var h [recHeaderLen]byte
	for cur.seq < seq {
		if cur.off >= v.ends[i] {
			if i+1 >= len(v.segs) {
				return pos{}, fmt.Errorf("spool: record %d not found", seq)
			}
			i++
			cur = pos{seg: v.segs[i], off: segHeaderLen, seq: v.segs[i].first}
			continue
		}
		f, err := s.file(cur.seg)
		if err != nil {
			return pos{}, err
		}
		if _, err := f.ReadAt(h[:], cur.off); err != nil {
			return pos{}, s.readError(cur.seg, err)
		}
		cur.off += format.FrameLen(h[:])
		cur.seq++
	}
	return cur, nil
}

// bytesBetween returns the bytes of the records from position a up to
// position b. mu must be held.
func (s *Spool) bytesBetween(a, b pos) int64 {
	var n int64
	counting := false
	for _, seg := range s.segs {
		from, to := segHeaderLen, seg.size
		if seg == a.seg {
			from, counting = a.off, true
		}
		if seg == b.seg {
			to = b.off
		}
		if counting {
			n += to - from
		}
		if seg == b.seg {
			break
		}
	}
	return n
}

// dropAcked removes the segments whose records are all acknowledged from
// s.segs and returns them; the active segment always stays. mu must be
// held.
func (s *Spool) dropAcked() []*segFile {
	var dead []*segFile
	for len(s.segs) > 1 && s.segs[1].first <= s.ack+1 {
		dead = append(dead, s.segs[0])
		s.segs = s.segs[1:]
	}
	if s.ackPos.seg.first < s.segs[0].first {
		// The end of a dropped segment is the start of the next one.
		s.ackPos = pos{seg: s.segs[0], off: segHeaderLen, seq: s.segs[0].first}
	}
	return dead
}

// removeSegments closes and deletes dropped segments. readMu (or, during
// Open, exclusive access) must be held.
func (s *Spool) removeSegments(dead []*segFile) error {
	var errs []error
	for _, seg := range dead {
		if seg.f != nil {
			errs = append(errs, seg.f.Close())
			seg.f = nil
		}
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clearFull marks the spool no longer full, logging the change. mu must be
// held.
func (s *Spool) clearFull() {
	if s.full {
		s.full = false
		s.log.Info("spool no longer full", "pending_bytes", s.pendingBytes, "max_bytes", s.opts.MaxBytes)
	}
}
