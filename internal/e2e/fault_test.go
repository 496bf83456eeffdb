package e2e

// Crash and fault tests: the server killed (SIGKILL) again and again while
// several clients ingest and trails deliver, and the disk filling up under
// the event store and under a directory bucket. An acknowledged event is
// never lost nor duplicated, in event history and in log files; a write that
// cannot be made is answered with a clear 503, never a false acknowledgement.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// ftSource is the eventSource of the events the fault tests ingest (Cairn's
// own audit records have cloudtrail.amazonaws.com).
const ftSource = "ec2.amazonaws.com"

// ftAcked is an acknowledged event.
type ftAcked struct {
	ID, Account, Region string
}

// ftFreeAddr returns a loopback address with a port that was free a moment
// ago, for a server that restarts on the same address.
func ftFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// ftClient ingests batches as ivan into url until stop is closed, retrying
// each batch (same eventIDs) through connection errors and 5xx answers until
// it is acknowledged.
type ftClient struct {
	id    int
	url   string
	mu    sync.Mutex
	acked []ftAcked
	sent  int // batches acknowledged
	retry int // attempts that failed (server down, 5xx)
	err   error
}

func (c *ftClient) run(stop <-chan struct{}, size int, pause time.Duration) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		var recs []map[string]any
		var want []ftAcked
		for j := 0; j < size; j++ {
			acct := Account1
			if (i+j)%8 == 7 {
				acct = Account2
			}
			region := dlRegions[(c.id+i+j)%len(dlRegions)]
			r := dlEvent(fmt.Sprintf("Fault%d", j%5), ftSource, region, acct, map[string]any{
				"requestParameters": map[string]any{"client": c.id, "batch": i, "index": j}})
			recs = append(recs, r)
			want = append(want, ftAcked{ID: r["eventID"].(string), Account: acct, Region: region})
		}
		body, _ := json.Marshal(map[string]any{"Records": recs})
		var status int
		var b []byte
		var err error
		answered, _ := testutil.PollEvery(60*time.Second, 50*time.Millisecond, func() (bool, string) {
			status, b, err = dlPost(c.url, IngestKey, IngestSecret, "/v1/events", body)
			if err == nil && status < 500 {
				return true, ""
			}
			c.mu.Lock()
			c.retry++ // the server is down or restarting
			c.mu.Unlock()
			return false, ""
		})
		if !answered {
			c.err = fmt.Errorf("client %d batch %d: not acknowledged within 60s: HTTP %d %s %v", c.id, i, status, b, err)
			return
		}
		if status != http.StatusOK {
			c.err = fmt.Errorf("client %d batch %d: HTTP %d (not retryable): %s", c.id, i, status, b)
			return
		}
		var res IngestResult
		if err := json.Unmarshal(b, &res); err != nil || res.Accepted != size || len(res.Failed) != 0 || len(res.EventIDs) != size {
			c.err = fmt.Errorf("client %d batch %d: a 200 that does not accept the whole batch: %s", c.id, i, b)
			return
		}
		for k, id := range res.EventIDs {
			if id != want[k].ID {
				c.err = fmt.Errorf("client %d batch %d: eventIDs[%d] = %s, want %s", c.id, i, k, id, want[k].ID)
				return
			}
		}
		c.mu.Lock()
		c.acked = append(c.acked, want...)
		c.sent++
		c.mu.Unlock()
		time.Sleep(pause)
	}
}

// ftCloudTrail is srv.CloudTrail.
func ftCloudTrail(srv *Server, key, secret, region string) *cloudtrail.Client {
	return srv.CloudTrail(key, secret, region)
}

// ftLookupID looks one event up by EventId as the account's admin in its
// region and returns how many events with that ID came back.
func ftLookupID(t *testing.T, srv *Server, a ftAcked) int {
	t.Helper()
	key, secret := AdminKey, AdminSecret
	if a.Account == Account2 {
		key, secret = OtherKey, OtherSecret
	}
	out, err := ftCloudTrail(srv, key, secret, a.Region).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventId, AttributeValue: aws.String(a.ID)}},
	})
	if err != nil {
		t.Fatalf("LookupEvents EventId=%s in %s: %v", a.ID, a.Region, err)
	}
	n := 0
	for _, e := range out.Events {
		if aws.ToString(e.EventId) == a.ID {
			n++
		} else {
			t.Errorf("LookupEvents EventId=%s answered event %s", a.ID, aws.ToString(e.EventId))
		}
	}
	return n
}

