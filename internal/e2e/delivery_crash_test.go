package e2e

// Delivery survives what goes wrong: the server killed (SIGKILL) in the
// middle of delivering, and a bucket that cannot be written for a while.
// Every event a trail selects ends up in exactly one log file.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// dlIngestor ingests batches from a goroutine into whichever server is
// current, retrying a batch (same eventIDs) until a server accepts it.
type dlIngestor struct {
	cur      atomic.Pointer[Server]
	mu       sync.Mutex
	selected []string // accepted eventIDs of Account1 (the trail's)
	other    []string // accepted eventIDs of Account2 (not the trail's)
	batches  atomic.Int64
	done     chan struct{}
	stop     chan struct{} // closed when the test ends
	err      error
}

func (g *dlIngestor) run(total, size int, pause time.Duration) {
	defer close(g.done)
	for i := 0; i < total; i++ {
		var recs []map[string]any
		var accts []string
		for j := 0; j < size; j++ {
			acct := Account1
			if j%10 == 9 {
				acct = Account2
			}
			recs = append(recs, dlEvent(fmt.Sprintf("Crash%d", j%7), "ec2.amazonaws.com", dlRegions[(i+j)%3], acct, nil))
			accts = append(accts, acct)
		}
		body, _ := json.Marshal(map[string]any{"Records": recs})
		var status int
		var b []byte
		var err error
		stopped := false
		// Until a server accepts it; meanwhile the server is down or restarting.
		accepted, _ := testutil.PollEvery(90*time.Second, 50*time.Millisecond, func() (bool, string) {
			status, b, err = dlPost(g.cur.Load().URL, IngestKey, IngestSecret, "/v1/events", body)
			if err == nil && status == http.StatusOK {
				return true, ""
			}
			select {
			case <-g.stop:
				stopped = true
				return true, ""
			default:
				return false, ""
			}
		})
		switch {
		case stopped:
			g.err = fmt.Errorf("batch %d: the test ended", i)
			return
		case !accepted:
			g.err = fmt.Errorf("batch %d: no server accepted it: HTTP %d %s %v", i, status, b, err)
			return
		}
		var res IngestResult
		if err := json.Unmarshal(b, &res); err != nil || res.Accepted != size {
			g.err = fmt.Errorf("batch %d: accepted %d of %d: %s", i, res.Accepted, size, b)
			return
		}
		g.mu.Lock()
		for k, id := range res.EventIDs {
			if accts[k] == Account1 {
				g.selected = append(g.selected, id)
			} else {
				g.other = append(g.other, id)
			}
		}
		g.mu.Unlock()
		g.batches.Add(1)
		time.Sleep(pause)
	}
}

// dlCheckExactlyOnce checks that every eventID in the log files appears
// once, that every selected one is there and no other one is.
func dlCheckExactlyOnce(t *testing.T, files []dlLogFile, selected, other []string) {
	t.Helper()
	counts := dlEventIDs(files)
	where := dlWhere(files)
	dups := 0
	for id, n := range counts {
		if n != 1 {
			if dups < 5 {
				t.Errorf("event %s is in %d log files: %v", id, n, where[id])
			}
			dups++
		}
	}
	missing := 0
	for _, id := range selected {
		if counts[id] == 0 {
			if missing < 5 {
				t.Errorf("event %s was accepted but is in no log file", id)
			}
			missing++
		}
	}
	for _, id := range other {
		if counts[id] != 0 {
			t.Errorf("event %s of Account2 was delivered by Account1's trail: %v", id, where[id])
		}
	}
	if dups+missing > 0 {
		t.Errorf("%d events duplicated, %d missing, of %d selected", dups, missing, len(selected))
	}
}

