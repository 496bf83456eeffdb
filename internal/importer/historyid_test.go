package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryCheckpointIdentity: a --from-cloudtrail checkpoint resumes
// for the same endpoint (however spelled) and key, and one an earlier
// version wrote (the endpoint alone) still resumes; another key's is
// refused, naming the key as the reason.
func TestHistoryCheckpointIdentity(t *testing.T) {
	dir := t.TempDir()
	alice := historyID("http://127.0.0.1:4961", "AKIAALICE")
	if ep, err := normalizeEndpoint("HTTP://127.0.0.1:4961/"); err != nil || historyID(ep, "AKIAALICE") != alice {
		t.Errorf("a trailing slash and upper case name another endpoint: %q, %v", ep, err)
	}
	if strings.Contains(alice, "AKIAALICE") {
		t.Errorf("the checkpoint names the key ID itself: %q", alice)
	}
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, []byte(`{"cairnImport":1,"source":"cloudtrail:http://127.0.0.1:4961/"}`+"\n\"us-east-1/day\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(old, alice, "")
	if err != nil {
		t.Fatalf("an earlier version's checkpoint: %v", err)
	}
	if !cp.Done("us-east-1/day") {
		t.Errorf("an earlier version's checkpoint resumed without its units")
	}
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenCheckpoint(old, historyID("http://127.0.0.1:4961", "AKIABOB"), "")
	if err == nil || !strings.Contains(err.Error(), "another AWS access key") {
		t.Errorf("another key's import took the checkpoint (now rewritten with alice's key): %v", err)
	}
	if _, err := OpenCheckpoint(old, historyID("http://127.0.0.1:4962", "AKIAALICE"), ""); err == nil {
		t.Errorf("another endpoint's import took the checkpoint")
	}
}
