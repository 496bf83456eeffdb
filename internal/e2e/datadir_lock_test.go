package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestDataDirSecondServerRefused: a second cairn serve on the data
// directory of a running one (another port) exits non-zero, naming the
// directory and the first server's pid, before it touches anything; the
// first keeps serving. Two servers on one data directory both used to
// start, and their interleaved appends damaged the event log.
func TestDataDirSecondServerRefused(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	file := filepath.Join(t.TempDir(), "cairn.yaml")
	if err := os.WriteFile(file, []byte(StandardConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code, _ := startupRun(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", srv.DataDir, "--config", file)
	if code == 0 || strings.Contains(stderr, "cairn serving") {
		t.Fatalf("second server on %s: exit %d, stderr:\n%s", srv.DataDir, code, stderr)
	}
	for _, want := range []string{"data directory " + srv.DataDir + " is in use", fmt.Sprintf("pid %d", srv.Pid())} {
		if !strings.Contains(stderr, want) {
			t.Errorf("second server's stderr lacks %q:\n%s", want, stderr)
		}
	}

	// The first still ingests and answers.
	srv.Ingest(t, AdminKey, AdminSecret, Record("StillServing", "ec2.amazonaws.com", "us-east-1", time.Now(), nil))
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		return len(startupLookup(t, ct, "StillServing")) == 1, "the first server does not find the event it took"
	})

	// Once the first stops, the directory is free again.
	srv.Stop(t)
	Start(t, Options{Config: StandardConfig, DataDir: srv.DataDir})
}
