package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tailProcess is a running `cairn tail`.
type tailProcess struct {
	cmd    *exec.Cmd
	stdout chan string
	mu     sync.Mutex
	stderr strings.Builder
	status chan string // stderr lines
	exited chan struct{}
}

func startTailCLI(t *testing.T, env []string, args ...string) *tailProcess {
	t.Helper()
	p := &tailProcess{cmd: exec.Command(Binary(t), append([]string{"tail"}, args...)...),
		stdout: make(chan string, 1000), status: make(chan string, 100), exited: make(chan struct{})}
	p.cmd.Env = append(cleanEnv(), env...)
	out, _ := p.cmd.StdoutPipe()
	errp, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	pump := func(r io.Reader, to chan string, keep bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if keep {
				p.mu.Lock()
				p.stderr.WriteString(sc.Text() + "\n")
				p.mu.Unlock()
			}
			select {
			case to <- sc.Text():
			default:
			}
		}
	}
	wg.Add(2)
	go pump(out, p.stdout, false)
	go pump(errp, p.status, true)
	go func() { wg.Wait(); p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (p *tailProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitStatus waits for a stderr line containing s.
func (p *tailProcess) waitStatus(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-p.status:
			if strings.Contains(line, s) {
				return
			}
		case <-p.exited:
			t.Fatalf("cairn tail exited before saying %q:\n%s", s, p.log())
		case <-timeout:
			t.Fatalf("cairn tail did not say %q:\n%s", s, p.log())
		}
	}
}

// until reads stdout records until one named last and returns their names.
func (p *tailProcess) until(t *testing.T, last string) []string {
	t.Helper()
	var names []string
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-p.stdout:
			var rec struct{ EventName string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("cairn tail printed %q: %v", line, err)
			}
			names = append(names, rec.EventName)
			if rec.EventName == last {
				return names
			}
		case <-p.exited:
			t.Fatalf("cairn tail exited before %s (got %v):\n%s", last, names, p.log())
		case <-timeout:
			t.Fatalf("%s not printed within a minute (got %v):\n%s", last, names, p.log())
		}
	}
}

// TestTailCLI: the built `cairn tail`, with the AWS CLI's credential
// variables, prints each new matching event as one JSON line; when the
// server goes away and comes back it reconnects and says what span it may
// have missed; Ctrl-C ends it with status 0.
func TestTailCLI(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	env := []string{"AWS_ACCESS_KEY_ID=" + AdminKey, "AWS_SECRET_ACCESS_KEY=" + AdminSecret, "AWS_REGION=us-east-1"}
	p := startTailCLI(t, env, "--endpoint", srv.URL, "--pattern", `{"source":["aws.s3"]}`)
	p.waitStatus(t, "streaming the events of us-east-1")
	now := time.Now().UTC()
	srv.Ingest(t, AdminKey, AdminSecret, Record("CliA", "s3.amazonaws.com", "us-east-1", now, nil),
		Record("CliIAM", "iam.amazonaws.com", "us-east-1", now, nil),
		Record("CliLast", "s3.amazonaws.com", "us-east-1", now, nil))
	if got := p.until(t, "CliLast"); !slices.Equal(got, []string{"CliA", "CliLast"}) {
		t.Fatalf("cairn tail printed %v, want [CliA CliLast]", got)
	}

	// The server restarts on the same address: tail reconnects.
	srv.Stop(t)
	p.waitStatus(t, "reconnecting")
	srv2 := Start(t, Options{Config: StandardConfig, DataDir: srv.DataDir, Args: []string{"--listen", srv.Addr}})
	p.waitStatus(t, "reconnected; events from")
	srv2.Ingest(t, AdminKey, AdminSecret, Record("AfterRestart", "s3.amazonaws.com", "us-east-1", time.Now(), nil))
	if got := p.until(t, "AfterRestart"); !slices.Equal(got, []string{"AfterRestart"}) {
		t.Fatalf("after the restart cairn tail printed %v", got)
	}

	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		t.Fatal("cairn tail did not end on SIGINT")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("cairn tail exited %d on SIGINT:\n%s", code, p.log())
	}
}

// TestTailCLIRefused: bad credentials end cairn tail with status 1 and the
// server's reason (no endless retries); a bad pattern with status 2.
func TestTailCLIRefused(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		says string
	}{
		{"bad secret", []string{"AWS_ACCESS_KEY_ID=" + AdminKey, "AWS_SECRET_ACCESS_KEY=wrong"}, nil, 1, "InvalidSignatureException"},
		{"no permission", []string{"CAIRN_ACCESS_KEY_ID=" + IngestKey, "CAIRN_SECRET_ACCESS_KEY=" + IngestSecret}, nil, 1, "AccessDeniedException"},
		{"bad pattern", []string{"AWS_ACCESS_KEY_ID=" + AdminKey, "AWS_SECRET_ACCESS_KEY=" + AdminSecret}, []string{"--pattern", `{"detail":[`}, 2, "--pattern: event pattern"},
		{"no credentials", nil, nil, 2, "set CAIRN_ACCESS_KEY_ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startTailCLI(t, c.env, append([]string{"--endpoint", srv.URL}, c.args...)...)
			select {
			case <-p.exited:
			case <-time.After(time.Minute):
				t.Fatalf("cairn tail did not exit:\n%s", p.log())
			}
			if code := p.cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(p.log(), c.says) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %d and %q", code, p.log(), c.code, c.says)
			}
		})
	}
}
