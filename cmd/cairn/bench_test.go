package main

import (
	"bytes"
	"strings"
	"testing"
)

// "cairn bench" is gone from the product; it says where it went, with the
// command to run instead, and fails.
func TestBenchMoved(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "ingest", "--clients", "8"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	for _, want := range []string{"moved to the command cairn-bench", "cairn-bench ingest --clients 8"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not say %q", stderr.String(), want)
		}
	}
	stdout.Reset()
	if code := run([]string{"help"}, &stdout, &stderr); code != 0 || strings.Contains(stdout.String(), "bench") {
		t.Errorf("cairn help (status %d) still lists bench:\n%s", code, stdout.String())
	}
}
