//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package spool

// canLock reports whether lockDir keeps a second Open out.
const canLock = false

// lockDir does nothing where flock(2) is unavailable: callers must make sure
// only one process opens a spool directory.
func lockDir(dir string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
