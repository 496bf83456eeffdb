package e2e

// A log group destination loses nothing when the server is killed (SIGKILL)
// in the middle of streaming: every acknowledged event the trail selects
// arrives, another account's never does, and duplicates stay within what
// the engine documents (at most one batch — 1000 log entries — per crash).
// A bad log_groups entry stops the server at start with file, line and
// reason.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

func TestStreamsCWLNothingLostAcrossSIGKILL(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "trail.ndjson")
	l := cwlListen(t)
	cfg := dlConfig(cwlGroups("file-group=file://"+file, "http-group="+l.URL))
	srv := Start(t, Options{Config: cfg})
	cwlTrail(t, srv, "crash-file", "crash-file-logs", "file-group", dlMulti)
	cwlTrail(t, srv, "crash-http", "crash-http-logs", "http-group", dlMulti)

	const total, size = 60, 40 // 2400 events
	g := &dlIngestor{done: make(chan struct{}), stop: make(chan struct{})}
	g.cur.Store(srv)
	go g.run(total, size, 30*time.Millisecond)
	t.Cleanup(func() { close(g.stop); <-g.done })

	// Kill the server while events stream out — spread over the ingest, as
	// soon as the file has grown since the last look.
	const kills = 3
	for k := 0; k < kills; k++ {
		dlPoll(60*time.Second, func() bool { return g.batches.Load() >= int64((k+1)*total/(kills+1)) })
		seen := len(cwlFileLines(t, file))
		grew, _ := testutil.PollEvery(30*time.Second, 5*time.Millisecond, func() (bool, string) {
			return len(cwlFileLines(t, file)) > seen, ""
		})
		if !grew {
			t.Fatalf("kill %d: the file did not grow within 30s\nserver log:\n%s", k, dlTail(srv.Log(), 40))
		}
		srv.Kill()
		t.Logf("killed the server after %d of %d batches, %d lines in the file", g.batches.Load(), total, len(cwlFileLines(t, file)))
		srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
		g.cur.Store(srv)
	}
	<-g.done
	if g.err != nil {
		t.Fatalf("ingest: %v", g.err)
	}
	for _, dest := range []struct {
		what string
		read func() []cwlMsg
	}{
		{"the NDJSON file", func() []cwlMsg { return cwlFileLines(t, file) }},
		{"the HTTP listener", l.received},
	} {
		got := cwlWaitAll(t, srv, dest.what, g.selected, 90*time.Second, dest.read)
		n := cwlCount(got)
		for _, id := range g.other {
			if n[id] != 0 {
				t.Errorf("%s got event %s of Account2", dest.what, id)
			}
		}
		dups := len(got) - len(n)
		if dups > kills*1000 {
			t.Errorf("%s got %d duplicates after %d crashes, want at most %d", dest.what, dups, kills, kills*1000)
		}
		t.Logf("%s: %d records, %d distinct, %d duplicates after %d crashes", dest.what, len(got), len(n), dups, kills)
	}
	if p := l.problems(); len(p) > 0 {
		t.Errorf("the listener got bad requests: %v", p)
	}
}

func TestStreamsCWLBadLogGroupStopsStart(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, entry, reason string
		line                int
	}{
		{"unknown url parameter", `    url: "cloudwatch-logs://?endpoint=http://127.0.0.1:5000&bucket=x"`, `unknown parameter "bucket"`, 5},
		{"bad endpoint", `    url: "cloudwatch-logs://?endpoint=ftp://127.0.0.1"`, "is not an http(s) URL", 5},
		{"unsupported scheme", `    url: "sqs://queue"`, "invalid url", 5},
		{"credentials on a file", "    url: file:///tmp/x.ndjson\n    access_key_id: AKIAX\n    secret_access_key: s", "only apply to cloudwatch-logs://", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := "regions: [us-east-1]\nlog_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n" + c.entry + "\n" +
				"accounts:\n  - id: \"111111111111\"\n    users:\n      - name: alice\n        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: s3cret}]\n        policy: admin\n"
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code, _ := startupRun(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t), "--config", path)
			where := fmt.Sprintf("%s:%d:", path, c.line)
			if code == 0 || !strings.Contains(stderr, where) || !strings.Contains(stderr, c.reason) || strings.Contains(stderr, "cairn serving") {
				t.Errorf("exit %d; stderr lacks %q and %q:\n%s", code, where, c.reason, stderr)
			}
		})
	}
}
