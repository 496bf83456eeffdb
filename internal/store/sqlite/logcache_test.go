//go:build linux

package sqlite

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of the file at path that are in the OS
// page cache, and its pages.
func residentPages(t *testing.T, path string) (resident, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// Mapping a file reads none of it: mincore reports the page cache.
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	ps := os.Getpagesize()
	vec := make([]byte, (len(m)+ps-1)/ps)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			resident++
		}
	}
	return resident, len(vec)
}

// honoursDrop says whether the file system of dir drops a synced file's
// cached pages when asked.
func honoursDrop(t *testing.T, dir string) bool {
	t.Helper()
	path := filepath.Join(dir, "probe")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	dropFileCache(path)
	resident, _ := residentPages(t, path)
	return resident == 0
}

// TestLogCacheDroppedBehindTheWriter: the segments the writer filled
// before the last ones kept leave the OS page cache (the writer's pages
// are otherwise all cached: it writes them); with the page cache left to
// the OS, none does.
func TestLogCacheDroppedBehindTheWriter(t *testing.T) {
	const roll = 256 << 10
	chunk := bytes.Repeat([]byte("cairn log frame "), (64<<10)/16)
	for _, tc := range []struct {
		name    string
		keep    int64
		dropped int // how many of the first segments leave the cache
	}{
		{"one segment kept", roll, 4},
		{"two kept, by a size that is not a whole segment", roll + 1, 3},
		{"left to the OS", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openSegments(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.rollBytes = roll
			s.keepCached(tc.keep)
			var mu sync.Mutex
			var asked []string
			s.dropCache = func(path string) {
				mu.Lock()
				asked = append(asked, path)
				mu.Unlock()
				dropFileCache(path)
			}
			// Six segments: five filled, the sixth the writer's.
			var segs []int64
			for i := range int64(6 * roll / len(chunk)) {
				seg, _, err := s.write(chunk, 1+i)
				if err != nil {
					t.Fatal(err)
				}
				if len(segs) == 0 || segs[len(segs)-1] != seg {
					segs = append(segs, seg)
				}
			}
			s.dropping.Wait()
			defer s.close()
			if len(segs) != 6 {
				t.Fatalf("%d segments written, want 6", len(segs))
			}
			var want []string
			for _, n := range segs[:tc.dropped] {
				want = append(want, segmentName(s.dir, n))
			}
			slices.Sort(asked) // drops run in goroutines of their own, in any order
			if !slices.Equal(asked, want) {
				t.Fatalf("segments dropped: %v, want %v", asked, want)
			}
			// Where the file system keeps no page cache of its own to
			// drop (tmpfs), the pages stay whatever is asked.
			if !honoursDrop(t, s.dir) {
				t.Logf("%s does not drop cached pages: only the drops asked for are checked", s.dir)
				return
			}
			for i, n := range segs {
				resident, pages := residentPages(t, segmentName(s.dir, n))
				if i < tc.dropped && resident != 0 {
					t.Errorf("segment %d (of %d): %d of %d pages still cached", i+1, len(segs), resident, pages)
				}
				if i >= tc.dropped && resident == 0 {
					t.Errorf("segment %d (of %d): none of %d pages cached; it should have been kept", i+1, len(segs), pages)
				}
			}
		})
	}
}

// TestLogCacheKeptSegments: the bytes asked for are rounded up to whole
// segments, one at least, and a size near the largest keeps them all
// rather than wrapping round to few.
func TestLogCacheKeptSegments(t *testing.T) {
	s := &segments{rollBytes: segmentBytes}
	for _, tc := range []struct {
		bytes int64
		keep  int
	}{{1, 1}, {segmentBytes, 1}, {segmentBytes + 1, 2}, {1 << 30, 4}, {math.MaxInt64, math.MaxInt32}, {-1, 0}} {
		if s.keepCached(tc.bytes); s.keep != tc.keep {
			t.Errorf("%d bytes: %d segments kept, want %d", tc.bytes, s.keep, tc.keep)
		}
	}
}
