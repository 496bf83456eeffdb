package e2e

// `cairn verify` is stricter than `aws cloudtrail validate-logs`: it takes
// the accounts and regions to check from the trail (not from the bucket an
// attacker can change), fails when the newest digests of a region or
// account are gone, reports log files that no digest lists, and reads
// hostile files (gzip bombs, broken envelopes) with bounded memory and a
// clear error. Each attack here is done to a copy of a trail's directory
// bucket, after the server stopped, and checked offline with the keys file
// saved while it ran.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-audit/cairn/internal/envelope"
)

// vsHistory is how much digest history the trails get before the attacks:
// more than one digest interval (2s) plus cairn verify's default
// --max-digest-delay (30s), so that deleting the newest digests of that
// span leaves older ones.
const vsHistory = 40 * time.Second

// vsResult is a cairn run with its peak memory.
type vsResult struct {
	cliResult
	maxRSSKB int64
}

// vsRun runs the cairn binary with args and measures the child's peak
// resident memory.
func vsRun(t *testing.T, args ...string) vsResult {
	t.Helper()
	return vsExec(t, nil, args...)
}

// vsExec is vsRun with standard output going to out (nil: kept in the
// result). The peak is the child's own VmHWM, read from /proc while it
// runs: getrusage's ru_maxrss of a child also counts the test process's
// memory, which the child shares between its clone and its exec.
func vsExec(t *testing.T, out io.Writer, args ...string) vsResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = cleanEnv()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if out != nil {
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cairn %q: %v", args, err)
	}
	peak := make(chan int64)
	exited := make(chan struct{})
	go func() { peak <- vsWatchPeak(cmd.Process.Pid, exited) }()
	err := cmd.Wait()
	close(exited)
	res := vsResult{cliResult: cliResult{stdout: stdout.String(), stderr: stderr.String()}, maxRSSKB: <-peak}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("cairn %q: %v\nstderr: %s", args, err, res.stderr)
		}
		res.code = ee.ExitCode()
	}
	return res
}

// vsWatchPeak reads the VmHWM of process pid every few milliseconds until
// exited closes, and returns the highest figure read (KiB). Before its exec
// the child is a copy of the test process: figures are taken only once
// /proc/<pid>/exe is the cairn binary.
func vsWatchPeak(pid int, exited <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == "cairn" {
			if kb, err := procKB(pid, "VmHWM"); err == nil && kb > peak {
				peak = kb
			}
		}
		select {
		case <-exited:
			return peak
		case <-tick.C:
		}
	}
}

// vsCopy copies a directory bucket (with its metadata) to a new directory.
func vsCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(dir))
	if out, err := exec.Command("cp", "-a", dir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", dir, dst, err, out)
	}
	return dst
}

// vsNewestEnd is the latest end time of the digests in b.
func vsNewestEnd(t *testing.T, b dlBucket) time.Time {
	t.Helper()
	var end time.Time
	for _, k := range dlDigestKeys(t, b, "") {
		if e := dlDigestEnd(k); e.After(end) {
			end = e
		}
	}
	return end
}

// vsIngestAll ingests an event of every account in every region.
func vsIngestAll(t *testing.T, srv *Server, accounts ...string) []string {
	t.Helper()
	var recs []map[string]any
	for _, a := range accounts {
		for _, r := range dlRegions {
			recs = append(recs, dlEvent("RunInstances", "ec2.amazonaws.com", r, a, nil))
		}
	}
	return dlIngest(t, srv, recs...)
}

