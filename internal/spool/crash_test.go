package spool

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// The environment of the child process of TestCrashSIGKILL.
const (
	crashDirEnv   = "CAIRN_SPOOL_CRASH_DIR"
	crashRoundEnv = "CAIRN_SPOOL_CRASH_ROUND"
)

// crashOptions are the options of the crash test's spool: small segments,
// so that kills also land around rotations.
var crashOptions = Options{SegmentBytes: 2 << 10, MaxBytes: 64 << 20}

// TestCrashSIGKILL runs a child process that appends from several
// goroutines and drains like the proxy's sender, printing "stored <id>" for
// every record once Append returned nil and "sent <id>" for every record it
// is about to acknowledge. The child is SIGKILLed mid-way, several times.
// After each kill, every record it reported stored is either still in the
// spool or was sent, the spool holds each record once, and seqs keep
// increasing across restarts.
func TestCrashSIGKILL(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashRoundEnv))
		return
	}
	testutil.SkipShort(t, "kills writer processes round after round")
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL and flock")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stored := map[string]bool{} // reported durable by the child
	sent := map[string]bool{}   // reported about to be acknowledged
	var maxSeq uint64           // highest seq seen in the spool after earlier rounds
	rng := rand.New(rand.NewPCG(1, 2))

	const rounds = 6
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^TestCrashSIGKILL$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 200 + rng.IntN(3000) // stored records before the kill
		n, killed := 0, false
		timeout := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			verb, id, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			switch verb {
			case "stored":
				stored[id] = true
				n++
			case "sent":
				sent[id] = true
			}
			if n >= killAfter && !killed {
				cmd.Process.Kill() // SIGKILL: no chance to clean up
				killed = true
			}
		}
		// Lines written before the kill are still read: the pipe drains.
		io.Copy(io.Discard, out)
		cmd.Wait()
		timeout.Stop()
		if !killed {
			t.Fatalf("round %d: the child stopped after %d records:\n%s", round, n, stderr.String())
		}

		s := openSpool(t, dir, crashOptions)
		es := peekAll(t, s)
		inSpool := map[string]bool{}
		prevRound := -1
		for _, e := range es {
			id, _, _ := strings.Cut(string(e.Data), " ")
			if inSpool[id] {
				t.Fatalf("round %d: record %s twice in the spool", round, id)
			}
			inSpool[id] = true
			var r int
			fmt.Sscanf(id, "r%d-", &r)
			if r < prevRound {
				t.Fatalf("round %d: record %s (seq %d) follows a record of round %d", round, id, e.Seq, prevRound)
			}
			prevRound = r
			if r == round && e.Seq <= maxSeq {
				t.Fatalf("round %d: new record %s has seq %d, not above %d from before the restart", round, id, e.Seq, maxSeq)
			}
		}
		if len(es) > 0 {
			maxSeq = max(maxSeq, es[len(es)-1].Seq)
		}
		lost := 0
		for id := range stored {
			if !inSpool[id] && !sent[id] {
				lost++
				t.Errorf("round %d: record %s reported stored is neither in the spool nor sent", round, id)
			}
		}
		t.Logf("round %d: killed after %d stored records; %d stored in all, %d sent, %d in the spool, %d lost",
			round, n, len(stored), len(sent), len(es), lost)
		if t.Failed() {
			t.FailNow()
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashChild is the child process of TestCrashSIGKILL. It runs until it is
// killed, or exits after a minute in case the parent is gone.
func crashChild(dir, round string) {
	o := crashOptions
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := Open(dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	time.AfterFunc(time.Minute, func() { os.Exit(3) })

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; ; {
				var recs [][]byte
				var ids []string
				for range 1 + rng.IntN(3) {
					id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
					i++
					ids = append(ids, id)
					recs = append(recs, []byte(id+" "+strings.Repeat("p", rng.IntN(300))))
				}
				if err := s.Append(recs...); err != nil {
					fmt.Fprintln(os.Stderr, "child: Append:", err)
					os.Exit(2)
				}
				for _, id := range ids {
					fmt.Fprintf(os.Stdout, "stored %s\n", id)
				}
			}
		})
	}
	go func() { // the sender
		for {
			wake := s.Wait()
			es, err := s.Peek(20, 4<<10)
			if err != nil {
				fmt.Fprintln(os.Stderr, "child: Peek:", err)
				os.Exit(2)
			}
			if len(es) == 0 {
				<-wake
				continue
			}
			for _, e := range es {
				id, _, _ := strings.Cut(string(e.Data), " ")
				fmt.Fprintf(os.Stdout, "sent %s\n", id)
			}
			if err := s.Ack(es[len(es)-1].Seq); err != nil {
				fmt.Fprintln(os.Stderr, "child: Ack:", err)
				os.Exit(2)
			}
			time.Sleep(time.Millisecond) // a server slower than the proxy: records pile up
		}
	}()
	wg.Wait()
}
