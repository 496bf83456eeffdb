package e2e

// CloudTrail Lake through the real interfaces: aws-sdk-go-v2 and the AWS
// CLI against the real binary. Answers are computed by the test from the
// events it ingested.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// lakeSource is the eventSource of the events these tests ingest, so
// that their answers can leave out the server's own audit records (a
// store takes every management event of its account, its own API calls
// included).
const lakeSource = "lake-e2e.amazonaws.com"

// ingestLake ingests n records named prefix0… of account into region and
// returns their eventIDs by name.
func ingestLake(t *testing.T, srv *Server, key, secret, account, region, prefix string, n int) map[string]string {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var recs []map[string]any
	for i := range n {
		recs = append(recs, Record(fmt.Sprintf("%s%d", prefix, i), lakeSource, region, at.Add(time.Duration(i)*time.Second),
			map[string]any{"recipientAccountId": account, "readOnly": i%2 == 0}))
	}
	res := srv.Ingest(t, key, secret, recs...)
	if res.Accepted != n {
		t.Fatalf("ingest: %+v", res)
	}
	ids := map[string]string{}
	for i, id := range res.EventIDs {
		ids[fmt.Sprintf("%s%d", prefix, i)] = id
	}
	return ids
}

// lakeEnd waits for query id to end and returns DescribeQuery's answer.
func lakeEnd(t *testing.T, ct *cloudtrail.Client, id *string) *cloudtrail.DescribeQueryOutput {
	t.Helper()
	var d *cloudtrail.DescribeQueryOutput
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		var err error
		d, err = ct.DescribeQuery(context.Background(), &cloudtrail.DescribeQueryInput{QueryId: id})
		if err != nil {
			return false, err.Error()
		}
		return d.QueryStatus != types.QueryStatusQueued && d.QueryStatus != types.QueryStatusRunning, string(d.QueryStatus)
	})
	return d
}

// sdkQuery runs sql to its end and returns its status and rows (each row
// column name to value), paging GetQueryResults by page rows.
func sdkQuery(t *testing.T, ct *cloudtrail.Client, sql string, page int32) (types.QueryStatus, []map[string]string, []string) {
	t.Helper()
	ctx := context.Background()
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		t.Fatalf("StartQuery %q: %v", sql, err)
	}
	d := lakeEnd(t, ct, start.QueryId)
	if d.QueryStatus != types.QueryStatusFinished {
		return d.QueryStatus, nil, nil
	}
	if d.QueryStatistics == nil || d.QueryStatistics.CreationTime == nil || aws.ToString(d.QueryString) != sql {
		t.Errorf("DescribeQuery: %+v", d)
	}
	var rows []map[string]string
	var columns []string
	var token *string
	total := -1
	for pages := 0; ; pages++ {
		out, err := ct.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: start.QueryId, NextToken: token, MaxQueryResults: aws.Int32(page)})
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		if out.QueryStatus != types.QueryStatusFinished || out.QueryStatistics == nil {
			t.Fatalf("GetQueryResults: status %s, statistics %+v", out.QueryStatus, out.QueryStatistics)
		}
		total = int(aws.ToInt32(out.QueryStatistics.TotalResultsCount))
		if int(aws.ToInt32(out.QueryStatistics.ResultsCount)) != len(out.QueryResultRows) || len(out.QueryResultRows) > int(page) {
			t.Errorf("page %d: ResultsCount %d, %d rows, page size %d", pages, aws.ToInt32(out.QueryStatistics.ResultsCount), len(out.QueryResultRows), page)
		}
		for _, r := range out.QueryResultRows {
			row := map[string]string{}
			var cols []string
			for _, cell := range r {
				if len(cell) != 1 {
					t.Fatalf("a result cell has %d entries, want one: %v", len(cell), cell)
				}
				for k, v := range cell {
					row[k] = v
					cols = append(cols, k)
				}
			}
			if columns == nil {
				columns = cols
			} else if !slices.Equal(cols, columns) {
				t.Fatalf("columns %v then %v", columns, cols)
			}
			rows = append(rows, row)
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if total != len(rows) {
		t.Errorf("TotalResultsCount %d, rows read %d", total, len(rows))
	}
	return types.QueryStatusFinished, rows, columns
}

