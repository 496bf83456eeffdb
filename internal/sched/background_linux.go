package sched

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Background marks the calling goroutine as background work for the
// operating system's scheduler: from now on it runs on an OS thread of its
// own (runtime.LockOSThread) whose nice value is BackgroundNice above the
// process's, so that when the CPUs are contended the kernel runs the
// threads serving lookups and acknowledging ingest first; with a CPU idle
// the background work still gets all of it. Go's scheduler alone cannot
// do that: it has no priorities, and a goroutine keeps its processor for
// up to a 10 ms time slice.
//
// Call it at the start of a goroutine that runs until it returns, and do
// not call runtime.UnlockOSThread after it: when the goroutine returns
// still locked, Go ends the thread with it, so no other goroutine ever
// runs at the lowered priority. On an error the goroutine goes on at the
// process's priority (still locked to its thread).
//
// The main thread is left as it is (an error): its nice value is the one
// ps shows for the whole process. cairn keeps its main goroutine on the
// main thread (cmd/cairn), so no other goroutine runs there.
func Background() error {
	runtime.LockOSThread()
	tid := unix.Gettid()
	if tid == unix.Getpid() {
		return errors.New("sched: on the main thread, whose priority is the process's: left as it is")
	}
	// The raw system call answers 20 - nice (1 to 40).
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return fmt.Errorf("sched: thread priority: %w", err)
	}
	nice := min(20-raw+BackgroundNice, 19)
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
		return fmt.Errorf("sched: lower thread priority: %w", err)
	}
	return nil
}
