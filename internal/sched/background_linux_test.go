package sched

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary's main goroutine stays on the main thread, as cairn's
// does, so that Background never finds itself there.
func init() { runtime.LockOSThread() }

// threadNice reads the nice value of thread tid of this process from
// /proc (field 19 of its stat).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // from field 3 on
	n, err := strconv.Atoi(fields[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackgroundLowersOnlyItsThread(t *testing.T) {
	base := threadNice(t, unix.Gettid())
	type result struct {
		tid int
		err error
	}
	got := make(chan result)
	release := make(chan struct{})
	go func() {
		err := Background()
		got <- result{unix.Gettid(), err}
		<-release // returns still locked: Go ends the thread
	}()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n, want := threadNice(t, r.tid), min(base+BackgroundNice, 19); n != want {
		t.Errorf("the background thread's nice is %d, want %d", n, want)
	}
	if n := threadNice(t, unix.Gettid()); n != base {
		t.Errorf("the test's own thread went from nice %d to %d", base, n)
	}
	close(release)
}
