package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// writeTrailLog writes a gzip'd log file of records in AWS's layout under
// dir (a bucket's directory).
func writeTrailLog(t *testing.T, dir, account, region string, day time.Time, unique string, records []map[string]any) {
	t.Helper()
	folder := filepath.Join(dir, "trail-prefix", "AWSLogs", account, "CloudTrail", region, day.Format("2006/01/02"))
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", account, region, day.Format("20060102T1504Z"), unique)
	if err := os.WriteFile(filepath.Join(folder, name), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLakeSDKImportTrailLogs: StartImport copies a bucket's trail log
// files into a store (its events answer queries; a bad record is a listed
// failure), another account cannot import from the bucket, and the import
// is listed and described.
func TestLakeSDKImportTrailLogs(t *testing.T) {
	bucketDir := t.TempDir()
	cfg := StandardConfig + fmt.Sprintf(`buckets:
  - {name: old-trail-logs, url: "file://%s", account: "111111111111"}
`, bucketDir)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	want := map[string]string{}
	for f, region := range []string{"us-east-1", "eu-west-1"} {
		var recs []map[string]any
		for i := range 5 {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", f*100+i)
			name := fmt.Sprintf("Imported%d_%d", f, i)
			recs = append(recs, Record(name, lakeSource, region, day.Add(time.Duration(i)*time.Minute),
				map[string]any{"eventID": id, "recipientAccountId": Account1, "eventVersion": "1.08"}))
			want[id] = name
		}
		if f == 1 {
			recs = append(recs, map[string]any{"eventName": "NoTime", "eventSource": lakeSource, "eventID": "00000000-0000-4000-8000-999999999999",
				"awsRegion": region, "recipientAccountId": Account1, "eventTime": "not a time"})
		}
		writeTrailLog(t, bucketDir, Account1, region, day, fmt.Sprintf("f%d", f), recs)
	}
	srv := Start(t, Options{Config: cfg})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("imported")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	source := &types.ImportSource{S3: &types.S3ImportSource{S3LocationUri: aws.String("s3://old-trail-logs/trail-prefix"),
		S3BucketRegion: aws.String("us-east-1"), S3BucketAccessRoleArn: aws.String("arn:aws:iam::111111111111:role/import")}}

	// Another account may not read the bucket.
	bobCT := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	bobStore, err := bobCT.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("bobs")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobCT.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{aws.ToString(bobStore.EventDataStoreArn)}, ImportSource: source}); apiCode(err) != "InvalidImportSourceException" {
		t.Errorf("another account's import: %v", err)
	}

	started, err := ct.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{arn}, ImportSource: source})
	if err != nil {
		t.Fatal(err)
	}
	got := importEnd(t, ct, started.ImportId)
	st := got.ImportStatistics
	if got.ImportStatus != types.ImportStatusCompleted || st == nil || aws.ToInt64(st.FilesCompleted) != 2 || aws.ToInt64(st.EventsCompleted) != 10 ||
		aws.ToInt64(st.FailedEntries) != 1 || aws.ToInt64(st.PrefixesFound) != 2 || aws.ToInt64(st.PrefixesCompleted) != 2 {
		t.Fatalf("GetImport: %+v %+v", got, st)
	}
	failures, err := ct.ListImportFailures(ctx, &cloudtrail.ListImportFailuresInput{ImportId: started.ImportId})
	if err != nil || len(failures.Failures) != 1 || !strings.Contains(aws.ToString(failures.Failures[0].Location), "eu-west-1") {
		t.Errorf("ListImportFailures: %+v %v", failures, err)
	}
	list, err := ct.ListImports(ctx, &cloudtrail.ListImportsInput{Destination: aws.String(arn)})
	if err != nil || len(list.Imports) != 1 || aws.ToString(list.Imports[0].ImportId) != aws.ToString(started.ImportId) {
		t.Errorf("ListImports: %+v %v", list, err)
	}
	_, rows, _ := sdkQuery(t, ct, "SELECT eventID, eventName, eventSource FROM "+id+" WHERE eventSource = '"+lakeSource+"'", 1000)
	have := map[string]string{}
	for _, r := range rows {
		have[r["eventID"]] = r["eventName"]
	}
	if len(have) != len(want) {
		t.Errorf("the store holds %d imported events, want %d: %v", len(have), len(want), have)
	}
	for id, name := range want {
		if have[id] != name {
			t.Errorf("imported event %s (%s): %q", id, name, have[id])
		}
	}
	// Imported events are the store's, not event history's.
	out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventSource, AttributeValue: aws.String(lakeSource)}},
		StartTime: aws.Time(day.Add(-time.Hour)), EndTime: aws.Time(day.Add(time.Hour))})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("imported events in event history: %v %v", out, err)
	}
}

