package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestLakeMultiNodePostgres runs two nodes on one PostgreSQL database: a
// store made on one is seen and filled on the other (each node keeps its
// own copy of the events, filled from the shared log), and a query started
// on one node is described, read and listed on the other; an import run
// by one node reaches the other's copy (within the 10 s the nodes look for
// other nodes' imports: the test takes 20-30 s).
func TestLakeMultiNodePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	bucketDir := t.TempDir()
	cfg := StandardConfig + fmt.Sprintf("store: {driver: postgres, dsn: %q}\nbuckets:\n  - {name: shared-trail-logs, url: \"file://%s\", account: \"111111111111\"}\n", dsn, bucketDir)
	a := Start(t, Options{Config: cfg})
	b := Start(t, Options{Config: cfg})
	ca := a.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	cb := b.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ctx := context.Background()

	created, err := ca.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if got, err := cb.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(id)}); err != nil || aws.ToString(got.Name) != "shared" {
		t.Fatalf("the other node: %+v %v", got, err)
	}
	want := map[string]bool{}
	for _, m := range []map[string]string{
		ingestLake(t, a, AdminKey, AdminSecret, Account1, "us-east-1", "OnA", 6),
		ingestLake(t, b, AdminKey, AdminSecret, Account1, "us-west-2", "OnB", 5),
	} {
		for _, id := range m {
			want[id] = true
		}
	}
	sql := "SELECT eventID, eventSource FROM " + id + " WHERE eventSource = '" + lakeSource + "'"
	for _, run := range []struct{ on, read *cloudtrail.Client }{{cb, ca}, {ca, cb}} {
		start, err := run.on.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
		if err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
			d, err := run.read.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: start.QueryId})
			return err == nil && d.QueryStatus == types.QueryStatusFinished, fmt.Sprintf("%+v %v", d, err)
		})
		res, err := run.read.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: start.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range res.QueryResultRows {
			got[r[0]["eventID"]] = true
		}
		if len(got) != len(want) {
			t.Errorf("%d events, want %d", len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Errorf("event %s missing", id)
			}
		}
		list, err := run.read.ListQueries(ctx, &cloudtrail.ListQueriesInput{EventDataStore: aws.String(arn)})
		if err != nil || len(list.Queries) == 0 || aws.ToString(list.Queries[0].QueryId) != aws.ToString(start.QueryId) {
			t.Errorf("ListQueries on the other node: %+v %v", list, err)
		}
	}

	// An import run by one node reaches the other node's copy too.
	day := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	writeTrailLog(t, bucketDir, Account1, "us-east-1", day, "mn", []map[string]any{
		Record("ImportedA", lakeSource, "us-east-1", day, map[string]any{"eventID": "00000000-0000-4000-8000-00000000000a", "recipientAccountId": Account1}),
		Record("ImportedB", lakeSource, "us-east-1", day, map[string]any{"eventID": "00000000-0000-4000-8000-00000000000b", "recipientAccountId": Account1}),
	})
	imp, err := ca.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{arn}, ImportSource: &types.ImportSource{S3: &types.S3ImportSource{
		S3LocationUri: aws.String("s3://shared-trail-logs/trail-prefix"), S3BucketRegion: aws.String("us-east-1"), S3BucketAccessRoleArn: aws.String("arn:aws:iam::111111111111:role/x")}}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		g, err := cb.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: imp.ImportId})
		return err == nil && g.ImportStatus == types.ImportStatusCompleted, fmt.Sprintf("%+v %v", g, err)
	})
	imported := "SELECT eventID FROM " + id + " WHERE eventName LIKE 'Imported%'"
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		start, err := cb.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(imported)})
		if err != nil {
			return false, err.Error()
		}
		var res *cloudtrail.GetQueryResultsOutput
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			res, err = cb.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: start.QueryId})
			return err == nil && res.QueryStatus == types.QueryStatusFinished, fmt.Sprintf("%v %v", res, err)
		})
		return len(res.QueryResultRows) == 2, fmt.Sprintf("node b holds %d imported events", len(res.QueryResultRows))
	})
}
