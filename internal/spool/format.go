package spool

// The on-disk format.
//
// A spool directory holds:
//
//	<first-seq, 20 digits>.seg  segment files, e.g. 00000000000000000001.seg
//	ack                         the last acknowledged seq, decimal, "\n"-terminated
//	ack.tmp                     the next ack file while it is being written
//	lock                        flock(2)ed by the process that has the spool open
//
// A segment file is the 8-byte magic "CAIRNSP1" followed by records, each
//
//	crc32c  uint32, little-endian: CRC-32C (Castagnoli) of the next 12 bytes and the data
//	length  uint32, little-endian: len(data)
//	seq     uint64, little-endian: the record's sequence number
//	data    length bytes
//
// Records in a segment have consecutive seqs starting at the one in the
// file name, and each segment starts where the previous one ends. Carrying
// the seq in every record lets recovery tell a stale or misplaced record
// from a valid one.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
)

const (
	segMagic     = "CAIRNSP1"
	segHeaderLen = int64(len(segMagic))
	recHeaderLen = 16
	maxDataLen   = math.MaxUint32

	segSuffix  = ".seg"
	ackName    = "ack"
	ackTmpName = "ack.tmp"
	lockName   = "lock"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segName returns the file name of the segment whose first record is first.
func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// parseSegName returns the first seq of a segment file name, and false for
// names that are not segment files.
func parseSegName(name string) (uint64, bool) {
	if len(name) != 20+len(segSuffix) || name[20:] != segSuffix {
		return 0, false
	}
	for _, c := range name[:20] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	first, err := strconv.ParseUint(name[:20], 10, 64)
	return first, err == nil
}

// appendRecord appends the encoding of one record to buf.
func appendRecord(buf []byte, seq uint64, data []byte) []byte {
	var h [recHeaderLen]byte
	binary.LittleEndian.PutUint32(h[4:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	crc := crc32.Update(0, castagnoli, h[4:])
	crc = crc32.Update(crc, castagnoli, data)
	binary.LittleEndian.PutUint32(h[0:], crc)
	buf = append(buf, h[:]...)
	return append(buf, data...)
}

// A corruptError describes a record that is not what was written: torn by a
// crash mid-write, or damaged on disk.
type corruptError struct {
	off    int64
	reason string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("corrupt record at offset %d: %s", e.off, e.reason)
}

func isCorrupt(err error) bool {
	var c *corruptError
	return errors.As(err, &c)
}

// recordReader reads and verifies the records of one segment in order.
type recordReader struct {
	br  *bufio.Reader
	off int64  // offset of the next record
	end int64  // end of the bytes that may be read
	seq uint64 // seq the next record must carry
}

func newRecordReader(r io.ReaderAt, off, end int64, seq uint64) *recordReader {
	return &recordReader{
		br:  bufio.NewReaderSize(io.NewSectionReader(r, off, end-off), int(min(end-off, 64<<10))),
		off: off,
		end: end,
		seq: seq,
	}
}

func (r *recordReader) corrupt(format string, args ...any) error {
	return &corruptError{off: r.off, reason: fmt.Sprintf(format, args...)}
}

// readErr turns a short read into corruption (the file is shorter than
// expected) and passes other I/O errors on as they are.
func (r *recordReader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.corrupt("unexpected end of file")
	}
	return err
}

// nextLen returns the data length of the next record without consuming it,
// or io.EOF when no bytes are left.
func (r *recordReader) nextLen() (int, error) {
	left := r.end - r.off
	if left == 0 {
		return 0, io.EOF
	}
	if left < recHeaderLen {
		return 0, r.corrupt("%d bytes left, short of a record header", left)
	}
	h, err := r.br.Peek(recHeaderLen)
	if err != nil {
		return 0, r.readErr(err)
	}
	n := int64(binary.LittleEndian.Uint32(h[4:]))
	if n > left-recHeaderLen {
		return 0, r.corrupt("length %d runs past the end of the segment", n)
	}
	return int(n), nil
}

// next reads the next record, verifies it and appends its data to dst. It
// returns io.EOF when no bytes are left and a *corruptError for a record that
// is torn or damaged.
func (r *recordReader) next(dst []byte) ([]byte, error) {
	n, err := r.nextLen()
	if err != nil {
		return dst, err
	}
	var h [recHeaderLen]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return dst, r.readErr(err)
	}
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	if _, err := io.ReadFull(r.br, dst[start:]); err != nil {
		return dst[:start], r.readErr(err)
	}
	crc := crc32.Update(0, castagnoli, h[4:])
	crc = crc32.Update(crc, castagnoli, dst[start:])
	if want := binary.LittleEndian.Uint32(h[0:]); crc != want {
		return dst[:start], r.corrupt("checksum %08x, want %08x", crc, want)
	}
	if seq := binary.LittleEndian.Uint64(h[8:]); seq != r.seq {
		return dst[:start], r.corrupt("seq %d, want %d", seq, r.seq)
	}
	r.off += recHeaderLen + int64(n)
	r.seq++
	return dst, nil
}
