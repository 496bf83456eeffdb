package e2e

// cairn import when things go wrong as a whole: a wrong key or a server
// that does not answer stops the run at its first batch and a rerun
// resumes; the checkpoint names the archive, not the URL's spelling; the
// summary of a run that stored nothing; and StartImport's word on the
// folders of other accounts it leaves out.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// TestImportWrongKeyStopsAtFirstBatch: with a wrong secret the server
// refuses the first batch (InvalidSignatureException); the import stops
// there with a message naming the key and exit status 1, instead of
// reading every file and listing each as failed; the summary reads right
// for a run that stored nothing; the checkpoint holds no file, and a rerun
// with the right key imports everything.
func TestImportWrongKeyStopsAtFirstBatch(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 2, Files: 30, Per: 2, Now: now}
	recs := a.write(t, imDirPut(t, dir))
	const files = 2 * 30
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	args := []string{"--source", "file://" + dir, "--checkpoint", cp, "--parallel", "2", "--batch-size", "2"}

	wrong := []string{"CAIRN_ACCESS_KEY_ID=" + IngestKey, "CAIRN_SECRET_ACCESS_KEY=" + IngestSecret + "x",
		"AWS_EC2_METADATA_DISABLED=true"}
	res := imRun(t, srv, wrong, args...)
	if res.code != 1 {
		t.Fatalf("wrong secret: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if out := res.stdout + res.stderr; !strings.Contains(out, "InvalidSignatureException") || !strings.Contains(res.stderr, "check CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY") {
		t.Errorf("wrong secret: no message naming the server's answer and the key to check:\n%s\n%s", res.stdout, res.stderr)
	}
	// At most the batches in flight at the stop (--parallel 2) are listed,
	// not every file of the archive.
	if n := strings.Count(res.stderr, `"errorCode":"BatchFailed"`); n > 4 {
		t.Errorf("wrong secret: %d files listed as failed, want at most those of the 2 batches in flight:\n%s", n, res.stdout)
	}
	if n := imCheckpointLines(cp); n != 0 {
		t.Errorf("wrong secret: the checkpoint holds %d files, want none", n)
	}
	if got := imSummary(t, res.stdout, "accepted"); got != "0" {
		t.Errorf("wrong secret: accepted %q, want 0", got)
	}
	if strings.Contains(res.stdout, "not told by this server") {
		t.Errorf("wrong secret: the summary blames the server for not telling duplicates, though it answered no batch:\n%s", res.stdout)
	}
	if got := imSummary(t, res.stdout, "files"); !strings.HasPrefix(got, fmt.Sprintf("0 of %d imported", files)) {
		t.Errorf("wrong secret: files %q, want 0 of %d imported", got, files)
	}

	// An unknown key and a key without the ingest policy stop it alike.
	for _, k := range []struct{ env, code string }{
		{"CAIRN_ACCESS_KEY_ID=AKIANOSUCHKEY0000001 CAIRN_SECRET_ACCESS_KEY=" + IngestSecret, "UnrecognizedClientException"},
		{"CAIRN_ACCESS_KEY_ID=" + ReaderKey + " CAIRN_SECRET_ACCESS_KEY=" + ReaderSecret, "AccessDeniedException"},
	} {
		res := imRun(t, srv, append(strings.Fields(k.env), "AWS_EC2_METADATA_DISABLED=true"), args...)
		if res.code != 1 || !strings.Contains(res.stderr, "did not take the key") || !strings.Contains(res.stderr, k.code) ||
			strings.Count(res.stderr, `"errorCode":"BatchFailed"`) > 4 || imCheckpointLines(cp) != 0 {
			t.Errorf("%s: exit %d, want 1, a stop at the first batches naming %s and an empty checkpoint\n%s\n%s",
				k.env, res.code, k.code, res.stdout, res.stderr)
		}
	}

	res = imRun(t, srv, imEnv(), args...)
	if res.code != 0 {
		t.Fatalf("rerun with the right key: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if got, want := imSummary(t, res.stdout, "files"), fmt.Sprintf("%d of %d imported", files, files); got != want {
		t.Errorf("rerun with the right key: files %q, want %q", got, want)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-4*24*time.Hour))
}

