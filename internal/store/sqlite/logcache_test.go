package sqlite

import (
	"bytes"
	"os"
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
