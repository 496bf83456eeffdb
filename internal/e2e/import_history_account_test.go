package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportFromCloudTrailCheckpointPerAccount: a --from-cloudtrail
// checkpoint names the key (so the account) the history was read with. The
// same --checkpoint file given to an import of another account's history
// (bob's key, account 2) is refused, not taken as "done"; the same
// account's import resumes it, however the endpoint's URL is spelled (a
// trailing slash); and another file imports bob's events.
func TestImportFromCloudTrailCheckpointPerAccount(t *testing.T) {
	from := Start(t, Options{Config: dlConfig()})
	into := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	at := now.Add(-30 * time.Second)
	ra := Record("AliceHistory", "s3.amazonaws.com", "us-east-1", at, nil)
	ra["eventID"] = dlNewID()
	if res := from.Ingest(t, AdminKey, AdminSecret, ra); res.Accepted != 1 {
		t.Fatalf("ingest alice's: %+v", res)
	}
	rb := Record("BobHistory", "s3.amazonaws.com", "us-east-1", at, nil)
	rb["eventID"] = dlNewID()
	if res := from.Ingest(t, OtherKey, OtherSecret, rb); res.Accepted != 1 {
		t.Fatalf("ingest bob's: %+v", res)
	}
	alice := imRecord{ID: ra["eventID"].(string), Account: Account1, Region: "us-east-1", At: at}
	bob := imRecord{ID: rb["eventID"].(string), Account: Account2, Region: "us-east-1", At: at}
	// Bounds in the past: the window is done once read (a window still
	// going on is read again by each run).
	start := now.Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	end := now.Add(-5 * time.Second).UTC().Format(time.RFC3339)
	cp := filepath.Join(t.TempDir(), "history.checkpoint")
	run := func(key, secret, endpoint, checkpoint string) cliResult {
		t.Helper()
		env := append(awsEnv(t, key, secret), imEnv()...)
		return imRun(t, into, env, "--from-cloudtrail", endpoint, "--regions", "us-east-1", "--start-time", start, "--end-time", end, "--checkpoint", checkpoint)
	}
	if res := run(AdminKey, AdminSecret, from.URL, cp); res.code != 0 {
		t.Fatalf("alice's import: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, into, []imRecord{alice}, []imRecord{bob}, now.Add(-time.Hour))

	res := run(OtherKey, OtherSecret, from.URL, cp)
	if res.code != 2 || !strings.Contains(res.stderr, "another AWS access key") {
		t.Errorf("bob's import with alice's checkpoint: exit %d, want 2 and a refusal naming the other key\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, into, []imRecord{alice}, []imRecord{bob}, now.Add(-time.Hour))

	res = run(AdminKey, AdminSecret, from.URL+"/", cp)
	if res.code != 0 || !strings.Contains(imSummary(t, res.stdout, "days"), "done by an earlier run") {
		t.Errorf("alice's import again, endpoint with a trailing slash: exit %d, want 0 and the checkpoint resumed\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	if res := run(OtherKey, OtherSecret, from.URL, filepath.Join(t.TempDir(), "bob.checkpoint")); res.code != 0 {
		t.Fatalf("bob's import with its own checkpoint: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, into, []imRecord{alice, bob}, nil, now.Add(-time.Hour))
}