// TestImportServerUnreachableStops: with nothing listening at --endpoint
// the first batch is tried --max-attempts times and the import stops there
// (exit 1, a message naming the endpoint), instead of trying every batch
// of the archive in turn; the checkpoint holds nothing and the summary
// reads right for a run in which no batch was answered.
func TestImportServerUnreachableStops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 2, Files: 30, Per: 2, Now: time.Now()}
	a.write(t, imDirPut(t, dir))
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	res := runCommand(t, imEnv(), Binary(t), "import", "--endpoint", down, "--source", "file://"+dir, "--checkpoint", cp,
		"--parallel", "2", "--batch-size", "2", "--max-attempts", "2")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "stopped: the server did not answer") || !strings.Contains(res.stderr, "no answer from "+down+" after 2 attempts") {
		t.Errorf("no message that the server did not answer:\n%s\n%s", res.stdout, res.stderr)
	}
	if n := strings.Count(res.stderr, `"errorCode":"BatchFailed"`); n > 4 {
		t.Errorf("%d files listed as failed, want at most those of the 2 batches in flight:\n%s", n, res.stderr)
	}
	if got := imSummary(t, res.stdout, "elapsed"); strings.Contains(got, "events/s") {
		t.Errorf("elapsed line %q gives a rate though nothing was answered", got)
	}
	if strings.Contains(res.stdout, "not told by this server") {
		t.Errorf("the summary blames the server for not telling duplicates, though it answered no batch:\n%s", res.stdout)
	}
	if n := imCheckpointLines(cp); n != 0 {
		t.Errorf("the checkpoint holds %d files, want none", n)
	}
}

// TestImportServerFailingStops: a server that answers every batch with a
// 500 (its store down, its disk full) has the import stop after 3 batches
// failed in a row after their retries (exit 1, a message that says so and
// what to check), instead of sending the whole archive; the checkpoint
// holds nothing.
func TestImportServerFailingStops(t *testing.T) {
	t.Parallel()
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"__type":"InternalFailure","message":"the event store is not writable"}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 2, Files: 30, Per: 2, Now: time.Now()}
	a.write(t, imDirPut(t, dir))
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	res := runCommand(t, imEnv(), Binary(t), "import", "--endpoint", srv.URL, "--source", "file://"+dir, "--checkpoint", cp,
		"--parallel", "1", "--batch-size", "2", "--max-attempts", "2")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "failed 3 batches in a row") || !strings.Contains(res.stderr, "the server "+srv.URL+" failed batch after batch") ||
		!strings.Contains(res.stderr, "the event store is not writable") {
		t.Errorf("no message that the server kept failing batches:\n%s\n%s", res.stdout, res.stderr)
	}
	if n := posts.Load(); n > 4*2 {
		t.Errorf("%d requests to a server failing every batch, want at most 4 batches of 2 attempts", n)
	}
	if n := imCheckpointLines(cp); n != 0 {
		t.Errorf("the checkpoint holds %d files, want none", n)
	}
}

