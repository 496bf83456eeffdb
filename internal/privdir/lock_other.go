//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package privdir

import "os"

// LockName is the lock file Lock keeps in a directory.
const LockName = "lock"

// Lock does nothing where flock(2) is unavailable: the user must make sure
// that one process at a time uses dir.
func Lock(dir, what string) (*Locked, error) { return &Locked{}, nil }

// ownerOf is unknown here.
func ownerOf(fi os.FileInfo) (int, bool) { return 0, false }
