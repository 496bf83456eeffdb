package segment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Suffix ends the name of every segment file.
const Suffix = ".seg"

const nameDigits = 20

// Name returns the file name of the segment whose first frame is numbered
// first: 20 decimal digits and Suffix, so that names sort as numbers.
func Name(first uint64) string {
	var b [nameDigits + len(Suffix)]byte
	n := strconv.AppendUint(b[:0], first, 10)
	pad := nameDigits - len(n)
	copy(b[pad:], n)
	for i := range pad {
		b[i] = '0'
	}
	copy(b[nameDigits:], Suffix)
	return string(b[:])
}

// ParseName returns the first seq of a segment file name, and false for
// names that are not segment files.
func ParseName(name string) (uint64, bool) {
	if len(name) != nameDigits+len(Suffix) || name[nameDigits:] != Suffix {
		return 0, false
	}
	for _, c := range name[:nameDigits] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	first, err := strconv.ParseUint(name[:nameDigits], 10, 64)
	return first, err == nil
}

// List returns the first seqs of the segment files in dir, in order.
func List(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, e := range entries {
		if first, ok := ParseName(e.Name()); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	return firsts, nil
}

// Create durably creates the file of the segment starting at first in
// dir: it writes the format's magic and fsyncs the file and then the
// directory, so that the file survives a crash. With replace an existing
// file of that name is emptied; without, it is an error. On failure no
// new file is left behind.
func (f *Format) Create(dir string, first uint64, replace bool) (*os.File, error) {
	path := filepath.Join(dir, Name(first))
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if replace {
		flag = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if f.Magic != "" {
		if _, err = file.WriteString(f.Magic); err == nil {
			err = file.Sync()
		}
	}
	if err == nil {
		err = SyncDir(dir)
	}
	if err != nil {
		file.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return file, nil
}

// SyncDir fsyncs a directory, making the creation, renaming and removal of
// its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// HasMagic reports whether r begins with the format's magic.
func (f *Format) HasMagic(r io.ReaderAt) (bool, error) {
	if f.Magic == "" {
		return true, nil
	}
	b := make([]byte, len(f.Magic))
	n, err := r.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return false, err
	}
	return n == len(b) && string(b) == f.Magic, nil
}

// Reset durably empties file down to the format's magic: for a segment
// whose creation a crash interrupted before any frame was written.
func (f *Format) Reset(file *os.File) error {
	if err := file.Truncate(0); err != nil {
		return err
	}
	if _, err := file.WriteAt([]byte(f.Magic), 0); err != nil {
		return err
	}
	return file.Sync()
}

// ErrDirty says that a failed write could not be taken back: the file ends
// with part of what was written.
var ErrDirty = errors.New("the file could not be cut back after a failed write")

// Write writes frames at end, the end of the frames in file (not synced).
// If the write fails, what it may have left is cut off, so that the next
// frame follows the last whole one; if even that fails, the error wraps
// ErrDirty too.
//
// The frames go to the file in pieces of at most writePiece bytes: on the
// Linux VMs Cairn is measured on, the kernel copies one multi-megabyte
// write into the page cache several times slower than the same bytes
// written a megabyte at a time (BENCHMARKS.md, "Segment writes in pieces").
func Write(file *os.File, end int64, frames []byte) error {
	err := writePieces(file, end, frames)
	if err == nil {
		return nil
	}
	if cerr := Cut(file, end); cerr != nil {
		return fmt.Errorf("%w (%w: %v)", err, ErrDirty, cerr)
	}
	return err
}

// writePiece bounds one write system call of Write.
const writePiece = 1 << 20

func writePieces(file *os.File, at int64, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), writePiece)
		if _, err := file.WriteAt(b[:n], at); err != nil {
			return err
		}
		b, at = b[n:], at+int64(n)
	}
	return nil
}

// Cut durably truncates file to size: a torn tail found at open, or what a
// failed write or sync left.
func Cut(file *os.File, size int64) error {
	if err := file.Truncate(size); err != nil {
		return err
	}
	return file.Sync()
}