func TestVerifyStrict(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	start := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	multi := dlDir{name: "strict-multi", dir: dlMkBucket(t, srv, "strict-multi")}
	org := dlDir{name: "strict-org", dir: dlMkBucket(t, srv, "strict-org")}
	multiARN := dlTrail(t, east, "strict-multi", multi.name, dlAll(dlMulti, dlValidation))
	orgARN := dlTrail(t, east, "strict-org", org.name, dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail = aws.Bool(true)
	}))
	ids := vsIngestAll(t, srv, Account1, Account2)
	dlWaitDelivered(t, srv, multi, "AWSLogs/", ids[:len(dlRegions)], 30*time.Second)

	// Enough history, then a last round of events whose log files the
	// newest digests list. Log file names have minutes: a planted file
	// named in the first whole minute after the chain began (planted) is
	// one that a digest must list once a digest ends a minute after it.
	first := time.Now()
	dlWaitDigests(t, srv, multi, time.Time{}, 1, "/CloudTrail-Digest/us-east-1/")
	east1 := dlDigestKeys(t, multi, "/CloudTrail-Digest/us-east-1/")
	if len(east1) == 0 {
		t.Fatal("no digest in us-east-1")
	}
	origin, err := time.Parse(time.RFC3339, dlReadDigest(t, multi, east1[0]).DigestStartTime)
	if err != nil {
		t.Fatal(err)
	}
	planted := origin.Truncate(time.Minute).Add(time.Minute)
	if !dlPoll(vsHistory+2*time.Minute, func() bool {
		newest := vsNewestEnd(t, multi)
		return newest.Sub(first) > vsHistory && vsNewestEnd(t, org).Sub(first) > vsHistory && newest.After(planted.Add(time.Minute+5*time.Second))
	}) {
		t.Fatalf("no %s of digests; keys: %v\nserver log:\n%s", vsHistory, dlDigestKeys(t, multi, ""), dlTail(srv.Log(), 40))
	}
	ids = vsIngestAll(t, srv, Account1, Account2)
	dlWaitDelivered(t, srv, multi, "AWSLogs/", ids[:len(dlRegions)], 30*time.Second)
	dlWaitDelivered(t, srv, org, "AWSLogs/", ids, 30*time.Second)
	var parts []string
	for _, r := range dlRegions {
		parts = append(parts, "/CloudTrail-Digest/"+r+"/")
	}
	dlWaitDigests(t, srv, multi, time.Now().Add(time.Second), 1, parts...)
	dlWaitDigests(t, srv, org, time.Now().Add(time.Second), 1, parts...)

	// While the server runs: both trails verify, and the keys files keep
	// what the server said about them.
	keysFile := map[string]string{}
	for _, tr := range []struct {
		arn string
		b   dlDir
	}{{multiARN, multi}, {orgARN, org}} {
		keysFile[tr.b.name] = filepath.Join(t.TempDir(), tr.b.name+".json")
		res := dlVerify(t, "--trail-arn", tr.arn, "--start-time", start.Format(time.RFC3339), "--endpoint", srv.URL,
			"--bucket-dir", tr.b.dir, "--save-public-keys", keysFile[tr.b.name])
		if res.code != 0 {
			t.Fatalf("cairn verify of %s while the server runs: exit %d\nstdout:\n%s\nstderr:\n%s", tr.arn, res.code, res.stdout, res.stderr)
		}
	}
	var saved struct {
		Coverage struct{ Accounts, Regions []string }
	}
	if b, err := os.ReadFile(keysFile[org.name]); err != nil || json.Unmarshal(b, &saved) != nil {
		t.Fatalf("keys file: %v\n%s", err, b)
	}
	if !slices.Contains(saved.Coverage.Accounts, Account2) || len(saved.Coverage.Regions) != len(dlRegions) {
		t.Errorf("keys file of the organization trail covers %+v, want both accounts and every region", saved.Coverage)
	}
	srv.Stop(t)

	// verify checks a copy of bucket b of the trail offline, up to the end
	// of its newest digest.
	verify := func(t *testing.T, arn string, b dlDir, dir string, extra ...string) vsResult {
		t.Helper()
		args := append([]string{"verify", "--trail-arn", arn, "--start-time", start.Format(time.RFC3339),
			"--end-time", vsNewestEnd(t, b).Format(time.RFC3339), "--bucket-dir", dir,
			"--public-keys", keysFile[b.name], "--endpoint", "http://127.0.0.1:1"}, extra...)
		return vsRun(t, args...)
	}
	expectFail := func(t *testing.T, res vsResult, wants ...string) {
		t.Helper()
		if res.code != 1 {
			t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
		for _, w := range wants {
			if !strings.Contains(res.stdout, w) {
				t.Errorf("no %q in the output\nstdout:\n%s\nstderr:\n%s", w, res.stdout, res.stderr)
			}
		}
	}

	t.Run("intact", func(t *testing.T) {
		for _, c := range []struct {
			arn string
			b   dlDir
		}{{multiARN, multi}, {orgARN, org}} {
			if res := verify(t, c.arn, c.b, vsCopy(t, c.b.dir)); res.code != 0 {
				t.Errorf("cairn verify of the intact %s: exit %d\nstdout:\n%s\nstderr:\n%s", c.b.name, res.code, res.stdout, res.stderr)
			}
		}
	})

	t.Run("deleted region", func(t *testing.T) {
		dir := vsCopy(t, multi.dir)
		for _, f := range []string{"CloudTrail-Digest", "CloudTrail"} {
			if err := os.RemoveAll(filepath.Join(dir, "AWSLogs", Account1, f, "eu-west-1")); err != nil {
				t.Fatal(err)
			}
		}
		want := "Digest files\ts3://" + multi.name + "/AWSLogs/" + Account1 + "/CloudTrail-Digest/eu-west-1/\tINVALID: no digest file of account " +
			Account1 + " in region eu-west-1"
		expectFail(t, verify(t, multiARN, multi, dir), want)
		// Naming the region does not help it.
		expectFail(t, verify(t, multiARN, multi, dir, "--regions", "us-east-1,eu-west-1"), want)
	})

	t.Run("deleted member account", func(t *testing.T) {
		dir := vsCopy(t, org.dir)
		if err := os.RemoveAll(filepath.Join(dir, "AWSLogs", dlOrgID, Account2)); err != nil {
			t.Fatal(err)
		}
		var wants []string
		for _, r := range dlRegions {
			wants = append(wants, "s3://"+org.name+"/AWSLogs/"+dlOrgID+"/"+Account2+"/CloudTrail-Digest/"+r+"/\tINVALID: no digest file of account "+
				Account2+" in region "+r)
		}
		expectFail(t, verify(t, orgARN, org, dir), wants...)
		expectFail(t, verify(t, orgARN, org, dir, "--accounts", Account1+","+Account2), wants...)
	})

	t.Run("deleted newest digests", func(t *testing.T) {
		dir := vsCopy(t, multi.dir)
		b := dlDir{name: multi.name, dir: dir}
		end := vsNewestEnd(t, multi)
		cut := end.Add(-vsHistory + 4*time.Second) // one interval and the grace, and a little
		var deleted, logs, kept int
		for _, k := range dlDigestKeys(t, b, "/CloudTrail-Digest/us-west-2/") {
			if !dlDigestEnd(k).After(cut) {
				kept++
				continue
			}
			for _, l := range dlReadDigest(t, b, k).LogFiles {
				b.Delete(t, l.S3Object)
				logs++
			}
			b.Delete(t, k)
			deleted++
		}
		if kept == 0 || logs == 0 {
			t.Fatalf("deleted %d digests with %d log files, kept %d: want some of each", deleted, logs, kept)
		}
		expectFail(t, verify(t, multiARN, multi, dir),
			"Digest files\ts3://"+multi.name+"/AWSLogs/"+Account1+"/CloudTrail-Digest/us-west-2/\tINVALID: the newest digest of account "+
				Account1+" in region us-west-2 ends at")
	})

	t.Run("added log file", func(t *testing.T) {
		dir := vsCopy(t, multi.dir)
		b := dlDir{name: multi.name, dir: dir}
		extra := "AWSLogs/" + Account1 + "/CloudTrail/us-east-1/" + planted.Format("2006/01/02") + "/" + Account1 +
			"_CloudTrail_us-east-1_" + planted.Format("20060102T1504Z") + "_ADDEDBYATTACKER0.json.gz"
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, extra)), 0o755); err != nil {
			t.Fatal(err)
		}
		b.Put(t, extra, dlGzip([]byte(`{"Records":[{"eventVersion":"1.11","eventName":"Planted"}]}`)))
		expectFail(t, verify(t, multiARN, multi, dir), "Log file\ts3://"+multi.name+"/"+extra+"\tINVALID: not listed in any digest")
	})

	t.Run("gzip bomb digest", func(t *testing.T) {
		dir := vsCopy(t, multi.dir)
		b := dlDir{name: multi.name, dir: dir}
		digests := dlDigestKeys(t, b, "/CloudTrail-Digest/us-east-1/")
		victim := digests[len(digests)/2]
		bomb := vsGzipZeros(t, 512<<20)
		b.Put(t, victim, bomb)
		res := verify(t, multiARN, multi, dir)
		expectFail(t, res, "Digest file\ts3://"+multi.name+"/"+victim+"\tINVALID: invalid format: it inflates to more than 33554432 bytes")
		t.Logf("cairn verify of a gzip bomb: peak memory %d KiB", res.maxRSSKB)
		if res.maxRSSKB == 0 || res.maxRSSKB > 200<<10 {
			t.Errorf("cairn verify of a %d KB gzip bomb: peak memory %d KiB, want under 200 MiB", len(bomb)>>10, res.maxRSSKB)
		}
	})
}

