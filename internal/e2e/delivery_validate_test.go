package e2e

// Log file integrity validation end to end: a trail with validation on
// delivers to a real S3 server (moto) or a directory bucket, and the real
// `aws cloudtrail validate-logs` and `cairn verify` find every digest and log
// file valid — and find the one that was changed, deleted or unlinked.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// dlDeliverValidated ingests two rounds of events in every region for a
// validated multi-region trail, waits until they are in log files and at
// least digestsAfter digests per region end after that, and returns the log
// files.
func dlDeliverValidated(t *testing.T, srv *Server, b dlBucket, prefix string, digestsAfter int) []dlLogFile {
	t.Helper()
	var ids []string
	for round := 0; round < 2; round++ {
		var recs []map[string]any
		for _, r := range dlRegions {
			for i := 0; i < 3; i++ {
				recs = append(recs, dlEvent(fmt.Sprintf("RunInstances%d", i), "ec2.amazonaws.com", r, Account1, nil))
			}
		}
		ids = append(ids, dlIngest(t, srv, recs...)...)
		if round == 0 {
			dlWaitDelivered(t, srv, b, prefix, ids, 30*time.Second)
		}
	}
	files := dlWaitDelivered(t, srv, b, prefix, ids, 30*time.Second)
	done := time.Now()
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	dlWaitDigests(t, srv, b, done, digestsAfter, parts...)
	return files
}

// dlLines are the lines of s.
func dlLines(s string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		m[strings.TrimRight(l, "\r")] = true
	}
	return m
}

// dlExpectAllValid checks that a validate-logs/verify run exited 0 and
// listed every digest and log file of region (that existed before the run)
// as valid.
func dlExpectAllValid(t *testing.T, what string, res cliResult, b dlBucket, digests, logs []string) {
	t.Helper()
	if res.code != 0 {
		t.Errorf("%s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", what, res.code, res.stdout, res.stderr)
		return
	}
	lines := dlLines(res.stdout)
	for _, k := range digests {
		if l := "Digest file\ts3://" + b.Name() + "/" + k + "\tvalid"; !lines[l] {
			t.Errorf("%s: no line %q\nstdout:\n%s", what, l, res.stdout)
		}
	}
	for _, k := range logs {
		if l := "Log file\ts3://" + b.Name() + "/" + k + "\tvalid"; !lines[l] {
			t.Errorf("%s: no line %q\nstdout:\n%s", what, l, res.stdout)
		}
	}
	for _, bad := range []string{"INVALID", "No log files were delivered", "gap", "missing"} {
		if strings.Contains(res.stdout+res.stderr, bad) {
			t.Errorf("%s: output says %q\nstdout:\n%s\nstderr:\n%s", what, bad, res.stdout, res.stderr)
		}
	}
}

// dlSummaryRE matches the "N/M digest files valid" and "N/M log files valid" lines.
var dlSummaryRE = regexp.MustCompile(`(?m)^(\d+)/(\d+) (digest|log) files valid`)

// dlSummary returns the summary counts of a run: valid and total digests, logs.
func dlSummary(out string) map[string][2]int {
	m := map[string][2]int{}
	for _, s := range dlSummaryRE.FindAllStringSubmatch(out, -1) {
		var v, n int
		fmt.Sscan(s[1], &v)
		fmt.Sscan(s[2], &n)
		m[s[3]] = [2]int{v, n}
	}
	return m
}

// dlKeysIn are the keys among keys that contain part.
func dlKeysIn(keys []string, part string) []string {
	var out []string
	for _, k := range keys {
		if strings.Contains(k, part) {
			out = append(out, k)
		}
	}
	return out
}

