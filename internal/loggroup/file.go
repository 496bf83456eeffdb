package loggroup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/cairn-audit/cairn/internal/event"
)

// File appends records to an NDJSON file, one record a line, for a log
// shipper (Vector, Fluent Bit, Promtail) to tail. A batch is written with
// one write and fsync'd before Send returns, so the cursor never moves
// past a record that is not on disk. Once the file reaches the rotation
// size it is renamed path.1 (path.1 to path.2, and so on; the oldest beyond
// keep is removed) and a new path is begun — the rename rotation tailers
// follow by inode.
//
// A crash during a write can leave a partial last line: the next Send cuts
// it off before appending (the events it held are sent again, as the cursor
// did not move), so every line is a whole record.
type File struct {
	path   string
	rotate int64
	keep   int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewFile makes the sink for path, rotated at rotate bytes keeping keep
// rotated files.
func NewFile(path string, rotate int64, keep int) *File {
	return &File{path: path, rotate: rotate, keep: keep}
}

// Send appends evs, one record a line, and syncs the file.
func (s *File) Send(ctx context.Context, evs []*event.Event) error {
	var b bytes.Buffer
	for _, ev := range evs {
		b.Write(ev.Record)
		b.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	n, err := s.f.Write(b.Bytes())
	s.size += int64(n)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		s.close() // reopened (and a partial line cut) at the next Send
		return fmt.Errorf("log file %s: %w", s.path, err)
	}
	if s.size >= s.rotate {
		if err := s.rotateFiles(); err != nil {
			return fmt.Errorf("log file %s: rotate: %w", s.path, err)
		}
	}
	return nil
}

// open opens the file for appending unless it is open, cutting off a
// partial last line.
func (s *File) open() error {
	if s.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("log file %s: %w", s.path, err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log file %s: %w", s.path, err)
	}
	size, err := wholeLines(f)
	if err == nil {
		_, err = f.Seek(size, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("log file %s: %w", s.path, err)
	}
	if size == 0 {
		// A new file: its name must survive a crash as its lines do.
		if err := syncDir(filepath.Dir(s.path)); err != nil {
			f.Close()
			return fmt.Errorf("log file %s: %w", s.path, err)
		}
	}
	s.f, s.size = f, size
	return nil
}

// wholeLines truncates f after its last newline (a crash may have left a
// partial line) and returns its size.
func wholeLines(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, nil
	}
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return end, f.Sync()
}

// rotateFiles renames path to path.1 (shifting the older ones) and drops
// the oldest beyond keep; the next Send begins a new path.
func (s *File) rotateFiles() error {
	s.close()
	os.Remove(fmt.Sprintf("%s.%d", s.path, s.keep))
	for i := s.keep - 1; i >= 1; i-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", s.path, i), fmt.Sprintf("%s.%d", s.path, i+1)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return err
	}
	return syncDir(filepath.Dir(s.path))
}

func (s *File) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// Close closes the file.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.close()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
