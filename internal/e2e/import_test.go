package e2e

// cairn import: archives in AWS's layout (a directory, moto S3, an
// organization archive) imported through the real binary, filters, a kill
// and a resume, refused records, digest checks and event history pulled
// from a second server.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// imRecord is an event written into a test archive.
type imRecord struct {
	ID, Account, Region string
	At                  time.Time
}

// imArchive describes a test archive: accounts × regions × days × files
// of per records each, under [prefix/]AWSLogs/[org/].
type imArchive struct {
	Prefix, Org       string
	Accounts, Regions []string
	Days, Files, Per  int
	Now               time.Time
	Extra             func(r map[string]any, account, region string, day, file, i int)
}

// write puts the archive's log files with put and returns its records.
func (a imArchive) write(t *testing.T, put func(key string, body []byte)) []imRecord {
	t.Helper()
	var out []imRecord
	base := a.Now.UTC().Truncate(24 * time.Hour)
	for _, acct := range a.Accounts {
		for _, region := range a.Regions {
			for d := 0; d < a.Days; d++ {
				day := base.Add(-time.Duration(d+1) * 24 * time.Hour)
				for f := 0; f < a.Files; f++ {
					at := day.Add(10*time.Hour + time.Duration(f)*10*time.Minute)
					var recs []map[string]any
					for i := 0; i < a.Per; i++ {
						r := Record("ImportedCall", "s3.amazonaws.com", region, at.Add(time.Duration(i)*time.Second), nil)
						r["eventID"] = dlNewID()
						r["recipientAccountId"] = acct
						if a.Extra != nil {
							a.Extra(r, acct, region, d, f, i)
						}
						recs = append(recs, r)
						if id, ok := r["eventID"].(string); ok {
							out = append(out, imRecord{ID: id, Account: acct, Region: region, At: at})
						}
					}
					body, err := json.Marshal(map[string]any{"Records": recs})
					if err != nil {
						t.Fatal(err)
					}
					delivered := at.Add(5 * time.Minute)
					key := imLogKey(a.Prefix, a.Org, acct, region, delivered, fmt.Sprintf("Unique%02d%02dAbCdEf", d, f))
					put(key, dlGzip(body))
				}
			}
		}
	}
	return out
}

