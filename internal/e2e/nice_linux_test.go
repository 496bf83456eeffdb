package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/sched"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestServeBackgroundThreadsNiced: the server's indexer and Lake filler
// run on threads of their own at a lower priority (nice +5), as ps -L
// shows; the rest of the server keeps the process's.
func TestServeBackgroundThreadsNiced(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	// The server inherits the test's priority; its main thread, the one ps
	// shows, keeps it.
	base := niceOf(t, "/proc/self/stat")
	if n := niceOf(t, filepath.Join("/proc", strconv.Itoa(srv.Pid()), "stat")); n != base {
		t.Errorf("the server's main thread is at nice %d, want the process's %d", n, base)
	}
	want := min(base+sched.BackgroundNice, 19)
	var niced, normal int
	testutil.PollEvery(10*time.Second, 100*time.Millisecond, func() (bool, string) {
		niced, normal = 0, 0
		tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(srv.Pid()), "task", "*", "stat"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tasks {
			switch niceOf(t, p) {
			case want:
				niced++
			case base:
				normal++
			}
		}
		// The indexer and the Lake filler.
		return niced >= 2 && normal > 0, ""
	})
	if niced < 2 || normal == 0 {
		t.Errorf("%d threads at nice %d and %d at the process's %d; want the indexer's and the filler's lowered, the others not", niced, want, normal, base)
	}
}

// niceOf reads the nice value (field 19) of a /proc stat file.
func niceOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, err := strconv.Atoi(fields[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