// TestLakeSDKImportAppliesSelectors: an import copies only the events the
// store's advanced event selectors take (here: management write events),
// as the store would have taken them live.
func TestLakeSDKImportAppliesSelectors(t *testing.T) {
	bucketDir := t.TempDir()
	cfg := StandardConfig + fmt.Sprintf(`buckets:
  - {name: sel-trail-logs, url: "file://%s", account: "111111111111"}
`, bucketDir)
	day := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var recs []map[string]any
	want := map[string]bool{}
	for i := range 6 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", 500+i)
		readOnly := i%2 == 0
		recs = append(recs, Record(fmt.Sprintf("Sel%d", i), lakeSource, "us-east-1", day.Add(time.Duration(i)*time.Minute),
			map[string]any{"eventID": id, "recipientAccountId": Account1, "eventVersion": "1.08", "readOnly": readOnly}))
		if !readOnly {
			want[id] = true
		}
	}
	writeTrailLog(t, bucketDir, Account1, "us-east-1", day, "sel", recs)
	srv := Start(t, Options{Config: cfg})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("writes-only"),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{Name: aws.String("management writes"), FieldSelectors: []types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
			{Field: aws.String("readOnly"), Equals: []string{"false"}},
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	source := &types.ImportSource{S3: &types.S3ImportSource{S3LocationUri: aws.String("s3://sel-trail-logs/trail-prefix"),
		S3BucketRegion: aws.String("us-east-1"), S3BucketAccessRoleArn: aws.String("arn:aws:iam::111111111111:role/import")}}
	started, err := ct.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{arn}, ImportSource: source})
	if err != nil {
		t.Fatal(err)
	}
	got := importEnd(t, ct, started.ImportId)
	if got.ImportStatus != types.ImportStatusCompleted || aws.ToInt64(got.ImportStatistics.EventsCompleted) != int64(len(want)) {
		t.Errorf("GetImport: %s, %d events completed, want %d", got.ImportStatus, aws.ToInt64(got.ImportStatistics.EventsCompleted), len(want))
	}
	_, rows, _ := sdkQuery(t, ct, "SELECT eventID FROM "+id+" WHERE eventSource = '"+lakeSource+"'", 1000)
	have := map[string]bool{}
	for _, r := range rows {
		have[r["eventID"]] = true
	}
	if len(have) != len(want) {
		t.Errorf("the store holds %v, want only the write events %v", have, want)
	}
	for id := range want {
		if !have[id] {
			t.Errorf("write event %s not imported", id)
		}
	}
}

// TestLakeCLIImportEventHistory: start-import with the S3LocationUri
// cairn://event-history fills a store, through the real AWS CLI, with the
// events Cairn already held before the store existed: the store's account
// only, its selectors (here: write events) applied, within the import's
// time range.
func TestLakeCLIImportEventHistory(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	mine := ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Old", 6)
	theirs := ingestLake(t, srv, OtherKey, OtherSecret, Account2, "us-east-1", "Bobs", 2)
	var created struct{ EventDataStoreArn string }
	cliJSON(t, srv, &created, "create-event-data-store", "--name", "from-history",
		"--advanced-event-selectors", `[{"Name":"writes","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]`)
	arn := created.EventDataStoreArn
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	now := time.Now().UTC()
	var started struct{ ImportId, ImportStatus string }
	cliJSON(t, srv, &started, "start-import", "--destinations", arn,
		"--import-source", `{"S3":{"S3LocationUri":"cairn://event-history","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::111111111111:role/unused"}}`,
		"--start-event-time", now.Add(-3*time.Hour).Format(time.RFC3339), "--end-event-time", now.Format(time.RFC3339))
	var got struct {
		ImportStatus     string
		ImportStatistics struct{ EventsCompleted int64 }
	}
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		cliJSON(t, srv, &got, "get-import", "--import-id", started.ImportId)
		return got.ImportStatus != "INITIALIZING" && got.ImportStatus != "IN_PROGRESS", got.ImportStatus
	})
	if got.ImportStatus != "COMPLETED" {
		t.Fatalf("get-import: %+v", got)
	}
	want := map[string]string{}
	for name, eid := range mine {
		var i int
		fmt.Sscanf(name, "Old%d", &i)
		if i%2 == 1 { // ingestLake's odd events are writes (readOnly false)
			want[eid] = name
		}
	}
	have := map[string]string{}
	for _, r := range ours(cliQuery(t, srv, "SELECT eventID, eventName, eventSource FROM "+id+" WHERE eventSource = '"+lakeSource+"'")) {
		have[r["eventID"]] = r["eventName"]
	}
	if len(have) != len(want) {
		t.Errorf("the store holds %v, want the account's write events %v", have, want)
	}
	for eid, name := range want {
		if have[eid] != name {
			t.Errorf("event %s (%s) is %q", eid, name, have[eid])
		}
	}
	for _, eid := range theirs {
		if _, ok := have[eid]; ok {
			t.Errorf("another account's event %s was copied", eid)
		}
	}
	// A time range before the events copies nothing more and nothing new.
	cliJSON(t, srv, &started, "start-import", "--destinations", arn,
		"--import-source", `{"S3":{"S3LocationUri":"cairn://event-history","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::111111111111:role/unused"}}`,
		"--start-event-time", now.Add(-30*24*time.Hour).Format(time.RFC3339), "--end-event-time", now.Add(-29*24*time.Hour).Format(time.RFC3339))
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		cliJSON(t, srv, &got, "get-import", "--import-id", started.ImportId)
		return got.ImportStatus == "COMPLETED", fmt.Sprintf("%+v", got)
	})
	if got.ImportStatistics.EventsCompleted != 0 {
		t.Errorf("an import of a range with no events copied %d", got.ImportStatistics.EventsCompleted)
	}
}