// ftLookupAll pages through every event of source in region as key and
// counts the eventIDs.
func ftLookupAll(t *testing.T, srv *Server, key, secret, region, source string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := map[string]int{}
	p := cloudtrail.NewLookupEventsPaginator(ftCloudTrail(srv, key, secret, region), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventSource, AttributeValue: aws.String(source)}},
		MaxResults:       aws.Int32(50),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("LookupEvents EventSource=%s in %s: %v", source, region, err)
		}
		for _, e := range page.Events {
			got[aws.ToString(e.EventId)]++
		}
	}
	return got
}

// ftCheckHistory checks that every acknowledged event is in event history
// exactly once (a sample looked up by EventId, all of them by paging
// EventSource per account and region) and that history holds no other
// events of ftSource.
func ftCheckHistory(t *testing.T, what string, srv *Server, acked []ftAcked) {
	t.Helper()
	sample := slices.Clone(acked)
	mrand.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	sample = sample[:min(200, len(sample))]
	bad := 0
	for _, a := range sample {
		if n := ftLookupID(t, srv, a); n != 1 {
			if bad < 5 {
				t.Errorf("%s: LookupEvents EventId=%s (%s, %s) found %d events, want 1", what, a.ID, a.Account, a.Region, n)
			}
			bad++
		}
	}
	type ar struct{ account, region string }
	want := map[ar]map[string]bool{}
	for _, a := range acked {
		k := ar{a.Account, a.Region}
		if want[k] == nil {
			want[k] = map[string]bool{}
		}
		want[k][a.ID] = true
	}
	total := 0
	for _, acct := range []string{Account1, Account2} {
		key, secret := AdminKey, AdminSecret
		if acct == Account2 {
			key, secret = OtherKey, OtherSecret
		}
		for _, region := range dlRegions {
			got := ftLookupAll(t, srv, key, secret, region, ftSource)
			w := want[ar{acct, region}]
			missing, dups, extra := 0, 0, 0
			for id := range w {
				switch n := got[id]; {
				case n == 0:
					if missing < 3 {
						t.Errorf("%s: acknowledged event %s (%s, %s) is not in event history", what, id, acct, region)
					}
					missing++
				case n > 1:
					if dups < 3 {
						t.Errorf("%s: event %s (%s, %s) is %d times in event history", what, id, acct, region, n)
					}
					dups++
				}
			}
			for id := range got {
				if !w[id] {
					if extra < 3 {
						t.Errorf("%s: event %s in %s/%s history was never acknowledged", what, id, acct, region)
					}
					extra++
				}
			}
			if missing+dups+extra > 0 {
				t.Errorf("%s: %s/%s: %d acknowledged, %d in history: %d missing, %d duplicated, %d unexpected",
					what, acct, region, len(w), len(got), missing, dups, extra)
			}
			total += len(got)
		}
	}
	t.Logf("%s: %d acknowledged events, %d in event history, %d looked up by EventId", what, len(acked), total, len(sample))
}

// ftSplit divides events into those a trail selects and the others.
func ftSplit(acked []ftAcked, selects func(ftAcked) bool) (selected, other []string) {
	for _, a := range acked {
		if selects(a) {
			selected = append(selected, a.ID)
		} else {
			other = append(other, a.ID)
		}
	}
	return selected, other
}

