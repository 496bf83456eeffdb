package privdir

import (
	"fmt"
	"os"
)

// Locked is a directory this process holds the lock of (see Lock).
type Locked struct{ f *os.File }

// Unlock releases the lock. Keeping the *Locked referenced until then
// matters: the file's finalizer would close it, and so drop the lock.
func (l *Locked) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}

// BusyError is a directory another process holds the lock of.
type BusyError struct {
	// What names the directory for the user ("data directory").
	What string
	Dir  string
	// PID is the holder's process id as it wrote it, or 0 if unknown.
	PID int
}

func (e *BusyError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s %s is in use by %s: two servers on one data directory corrupt it; "+
		"stop the other one or give each its own --data-dir", e.What, e.Dir, who)
}
