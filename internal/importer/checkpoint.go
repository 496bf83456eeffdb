package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Checkpoint remembers which units of an import (log files by key, event
// history windows by name) are fully acknowledged by the server, so that a
// stopped or crashed import resumes without reading them again.
//
// The file is a header line naming the source, then one quoted unit name a
// line. At open the file is compacted: rewritten to a temporary file,
// fsync'd, renamed over the old one and its folder fsync'd, so the file on
// disk is always whole. Units done afterwards are appended, a line at a
// time, and fsync'd within flushEvery; a line torn by a crash (no newline)
// is ignored at the next open, so at worst a unit is read and sent again,
// which the server's idempotency on eventID absorbs.
type Checkpoint struct {
	path string
	done map[string]bool

	mu      sync.Mutex
	f       *os.File
	pending bytes.Buffer
	err     error
	stop    chan struct{}
	stopped chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// flushEvery is how often appended units are written and fsync'd.
const flushEvery = 250 * time.Millisecond

// checkpointHeader is the first line of a checkpoint file.
type checkpointHeader struct {
	CairnImport int    `json:"cairnImport"`
	Source      string `json:"source"`
	// Scope is what else decides a unit's records (the time filter): a
	// file done for one time range is not done for another.
	Scope string `json:"scope,omitempty"`
}

// OpenCheckpoint opens (or creates) the checkpoint at path for source (a
// SourceID, or a name of the event history pulled) and scope (see
// checkpointHeader). A checkpoint of another source or scope is
// refused. An empty path gives a checkpoint that remembers nothing on disk.
func OpenCheckpoint(path, source, scope string) (*Checkpoint, error) {
	c := &Checkpoint{path: path, done: map[string]bool{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if path == "" {
		close(c.stopped)
		return c, nil
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("checkpoint: %w", err)
	default:
		if err := c.load(b, source, scope); err != nil {
			return nil, err
		}
	}
	if err := c.compact(source, scope); err != nil {
		return nil, err
	}
	go c.flusher()
	return c, nil
}

// load reads a checkpoint file's units.
func (c *Checkpoint) load(b []byte, source, scope string) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	complete := bytes.HasSuffix(b, []byte("\n"))
	lines := bytes.Count(b, []byte("\n"))
	n := 0
	for sc.Scan() {
		n++
		if n > lines && !complete {
			break // the torn last line of a crash
		}
		line := sc.Bytes()
		if first {
			first = false
			var h checkpointHeader
			if err := json.Unmarshal(line, &h); err != nil || h.CairnImport != 1 {
				return fmt.Errorf("checkpoint %s: not a cairn import checkpoint", c.path)
			}
			if h.Source != source && otherKey(h.Source, source) {
				return fmt.Errorf("checkpoint %s belongs to the event history read with another AWS access key (another account's, or another key of the account): give another --checkpoint file", c.path)
			}
			if h.Source != source && !sameSource(h.Source, source) && !sameHistory(h.Source, source) {
				return fmt.Errorf("checkpoint %s belongs to the import of %s, not %s: give another --checkpoint file", c.path, h.Source, source)
			}
			if h.Scope != scope {
				return fmt.Errorf("checkpoint %s was made with other time bounds (%s, not %s): give another --checkpoint file",
					c.path, orAll(h.Scope), orAll(scope))
			}
			continue
		}
		unit, err := strconv.Unquote(string(line))
		if err != nil {
			return fmt.Errorf("checkpoint %s line %d: %w", c.path, n, err)
		}
		c.done[unit] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.path, err)
	}
	return nil
}

// compact writes header and units to a new file that replaces the old one
// atomically, and keeps it open for appending.
func (c *Checkpoint) compact(source, scope string) error {
	var buf bytes.Buffer
	h, _ := json.Marshal(checkpointHeader{CairnImport: 1, Source: source, Scope: scope})
	buf.Write(h)
	buf.WriteByte('\n')
	for u := range c.done {
		buf.WriteString(strconv.Quote(u))
		buf.WriteByte('\n')
	}
	dir := filepath.Dir(c.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(c.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	c.f = tmp // the same file, now at c.path, positioned at its end
	return nil
}

// Done reports whether unit was acknowledged by an earlier run (or this one).
func (c *Checkpoint) Done(unit string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done[unit]
}

// Path is the checkpoint's file ("" for none).
func (c *Checkpoint) Path() string { return c.path }

// Count is the number of units done.
func (c *Checkpoint) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done)
}

// Mark records unit as acknowledged; it reaches the disk within flushEvery
// (or at Close).
func (c *Checkpoint) Mark(unit string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done[unit] {
		return
	}
	c.done[unit] = true
	if c.f != nil {
		c.pending.WriteString(strconv.Quote(unit))
		c.pending.WriteByte('\n')
	}
}

func (c *Checkpoint) flusher() {
	defer close(c.stopped)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.flush()
		}
	}
}

// flush writes and fsyncs the units marked since the last flush.
func (c *Checkpoint) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil || c.pending.Len() == 0 || c.err != nil {
		return c.err
	}
	if _, err := c.f.Write(c.pending.Bytes()); err != nil {
		c.err = fmt.Errorf("checkpoint %s: %w", c.path, err)
		return c.err
	}
	c.pending.Reset()
	if err := c.f.Sync(); err != nil {
		c.err = fmt.Errorf("checkpoint %s: %w", c.path, err)
	}
	return c.err
}

// Close flushes what is marked and closes the file. Later calls return the
// first call's error.
func (c *Checkpoint) Close() error {
	c.closeOnce.Do(func() {
		if c.f == nil {
			return
		}
		close(c.stop)
		<-c.stopped
		err := c.flush()
		if cerr := c.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("checkpoint %s: %w", c.path, cerr)
		}
		c.closeErr = err
	})
	return c.closeErr
}

// sameSource reports whether a checkpoint's source, as an earlier version
// wrote it (the --source URL as given), names the archive source names
// (a SourceID).
func sameSource(old, source string) bool {
	id, err := SourceID(old)
	return err == nil && id == source
}

// orAll names an empty scope.
func orAll(scope string) string {
	if scope == "" {
		return "no time bounds"
	}
	return scope
}

// Scope is the checkpoint scope of a filter: its time bounds, which decide
// which records of a file are sent (accounts and regions choose whole
// files, so they may change between runs).
func (f Filter) Scope() string {
	var parts []string
	if !f.Start.IsZero() {
		parts = append(parts, "--start-time "+f.Start.UTC().Format(time.RFC3339))
	}
	if !f.End.IsZero() {
		parts = append(parts, "--end-time "+f.End.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}
