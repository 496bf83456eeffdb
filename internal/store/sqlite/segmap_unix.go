//go:build linux || darwin || freebsd

package sqlite

import (
	"os"
	"syscall"
	"unsafe"
)

// canMap says whether sealed segments are read through mappings: on 64-bit
// systems only, where a long history's segments fit the address space.
const canMap = unsafe.Sizeof(uintptr(0)) == 8

// mapFile maps the whole of f read-only. The pages are read at random (a
// lookup's events are spread over the log), so the kernel is asked not to
// read ahead.
func mapFile(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	_ = syscall.Madvise(b, syscall.MADV_RANDOM) // advice only
	return b, nil
}

// unmapFile undoes mapFile.
func unmapFile(b []byte) error { return syscall.Munmap(b) }
