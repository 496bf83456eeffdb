package e2e

// `cairn verify` with a key that may not call GetTrailStatus (issue 14,
// finding 7 of the review): the trail-coverage answer says when the trail
// logged, so deleting the newest digests of every chain still fails; a
// keys file that does not say it makes verify refuse rather than pass.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	vtAuditorKey    = "AKIAAUDITORVERIFY001" // victor: may verify, but not call GetTrailStatus
	vtAuditorSecret = "victor-secret-key-01"
)

// vtConfig is dlConfig() with victor in Account1, allowed what verify needs
// except GetTrailStatus.
func vtConfig(t *testing.T) string {
	t.Helper()
	const carl = "      - name: carl\n"
	if !strings.Contains(StandardConfig, carl) {
		t.Fatal("StandardConfig has no carl to put victor before")
	}
	victor := "      - name: victor\n        access_keys: [{id: " + vtAuditorKey + ", secret: " + vtAuditorSecret + "}]\n" +
		`        policy: ["cloudtrail:DescribeTrails", "cloudtrail:GetTrail", "cloudtrail:GetTrailCoverage", "cloudtrail:ListPublicKeys"]` + "\n"
	return strings.Replace(StandardConfig, carl, victor+carl, 1) + dlDelivery
}

// vtPrune deletes from b every log file that no digest in b lists, as an
// attacker who removes the newest digests removes their log files.
func vtPrune(t *testing.T, b dlDir) {
	t.Helper()
	listed := map[string]bool{}
	for _, k := range dlDigestKeys(t, b, "") {
		for _, l := range dlReadDigest(t, b, k).LogFiles {
			listed[l.S3Object] = true
		}
	}
	for _, k := range b.Keys(t) {
		if dlIsLogKey(k) && !listed[k] {
			b.Delete(t, k)
		}
	}
}

// TestVerifyWithoutTrailStatus: a verifier allowed DescribeTrails,
// GetTrail, GetTrailCoverage and ListPublicKeys but not GetTrailStatus
// passes an intact bucket and fails one whose newest digests of every chain
// were deleted; a keys file that does not say when the trail logged makes
// verify fail with the reason.
func TestVerifyWithoutTrailStatus(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: vtConfig(t)})
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	live := dlDir{name: "vt-logs", dir: dlMkBucket(t, srv, "vt-logs")}
	arn := dlTrail(t, east, "vt-trail", live.name, dlAll(dlMulti, dlValidation))
	ids := vsIngestAll(t, srv, Account1)
	dlWaitDelivered(t, srv, live, "AWSLogs/", ids, 30*time.Second)
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	// Some history: digests of every chain well before the newest.
	first := time.Now()
	dlWaitDigests(t, srv, live, first.Add(12*time.Second), 1, parts...)

	// run runs cairn verify of the copy in dir with env, up to end (the
	// newest digest's end before any were deleted), allowing digests one
	// second late.
	var end time.Time
	run := func(env []string, dir string, extra ...string) cliResult {
		t.Helper()
		args := append([]string{"verify", "--trail-arn", arn, "--start-time", start.Format(time.RFC3339),
			"--end-time", end.Format(time.RFC3339), "--max-digest-delay", "1s", "--bucket-dir", dir}, extra...)
		return runCommand(t, env, Binary(t), args...)
	}
	victor := []string{"CAIRN_ACCESS_KEY_ID=" + vtAuditorKey, "CAIRN_SECRET_ACCESS_KEY=" + vtAuditorSecret}
	online := []string{"--endpoint", srv.URL}
	offline := func(keys string) []string { return []string{"--public-keys", keys, "--endpoint", "http://127.0.0.1:1"} }

	// The verifier may not call GetTrailStatus.
	code, _ := srv.Post(t, vtAuditorKey, vtAuditorSecret, "/", []byte(`{"Name":"`+arn+`"}`),
		map[string]string{"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus",
			"Content-Type": "application/x-amz-json-1.1"})
	if code == 200 {
		t.Fatalf("victor may call GetTrailStatus; the test needs a key that may not")
	}

	intact := dlDir{name: live.name, dir: vsCopy(t, live.dir)}
	vtPrune(t, intact)
	end = vsNewestEnd(t, intact)
	keys := filepath.Join(t.TempDir(), "keys.json")
	if res := run(victor, intact.dir, append(online, "--save-public-keys", keys)...); res.code != 0 {
		t.Fatalf("cairn verify of an intact bucket without GetTrailStatus: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}

	// Delete the newest digests of every chain (more than one interval and
	// the grace), and the log files they list.
	attacked := dlDir{name: live.name, dir: vsCopy(t, intact.dir)}
	cut := end.Add(-5 * time.Second)
	kept := map[string]int{}
	for _, k := range dlDigestKeys(t, attacked, "") {
		if dlDigestEnd(k).After(cut) {
			attacked.Delete(t, k)
			continue
		}
		for _, r := range dlRegions {
			if strings.Contains(k, "/CloudTrail-Digest/"+r+"/") {
				kept[r]++
			}
		}
	}
	if len(kept) != len(dlRegions) {
		t.Fatalf("digests older than %s left per region: %v, want some in each of %v", cut, kept, dlRegions)
	}
	vtPrune(t, attacked)
	res := run(victor, attacked.dir, online...)
	if res.code != 1 || !strings.Contains(res.stdout, "INVALID: the newest digest of account "+Account1) {
		t.Errorf("cairn verify without GetTrailStatus of a bucket whose newest digests were deleted: exit %d, want 1 naming the chains\nstdout:\n%s\nstderr:\n%s",
			res.code, res.stdout, res.stderr)
	}
	// Offline, with the keys file the verifier saved: the same.
	if res := run(nil, attacked.dir, offline(keys)...); res.code != 1 {
		t.Errorf("cairn verify --public-keys of the attacked bucket: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}

	// A keys file that does not say when the trail logged (as one saved by
	// an older cairn whose key could not call GetTrailStatus): verify fails
	// and says why, rather than passing.
	var kf map[string]any
	b, err := os.ReadFile(keys)
	if err != nil || json.Unmarshal(b, &kf) != nil {
		t.Fatalf("keys file: %v\n%s", err, b)
	}
	cov, _ := kf["Coverage"].(map[string]any)
	if cov == nil {
		t.Fatalf("keys file has no Coverage: %s", b)
	}
	for _, f := range []string{"IsLogging", "StartLoggingTime", "StopLoggingTime", "LoggingKnown"} {
		delete(cov, f)
	}
	stale := filepath.Join(t.TempDir(), "stale.json")
	b, _ = json.Marshal(kf)
	if err := os.WriteFile(stale, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res = run(nil, attacked.dir, offline(stale)...)
	if res.code == 0 || !strings.Contains(res.stderr, "cannot tell when the trail logged") {
		t.Errorf("cairn verify with a keys file without the logging state: exit %d, want non-zero with the reason\nstdout:\n%s\nstderr:\n%s",
			res.code, res.stdout, res.stderr)
	}
}