func TestDeliveryExactlyOnceAcrossSIGKILL(t *testing.T) {
	t.Parallel()
	cfg := dlConfig()
	srv := Start(t, Options{Config: cfg})
	const name = "crash-logs"
	b := dlDir{name: name, dir: dlMkBucket(t, srv, name)}
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	arn := dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "crash", name, dlAll(dlMulti, dlValidation))

	const total, size = 80, 50 // 4000 events
	g := &dlIngestor{done: make(chan struct{}), stop: make(chan struct{})}
	g.cur.Store(srv)
	go g.run(total, size, 40*time.Millisecond)
	t.Cleanup(func() { close(g.stop); <-g.done })

	// Kill the server as soon as a new log file appears (delivery is then
	// under way: more files of the batch, the cursor, digests), while
	// events are still coming in; restart it on the same data.
	// The first kills come in quick succession (the restarted server
	// replays the batch it had planned, and is killed while doing so); the
	// last one waits until most events are in.
	kills := 0
	for round := 0; round < 4; round++ {
		if round == 3 {
			dlPoll(60*time.Second, func() bool { return g.batches.Load() >= total*2/3 })
		}
		seen := len(dlKeysIn(b.Keys(t), "/CloudTrail/"))
		// Look often: the kill should land in the middle of a delivery.
		appeared, _ := testutil.PollEvery(30*time.Second, 5*time.Millisecond, func() (bool, string) {
			return len(dlKeysIn(b.Keys(t), "/CloudTrail/")) > seen, ""
		})
		if !appeared {
			t.Fatalf("round %d: no new log file within 30s\nserver log:\n%s", round, dlTail(srv.Log(), 40))
		}
		select {
		case <-g.done:
			if kills >= 2 {
				round = 4 // enough: the rest is delivery catching up
				continue
			}
		default:
		}
		srv.Kill()
		kills++
		t.Logf("killed the server after %d of %d batches", g.batches.Load(), total)
		srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
		g.cur.Store(srv)
	}
	<-g.done
	if g.err != nil {
		t.Fatalf("ingest: %v", g.err)
	}
	if n := g.batches.Load(); n != total {
		t.Fatalf("ingested %d of %d batches", n, total)
	}
	files := dlWaitDelivered(t, srv, b, "AWSLogs/", g.selected, 60*time.Second)
	dlCheckExactlyOnce(t, files, g.selected, g.other)
	dlCheckLayout(t, files, "", "", start)

	// The digest chains survived the crashes: every digest and log file
	// verifies, and every log file is listed in exactly one digest.
	done := time.Now()
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	dlWaitDigests(t, srv, b, done, 2, parts...)
	res := dlVerify(t, "--trail-arn", arn, "--start-time", start.Format(time.RFC3339), "--endpoint", srv.URL,
		"--bucket-dir", b.dir, "--verbose")
	keys := b.Keys(t)
	var logs []string
	for _, f := range files {
		logs = append(logs, f.Key)
	}
	dlExpectAllValid(t, "cairn verify after crashes", res, b, nil, logs)
	dlCheckDigestListing(t, b, dlKeysIn(keys, "/CloudTrail-Digest/"), logs)
}

// dlCheckDigestListing checks that each log file is listed exactly once
// across the digest chain (the digests linked from the newest of each
// region).
func dlCheckDigestListing(t *testing.T, b dlBucket, digests, logs []string) {
	t.Helper()
	byKey := map[string]bool{}
	for _, d := range digests {
		byKey[d] = true
	}
	listed := map[string]int{}
	for _, r := range dlRegions {
		var newest string
		for _, d := range digests {
			if strings.Contains(d, "/CloudTrail-Digest/"+r+"/") && d > newest {
				newest = d
			}
		}
		for k := newest; k != ""; {
			d := dlReadDigest(t, b, k)
			for _, l := range d.LogFiles {
				listed[l.S3Object]++
			}
			if d.PreviousDigestS3Object == nil {
				break
			}
			k = *d.PreviousDigestS3Object
			if !byKey[k] {
				t.Errorf("digest chain of %s links to %s, which does not exist", r, k)
				break
			}
		}
	}
	for _, l := range logs {
		if listed[l] != 1 {
			t.Errorf("log file %s is listed %d times in the digest chain, want once", l, listed[l])
		}
	}
}