// ours are the rows of the test's own events (see lakeSource).
func ours(rows []map[string]string) []map[string]string {
	var out []map[string]string
	for _, r := range rows {
		if r["eventSource"] == lakeSource {
			out = append(out, r)
		}
	}
	return out
}

func TestLakeSDKQueryAccountsAndAudit(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bobCT := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")

	before := ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Before", 3)
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("e2e-store"),
		TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("audit")}}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != types.EventDataStoreStatusCreated || !aws.ToBool(created.MultiRegionEnabled) || !aws.ToBool(created.TerminationProtectionEnabled) ||
		aws.ToInt32(created.RetentionPeriod) != 366 || len(created.AdvancedEventSelectors) != 1 || len(created.TagsList) != 1 ||
		!strings.HasPrefix(aws.ToString(created.EventDataStoreArn), "arn:aws:cloudtrail:us-east-1:"+Account1+":eventdatastore/") {
		t.Fatalf("CreateEventDataStore: %+v", created)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	bobStore, err := bobCT.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("bobs-store")})
	if err != nil {
		t.Fatal(err)
	}
	// A store answered CREATED takes a query at once (no wait for ENABLED).
	if st, _, _ := sdkQuery(t, bobCT, "SELECT eventID FROM "+aws.ToString(bobStore.EventDataStoreArn), 10); st != types.QueryStatusFinished {
		t.Errorf("a query right after CreateEventDataStore ended %s", st)
	}

	east := ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "East", 23)
	west := ingestLake(t, srv, AdminKey, AdminSecret, Account1, "eu-west-1", "West", 4)
	bobs := ingestLake(t, srv, OtherKey, OtherSecret, Account2, "us-east-1", "Bob", 5)

	// Every event of the account from the store's creation on, in every
	// region; none of before it, none of another account.
	want := map[string]string{}
	for _, m := range []map[string]string{east, west} {
		for name, id := range m {
			want[id] = name
		}
	}
	status, rows, columns := sdkQuery(t, ct, "SELECT eventID, eventName, eventSource FROM "+id, 7)
	if status != types.QueryStatusFinished {
		t.Fatalf("query ended %s", status)
	}
	if !slices.Equal(columns, []string{"eventID", "eventName", "eventSource"}) {
		t.Errorf("columns %v", columns)
	}
	got := map[string]string{}
	for _, r := range ours(rows) {
		got[r["eventID"]] = r["eventName"]
	}
	if len(got) != len(want) || len(ours(rows)) != len(want) {
		t.Errorf("the store holds %d of the test's events (%d rows), want %d", len(got), len(ours(rows)), len(want))
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("event %s (%s): got %q", id, name, got[id])
		}
	}
	for _, id := range before {
		if _, ok := got[id]; ok {
			t.Errorf("an event ingested before the store was made is in it")
		}
	}
	for _, id := range bobs {
		if _, ok := got[id]; ok {
			t.Errorf("another account's event is in the store")
		}
	}

	// By ARN, an aggregate, the answer computed here: events per region.
	_, byRegion, cols := sdkQuery(t, ct, "SELECT awsRegion, count(*) AS n FROM "+arn+" WHERE eventSource = '"+lakeSource+"' GROUP BY awsRegion ORDER BY awsRegion", 1000)
	wantRegions := []map[string]string{{"awsRegion": "eu-west-1", "n": fmt.Sprint(len(west))}, {"awsRegion": "us-east-1", "n": fmt.Sprint(len(east))}}
	if !slices.Equal(cols, []string{"awsRegion", "n"}) || fmt.Sprint(byRegion) != fmt.Sprint(wantRegions) {
		t.Errorf("events per region: %v %v, want %v", cols, byRegion, wantRegions)
	}

	// Tags on the store, through the trail tag operations.
	if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil || len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 || aws.ToString(tags.ResourceTagList[0].TagsList[0].Key) != "env" {
		t.Errorf("ListTags: %+v %v", tags, err)
	}
	if _, err := bobCT.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("another account's ListTags: %v", err)
	}

	// Another account's store: not found, never its data.
	bobID := aws.ToString(bobStore.EventDataStoreArn)
	bobID = bobID[strings.LastIndexByte(bobID, '/')+1:]
	if _, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventID FROM " + bobID)}); apiCode(err) != "EventDataStoreNotFoundException" {
		t.Errorf("query of another account's store: %v", err)
	}
	if _, err := ct.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: bobStore.EventDataStoreArn}); apiCode(err) != "EventDataStoreNotFoundException" {
		t.Errorf("GetEventDataStore of another account's store: %v", err)
	}
	// Bad SQL: the model's error, with a message that points at the problem.
	_, err = ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELEC eventName FROM " + id)})
	var bad *types.InvalidQueryStatementException
	if !errors.As(err, &bad) || aws.ToString(bad.Message) == "" {
		t.Errorf("bad SQL: %v", err)
	}
	// An unknown column is found at StartQuery too, not when the query runs.
	_, err = ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventName, noSuchColumn FROM " + id)})
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), "line 1:") {
		t.Errorf("unknown column: %v", err)
	}
	if _, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventName FROM " + id), DeliveryS3Uri: aws.String("s3://bucket/x")}); apiCode(err) != "UnsupportedOperationException" {
		t.Errorf("DeliveryS3Uri: %v", err)
	}
	if _, err := ct.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: aws.String("00000000-0000-0000-0000-000000000000")}); apiCode(err) != "QueryIdNotFoundException" {
		t.Errorf("unknown query: %v", err)
	}

	// Cancel: a query still queued or running ends CANCELLED; one already
	// finished cannot be cancelled.
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventID FROM " + id)})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err := ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: start.QueryId})
	switch {
	case err == nil:
		if cancelled.QueryStatus != types.QueryStatusCancelled {
			t.Errorf("CancelQuery: %+v", cancelled)
		}
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			d, err := ct.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: start.QueryId})
			return err == nil && d.QueryStatus == types.QueryStatusCancelled, fmt.Sprintf("%v %v", d, err)
		})
	case apiCode(err) != "InactiveQueryException":
		t.Errorf("CancelQuery: %v", err)
	}
	if _, err := ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: start.QueryId}); apiCode(err) != "InactiveQueryException" {
		t.Errorf("cancelling an ended query: %v", err)
	}
	list, err := ct.ListQueries(ctx, &cloudtrail.ListQueriesInput{EventDataStore: aws.String(id), MaxResults: aws.Int32(1)})
	if err != nil || len(list.Queries) != 1 || list.NextToken == nil || aws.ToString(list.Queries[0].QueryId) != aws.ToString(start.QueryId) {
		t.Fatalf("ListQueries: %+v %v", list, err)
	}
	rest, err := ct.ListQueries(ctx, &cloudtrail.ListQueriesInput{EventDataStore: aws.String(id), NextToken: list.NextToken})
	if err != nil || len(rest.Queries) != 2 || slices.ContainsFunc(rest.Queries, func(q types.Query) bool { return aws.ToString(q.QueryId) == aws.ToString(start.QueryId) }) {
		t.Errorf("ListQueries page 2: %+v %v", rest, err)
	}

	// Every Lake call is in event history, with the store as its resource.
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		var seen []string
		for _, name := range []string{"CreateEventDataStore", "StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery", "ListQueries"} {
			out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
			if err != nil || len(out.Events) == 0 {
				return false, fmt.Sprintf("no %s in event history (%v); seen %v", name, err, seen)
			}
			var rec struct {
				ReadOnly    bool   `json:"readOnly"`
				EventSource string `json:"eventSource"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(out.Events[0].CloudTrailEvent)), &rec); err != nil || rec.EventSource != "cloudtrail.amazonaws.com" {
				return false, fmt.Sprintf("%s record: %+v %v", name, rec, err)
			}
			wantRead := name != "CreateEventDataStore" && name != "CancelQuery"
			if rec.ReadOnly != wantRead {
				t.Fatalf("%s recorded readOnly %t", name, rec.ReadOnly)
			}
			if name == "CreateEventDataStore" && (len(out.Events[0].Resources) != 1 || aws.ToString(out.Events[0].Resources[0].ResourceType) != "AWS::CloudTrail::EventDataStore") {
				t.Errorf("CreateEventDataStore resources: %+v", out.Events[0].Resources)
			}
			seen = append(seen, name)
		}
		return true, ""
	})
}

// cliJSON runs an aws cloudtrail command that must succeed and decodes its
// output into v (when v is not nil).
func cliJSON(t *testing.T, srv *Server, v any, args ...string) {
	t.Helper()
	res := cliRun(t, srv, AdminKey, AdminSecret, "us-east-1", append([]string{"cloudtrail"}, args...)...)
	if res.code != 0 {
		t.Fatalf("aws cloudtrail %q: exit %d\n%s", args, res.code, res.stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(res.stdout), v); err != nil {
			t.Fatalf("aws cloudtrail %q: %v\n%s", args, err, res.stdout)
		}
	}
}

// cliQuery runs sql with start-query, polls describe-query and pages
// get-query-results; it returns the rows.
func cliQuery(t *testing.T, srv *Server, sql string) []map[string]string {
	t.Helper()
	var start struct{ QueryId string }
	cliJSON(t, srv, &start, "start-query", "--query-statement", sql)
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		var d struct {
			QueryStatus  string
			ErrorMessage string
		}
		cliJSON(t, srv, &d, "describe-query", "--query-id", start.QueryId)
		if d.QueryStatus == "FAILED" || d.QueryStatus == "CANCELLED" || d.QueryStatus == "TIMED_OUT" {
			t.Fatalf("query %s: %+v", sql, d)
		}
		return d.QueryStatus == "FINISHED", d.QueryStatus
	})
	var rows []map[string]string
	args := []string{"get-query-results", "--query-id", start.QueryId, "--max-query-results", "4"}
	token := ""
	for {
		var page struct {
			QueryResultRows [][]map[string]string
			NextToken       string
		}
		a := args
		if token != "" {
			a = append(a, "--next-token", token)
		}
		// --no-paginate: each call is one page, so that paging is ours.
		cliJSON(t, srv, &page, append(a, "--no-paginate")...)
		for _, r := range page.QueryResultRows {
			row := map[string]string{}
			for _, cell := range r {
				for k, v := range cell {
					row[k] = v
				}
			}
			rows = append(rows, row)
		}
		if page.NextToken == "" {
			return rows
		}
		token = page.NextToken
	}
}

// TestLakeCLIStoreSurvivesRestartDeleteRestore takes 25-45 s: it runs the
// AWS CLI about 30 times (each run starts a Python interpreter, ~1 s), as
// a user pasting the README's commands would.
func TestLakeCLIStoreSurvivesRestartDeleteRestore(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	var created struct{ EventDataStoreArn, Status string }
	cliJSON(t, srv, &created, "create-event-data-store", "--name", "cli-store", "--retention-period", "30", "--no-multi-region-enabled")
	if created.Status != "CREATED" { // as CloudTrail answers; the store is ENABLED just after
		t.Fatalf("create-event-data-store: %+v", created)
	}
	id := created.EventDataStoreArn[strings.LastIndexByte(created.EventDataStoreArn, '/')+1:]
	var enabled struct{ Status string }
	cliJSON(t, srv, &enabled, "get-event-data-store", "--event-data-store", id)
	if enabled.Status != "ENABLED" {
		t.Fatalf("get-event-data-store just after create-event-data-store: %+v, want ENABLED", enabled)
	}
	east := ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Here", 7)
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-west-2", "Away", 2) // not multi-region: not taken
	sql := "SELECT eventID, eventName, eventSource FROM " + id + " WHERE eventSource = '" + lakeSource + "'"
	check := func(when string) {
		t.Helper()
		got := map[string]string{}
		for _, r := range ours(cliQuery(t, srv, sql)) {
			got[r["eventID"]] = r["eventName"]
		}
		if len(got) != len(east) {
			t.Errorf("%s: %d events, want %d: %v", when, len(got), len(east), got)
		}
		for name, id := range east {
			if got[id] != name {
				t.Errorf("%s: event %s (%s) is %q", when, id, name, got[id])
			}
		}
	}
	check("before the restart")

	srv.Stop(t)
	srv = Start(t, Options{Config: StandardConfig, DataDir: srv.DataDir})
	var got struct {
		Name, Status    string
		RetentionPeriod int
	}
	cliJSON(t, srv, &got, "get-event-data-store", "--event-data-store", id)
	if got.Name != "cli-store" || got.Status != "ENABLED" || got.RetentionPeriod != 30 {
		t.Fatalf("after the restart: %+v", got)
	}
	check("after the restart")
	var listed struct {
		EventDataStores []struct{ EventDataStoreArn string }
	}
	cliJSON(t, srv, &listed, "list-event-data-stores")
	if len(listed.EventDataStores) != 1 || listed.EventDataStores[0].EventDataStoreArn != created.EventDataStoreArn {
		t.Errorf("list-event-data-stores: %+v", listed)
	}

	// Bad SQL through the CLI.
	res := cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InvalidQueryStatementException", "cloudtrail", "start-query", "--query-statement", "SELECT FROM WHERE")
	_ = res
	// Delete: refused while termination protection is on; then pending
	// deletion, restorable.
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "EventDataStoreTerminationProtectedException", "cloudtrail", "delete-event-data-store", "--event-data-store", id)
	cliJSON(t, srv, nil, "update-event-data-store", "--event-data-store", id, "--no-termination-protection-enabled")
	cliJSON(t, srv, nil, "delete-event-data-store", "--event-data-store", id)
	cliJSON(t, srv, &got, "get-event-data-store", "--event-data-store", created.EventDataStoreArn)
	if got.Status != "PENDING_DELETION" {
		t.Errorf("after delete: %+v", got)
	}
	cliError(t, srv, AdminKey, AdminSecret, "us-east-1", "InactiveEventDataStoreException", "cloudtrail", "start-query", "--query-statement", sql)
	cliJSON(t, srv, &got, "restore-event-data-store", "--event-data-store", id)
	if got.Status != "ENABLED" {
		t.Errorf("after restore: %+v", got)
	}
	check("after restore")
	cliJSON(t, srv, nil, "stop-event-data-store-ingestion", "--event-data-store", id)
	cliJSON(t, srv, &got, "get-event-data-store", "--event-data-store", id)
	if got.Status != "STOPPED_INGESTION" {
		t.Errorf("after stop-event-data-store-ingestion: %+v", got)
	}
	// Another account does not see it.
	if res := cliRun(t, srv, OtherKey, OtherSecret, "us-east-1", "cloudtrail", "get-event-data-store", "--event-data-store", id); res.code == 0 ||
		!strings.Contains(res.stderr, "EventDataStoreNotFoundException") {
		t.Errorf("another account: exit %d %s", res.code, res.stderr)
	}
}

// TestLakeSDKConfigCaps: lake.max_result_rows keeps the first rows and
// says so; lake.max_concurrent_queries is what StartQuery is held to.
func TestLakeSDKConfigCaps(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "lake: {max_result_rows: 4, max_concurrent_queries: 1}\n"})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("capped")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Cap", 9)
	sql := "SELECT eventID FROM " + id + " WHERE eventSource = '" + lakeSource + "'"
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		t.Fatal(err)
	}
	// One query at a time: a second is refused until the first ends (or,
	// when the first has already ended, accepted).
	second, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	var d *cloudtrail.DescribeQueryOutput
	first := func() (bool, string) {
		d, err = ct.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: start.QueryId})
		return err == nil && d.QueryStatus == types.QueryStatusFinished, fmt.Sprintf("%+v %v", d, err)
	}
	if err != nil {
		if apiCode(err) != "MaxConcurrentQueriesException" {
			t.Fatalf("second query: %v", err)
		}
	} else if ended, _ := first(); !ended {
		t.Errorf("a second query was accepted while the first was %s", d.QueryStatus)
	} else {
		_ = second
	}
	testutil.WaitFor(t, 60*time.Second, first)
	if !strings.Contains(aws.ToString(d.ErrorMessage), "first 4") {
		t.Errorf("a capped query's message: %q", aws.ToString(d.ErrorMessage))
	}
	res, err := ct.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: start.QueryId})
	if err != nil || len(res.QueryResultRows) != 4 || aws.ToInt32(res.QueryStatistics.TotalResultsCount) != 4 {
		t.Fatalf("GetQueryResults: %+v %v", res, err)
	}
}

// TestLakeSDKQueryCallsFoundByStore: every query call is in event history
// under the store it concerns (LookupEvents by ResourceName), StartQuery
// with the queryId it answered; a query of another account's store names
// no store at all.
func TestLakeSDKQueryCallsFoundByStore(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bobCT := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	created, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("audited")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	bobStore, err := bobCT.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("bobs")})
	if err != nil {
		t.Fatal(err)
	}
	bobARN := aws.ToString(bobStore.EventDataStoreArn)
	bobID := bobARN[strings.LastIndexByte(bobARN, '/')+1:]

	status, _, _ := sdkQuery(t, ct, "SELECT eventID FROM "+id, 100)
	if status != types.QueryStatusFinished {
		t.Fatalf("query ended %s", status)
	}
	list, err := ct.ListQueries(ctx, &cloudtrail.ListQueriesInput{EventDataStore: aws.String(arn)})
	if err != nil || len(list.Queries) != 1 {
		t.Fatalf("ListQueries: %+v %v", list, err)
	}
	queryID := aws.ToString(list.Queries[0].QueryId)
	// Cancelling a finished query fails, and is still about the store.
	if _, err := ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(queryID)}); apiCode(err) != "InactiveQueryException" {
		t.Fatalf("CancelQuery: %v", err)
	}
	if _, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventID FROM " + bobID)}); apiCode(err) != "EventDataStoreNotFoundException" {
		t.Fatalf("query of another account's store: %v", err)
	}

	type record struct {
		ResponseElements map[string]any `json:"responseElements"`
		ErrorCode        string         `json:"errorCode"`
	}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{
			AttributeKey: types.LookupAttributeKeyResourceName, AttributeValue: aws.String(arn)}}})
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]bool{}
		for _, e := range out.Events {
			name := aws.ToString(e.EventName)
			seen[name] = true
			if len(e.Resources) != 1 || aws.ToString(e.Resources[0].ResourceName) != arn ||
				aws.ToString(e.Resources[0].ResourceType) != "AWS::CloudTrail::EventDataStore" {
				t.Fatalf("%s resources: %+v", name, e.Resources)
			}
			if name == "StartQuery" {
				var rec record
				if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil || rec.ResponseElements["queryId"] != queryID {
					t.Fatalf("StartQuery record: %+v %v, want queryId %s", rec, err, queryID)
				}
			}
		}
		for _, name := range []string{"CreateEventDataStore", "StartQuery", "DescribeQuery", "GetQueryResults", "ListQueries", "CancelQuery"} {
			if !seen[name] {
				return false, fmt.Sprintf("no %s under the store; seen %v", name, seen)
			}
		}
		return true, ""
	})
	// The refused query of Bob's store names no store: not Bob's (which
	// would tell that it exists), and nothing is found under its ARN.
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{
			AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("StartQuery")}}})
		if err != nil {
			return false, err.Error()
		}
		refused := 0
		for _, e := range out.Events {
			var rec record
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.ErrorCode != "" {
				refused++
				if len(e.Resources) != 0 || rec.ResponseElements != nil {
					t.Fatalf("refused StartQuery names %+v, responseElements %v", e.Resources, rec.ResponseElements)
				}
			}
		}
		return refused == 1, fmt.Sprintf("%d refused StartQuery records, want 1", refused)
	})
	byBob, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{
		AttributeKey: types.LookupAttributeKeyResourceName, AttributeValue: aws.String(bobARN)}}})
	if err != nil || len(byBob.Events) != 0 {
		t.Errorf("events under Bob's store in this account: %+v %v", byBob, err)
	}
}