// imLogKey is a log file's key in AWS's layout.
func imLogKey(prefix, org, account, region string, delivered time.Time, unique string) string {
	parts := []string{}
	if prefix != "" {
		parts = append(parts, prefix)
	}
	parts = append(parts, "AWSLogs")
	if org != "" {
		parts = append(parts, org)
	}
	parts = append(parts, account, "CloudTrail", region, delivered.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", account, region, delivered.Format("20060102T1504Z"), unique))
	return path.Join(parts...)
}

// imDirPut writes objects as files under dir.
func imDirPut(t *testing.T, dir string) func(string, []byte) {
	return func(key string, body []byte) {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// imS3Put puts objects into a moto bucket.
func imS3Put(t *testing.T, endpoint, bucketName string) func(string, []byte) {
	c := buckettest.Client(endpoint)
	return func(key string, body []byte) {
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucketName), Key: aws.String(key),
			Body: strings.NewReader(string(body))}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
}

// imEnv is the environment of cairn import sending as ivan (ingest, may
// write for both accounts).
func imEnv(extra ...string) []string {
	return append([]string{"CAIRN_ACCESS_KEY_ID=" + IngestKey, "CAIRN_SECRET_ACCESS_KEY=" + IngestSecret,
		"AWS_EC2_METADATA_DISABLED=true"}, extra...)
}

// imRun runs cairn import with args against srv.
func imRun(t *testing.T, srv *Server, env []string, args ...string) cliResult {
	t.Helper()
	return runCommand(t, env, Binary(t), append([]string{"import", "--endpoint", srv.URL, "--progress-interval", "1s"}, args...)...)
}

// imStored counts, per eventID, the events LookupEvents returns for the
// key's account in region since since.
func imStored(t *testing.T, srv *Server, key, secret, region string, since time.Time) map[string]int {
	t.Helper()
	got := map[string]int{}
	p := cloudtrail.NewLookupEventsPaginator(srv.CloudTrail(key, secret, region), &cloudtrail.LookupEventsInput{
		StartTime: aws.Time(since), MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents in %s: %v", region, err)
		}
		for _, e := range page.Events {
			got[aws.ToString(e.EventId)]++
		}
	}
	return got
}

// imCheckStored fails unless every record of want is stored exactly once
// in its account and region and none of notWant is stored.
func imCheckStored(t *testing.T, srv *Server, want, notWant []imRecord, since time.Time) {
	t.Helper()
	keys := map[string][2]string{Account1: {AdminKey, AdminSecret}, Account2: {OtherKey, OtherSecret}}
	stored := map[string]map[string]int{} // account/region -> counts
	get := func(account, region string) map[string]int {
		k := account + "/" + region
		if stored[k] == nil {
			kp := keys[account]
			stored[k] = imStored(t, srv, kp[0], kp[1], region, since)
		}
		return stored[k]
	}
	bad := 0
	for _, r := range want {
		if n := get(r.Account, r.Region)[r.ID]; n != 1 && bad < 5 {
			bad++
			t.Errorf("event %s (%s %s) is stored %d times, want once", r.ID, r.Account, r.Region, n)
		}
	}
	for _, r := range notWant {
		if n := get(r.Account, r.Region)[r.ID]; n != 0 && bad < 5 {
			bad++
			t.Errorf("event %s (%s %s at %s) is stored, but the filter leaves it out", r.ID, r.Account, r.Region, r.At)
		}
	}
}

// imSummary reads a number from the summary line named label.
func imSummary(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + label + `\s+(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in the summary:\n%s", label, out)
	}
	return m[1]
}

// TestImportArchiveDirectory imports an archive of two accounts, two
// regions and three days from a directory: every event is then found with
// LookupEvents exactly once and delivered by a trail; digest and Insight
// folders are left alone; a second run with the checkpoint reads nothing,
// and one without stores nothing twice.
func TestImportArchiveDirectory(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	dlMkBucket(t, srv, "imported")
	arn := dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "imports", "imported", dlMulti)
	now := time.Now()
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1, Account2}, Regions: []string{"us-east-1", "us-west-2"}, Days: 3, Files: 2, Per: 5, Now: now}
	recs := a.write(t, imDirPut(t, dir))
	// Not log files of the trail's events: a digest and an Insights file,
	// and a stray object.
	put := imDirPut(t, dir)
	put("AWSLogs/"+Account1+"/CloudTrail-Digest/us-east-1/2026/01/01/"+Account1+"_CloudTrail-Digest_us-east-1_t_us-east-1_20260101T000000Z.json.gz", []byte("not a log"))
	put("AWSLogs/"+Account1+"/CloudTrail-Insight/us-east-1/2026/01/01/"+Account1+"_CloudTrail-Insight_us-east-1_20260101T0000Z_x.json.gz", []byte("not a log"))
	day := now.UTC().Add(-24 * time.Hour).Format("2006/01/02")
	put("AWSLogs/"+Account1+"/CloudTrail/us-east-1/"+day+"/README.txt", []byte("stray"))

	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	res := imRun(t, srv, imEnv(), "--source", "file://"+dir, "--checkpoint", cp)
	if res.code != 0 {
		t.Fatalf("cairn import: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if got := imSummary(t, res.stdout, "accepted"); got != fmt.Sprint(len(recs)) {
		t.Errorf("accepted %s, want %d\n%s", got, len(recs), res.stdout)
	}
	if got := imSummary(t, res.stdout, "files"); !strings.HasPrefix(got, "24 of 24 imported") {
		t.Errorf("files: %q, want 24 of 24\n%s", got, res.stdout)
	}
	if !strings.Contains(res.stderr, "README.txt") {
		t.Errorf("the stray object is not reported as skipped:\n%s", res.stderr)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-5*24*time.Hour))
	var acct1 []string
	for _, r := range recs {
		if r.Account == Account1 {
			acct1 = append(acct1, r.ID)
		}
	}
	files := dlWaitDelivered(t, srv, dlDir{"imported", filepath.Join(srv.DataDir, "buckets", "imported")}, "", acct1, 60*time.Second)
	for id, n := range dlEventIDs(files) {
		if n > 1 {
			t.Errorf("trail %s delivered event %s %d times", arn, id, n)
		}
	}

	// Again with the checkpoint: every file was done.
	res = imRun(t, srv, imEnv(), "--source", "file://"+dir, "--checkpoint", cp)
	if res.code != 0 || !strings.Contains(imSummary(t, res.stdout, "files"), "0 of 24 imported (24 more done by an earlier run)") {
		t.Errorf("second run with the checkpoint: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// Again without: everything is sent, and stored once.
	res = imRun(t, srv, imEnv(), "--source", "file://"+dir)
	if res.code != 0 || imSummary(t, res.stdout, "accepted") != fmt.Sprint(len(recs)) {
		t.Errorf("run without the checkpoint: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if got, want := imSummary(t, res.stdout, "duplicates"), fmt.Sprintf("%d (already stored; counted in accepted)", len(recs)); got != want {
		t.Errorf("run without the checkpoint: duplicates %q, want %q", got, want)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-5*24*time.Hour))
}

// TestImportOrganizationArchiveS3Filtered imports an organization archive
// under a trail prefix in a moto bucket, first narrowed by account, region
// and time (only those events are stored), then whole.
func TestImportOrganizationArchiveS3Filtered(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	moto := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, moto, "org-archive")
	now := time.Now()
	a := imArchive{Prefix: "audit/trail", Org: dlOrgID, Accounts: []string{Account1, Account2},
		Regions: []string{"us-east-1", "eu-west-1"}, Days: 3, Files: 2, Per: 4, Now: now}
	recs := a.write(t, imS3Put(t, moto, "org-archive"))
	source := "s3://org-archive/audit/trail?endpoint=" + moto + "&region=us-east-1&path_style=true"
	env := imEnv("AWS_ACCESS_KEY_ID="+buckettest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+buckettest.SecretAccessKey)

	// Account2's eu-west-1 events of the day before yesterday only: the
	// archive's second day, from its second file on.
	day := now.UTC().Truncate(24 * time.Hour).Add(-2 * 24 * time.Hour)
	start, end := day.Add(10*time.Hour+10*time.Minute), day.Add(23*time.Hour)
	var want, rest []imRecord
	for _, r := range recs {
		if r.Account == Account2 && r.Region == "eu-west-1" && !r.At.Before(start) && !r.At.After(end) {
			want = append(want, r)
		} else {
			rest = append(rest, r)
		}
	}
	if len(want) != 4 {
		t.Fatalf("the filter selects %d records of the archive, want 4", len(want))
	}
	res := imRun(t, srv, env, "--source", source, "--accounts", Account2, "--regions", "eu-west-1",
		"--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339))
	if res.code != 0 {
		t.Fatalf("filtered import: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// The listing already left out the other accounts, regions and days:
	// of Account2's 6 eu-west-1 files it reads the start day's second file
	// (the first was delivered before --start-time) and the next day's two
	// (a day after --end-time may hold events delivered late).
	if got := imSummary(t, res.stdout, "files"); !strings.HasPrefix(got, "3 of 3 imported") {
		t.Errorf("filtered import read %q, want 3 files\n%s", got, res.stdout)
	}
	imCheckStored(t, srv, want, rest, now.Add(-5*24*time.Hour))

	res = imRun(t, srv, env, "--source", source)
	if res.code != 0 || imSummary(t, res.stdout, "accepted") != fmt.Sprint(len(recs)) {
		t.Fatalf("whole import: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-5*24*time.Hour))
}

// TestImportRefusedRecordsListed: records the server refuses (no
// eventName, a region it does not serve, an account the key may not write
// for) are each listed with their file, index, eventID and reason; the
// others are stored; the exit status is 1.
func TestImportRefusedRecordsListed(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 1, Files: 1, Per: 6, Now: now,
		Extra: func(r map[string]any, _, _ string, _, _, i int) {
			switch i {
			case 1:
				delete(r, "eventName")
			case 3:
				r["awsRegion"] = "mars-north-1"
			case 4:
				r["recipientAccountId"] = "333333333333"
			}
		}}
	recs := a.write(t, imDirPut(t, dir))
	refusals := filepath.Join(t.TempDir(), "refusals.jsonl")
	res := imRun(t, srv, imEnv(), "--source", "file://"+dir, "--refusals", refusals)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (records were refused)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if got := imSummary(t, res.stdout, "refused"); !strings.HasPrefix(got, "3 (") || !strings.Contains(got, refusals) {
		t.Errorf("refused line %q, want 3 with reasons and where they are listed", got)
	}
	lines := imRefusals(t, refusals, 3)
	for k, want := range []struct {
		index int
		field string
	}{{1, "eventName"}, {3, "awsRegion"}, {4, "recipientAccountId"}} {
		l := lines[k]
		if l.Record != want.index || l.EventID != recs[want.index].ID || !strings.HasPrefix(l.File, "AWSLogs/"+Account1+"/CloudTrail/us-east-1/") ||
			l.ErrorCode == "" || !strings.Contains(l.ErrorMessage, want.field) {
			t.Errorf("refusal %d = %+v, want record %d (%s) naming %s", k, l, want.index, recs[want.index].ID, want.field)
		}
	}
	ok := []imRecord{recs[0], recs[2], recs[5]}
	imCheckStored(t, srv, ok, []imRecord{recs[1], recs[4]}, now.Add(-3*24*time.Hour))
}

// imRefusal is one line of an import's refusals list.
type imRefusal struct {
	File         string
	Record       int
	EventID      string
	ErrorCode    string
	ErrorMessage string
}

// imRefusals reads an import's refusals list, which must hold n lines.
func imRefusals(t *testing.T, path string, n int) []imRefusal {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []imRefusal
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var x imRefusal
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("refusals line %q: %v", l, err)
		}
		lines = append(lines, x)
	}
	if len(lines) != n {
		t.Fatalf("refusals file has %d lines, want %d:\n%s", len(lines), n, b)
	}
	return lines
}

// imStart starts cairn import in the background.
func imStart(t *testing.T, srv *Server, env []string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"import", "--endpoint", srv.URL, "--progress-interval", "1s"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// imCheckpointLines counts the files a checkpoint holds (lines after the
// header).
func imCheckpointLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return max(strings.Count(string(b), "\n")-1, 0)
}

// TestImportStoppedAndKilledResumes stops an import with SIGINT, then
// kills the resumed one with SIGKILL halfway, then resumes again: every
// event is stored exactly once, and the runs after a stop skip the files
// done before it.
func TestImportStoppedAndKilledResumes(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1", "us-west-2"}, Days: 4, Files: 15, Per: 30, Now: now}
	recs := a.write(t, imDirPut(t, dir))
	const files = 2 * 4 * 15
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	// Small batches, one at a time: slow enough to be stopped halfway.
	args := []string{"--source", "file://" + dir, "--checkpoint", cp, "--parallel", "1", "--batch-size", "3"}

	stopAt := func(sig os.Signal, atLeast int) (*exec.Cmd, *strings.Builder, int) {
		t.Helper()
		before := imCheckpointLines(cp)
		cmd, out := imStart(t, srv, imEnv(), args...)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if !dlPoll(2*time.Minute, func() bool { return imCheckpointLines(cp) >= before+atLeast }) {
			t.Fatalf("the checkpoint did not grow by %d files:\n%s", atLeast, out)
		}
		select {
		case <-exited:
			t.Fatalf("the import ended before it could be stopped:\n%s", out)
		default:
		}
		cmd.Process.Signal(sig)
		<-exited
		done := imCheckpointLines(cp)
		if done >= files {
			t.Fatalf("the import finished (%d files) before it was stopped:\n%s", done, out)
		}
		return cmd, out, done
	}

	cmd, out, done := stopAt(os.Interrupt, 10)
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out.String(), "interrupted: run the same command again to resume") {
		t.Errorf("after SIGINT: exit %d, want 1 and a word on resuming:\n%s", code, out)
	}
	_, _, done2 := stopAt(os.Kill, 20)
	if done2 < done+20 {
		t.Errorf("the checkpoint holds %d files after the kill, want at least %d", done2, done+20)
	}

	res := imRun(t, srv, imEnv(), args[:4]...)
	if res.code != 0 {
		t.Fatalf("resumed import: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	want := fmt.Sprintf("%d of %d imported (%d more done by an earlier run)", files-done2, files, done2)
	if got := imSummary(t, res.stdout, "files"); got != want {
		t.Errorf("resumed import: files %q, want %q", got, want)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-6*24*time.Hour))
}

// TestImportVerifyDigestsReportsTamperedFile lets a Cairn trail deliver a
// signed archive (log file validation on), changes one of its log files,
// and imports the archive into a second server with --verify-digests and
// the public keys the AWS CLI lists: the changed file is reported and not
// imported (exit 1); every other event is. With --force it is imported.
func TestImportVerifyDigestsReportsTamperedFile(t *testing.T) {
	from := Start(t, Options{Config: dlConfig()})
	into := Start(t, Options{Config: dlConfig()})
	bdir := dlMkBucket(t, from, "signed")
	b := dlDir{"signed", bdir}
	regions := []string{"us-east-1", "us-west-2"}
	arn := dlTrail(t, from.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "signed", "signed", dlAll(dlMulti, dlValidation))
	began := time.Now()
	var recs []map[string]any
	for i := 0; i < 6; i++ {
		recs = append(recs, dlEvent("PutObject", "s3.amazonaws.com", regions[i%2], Account1, nil))
	}
	ids := dlIngest(t, from, recs...)
	dlWaitDelivered(t, from, b, "", ids, 60*time.Second)
	dlWaitDigests(t, from, b, time.Now().Add(time.Second), 1, "/CloudTrail-Digest/us-east-1/", "/CloudTrail-Digest/us-west-2/")

	var keyFiles []string
	for _, r := range regions {
		res := runCommand(t, awsEnv(t, AdminKey, AdminSecret), cliAWSBinary(t), "--endpoint-url", from.URL, "--region", r,
			"cloudtrail", "list-public-keys", "--start-time", began.Add(-time.Hour).UTC().Format(time.RFC3339), "--output", "json")
		if res.code != 0 {
			t.Fatalf("aws cloudtrail list-public-keys: exit %d: %s", res.code, res.stderr)
		}
		p := filepath.Join(t.TempDir(), r+"-keys.json")
		if err := os.WriteFile(p, []byte(res.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		keyFiles = append(keyFiles, p)
	}

	// Stop logging: the final digests vouch for every file delivered, so
	// that the archive holds no file newer than its digests.
	ct := from.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	stopped := time.Now()
	if _, err := ct.StopLogging(context.Background(), &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	dlWaitDigests(t, from, b, stopped, 1, "/CloudTrail-Digest/us-east-1/", "/CloudTrail-Digest/us-west-2/")
	files := dlLogs(t, b, "")

	// Change the us-west-2 file that holds our first event there.
	where := dlWhere(files)
	victim := where[ids[1]][0]
	for _, f := range files {
		if f.Key == victim {
			b.Put(t, victim, dlTampered(t, f))
		}
	}
	var kept []imRecord
	var lost []imRecord
	for i, id := range ids {
		r := imRecord{ID: id, Account: Account1, Region: regions[i%2]}
		if where[id][0] == victim {
			lost = append(lost, r)
		} else {
			kept = append(kept, r)
		}
	}
	args := []string{"--source", "file://" + bdir, "--verify-digests", "--public-keys", strings.Join(keyFiles, ",")}
	res := imRun(t, into, imEnv(), args...)
	if res.code != 1 {
		t.Fatalf("import of a tampered archive: exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "Log file\ts3://signed/"+victim+"\tINVALID: hash value doesn't match") {
		t.Errorf("the changed file %s is not reported INVALID:\n%s", victim, res.stdout)
	}
	if !strings.Contains(res.stderr, `"file":"`+victim+`","errorCode":"DigestCheckFailed"`) {
		t.Errorf("the changed file is not listed as not imported:\n%s", res.stderr)
	}
	if got := imSummary(t, res.stdout, "unverified"); !strings.Contains(got, "log files failed the digest check") {
		t.Errorf("unverified: %q", got)
	}
	// Any other file left out is one no digest lists (delivered after the
	// final digest), never one with a bad hash.
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.Contains(l, "DigestCheckFailed") && !strings.Contains(l, victim) && !strings.Contains(l, "not listed in any valid digest file") {
			t.Errorf("a file other than the changed one failed the check: %s", l)
		}
	}
	imCheckStored(t, into, kept, lost, began.Add(-time.Hour))

	res = imRun(t, into, imEnv(), append(args, "--force")...)
	if res.code != 1 || !strings.Contains(res.stderr, "imported all the same (--force)") {
		t.Fatalf("--force: exit %d, want 1 and the file imported all the same\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, into, append(kept, lost...), nil, began.Add(-time.Hour))
}

// TestImportFromCloudTrailServer pulls an account's event history from a
// second Cairn server with LookupEvents (as a CloudTrail endpoint) into the
// first, through the source's throttling: every event of the chosen regions
// arrives once; a second run with the checkpoint pulls only the day that
// was still going on.
func TestImportFromCloudTrailServer(t *testing.T) {
	// The source answers 1 LookupEvents a second (bursts of 2), less than
	// the importer's 2: it throttles, and the importer backs off.
	from := Start(t, Options{Config: dlConfig("limits: {lookups_per_second: 1}")})
	into := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	regions := []string{"us-east-1", "eu-west-1"}
	var want, other []imRecord
	var recs []map[string]any
	for i := 0; i < 120; i++ {
		region := []string{"us-east-1", "eu-west-1", "us-west-2"}[i%3]
		at := now.Add(-time.Duration(i) * 37 * time.Minute) // over three days
		r := Record("ImportedCall", "s3.amazonaws.com", region, at, nil)
		r["eventID"] = dlNewID()
		recs = append(recs, r)
		ir := imRecord{ID: r["eventID"].(string), Account: Account1, Region: region, At: at}
		if region == "us-west-2" {
			other = append(other, ir)
		} else {
			want = append(want, ir)
		}
	}
	dlIngest(t, from, recs...)
	start := now.Add(-4 * 24 * time.Hour).UTC().Format(time.RFC3339)
	cp := filepath.Join(t.TempDir(), "history.checkpoint")
	env := append(awsEnv(t, AdminKey, AdminSecret), imEnv()...)
	args := []string{"--from-cloudtrail", from.URL, "--regions", strings.Join(regions, ","), "--start-time", start, "--checkpoint", cp}
	res := imRun(t, into, env, args...)
	if res.code != 0 {
		t.Fatalf("import --from-cloudtrail: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	imCheckStored(t, into, want, other, now.Add(-5*24*time.Hour))

	res = imRun(t, into, env, args...)
	if res.code != 0 {
		t.Fatalf("second import --from-cloudtrail: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// 5 days (the start day to today) per region; all but today's done.
	if got := imSummary(t, res.stdout, "days"); got != "2 of 10 imported (8 more done by an earlier run)" {
		t.Errorf("second run: days %q, want only today's windows again", got)
	}
	imCheckStored(t, into, want, other, now.Add(-5*24*time.Hour))
}

// TestImportHelpAndBadFlags: cairn import --help documents the command;
// bad flags end it with status 2 and a reason, before anything is read.
func TestImportHelpAndBadFlags(t *testing.T) {
	// An empty folder: no AWSLogs/ in it, said clearly.
	srv := Start(t, Options{Config: StandardConfig})
	if res := imRun(t, srv, imEnv(), "--source", "file://"+t.TempDir()); res.code != 1 ||
		!strings.Contains(res.stderr, "must name the folder (or bucket prefix) that holds AWSLogs/") {
		t.Errorf("an empty folder: exit %d, stderr %q", res.code, res.stderr)
	}
	res := runCommand(t, nil, Binary(t), "import", "--help")
	if res.code != 0 || res.stderr != "" {
		t.Errorf("--help: exit %d, stderr %q", res.code, res.stderr)
	}
	for _, w := range []string{"Usage: cairn import --source URL", "AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz",
		"-checkpoint", "-from-cloudtrail", "-verify-digests", "-public-keys", "-refusals", "-accounts", "-regions", "-start-time", "-end-time"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("--help lacks %q", w)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{imEnv(), nil, "give either --source or --from-cloudtrail"},
		{imEnv(), []string{"--source", "file://" + dir, "--from-cloudtrail", "http://x"}, "give either --source or --from-cloudtrail"},
		{imEnv(), []string{"--source", "file://" + dir, "--verify-digests"}, "--verify-digests needs --public-keys"},
		{imEnv(), []string{"--source", "file://" + dir, "--start-time", "yesterday"}, "--start-time"},
		{imEnv(), []string{"--source", "file://" + dir, "--start-time", "2026-02-01T00:00:00Z", "--end-time", "2026-01-01T00:00:00Z"}, "--end-time is before --start-time"},
		{nil, []string{"--source", "file://" + dir}, "set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY"},
		{imEnv(), []string{"--source", "ftp://example.com/x"}, "want file:///path or s3://bucket/prefix"},
		{imEnv(), []string{"--source", "file://" + filepath.Join(dir, "missing")}, "no such file or directory"},
	} {
		res := runCommand(t, tc.env, Binary(t), append([]string{"import"}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("cairn import %q: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// imInsightRecord is a CloudTrail Insights record (a Start or an End of a
// call-rate Insight) as CloudTrail writes it to CloudTrail-Insight/.
func imInsightRecord(account, region, state, shared string, at time.Time) map[string]any {
	return map[string]any{
		"eventVersion": "1.08", "eventTime": at.UTC().Format(time.RFC3339), "awsRegion": region,
		"eventID": dlNewID(), "eventType": "AwsCloudTrailInsight", "recipientAccountId": account,
		"sharedEventID": shared, "eventCategory": "Insight",
		"insightDetails": map[string]any{
			"state": state, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
			"insightType": "ApiCallRateInsight",
			"insightContext": map[string]any{"statistics": map[string]any{
				"baseline": map[string]any{"average": 0.1}, "insight": map[string]any{"average": 12.0},
				"insightDuration": 3, "baselineDuration": 10080}},
		},
	}
}

// TestImportInsightsFolders: an archive's CloudTrail-Insight/ log files are
// left out by default and imported with --insights; the Insights events are
// then what lookup-events --event-category insight answers, once each.
func TestImportInsightsFolders(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	now := time.Now()
	dir := t.TempDir()
	put := imDirPut(t, dir)
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 1, Files: 1, Per: 3, Now: now}
	recs := a.write(t, put)
	at := now.UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	shared := dlNewID()
	start, end := imInsightRecord(Account1, "us-east-1", "Start", shared, at), imInsightRecord(Account1, "us-east-1", "End", shared, at.Add(3*time.Minute))
	body, err := json.Marshal(map[string]any{"Records": []any{start, end}})
	if err != nil {
		t.Fatal(err)
	}
	delivered := at.Add(10 * time.Minute)
	put(path.Join("AWSLogs", Account1, "CloudTrail-Insight", "us-east-1", delivered.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail-Insight_us-east-1_%s_Ins1ght0AbCdEf.json.gz", Account1, delivered.Format("20060102T1504Z"))), dlGzip(body))

	insights := func() map[string]int {
		got := map[string]int{}
		p := cloudtrail.NewLookupEventsPaginator(srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), &cloudtrail.LookupEventsInput{
			EventCategory: types.EventCategoryInsight, StartTime: aws.Time(now.Add(-24 * time.Hour))})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("LookupEvents --event-category insight: %v", err)
			}
			for _, e := range page.Events {
				got[aws.ToString(e.EventId)]++
			}
		}
		return got
	}

	// Without --insights: the trail's log file only.
	res := imRun(t, srv, imEnv(), "--source", "file://"+dir)
	if res.code != 0 || !strings.HasPrefix(imSummary(t, res.stdout, "files"), "1 of 1 imported") ||
		imSummary(t, res.stdout, "accepted") != fmt.Sprint(len(recs)) {
		t.Fatalf("import without --insights: exit %d, want 1 file and %d events\n%s\n%s", res.code, len(recs), res.stdout, res.stderr)
	}
	if got := insights(); len(got) != 0 {
		t.Fatalf("without --insights, Insights events were imported: %v", got)
	}

	// With --insights: the Insights file too; the log file's events again,
	// stored once.
	res = imRun(t, srv, imEnv(), "--source", "file://"+dir, "--insights")
	if res.code != 0 || !strings.HasPrefix(imSummary(t, res.stdout, "files"), "2 of 2 imported") ||
		imSummary(t, res.stdout, "accepted") != fmt.Sprint(len(recs)+2) {
		t.Fatalf("import with --insights: exit %d, want 2 files and %d events\n%s\n%s", res.code, len(recs)+2, res.stdout, res.stderr)
	}
	got := insights()
	for _, r := range []map[string]any{start, end} {
		if id := r["eventID"].(string); got[id] != 1 {
			t.Errorf("Insights event %s (%s) is found %d times with --event-category insight, want once (found: %v)",
				id, r["insightDetails"].(map[string]any)["state"], got[id], got)
		}
	}
	if len(got) != 2 {
		t.Errorf("--event-category insight answers %d events, want the 2 imported: %v", len(got), got)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-3*24*time.Hour))
}

// TestImportArchiveS3LookedUpAndDelivered imports an archive from a moto
// bucket into a server whose multi-region trail delivers to another moto
// bucket: every imported event is found once with LookupEvents and lands in
// exactly one of the trail's log files; the other account's events are not
// in this account's trail.
func TestImportArchiveS3LookedUpAndDelivered(t *testing.T) {
	moto := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, moto, "old-archive")
	buckettest.CreateBucket(t, moto, "new-trail")
	srv := Start(t, Options{Config: dlConfig(dlS3Buckets(moto, "new-trail"))})
	dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), "imports", "new-trail", dlMulti)
	now := time.Now()
	a := imArchive{Prefix: "cloudtrail", Accounts: []string{Account1, Account2}, Regions: []string{"us-east-1", "eu-west-1"},
		Days: 2, Files: 1, Per: 4, Now: now}
	recs := a.write(t, imS3Put(t, moto, "old-archive"))
	source := "s3://old-archive/cloudtrail?endpoint=" + moto + "&region=us-east-1&path_style=true"
	env := imEnv("AWS_ACCESS_KEY_ID="+buckettest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+buckettest.SecretAccessKey)
	res := imRun(t, srv, env, "--source", source, "--checkpoint", filepath.Join(t.TempDir(), "cp"))
	if res.code != 0 || !strings.HasPrefix(imSummary(t, res.stdout, "files"), "8 of 8 imported") ||
		imSummary(t, res.stdout, "accepted") != fmt.Sprint(len(recs)) {
		t.Fatalf("cairn import from S3: exit %d, want 8 files and %d events\n%s\n%s", res.code, len(recs), res.stdout, res.stderr)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-4*24*time.Hour))
	var mine, others []string
	for _, r := range recs {
		if r.Account == Account1 {
			mine = append(mine, r.ID)
		} else {
			others = append(others, r.ID)
		}
	}
	files := dlWaitDelivered(t, srv, dlMoto{moto, "new-trail"}, "", mine, 60*time.Second)
	got := dlEventIDs(files)
	for _, id := range mine {
		if got[id] != 1 {
			t.Errorf("imported event %s is in %d of the trail's log files, want 1", id, got[id])
		}
	}
	for _, id := range others {
		if got[id] != 0 {
			t.Errorf("event %s of account %s is in account %s's trail", id, Account2, Account1)
		}
	}
}