func TestFaultSIGKILLManyClients(t *testing.T) {
	t.Parallel()
	cfg := dlConfig()
	addr := ftFreeAddr(t)
	dataDir := PrivateDir(t)
	start := func() *Server {
		return Start(t, Options{Config: cfg, DataDir: dataDir, Args: []string{"--listen", addr}})
	}
	srv := start()
	if srv.Addr != addr {
		t.Fatalf("server listens on %s, want %s", srv.Addr, addr)
	}
	const allName, westName = "fault-all", "fault-west"
	all := dlDir{name: allName, dir: dlMkBucket(t, srv, allName)}
	west := dlDir{name: westName, dir: dlMkBucket(t, srv, westName)}
	since := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	allARN := dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "fault-all", allName, dlAll(dlMulti, dlValidation))
	dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-west-2"), "fault-west", westName, nil)

	// Four clients ingest; the server is killed four times at random
	// moments, about every 2s, and restarted on the same data and address.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	clients := make([]*ftClient, 4)
	for i := range clients {
		clients[i] = &ftClient{id: i, url: "http://" + addr}
		wg.Add(1)
		go func() { defer wg.Done(); clients[i].run(stop, 10, 30*time.Millisecond) }()
	}
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	t.Cleanup(stopClients)
	acked := func() int {
		n := 0
		for _, c := range clients {
			c.mu.Lock()
			n += len(c.acked)
			c.mu.Unlock()
		}
		return n
	}
	const kills = 4
	for k := 0; k < kills; k++ {
		time.Sleep(1500*time.Millisecond + time.Duration(mrand.IntN(1000))*time.Millisecond)
		srv.Kill()
		t.Logf("kill %d: %d events acknowledged so far", k+1, acked())
		srv = start()
	}
	time.Sleep(time.Second)
	stopClients()

	var events []ftAcked
	retries := 0
	for _, c := range clients {
		if c.err != nil {
			t.Fatalf("ingest: %v\nserver log:\n%s", c.err, dlTail(srv.Log(), 40))
		}
		if c.sent == 0 {
			t.Fatalf("client %d had no batch acknowledged", c.id)
		}
		events = append(events, c.acked...)
		retries += c.retry
	}
	t.Logf("%d events acknowledged by %d clients across %d kills (%d failed attempts retried)", len(events), len(clients), kills, retries)
	if retries == 0 {
		t.Errorf("no client saw the server down: the kills did not land while clients ingested")
	}

	// Event history: every acknowledged event exactly once.
	ftCheckHistory(t, "after SIGKILLs", srv, events)

	// Each trail: every event it selects in exactly one log file, and
	// nothing else.
	allSel, allOther := ftSplit(events, func(a ftAcked) bool { return a.Account == Account1 })
	files := dlWaitDelivered(t, srv, all, "AWSLogs/", allSel, 60*time.Second)
	dlCheckExactlyOnce(t, files, allSel, allOther)
	westSel, westOther := ftSplit(events, func(a ftAcked) bool { return a.Account == Account1 && a.Region == "us-west-2" })
	westFiles := dlWaitDelivered(t, srv, west, "AWSLogs/", westSel, 60*time.Second)
	dlCheckExactlyOnce(t, westFiles, westSel, westOther)
	for _, f := range westFiles {
		if !strings.Contains(f.Key, "/CloudTrail/us-west-2/") {
			t.Errorf("single-region trail of us-west-2 delivered %s", f.Key)
		}
	}

	// The digest chain of the validated trail is intact.
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	files = dlLogs(t, all, "AWSLogs/")
	var logs []string
	for _, f := range files {
		logs = append(logs, f.Key)
	}
	dlWaitDigests(t, srv, all, time.Now(), 2, parts...)
	res := dlVerify(t, "--trail-arn", allARN, "--start-time", since.Format(time.RFC3339), "--endpoint", srv.URL,
		"--bucket-dir", all.dir, "--verbose")
	dlExpectAllValid(t, "cairn verify after repeated SIGKILLs", res, all, nil, logs)
	dlCheckDigestListing(t, all, dlKeysIn(all.Keys(t), "/CloudTrail-Digest/"), logs)
}

// ftMount mounts a tmpfs of size on dir, mode 0700 (a tmpfs is 1777
// otherwise, which cairn serve refuses as a data directory); the test fails
// when it cannot.
func ftMount(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount -t tmpfs -o size=%s tmpfs %s: %v: %s\n"+
			"the disk-full test needs to mount a tmpfs: run the tests as root (or with CAP_SYS_ADMIN)", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s; unmounting lazily", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
}

// ftResize changes the size of the tmpfs on dir.
func ftResize(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,size=%s %s: %v: %s", size, dir, err, out)
	}
}

// ftFill writes a file in dir until the file system has only leave bytes
// free (0: until it is full).
func ftFill(t *testing.T, dir string, leave int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	todo := int64(st.Bavail)*int64(st.Bsize) - leave
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for done := int64(0); leave == 0 || done < todo; done += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
	if leave == 0 {
		t.Fatalf("filling %s: no ENOSPC", dir)
	}
}