// TestLakeSDKReimportCountsOnlyAddedEvents: importing a time range of the
// event history again, over events the store already holds, adds nothing
// and says so: EventsCompleted counts the events an import added (the
// model: "the number of trail events imported into the event data
// store"); the events skipped as already there are neither completed
// nor failed entries.
func TestLakeSDKReimportCountsOnlyAddedEvents(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Again", 6)
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("reimport")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	imp := func() *cloudtrail.GetImportOutput {
		t.Helper()
		started, err := ct.StartImport(ctx, &cloudtrail.StartImportInput{
			Destinations: []string{aws.ToString(created.EventDataStoreArn)},
			ImportSource: &types.ImportSource{S3: &types.S3ImportSource{S3LocationUri: aws.String("cairn://event-history"),
				S3BucketRegion: aws.String("us-east-1"), S3BucketAccessRoleArn: aws.String("arn:aws:iam::111111111111:role/unused")}},
			StartEventTime: aws.Time(now.Add(-3 * time.Hour)), EndEventTime: aws.Time(now.Add(-30 * time.Minute))})
		if err != nil {
			t.Fatal(err)
		}
		var got *cloudtrail.GetImportOutput
		testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
			got, err = ct.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: started.ImportId})
			return err == nil && got.ImportStatus == types.ImportStatusCompleted, fmt.Sprintf("%+v %v", got, err)
		})
		return got
	}
	first := imp()
	// (The range ends before the server's own records of these calls,
	// which the store takes live.)
	if n := aws.ToInt64(first.ImportStatistics.EventsCompleted); n != 6 {
		t.Errorf("the first import completed %d events, want the 6 ingested before the store", n)
	}
	again := imp()
	if s := again.ImportStatistics; aws.ToInt64(s.EventsCompleted) != 0 || aws.ToInt64(s.FailedEntries) != 0 {
		t.Errorf("importing the same range again: EventsCompleted %d, FailedEntries %d; want 0 and 0 (nothing added, nothing failed)",
			aws.ToInt64(s.EventsCompleted), aws.ToInt64(s.FailedEntries))
	}
	list, err := ct.ListImports(ctx, &cloudtrail.ListImportsInput{Destination: created.EventDataStoreArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range list.Imports {
		if aws.ToString(im.ImportId) == aws.ToString(again.ImportId) && im.ImportStatus != types.ImportStatusCompleted {
			t.Errorf("ListImports: %+v", im)
		}
	}
}

// importEnd waits for import id to end and returns GetImport's answer.
func importEnd(t *testing.T, ct *cloudtrail.Client, id *string) *cloudtrail.GetImportOutput {
	t.Helper()
	var got *cloudtrail.GetImportOutput
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		var err error
		got, err = ct.GetImport(context.Background(), &cloudtrail.GetImportInput{ImportId: id})
		return err == nil && got.ImportStatus != types.ImportStatusInitializing && got.ImportStatus != types.ImportStatusInProgress, fmt.Sprintf("%+v %v", got, err)
	})
	return got
}