func TestDeliveryValidateLogsS3(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	const name = "validated-logs"
	buckettest.CreateBucket(t, endpoint, name)
	srv := Start(t, Options{Config: dlConfig(dlS3Buckets(endpoint, name))})
	b := dlMoto{endpoint: endpoint, name: name}
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)

	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, ct, "validated", name, dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.S3KeyPrefix = aws.String("audit/prod")
	}))
	files := dlDeliverValidated(t, srv, b, "audit/prod/AWSLogs/", 2)
	dlCheckLayout(t, files, "audit/prod", "", start)

	keys := b.Keys(t)
	for _, region := range []string{"us-east-1", "us-west-2"} {
		digests := dlKeysIn(keys, "/CloudTrail-Digest/"+region+"/")
		logs := dlKeysIn(keys, "/CloudTrail/"+region+"/")
		res := dlValidateLogs(t, srv, endpoint, region, arn, start)
		what := "validate-logs --region " + region
		dlExpectAllValid(t, what, res, b, digests, logs)
		sum := dlSummary(res.stdout)
		if d := sum["digest"]; d[0] != d[1] || d[1] < len(digests) {
			t.Errorf("%s: summary %v, want all of at least %d digests valid\n%s", what, d, len(digests), res.stdout)
		}
		if l := sum["log"]; l[0] != l[1] || l[1] != len(logs) {
			t.Errorf("%s: summary %v, want %d/%d log files valid\n%s", what, l, len(logs), len(logs), res.stdout)
		}
		if !strings.Contains(res.stdout, "Results found for") {
			t.Errorf("%s: no results:\n%s", what, res.stdout)
		}
	}

	// cairn verify reads the same S3 bucket.
	res := dlVerify(t, "--trail-arn", arn, "--start-time", start.Format(time.RFC3339), "--endpoint", srv.URL,
		"--s3-endpoint", endpoint, "--regions", "us-east-1,us-west-2,eu-west-1", "--verbose")
	dlExpectAllValid(t, "cairn verify --s3-endpoint", res, b, dlKeysIn(keys, "/CloudTrail-Digest/"), dlKeysIn(keys, "/CloudTrail/"))

	// One changed log file in us-east-1: validate-logs reports it INVALID
	// and fails; the other region is still valid.
	var victim dlLogFile
	for _, f := range files {
		if strings.Contains(f.Key, "/CloudTrail/us-east-1/") {
			victim = f
			break
		}
	}
	b.Put(t, victim.Key, dlTampered(t, victim))
	res = dlValidateLogs(t, srv, endpoint, "us-east-1", arn, start)
	if res.code == 0 {
		t.Errorf("validate-logs after a log file changed: exit 0, want non-zero\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
	want := "Log file\ts3://" + name + "/" + victim.Key + "\tINVALID: hash value doesn't match"
	if !strings.Contains(res.stdout+res.stderr, want) {
		t.Errorf("validate-logs after a log file changed: no line %q\nstdout:\n%s\nstderr:\n%s", want, res.stdout, res.stderr)
	}
	if l := dlSummary(res.stdout)["log"]; l[1]-l[0] != 1 {
		t.Errorf("validate-logs after a log file changed: summary %v, want exactly one invalid log file\n%s", l, res.stdout)
	}
	if !strings.Contains(res.stdout, "1/"+fmt.Sprint(dlSummary(res.stdout)["log"][1])+" log files INVALID") {
		t.Errorf("validate-logs after a log file changed: summary does not count 1 INVALID log file:\n%s", res.stdout)
	}
	res = dlValidateLogs(t, srv, endpoint, "us-west-2", arn, start)
	if res.code != 0 || strings.Contains(res.stdout+res.stderr, "INVALID") {
		t.Errorf("validate-logs us-west-2 after a us-east-1 file changed: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
}

func TestDeliveryVerifyDirBucket(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	const name = "verified-logs"
	b := dlDir{name: name, dir: dlMkBucket(t, srv, name)}
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, ct, "verified", name, dlAll(dlMulti, dlValidation))
	files := dlDeliverValidated(t, srv, b, "AWSLogs/", 3)
	dlCheckLayout(t, files, "", "", start)
	keys := b.Keys(t)
	allDigests, allLogs := dlKeysIn(keys, "/CloudTrail-Digest/"), dlKeysIn(keys, "/CloudTrail/")

	verify := func(extra ...string) cliResult {
		args := append([]string{"--trail-arn", arn, "--start-time", start.Format(time.RFC3339), "--bucket-dir", b.dir, "--verbose"}, extra...)
		return dlVerify(t, args...)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.json")
	res := verify("--endpoint", srv.URL, "--save-public-keys", keyFile)
	dlExpectAllValid(t, "cairn verify", res, b, allDigests, allLogs)
	if s := dlSummary(res.stdout); s["log"] != [2]int{len(allLogs), len(allLogs)} || s["digest"][0] != s["digest"][1] {
		t.Errorf("cairn verify: summary %v, want %d/%d log files valid and every digest valid\n%s", s, len(allLogs), len(allLogs), res.stdout)
	}
	var saved struct {
		Trail      struct{ TrailARN, S3BucketName string }
		PublicKeys []struct{ Fingerprint string }
	}
	if b, err := os.ReadFile(keyFile); err != nil {
		t.Fatalf("--save-public-keys wrote nothing: %v", err)
	} else if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatalf("--save-public-keys file: %v\n%s", err, b)
	}
	if saved.Trail.TrailARN != arn || saved.Trail.S3BucketName != name || len(saved.PublicKeys) < len(dlRegions) {
		t.Errorf("--save-public-keys file: trail %+v with %d keys, want %s in %s and a key per region", saved.Trail, len(saved.PublicKeys), arn, name)
	}

	// Offline: no server, no credentials.
	res = runCommand(t, nil, Binary(t), "verify", "--trail-arn", arn, "--start-time", start.Format(time.RFC3339),
		"--bucket-dir", b.dir, "--public-keys", keyFile, "--endpoint", "http://127.0.0.1:1", "--verbose")
	dlExpectAllValid(t, "cairn verify --public-keys", res, b, allDigests, allLogs)

	// A changed log file, a deleted log file, a deleted digest in the
	// middle of a chain: each is reported and the run fails.
	var changed, deleted dlLogFile
	for _, f := range files {
		switch {
		case changed.Key == "" && strings.Contains(f.Key, "/CloudTrail/us-east-1/"):
			changed = f
		case deleted.Key == "" && strings.Contains(f.Key, "/CloudTrail/us-west-2/"):
			deleted = f
		}
	}
	b.Put(t, changed.Key, dlTampered(t, changed))
	b.Delete(t, deleted.Key)
	euDigests := dlKeysIn(allDigests, "/CloudTrail-Digest/eu-west-1/")
	if len(euDigests) < 3 {
		t.Fatalf("eu-west-1 has %d digests, want at least 3: %v", len(euDigests), euDigests)
	}
	middle := euDigests[len(euDigests)/2]
	b.Delete(t, middle)

	res = verify("--public-keys", keyFile)
	if res.code != 1 {
		t.Errorf("cairn verify after tampering: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"Log file\ts3://" + name + "/" + changed.Key + "\tINVALID: hash value doesn't match",
		"Log file\ts3://" + name + "/" + deleted.Key + "\tINVALID: not found",
		"Digest file\ts3://" + name + "/" + middle + "\tINVALID: not found",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("cairn verify after tampering: no line %q\nstdout:\n%s\nstderr:\n%s", want, res.stdout, res.stderr)
		}
	}
	// The other files are still valid.
	lines := dlLines(res.stdout)
	for _, k := range allLogs {
		if k == changed.Key || k == deleted.Key {
			continue
		}
		if l := "Log file\ts3://" + name + "/" + k + "\tvalid"; !lines[l] && !dlListedOnlyIn(t, b, k, middle) {
			t.Errorf("cairn verify after tampering: %s is not reported valid\n%s", k, res.stdout)
		}
	}
}

// dlListedOnlyIn reports whether log file key was listed only in the digest
// that was deleted (its check is then impossible). It reads the digests
// that are left.
func dlListedOnlyIn(t *testing.T, b dlBucket, key, deletedDigest string) bool {
	t.Helper()
	for _, d := range dlDigestKeys(t, b, "") {
		if d == deletedDigest {
			continue
		}
		for _, l := range dlReadDigest(t, b, d).LogFiles {
			if l.S3Object == key {
				return false
			}
		}
	}
	return true
}