// TestImportCheckpointNamesTheArchive: a checkpoint belongs to the archive
// a --source names, not to how the URL is spelt. The same bucket and
// prefix with a trailing slash, with /AWSLogs, or through another endpoint
// URL resume the import (every file done by the earlier run); the same
// directory as another path too. Another prefix of the bucket is another
// import and is refused.
func TestImportCheckpointNamesTheArchive(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	moto := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, moto, "ctb")
	now := time.Now()
	a := imArchive{Prefix: "pre", Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 1, Files: 3, Per: 2, Now: now}
	a.write(t, imS3Put(t, moto, "ctb"))
	env := imEnv("AWS_ACCESS_KEY_ID="+buckettest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+buckettest.SecretAccessKey)
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	query := "?endpoint=" + moto + "&region=us-east-1&path_style=true"
	res := imRun(t, srv, env, "--source", "s3://ctb/pre"+query, "--checkpoint", cp)
	if res.code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	other := strings.Replace(moto, "127.0.0.1", "localhost", 1)
	for _, src := range []string{
		"s3://ctb/pre/" + query,
		"s3://ctb/pre/AWSLogs/" + query,
		"s3://ctb/pre?endpoint=" + other + "&region=us-east-1&path_style=true",
	} {
		res := imRun(t, srv, env, "--source", src, "--checkpoint", cp)
		if res.code != 0 || imSummary(t, res.stdout, "files") != "0 of 3 imported (3 more done by an earlier run)" {
			t.Errorf("--source %s with the checkpoint of s3://ctb/pre: exit %d, want every file done by the earlier run\n%s\n%s",
				src, res.code, res.stdout, res.stderr)
		}
	}
	res = imRun(t, srv, env, "--source", "s3://ctb/other"+query, "--checkpoint", cp)
	if res.code != 2 || !strings.Contains(res.stderr, "belongs to the import of s3://ctb/pre/") {
		t.Errorf("another prefix with the checkpoint: exit %d, want 2 and a word on whose checkpoint it is\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	dir := t.TempDir()
	a.Prefix = ""
	a.write(t, imDirPut(t, dir))
	dcp := filepath.Join(t.TempDir(), "dir.checkpoint")
	if res := imRun(t, srv, imEnv(), "--source", "file://"+dir, "--checkpoint", dcp); res.code != 0 {
		t.Fatalf("directory: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, src := range []string{"file://" + dir + "/", "file://" + dir + "/AWSLogs", "file://" + dir + "/AWSLogs/../"} {
		res := imRun(t, srv, imEnv(), "--source", src, "--checkpoint", dcp)
		if res.code != 0 || imSummary(t, res.stdout, "files") != "0 of 3 imported (3 more done by an earlier run)" {
			t.Errorf("--source %s with the checkpoint of file://%s: exit %d\n%s\n%s", src, dir, res.code, res.stdout, res.stderr)
		}
	}
}

// TestLakeImportListsOtherAccountsFolders: StartImport from a bucket that
// also holds another account's log folder copies only the store's
// account's events, and lists the other account's folder as a failure
// (ListImportFailures, counted in FailedEntries) with the reason, instead
// of leaving it out without a word.
func TestLakeImportListsOtherAccountsFolders(t *testing.T) {
	bucketDir := t.TempDir()
	cfg := StandardConfig + fmt.Sprintf(`buckets:
  - {name: mixed-trail-logs, url: "file://%s", account: "111111111111"}
`, bucketDir)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for n, acct := range []string{Account1, Account2} {
		var recs []map[string]any
		for i := range 3 {
			recs = append(recs, Record(fmt.Sprintf("Mixed%d_%d", n, i), lakeSource, "us-east-1", day.Add(time.Duration(i)*time.Minute),
				map[string]any{"eventID": fmt.Sprintf("00000000-0000-4000-8000-%012d", n*100+i), "recipientAccountId": acct, "eventVersion": "1.08"}))
		}
		writeTrailLog(t, bucketDir, acct, "us-east-1", day, fmt.Sprintf("m%d", n), recs)
	}
	srv := Start(t, Options{Config: cfg})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("mixed")})
	if err != nil {
		t.Fatal(err)
	}
	started, err := ct.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{aws.ToString(created.EventDataStoreArn)},
		ImportSource: &types.ImportSource{S3: &types.S3ImportSource{S3LocationUri: aws.String("s3://mixed-trail-logs/trail-prefix"),
			S3BucketRegion: aws.String("us-east-1"), S3BucketAccessRoleArn: aws.String("arn:aws:iam::111111111111:role/import")}}})
	if err != nil {
		t.Fatal(err)
	}
	got := importEnd(t, ct, started.ImportId)
	st := got.ImportStatistics
	if got.ImportStatus != types.ImportStatusCompleted || st == nil || aws.ToInt64(st.FilesCompleted) != 1 || aws.ToInt64(st.EventsCompleted) != 3 ||
		aws.ToInt64(st.FailedEntries) != 1 {
		t.Fatalf("GetImport: %+v, statistics %+v; want COMPLETED, 1 file, 3 events and 1 failed entry (the other account's folder)", got, st)
	}
	failures, err := ct.ListImportFailures(ctx, &cloudtrail.ListImportFailuresInput{ImportId: started.ImportId})
	if err != nil || len(failures.Failures) != 1 {
		t.Fatalf("ListImportFailures: %+v %v", failures, err)
	}
	f := failures.Failures[0]
	if aws.ToString(f.Location) != "trail-prefix/AWSLogs/"+Account2+"/" || aws.ToString(f.ErrorType) != "AccountNotInEventDataStore" ||
		f.Status != types.ImportFailureStatusFailed || !strings.Contains(aws.ToString(f.ErrorMessage), Account2) {
		t.Errorf("the other account's folder: %s %s %s %q; want its folder, AccountNotInEventDataStore, FAILED and a message naming it",
			aws.ToString(f.Location), aws.ToString(f.ErrorType), f.Status, aws.ToString(f.ErrorMessage))
	}
}
