// Package segment is an append-only log of checksummed frames kept in
// numbered segment files. It owns the mechanics both of Cairn's logs share
// (the proxy's spool and the SQLite store's event log): encoding and
// verifying frames, naming, creating and syncing segment files, appending
// with take-back on failure, reading frames one by one or a run of them
// with one read, and the scan that finds where the good frames of a file
// end so that a torn tail can be cut at open.
//
// Each log describes its on-disk layout with a Format (the two logs were
// written before this package and keep their layouts). What stays with
// each user is policy: when to rotate, how appends share an fsync (group
// commit), and what a damaged frame means for the rest of its log.
package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A Format is the layout of a log's files and frames.
//
// A file is Magic followed by frames. A frame is a header of HeaderLen
// bytes and a payload. The header holds, little-endian, the payload's
// length (uint32 at LenAt), a CRC-32C (Castagnoli; uint32 at CRCAt) and,
// when SeqAt >= 0, the frame's sequence number (uint64 at SeqAt). The CRC
// covers the header bytes after the CRC field and then the payload, so it
// covers the seq when that follows the CRC.
type Format struct {
	Magic     string
	HeaderLen int
	LenAt     int
	CRCAt     int
	SeqAt     int // < 0: frames carry no seq in their header
}

// maxHeaderLen bounds HeaderLen.
const maxHeaderLen = 64

// MaxPayload is the largest payload a frame can hold.
const MaxPayload = 1<<32 - 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Validate reports a Format whose fields overlap or do not fit its header.
func (f *Format) Validate() error {
	type field struct{ at, n int }
	fields := []field{{f.LenAt, 4}, {f.CRCAt, 4}}
	if f.SeqAt >= 0 {
		fields = append(fields, field{f.SeqAt, 8})
	}
	if f.HeaderLen > maxHeaderLen {
		return fmt.Errorf("segment: a %d-byte header is longer than %d", f.HeaderLen, maxHeaderLen)
	}
	used := make([]bool, f.HeaderLen)
	for _, fl := range fields {
		if fl.at < 0 || fl.at+fl.n > f.HeaderLen {
			return fmt.Errorf("segment: field at %d does not fit a %d-byte header", fl.at, f.HeaderLen)
		}
		for i := fl.at; i < fl.at+fl.n; i++ {
			if used[i] {
				return fmt.Errorf("segment: header fields overlap at byte %d", i)
			}
			used[i] = true
		}
	}
	return nil
}

// HasSeq reports whether frames carry their seq in the header.
func (f *Format) HasSeq() bool { return f.SeqAt >= 0 }

// Begin appends room for a frame header to dst. The caller appends the
// payload after it and then calls Finish on the frame; this lets a payload
// be encoded in place.
func (f *Format) Begin(dst []byte) []byte {
	return append(dst, make([]byte, f.HeaderLen)...)
}

// Finish fills in the header of frame (a header made by Begin followed by
// the whole payload): length, seq (if the format has one) and CRC.
func (f *Format) Finish(frame []byte, seq uint64) {
	binary.LittleEndian.PutUint32(frame[f.LenAt:], uint32(len(frame)-f.HeaderLen))
	if f.SeqAt >= 0 {
		binary.LittleEndian.PutUint64(frame[f.SeqAt:], seq)
	}
	binary.LittleEndian.PutUint32(frame[f.CRCAt:], f.checksum(frame))
}

// Append appends the frame of payload, numbered seq, to dst.
func (f *Format) Append(dst []byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	dst = f.Begin(dst)
	dst = append(dst, payload...)
	f.Finish(dst[start:], seq)
	return dst
}

// checksum is the CRC of frame: the header bytes after the CRC field, then
// the payload.
func (f *Format) checksum(frame []byte) uint32 {
	return f.crc(frame[:f.HeaderLen], frame[f.HeaderLen:])
}

// crc is the CRC of a frame given as its header and its payload.
func (f *Format) crc(header, payload []byte) uint32 {
	crc := crc32.Update(0, castagnoli, header[f.CRCAt+4:])
	return crc32.Update(crc, castagnoli, payload)
}

// verify checks payload against header (a frame in two pieces) and
// returns the frame's seq, or why it is damaged.
func (f *Format) verify(header, payload []byte) (uint64, string) {
	if crc, want := f.crc(header, payload), binary.LittleEndian.Uint32(header[f.CRCAt:]); crc != want {
		return 0, fmt.Sprintf("checksum %08x, want %08x", crc, want)
	}
	if f.SeqAt < 0 {
		return 0, ""
	}
	return binary.LittleEndian.Uint64(header[f.SeqAt:]), ""
}

// PayloadLen returns the payload length a frame header declares.
func (f *Format) PayloadLen(header []byte) int64 {
	return int64(binary.LittleEndian.Uint32(header[f.LenAt:]))
}

// FrameLen returns the size of the frame whose header is header.
func (f *Format) FrameLen(header []byte) int64 {
	return int64(f.HeaderLen) + f.PayloadLen(header)
}

// A Frame is one verified frame.
type Frame struct {
	Seq     uint64 // from the header; 0 for formats without one
	Payload []byte
	Size    int // bytes of the frame, header included
}

// Parse verifies the frame at the start of b and returns it; its payload
// aliases b. A frame that is cut short or fails its CRC is a
// *CorruptError (at offset 0 of b).
func (f *Format) Parse(b []byte) (Frame, error) {
	if len(b) < f.HeaderLen {
		return Frame{}, corrupt(0, "%d bytes left, short of a frame header", len(b))
	}
	n := f.PayloadLen(b)
	if n > int64(len(b)-f.HeaderLen) {
		return Frame{}, corrupt(0, "length %d runs past the end", n)
	}
	size := f.HeaderLen + int(n)
	seq, bad := f.verify(b[:f.HeaderLen], b[f.HeaderLen:size])
	if bad != "" {
		return Frame{}, corrupt(0, "%s", bad)
	}
	return Frame{Seq: seq, Payload: b[f.HeaderLen:size], Size: size}, nil
}

// A CorruptError describes a frame that is not what was written: torn by a
// crash mid-write, or damaged on disk.
type CorruptError struct {
	Off    int64 // where the frame starts in its file
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt record at offset %d: %s", e.Off, e.Reason)
}

func corrupt(off int64, format string, args ...any) *CorruptError {
	return &CorruptError{Off: off, Reason: fmt.Sprintf(format, args...)}
}

// IsCorrupt reports whether err is, or wraps, a *CorruptError.
func IsCorrupt(err error) bool {
	if err == nil {
		return false // without the allocation errors.As costs
	}
	var c *CorruptError
	return errors.As(err, &c)
}

// MustFormat returns f, and panics if f is not a valid Format: for the
// formats a package declares once.
func MustFormat(f Format) *Format {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	return &f
}