// ftPad is n random hex characters (they do not compress away).
func ftPad(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ftAWSError decodes an AWS JSON error body.
func ftAWSError(b []byte) (typ, msg string) {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	json.Unmarshal(b, &e)
	if e.Message == "" {
		e.Message = e.Message2
	}
	return e.Type, e.Message
}

func ftHealthy(t *testing.T, srv *Server, what string) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("%s: /healthz: %v\nserver log:\n%s", what, err, dlTail(srv.Log(), 30))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: /healthz: HTTP %d, want 200", what, resp.StatusCode)
	}
}

func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dataDir := filepath.Join(base, "data")
	ftMount(t, dataDir, "40m")
	const bucketName = "full-bucket"
	bucketDir := filepath.Join(dataDir, "buckets", bucketName)
	ftMount(t, bucketDir, "1m")
	cfg := dlConfig()
	srv := Start(t, Options{Config: cfg, DataDir: dataDir})
	b := dlDir{name: bucketName, dir: bucketDir}
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")

	// 1. A directory bucket on a full file system: delivery fails and says
	// so in GetTrailStatus; the events wait and are delivered once space
	// returns.
	ftFill(t, bucketDir, 0)
	arn := dlTrail(t, east, "to-full-bucket", bucketName, nil)
	var acked []ftAcked
	var recs []map[string]any
	for i := 0; i < 5; i++ {
		recs = append(recs, dlEvent("RunInstances", ftSource, "us-east-1", Account1, nil))
	}
	for _, id := range dlIngest(t, srv, recs...) {
		acked = append(acked, ftAcked{ID: id, Account: Account1, Region: "us-east-1"})
	}
	var st *cloudtrail.GetTrailStatusOutput
	if !dlPoll(20*time.Second, func() bool {
		st = dlStatus(t, srv, "us-east-1", arn)
		return aws.ToString(st.LatestDeliveryError) != ""
	}) {
		t.Fatalf("GetTrailStatus while the bucket's file system is full: no LatestDeliveryError; keys %v\nserver log:\n%s",
			b.Keys(t), dlTail(srv.Log(), 30))
	}
	t.Logf("bucket full: LatestDeliveryError %q", aws.ToString(st.LatestDeliveryError))
	if n := len(dlLogs(t, b, "AWSLogs/")); n != 0 {
		t.Errorf("%d log files in a bucket that has no space", n)
	}
	ftResize(t, bucketDir, "200m")
	back := time.Now()
	files := dlWaitDelivered(t, srv, b, "AWSLogs/", ftIDs(acked), 30*time.Second)
	dlCheckExactlyOnce(t, files, ftIDs(acked), nil)
	if !dlPoll(10*time.Second, func() bool {
		st = dlStatus(t, srv, "us-east-1", arn)
		return aws.ToString(st.LatestDeliveryError) == ""
	}) || !dlAround(st.LatestDeliveryTime, back, time.Now()) {
		t.Errorf("GetTrailStatus after space returned: LatestDeliveryError %q, LatestDeliveryTime %s (space back at %s)",
			aws.ToString(st.LatestDeliveryError), dlTime(st.LatestDeliveryTime), back.Format(time.RFC3339))
	}

	// 2. The data directory fills up under ingest: ingest answers 503
	// ServiceUnavailableException, never a 200 for events it did not keep.
	// (A file takes all but 10 MB of the 40 MB first, so that filling up
	// takes fewer events.)
	ftFill(t, dataDir, 10<<20)
	post := func(recs []map[string]any) (int, []byte, error) {
		body, _ := json.Marshal(map[string]any{"Records": recs})
		return dlPost(srv.URL, IngestKey, IngestSecret, "/v1/events", body)
	}
	batch := func(n int) []map[string]any {
		var recs []map[string]any
		for i := 0; i < n; i++ {
			recs = append(recs, dlEvent("CreateVolume", ftSource, "us-east-1", Account1,
				map[string]any{"requestParameters": map[string]any{"pad": ftPad(8 << 10)}}))
		}
		return recs
	}
	// ackBatch records the eventIDs of a 200 answer after checking that it
	// accepted the whole batch.
	ackBatch := func(recs []map[string]any, b []byte) {
		t.Helper()
		var res IngestResult
		if err := json.Unmarshal(b, &res); err != nil || res.Accepted != len(recs) || len(res.Failed) != 0 {
			t.Fatalf("ingest: a 200 that does not accept the whole batch (%d records): %.300s", len(recs), b)
		}
		for k, id := range res.EventIDs {
			if id != recs[k]["eventID"] {
				t.Fatalf("ingest: eventIDs[%d] = %s, want %s", k, id, recs[k]["eventID"])
			}
			acked = append(acked, ftAcked{ID: id, Account: Account1, Region: "us-east-1"})
		}
	}
	var fullStatus int
	var fullBody []byte
	sent := 0
	for fullStatus == 0 {
		if sent > 200<<20 {
			t.Fatalf("ingested %d MB into a file system with 10 MB free without a 5xx", sent>>20)
		}
		recs := batch(200)
		status, body, err := post(recs)
		if err != nil {
			t.Fatalf("ingest while the disk fills: %v\nserver log:\n%s", err, dlTail(srv.Log(), 30))
		}
		sent += 200 * 8 << 10
		switch {
		case status == http.StatusOK:
			ackBatch(recs, body)
		case status >= 500:
			fullStatus, fullBody = status, body
		default:
			t.Fatalf("ingest while the disk fills: HTTP %d: %s", status, body)
		}
	}
	typ, msg := ftAWSError(fullBody)
	t.Logf("disk full after %d acknowledged events: HTTP %d %s: %s", len(acked), fullStatus, typ, msg)
	if fullStatus != http.StatusServiceUnavailable || typ != "ServiceUnavailableException" || msg == "" {
		t.Errorf("ingest on a full disk: HTTP %d %s, want 503 with an AWS error {__type: ServiceUnavailableException, message}",
			fullStatus, fullBody)
	}
	// Still full: a few more attempts; any 200 must be true.
	for i := 0; i < 3; i++ {
		recs := batch(50)
		status, body, err := post(recs)
		switch {
		case err != nil:
			t.Fatalf("ingest on a full disk: %v (did the server crash?)\nserver log:\n%s", err, dlTail(srv.Log(), 30))
		case status == http.StatusOK:
			ackBatch(recs, body)
		case status != http.StatusServiceUnavailable:
			t.Errorf("ingest on a full disk: HTTP %d %s, want 503 ServiceUnavailableException", status, body)
		}
	}
	ftHealthy(t, srv, "disk full")
	if n := ftLookupID(t, srv, acked[len(acked)-1]); n != 1 {
		t.Errorf("disk full: LookupEvents by EventId of the last acknowledged event found %d, want 1", n)
	}

	// Space returns: ingest works again, nothing acknowledged is lost.
	ftResize(t, dataDir, "200m")
	okAgain, _ := testutil.PollEvery(15*time.Second, 200*time.Millisecond, func() (bool, string) {
		recs := batch(20)
		status, body, err := post(recs)
		if err == nil && status == http.StatusOK {
			ackBatch(recs, body)
			return true, ""
		}
		t.Logf("ingest after space returned: HTTP %d %.200s %v", status, body, err)
		return false, ""
	})
	if !okAgain {
		t.Fatalf("ingest did not recover within 15s of space returning\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	recs = nil
	for i := 0; i < 10; i++ {
		recs = append(recs, dlEvent("DeleteVolume", ftSource, dlRegions[i%3], Account1, nil))
	}
	for k, id := range dlIngest(t, srv, recs...) {
		acked = append(acked, ftAcked{ID: id, Account: Account1, Region: dlRegions[k%3]})
	}
	ftHealthy(t, srv, "after space returned")
	ftCheckHistory(t, "after the disk was full", srv, acked)

	// The trail delivers every acknowledged event of its region exactly
	// once, also those ingested while the disk filled.
	east1, others := ftSplit(acked, func(a ftAcked) bool { return a.Region == "us-east-1" })
	files = dlWaitDelivered(t, srv, b, "AWSLogs/", east1, 60*time.Second)
	dlCheckExactlyOnce(t, files, east1, others)

	// A restart on the same data: the database is intact.
	srv.Stop(t)
	srv = Start(t, Options{Config: cfg, DataDir: dataDir})
	ftHealthy(t, srv, "after restart")
	recs = []map[string]any{dlEvent("AttachVolume", ftSource, "us-west-2", Account1, nil)}
	for _, id := range dlIngest(t, srv, recs...) {
		acked = append(acked, ftAcked{ID: id, Account: Account1, Region: "us-west-2"})
	}
	ftCheckHistory(t, "after a restart", srv, acked)
}

func ftIDs(acked []ftAcked) []string {
	var ids []string
	for _, a := range acked {
		ids = append(ids, a.ID)
	}
	return ids
}
