package segment

import (
	"bufio"
	"errors"
	"io"
	"slices"
)

// A Reader reads and verifies the frames of one file in order, through a
// buffer: the way to walk many small frames.
type Reader struct {
	f   *Format
	br  *bufio.Reader
	off int64  // where the next frame starts
	end int64  // end of the bytes that may be read
	seq uint64 // the seq the next frame has (checked when f.HasSeq)
}

// NewReader reads the frames of r between off and end; the first is
// numbered seq.
func (f *Format) NewReader(r io.ReaderAt, off, end int64, seq uint64) *Reader {
	return &Reader{
		f:   f,
		br:  bufio.NewReaderSize(io.NewSectionReader(r, off, end-off), int(max(min(end-off, 64<<10), 16))),
		off: off,
		end: end,
		seq: seq,
	}
}

// Off is where the next frame starts: after Next fails, where the good
// frames end.
func (r *Reader) Off() int64 { return r.off }

// Seq is the seq of the next frame.
func (r *Reader) Seq() uint64 { return r.seq }

func (r *Reader) corrupt(format string, args ...any) error {
	return corrupt(r.off, format, args...)
}

// readErr turns a short read into corruption (the file is shorter than
// expected) and passes other I/O errors on as they are.
func (r *Reader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.corrupt("unexpected end of file")
	}
	return err
}

// NextLen returns the payload length of the next frame without consuming
// it, or io.EOF when no bytes are left.
func (r *Reader) NextLen() (int, error) {
	left := r.end - r.off
	if left == 0 {
		return 0, io.EOF
	}
	hl := int64(r.f.HeaderLen)
	if left < hl {
		return 0, r.corrupt("%d bytes left, short of a record header", left)
	}
	h, err := r.br.Peek(r.f.HeaderLen)
	if err != nil {
		return 0, r.readErr(err)
	}
	n := r.f.PayloadLen(h)
	if n > left-hl {
		return 0, r.corrupt("length %d runs past the end of the segment", n)
	}
	return int(n), nil
}

// Next reads the next frame, verifies it and appends its payload to dst.
// It returns io.EOF when no bytes are left and a *CorruptError for a frame
// that is torn, damaged or (in a format with seqs) out of place.
func (r *Reader) Next(dst []byte) ([]byte, error) {
	n, err := r.NextLen()
	if err != nil {
		return dst, err
	}
	var hbuf [maxHeaderLen]byte
	h := hbuf[:r.f.HeaderLen]
	if _, err := io.ReadFull(r.br, h); err != nil {
		return dst, r.readErr(err)
	}
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	if _, err := io.ReadFull(r.br, dst[start:]); err != nil {
		return dst[:start], r.readErr(err)
	}
	seq, bad := r.f.verify(h, dst[start:])
	if bad != "" {
		return dst[:start], r.corrupt("%s", bad)
	}
	if r.f.HasSeq() && seq != r.seq {
		return dst[:start], r.corrupt("seq %d, want %d", seq, r.seq)
	}
	r.off += int64(len(h) + n)
	r.seq++
	return dst, nil
}

// ReadAt reads the n bytes at off of r with one read: a frame, or a run of
// nearby frames that Parse then splits. Bytes past the end of the file are
// a *CorruptError.
func ReadAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, corrupt(off, "%d bytes wanted, the file ends before", n)
		}
		return nil, err
	}
	return buf, nil
}