func TestDeliveryRetryUnreachableBucket(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	const s3Name = "late-bucket"
	srv := Start(t, Options{Config: dlConfig(dlS3Buckets(endpoint, s3Name))})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")

	// An S3 bucket that does not exist yet (moto has no such bucket), and
	// a directory bucket that is removed after the trail was created.
	s3ARN := dlTrail(t, east, "to-s3", s3Name, nil)
	const dirName = "vanishing-bucket"
	dir := dlMkBucket(t, srv, dirName)
	dirARN := dlTrail(t, east, "to-dir", dirName, nil)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	ids := dlIngest(t, srv,
		dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil),
		dlEvent("TerminateInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	for _, arn := range []string{s3ARN, dirARN} {
		var st *cloudtrail.GetTrailStatusOutput
		if !dlPoll(20*time.Second, func() bool {
			st = dlStatus(t, srv, "us-east-1", arn)
			return aws.ToString(st.LatestDeliveryError) != ""
		}) {
			t.Fatalf("GetTrailStatus of %s while its bucket is unreachable: no LatestDeliveryError\nserver log:\n%s", arn, dlTail(srv.Log(), 30))
		}
		at, err := time.Parse(time.RFC3339, aws.ToString(st.LatestDeliveryAttemptTime))
		if err != nil || at.Before(before.Add(-time.Second).Truncate(time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("GetTrailStatus of %s: LatestDeliveryAttemptTime %q, want a time since %s (%v)", arn,
				aws.ToString(st.LatestDeliveryAttemptTime), before.Format(time.RFC3339), err)
		}
		if st.LatestDeliveryTime != nil || aws.ToString(st.LatestDeliveryAttemptSucceeded) != "" {
			t.Errorf("GetTrailStatus of %s: LatestDeliveryTime %s, LatestDeliveryAttemptSucceeded %q before any delivery",
				arn, dlTime(st.LatestDeliveryTime), aws.ToString(st.LatestDeliveryAttemptSucceeded))
		}
		t.Logf("%s: LatestDeliveryError %q", arn, aws.ToString(st.LatestDeliveryError))
	}
	// More events while the buckets are gone; they wait too.
	ids = append(ids, dlIngest(t, srv, dlEvent("StopInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))...)
	time.Sleep(1500 * time.Millisecond) // a few failed attempts (a poll cannot show that nothing happens)

	// The buckets come back: everything is delivered once, and the error
	// clears.
	buckettest.CreateBucket(t, endpoint, s3Name)
	dlMkBucket(t, srv, dirName)
	back := time.Now()
	for _, b := range []dlBucket{dlMoto{endpoint: endpoint, name: s3Name}, dlDir{name: dirName, dir: dir}} {
		files := dlWaitDelivered(t, srv, b, "AWSLogs/", ids, 90*time.Second)
		counts := dlEventIDs(files)
		for _, id := range ids {
			if counts[id] != 1 {
				t.Errorf("bucket %s: event %s in %d files, want 1", b.Name(), id, counts[id])
			}
		}
		for id, n := range counts {
			if n != 1 {
				t.Errorf("bucket %s: event %s in %d files", b.Name(), id, n)
			}
		}
	}
	for _, arn := range []string{s3ARN, dirARN} {
		var st *cloudtrail.GetTrailStatusOutput
		dlPoll(10*time.Second, func() bool {
			st = dlStatus(t, srv, "us-east-1", arn)
			return aws.ToString(st.LatestDeliveryError) == ""
		})
		if e := aws.ToString(st.LatestDeliveryError); e != "" || !dlAround(st.LatestDeliveryTime, back, time.Now()) {
			t.Errorf("GetTrailStatus of %s after the bucket came back: LatestDeliveryError %q, LatestDeliveryTime %s (bucket back at %s)",
				arn, e, dlTime(st.LatestDeliveryTime), back.Format(time.RFC3339))
		}
	}
}

// A batch whose files are written in part (one region's folder cannot be
// written) is retried as a whole: each event ends up in one file, and each
// log file is listed once in the digest chain.
func TestDeliveryPartialWriteRetried(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	const name = "partial-logs"
	dir := dlMkBucket(t, srv, name)
	b := dlDir{name: name, dir: dir}
	// A file where the us-west-2 folder must go: writes of us-west-2 log
	// files fail; the other regions' files of the same batch are written.
	blocker := filepath.Join(dir, "AWSLogs", Account1, "CloudTrail", "us-west-2")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	arn := dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "partial", name, dlAll(dlMulti, dlValidation))
	var recs []map[string]any
	for _, r := range dlRegions {
		recs = append(recs, dlEvent("RunInstances", "ec2.amazonaws.com", r, Account1, nil))
	}
	ids := dlIngest(t, srv, recs...)
	if !dlPoll(20*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-west-2", arn).LatestDeliveryError) != ""
	}) {
		t.Fatalf("no LatestDeliveryError in us-west-2 while its folder cannot be written\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	// Let a digest interval pass with the batch half written.
	time.Sleep(2500 * time.Millisecond)
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	files := dlWaitDelivered(t, srv, b, "AWSLogs/", ids, 90*time.Second)
	dlCheckExactlyOnce(t, files, ids, nil)
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	dlWaitDigests(t, srv, b, time.Now(), 2, parts...)
	keys := b.Keys(t)
	files = dlLogs(t, b, "AWSLogs/")
	var logs []string
	for _, f := range files {
		logs = append(logs, f.Key)
	}
	dlCheckDigestListing(t, b, dlKeysIn(keys, "/CloudTrail-Digest/"), logs)
	res := dlVerify(t, "--trail-arn", arn, "--start-time", start.Format(time.RFC3339), "--endpoint", srv.URL,
		"--bucket-dir", b.dir, "--verbose")
	dlExpectAllValid(t, "cairn verify after a partly failed batch", res, b, nil, logs)
	if strings.Count(res.stdout, "Log file\t") != len(logs) {
		t.Errorf("cairn verify checked %d log file entries, want one per log file (%d):\n%s",
			strings.Count(res.stdout, "Log file\t"), len(logs), res.stdout)
	}
}