// vsGzipZeros is n zero bytes, gzip'd (n/1000 bytes or so).
func vsGzipZeros(t *testing.T, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for ; n > 0; n -= len(zero) {
		zw.Write(zero[:min(n, len(zero))])
	}
	zw.Close()
	return out.Bytes()
}

// TestDecryptHostileEnvelope: cairn decrypt answers a file whose header
// has a 1-byte IV (or other wrong lengths) with a clear error, and a
// sealed gzip bomb with bounded memory, never a panic.
func TestDecryptHostileEnvelope(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	arn := "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	keys := &envelope.ConfigKeys{Secrets: map[string]string{}, Dir: filepath.Join(dataDir, "kms"), Create: true}
	sealed, err := envelope.Seal(keys, arn, dlGzip([]byte(`{"Records":[]}`)))
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(sealed[len(envelope.Magic):], '\n') + len(envelope.Magic)
	var h map[string]any
	if err := json.Unmarshal(sealed[len(envelope.Magic):nl], &h); err != nil {
		t.Fatal(err)
	}
	reseal := func(field string, v any) []byte {
		hh := map[string]any{}
		for k, x := range h {
			hh[k] = x
		}
		hh[field] = v
		js, _ := json.Marshal(hh)
		return append(append([]byte(envelope.Magic), js...), sealed[nl:]...)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if res := vsRun(t, "decrypt", "--data-dir", dataDir, write("good.json.gz", sealed)); res.code != 0 || !strings.Contains(res.stdout, `{"Records":[]}`) {
		t.Fatalf("cairn decrypt of a good file: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, c := range []struct {
		name, want string
		file       []byte
	}{
		{"one-byte-iv", "iv is 1 bytes, want 12", reseal("iv", "AQ==")},
		{"empty-iv", "iv is 0 bytes, want 12", reseal("iv", "")},
		{"short-key", "encryptedDataKey is 2 bytes, want 60", reseal("encryptedDataKey", "AQI=")},
		{"no-key-id", "no kmsKeyId", reseal("kmsKeyId", "")},
		{"no-header-end", "no header", []byte(envelope.Magic + `{"iv":"AQ=="}`)},
	} {
		res := vsRun(t, "decrypt", "--data-dir", dataDir, write(c.name, c.file))
		if res.code != 1 || !strings.Contains(res.stderr, c.want) || strings.Contains(res.stderr, "panic") {
			t.Errorf("cairn decrypt of a file with %s: exit %d, want 1 and an error with %q\nstderr:\n%s", c.name, res.code, c.want, res.stderr)
		}
	}
	// A sealed gzip bomb: decrypt streams what it inflates, up to a limit.
	bomb, err := envelope.Seal(keys, arn, vsGzipZeros(t, 300<<20))
	if err != nil {
		t.Fatal(err)
	}
	res := vsExec(t, io.Discard, "decrypt", "--data-dir", dataDir, write("bomb.json.gz", bomb))
	t.Logf("cairn decrypt of a sealed gzip bomb: peak memory %d KiB", res.maxRSSKB)
	if res.maxRSSKB == 0 || res.maxRSSKB > 200<<10 {
		t.Errorf("cairn decrypt of a sealed gzip bomb: peak memory %d KiB, want under 200 MiB (exit %d, %s)", res.maxRSSKB, res.code, res.stderr)
	}
}

// TestTrailCoverageAPI: POST /v1/trail-coverage tells a caller who may see
// a trail which accounts and regions it covers — the organization's
// members only to the trail's owner — and nothing to anyone else.
func TestTrailCoverageAPI(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	dlMkBucket(t, srv, "cov-logs")
	orgARN := dlTrail(t, east, "cov-org", "cov-logs", dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail = aws.Bool(true)
	}))
	single := dlTrail(t, east, "cov-single", "cov-logs", dlValidation)
	type answer struct {
		TrailARN, OrganizationId string
		Accounts, Regions        []string
		DigestIntervalSeconds    int64
		Type                     string `json:"__type"`
	}
	ask := func(key, secret, name string) (int, answer) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"Name": name})
		code, b := srv.Post(t, key, secret, "/v1/trail-coverage", body, nil)
		var a answer
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("answer %d %q: %v", code, b, err)
		}
		return code, a
	}
	if code, a := ask(AdminKey, AdminSecret, orgARN); code != 200 || a.OrganizationId != dlOrgID || !slices.Equal(a.Accounts, []string{Account1, Account2}) ||
		!slices.Equal(a.Regions, dlRegions) || a.DigestIntervalSeconds != 2 {
		t.Errorf("coverage of the organization trail for its owner: %d %+v", code, a)
	}
	if code, a := ask(OtherKey, OtherSecret, orgARN); code != 200 || !slices.Equal(a.Accounts, []string{Account2}) {
		t.Errorf("coverage of the organization trail for a member: %d %+v, want only the member's account", code, a)
	}
	if code, a := ask(AdminKey, AdminSecret, single); code != 200 || !slices.Equal(a.Accounts, []string{Account1}) || !slices.Equal(a.Regions, []string{"us-east-1"}) {
		t.Errorf("coverage of a single-region trail: %d %+v", code, a)
	}
	if code, a := ask(OtherKey, OtherSecret, single); code != 400 || a.Type != "TrailNotFoundException" {
		t.Errorf("coverage of another account's trail: %d %+v, want TrailNotFoundException", code, a)
	}
	if code, a := ask(CustomKey, CustomSecret, single); code != 400 || a.Type != "AccessDeniedException" {
		t.Errorf("coverage for a user allowed only LookupEvents: %d %+v, want AccessDeniedException", code, a)
	}
	resp, err := http.Post(srv.URL+"/v1/trail-coverage", "application/json", strings.NewReader(`{"Name":"`+single+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("unsigned coverage request: HTTP %d, want a 4xx", resp.StatusCode)
	}
}
