package e2e

// `cairn verify` of a stopped trail (issue 14, re-review): the server
// writes a final digest of every chain at StopLogging, ending at the stop;
// deleting it, and the log files only it lists, must fail verify online
// and offline, not pass because a digest ended within one interval of the
// stop.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// vstopInterval is the digest interval of these tests: long enough that
// the test can stop the trail well between two digest ends, so that the
// digest before the final one ends more than verify's slack (2s) before
// the stop.
const vstopInterval = 10 * time.Second

// TestVerifyStoppedFinalDigest: a trail with validation logs, is stopped,
// and writes its final digests; a copy of its bucket verifies; a copy
// without one region's final digest and the log files only it listed
// fails, online and with a saved keys file.
func TestVerifyStoppedFinalDigest(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig + "\ndelivery: {flush_interval: 1s, digest_interval: 10s}\n"})
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	live := dlDir{name: "vstop-logs", dir: dlMkBucket(t, srv, "vstop-logs")}
	arn := dlTrail(t, east, "vstop-trail", live.name, dlAll(dlMulti, dlValidation))
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	ids := vsIngestAll(t, srv, Account1)
	dlWaitDelivered(t, srv, live, "AWSLogs/", ids, 30*time.Second)
	dlWaitDigests(t, srv, live, time.Now(), 1, parts...)
	last := vsNewestEnd(t, live)

	// A last round of events, delivered, then the stop, a few seconds after
	// the last digest's end and before the next: the final digests list
	// what no earlier digest did.
	ids = vsIngestAll(t, srv, Account1)
	dlWaitDelivered(t, srv, live, "AWSLogs/", ids, 30*time.Second)
	if !dlPoll(vstopInterval, func() bool { return time.Since(last) > 4*time.Second }) {
		t.Fatal("the clock did not pass the last digest")
	}
	if _, err := east.StopLogging(context.Background(), &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	stopped := aws.ToTime(dlStatus(t, srv, "us-east-1", arn).StopLoggingTime)
	if stopped.IsZero() {
		t.Fatal("GetTrailStatus has no StopLoggingTime after StopLogging")
	}
	if d := stopped.Sub(last); d < 3*time.Second || d > vstopInterval-time.Second {
		t.Fatalf("stopped %s after the last digest's end (%s): want between 3s and the interval less a second (the machine is too slow)", d, last)
	}
	// The final digests are written on the pass after the stop, ending at
	// its time truncated to the second.
	dlWaitDigests(t, srv, live, stopped, 1, parts...)
	// verify gives digests --max-digest-delay (1s here) to arrive.
	if !dlPoll(10*time.Second, func() bool { return time.Since(stopped) > 1500*time.Millisecond }) {
		t.Fatal("the clock did not pass the stop")
	}

	run := func(dir string, extra ...string) cliResult {
		t.Helper()
		return dlVerify(t, append([]string{"--trail-arn", arn, "--start-time", start.Format(time.RFC3339),
			"--max-digest-delay", "1s", "--bucket-dir", dir}, extra...)...)
	}
	online := []string{"--endpoint", srv.URL}
	keys := filepath.Join(t.TempDir(), "keys.json")
	offline := []string{"--public-keys", keys, "--endpoint", "http://127.0.0.1:1"}

	intact := vsCopy(t, live.dir)
	if res := run(intact, append(online, "--save-public-keys", keys)...); res.code != 0 {
		t.Fatalf("cairn verify of the stopped trail's intact bucket: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if res := run(intact, offline...); res.code != 0 {
		t.Fatalf("cairn verify --public-keys of the intact bucket: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}

	// The attack: delete us-west-2's final digest (its newest) and the log
	// files that no remaining digest lists.
	attacked := dlDir{name: live.name, dir: vsCopy(t, live.dir)}
	west := dlDigestKeys(t, attacked, "/CloudTrail-Digest/us-west-2/")
	var final string
	for _, k := range west {
		if final == "" || dlDigestEnd(k).After(dlDigestEnd(final)) {
			final = k
		}
	}
	if len(west) < 2 || dlDigestEnd(final).Before(stopped.Truncate(time.Second)) {
		t.Fatalf("us-west-2 digests %v: want a final one ending at %s and older ones", west, stopped)
	}
	before := len(attacked.Keys(t))
	attacked.Delete(t, final)
	vtPrune(t, attacked)
	t.Logf("deleted %s and %d log files only it listed", final, before-1-len(attacked.Keys(t)))

	want := "INVALID: the newest digest of account " + Account1 + " in region us-west-2 ends at"
	for _, c := range []struct {
		name  string
		extra []string
	}{{"online", online}, {"offline", offline}} {
		res := run(attacked.dir, c.extra...)
		if res.code != 1 || !strings.Contains(res.stdout, want) || !strings.Contains(res.stdout, "logging stopped at") {
			t.Errorf("cairn verify (%s) without the final digest: exit %d, want 1 with %q\nstdout:\n%s\nstderr:\n%s",
				c.name, res.code, want, res.stdout, res.stderr)
		}
	}
}
