//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockName is the lock file Lock keeps in a directory.
const LockName = "lock"

// Lock takes an exclusive flock(2) on dir/lock, so that only one process
// uses dir at a time (two servers on one data directory corrupt its event
// log), and writes this process's id into the file for the message of the
// next one. The lock lasts until Unlock or the process ends: the kernel
// drops it when the process dies, so a crash leaves no stale lock. A held
// lock fails with a *BusyError naming dir and, if it wrote it, the holder.
func Lock(dir, what string) (*Locked, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s %s: lock: %w", what, dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &BusyError{What: what, Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("%s %s: lock %s: %w", what, dir, path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s %s: lock %s: %w", what, dir, path, err)
	}
	return &Locked{f: f}, nil
}

// writePID replaces the content of the lock file with this process's id.
func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// ownerOf returns the user id owning what fi describes, if the platform
// says.
func ownerOf(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
