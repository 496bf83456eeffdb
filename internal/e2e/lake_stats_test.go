package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestLakeSDKQueryStatistics: DescribeQuery's statistics say what the
// query read, computed here from the events ingested: EventsScanned and
// BytesScanned are the store's events within the query's eventTime bounds
// and the bytes of their records (as LookupEvents gives each record),
// EventsMatched the events its WHERE selects — not the result's rows, not
// the whole store.
func TestLakeSDKQueryStatistics(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "stats")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Stat", 12)

	// Each event's time and stored record, from event history.
	times := map[string]time.Time{}
	sizes := map[string]int64{}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		for i := range 12 {
			name := fmt.Sprintf("Stat%d", i)
			if _, ok := times[name]; ok {
				continue
			}
			out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{
				AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
			if err != nil || len(out.Events) != 1 {
				return false, fmt.Sprintf("%s: %v %v", name, out, err)
			}
			times[name] = aws.ToTime(out.Events[0].EventTime)
			sizes[name] = int64(len(aws.ToString(out.Events[0].CloudTrailEvent)))
		}
		return true, ""
	})
	// Between Stat2 and Stat9 (Stat10's time excluded), Stat5 left out:
	// 8 events scanned, 7 matched.
	from, to := times["Stat2"].UTC().Format("2006-01-02 15:04:05"), times["Stat10"].UTC().Format("2006-01-02 15:04:05")
	var scanned, bytes int64
	for name, at := range times {
		if !at.Before(times["Stat2"]) && at.Before(times["Stat10"]) {
			scanned++
			bytes += sizes[name]
		}
	}
	if scanned != 8 {
		t.Fatalf("%d events between Stat2 and Stat10: %v", scanned, times)
	}
	where := fmt.Sprintf("WHERE eventTime >= '%s' AND eventTime < '%s' AND eventName <> 'Stat5'", from, to)
	for _, q := range []struct {
		sql  string
		rows int32
	}{
		{"SELECT count(*) AS n FROM " + id + " " + where, 1},
		{"SELECT eventName, count(*) AS n FROM " + id + " " + where + " GROUP BY eventName ORDER BY n DESC LIMIT 2", 2},
		{"SELECT eventName, eventID FROM " + id + " " + where + " ORDER BY eventName LIMIT 3", 3},
		{"SELECT eventName, eventID FROM " + id + " " + where, 7},
	} {
		start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(q.sql)})
		if err != nil {
			t.Fatalf("StartQuery %q: %v", q.sql, err)
		}
		d := lakeEnd(t, ct, start.QueryId)
		if d.QueryStatus != types.QueryStatusFinished || d.QueryStatistics == nil {
			t.Fatalf("%s: %s %s", q.sql, d.QueryStatus, aws.ToString(d.ErrorMessage))
		}
		s := d.QueryStatistics
		if aws.ToInt64(s.EventsMatched) != 7 || aws.ToInt64(s.EventsScanned) != scanned || aws.ToInt64(s.BytesScanned) != bytes {
			t.Errorf("%s: EventsMatched %d, EventsScanned %d, BytesScanned %d; want 7, %d, %d", q.sql,
				aws.ToInt64(s.EventsMatched), aws.ToInt64(s.EventsScanned), aws.ToInt64(s.BytesScanned), scanned, bytes)
		}
		res, err := ct.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: start.QueryId})
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		if rs := res.QueryStatistics; aws.ToInt32(rs.TotalResultsCount) != q.rows || aws.ToInt64(rs.BytesScanned) != bytes {
			t.Errorf("%s: GetQueryResults: %d rows, BytesScanned %d; want %d, %d", q.sql, aws.ToInt32(rs.TotalResultsCount), aws.ToInt64(rs.BytesScanned), q.rows, bytes)
		}
	}
}
