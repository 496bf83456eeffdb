package e2e

import (
	"context"
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

// engineWords are SQLite's wording and Cairn's internal table and function
// names: none may reach a user in an error message.
var engineWords = []string{"SQL logic error", "sqlite", "SQLITE", "lake_", "integer overflow", "(1)", "Expression tree"}

// lakeWantFailed runs sql with StartQuery and wants the query to end
// FAILED with a message that has want and none of engineWords.
func lakeWantFailed(t *testing.T, ct *cloudtrail.Client, sql, want string) {
	t.Helper()
	start, err := ct.StartQuery(context.Background(), &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		t.Errorf("StartQuery %q: %v", sql, err)
		return
	}
	d := lakeEnd(t, ct, start.QueryId)
	if d.QueryStatus != types.QueryStatusFailed || !strings.Contains(aws.ToString(d.ErrorMessage), want) {
		t.Errorf("%s: %s %q; want FAILED with %q", sql, d.QueryStatus, aws.ToString(d.ErrorMessage), want)
	}
	noEngineWords(t, sql, aws.ToString(d.ErrorMessage))
}

// noEngineWords fails t if msg, a message users see (what says where),
// has any of engineWords.
func noEngineWords(t *testing.T, what, msg string) {
	t.Helper()
	for _, w := range engineWords {
		if strings.Contains(msg, w) {
			t.Errorf("%s: the message %q has the engine's %q", what, msg, w)
		}
	}
}

// TestLakeSDKQueryErrorsInLakesTerms: what a user (or a hostile tenant)
// gets for statements that overflow, misuse window functions, nest too
// deeply or put a LIMIT on a non-last SELECT of a UNION: the model's
// InvalidQueryStatementException when the statement is at fault, found at
// StartQuery; a FAILED query saying what went wrong in Lake's (Trino's)
// terms when a value is; never SQLite's wording or Cairn's internal
// names; no bigint result that silently wraps or turns into a float. A
// query cancelled or timed out while it ran reports the time it ran.
func TestLakeSDKQueryErrorsInLakesTerms(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "lake: {query_timeout: 3s}\n"})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "errors")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Err", 12)
	ours := " FROM " + id + " WHERE eventSource = '" + lakeSource + "'"

	// Refused at StartQuery, saying where and why.
	for _, bad := range []struct{ sql, want string }{
		{"SELECT 1" + strings.Repeat(" + 1", 300) + ours, "too deeply nested"},
		{"SELECT eventName, ntile(0) OVER (ORDER BY eventTime) AS n" + ours, "line 1:25: Buckets must be greater than 0"},
		{"SELECT lag(eventName, -1) OVER (ORDER BY eventTime) AS p" + ours, "line 1:23: Offset must be at least 0"},
		{"SELECT lead(eventName, -2, 'none') OVER (ORDER BY eventTime) AS p" + ours, "line 1:24: Offset must be at least 0"},
		{"SELECT eventName" + ours + " LIMIT 1 UNION SELECT eventName" + ours, fmt.Sprintf("line 1:%d: LIMIT is allowed only after the last SELECT", len("SELECT eventName"+ours)+2)},
		{"SELECT eventName" + ours + " ORDER BY eventName UNION ALL SELECT eventName" + ours, "ORDER BY is allowed only after the last SELECT"},
		{"SELECT eventName" + ours + " EXCEPT SELECT eventName" + ours + " LIMIT 2 INTERSECT SELECT eventName" + ours, "LIMIT is allowed only after the last SELECT"},
	} {
		_, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(bad.sql)})
		var iq *types.InvalidQueryStatementException
		if !errors.As(err, &iq) || !strings.Contains(aws.ToString(iq.Message), bad.want) {
			t.Errorf("StartQuery %.90q: %v; want InvalidQueryStatementException %q", bad.sql, err, bad.want)
			continue
		}
		noEngineWords(t, bad.sql, aws.ToString(iq.Message))
	}

	// Values out of bigint's range: the query FAILS, saying which operation
	// overflowed, as Trino does.
	const maxBig = "9223372036854775807"
	for _, c := range []struct{ sql, want string }{
		{"SELECT " + maxBig + " + length(eventName) AS x" + ours, "bigint addition overflow"},
		{"SELECT -" + maxBig + " - length(eventName) AS x" + ours, "bigint subtraction overflow"},
		{"SELECT " + maxBig + " * length(eventName) AS x" + ours, "bigint multiplication overflow"},
		{"SELECT -(-" + maxBig + " - 1 + length(eventName) - length(eventName)) AS x" + ours, "bigint negation overflow"},
		{"SELECT abs(-" + maxBig + " - 1 + length(eventName) - length(eventName)) AS x" + ours, "out of range for abs(bigint)"},
		{"SELECT sum(" + maxBig + " - length(eventName)) AS x" + ours, "bigint addition overflow"},
		{"SELECT sum(" + maxBig + " - length(eventName)) OVER (ORDER BY eventTime) AS x" + ours, "bigint addition overflow"},
		// The smallest bigint / -1, a CAST out of the type's range, a
		// timestamp outside years 1 to 9999, integer (CAST) arithmetic
		// out of 32 bits: SQLite would wrap, clamp or widen.
		{"SELECT (-" + maxBig + " - 1) / -1 AS x" + ours + " LIMIT 1", "bigint division overflow: -9223372036854775808 / -1"},
		{"SELECT CAST(1e30 AS bigint) AS x" + ours + " LIMIT 1", "Out of range for bigint: 1.0E30"},
		{"SELECT CAST(3000000000 AS integer) AS x" + ours + " LIMIT 1", "Out of range for integer: 3000000000"},
		{"SELECT date_add('day', " + maxBig + ", eventTime) AS x" + ours + " LIMIT 1", "timestamp out of range (years 1 to 9999)"},
		{"SELECT eventTime + INTERVAL '999999999' DAY AS x" + ours + " LIMIT 1", "timestamp out of range (years 1 to 9999)"},
		{"SELECT date_add('year', 10000, eventTime) AS x" + ours + " LIMIT 1", "timestamp out of range (years 1 to 9999)"},
		{"SELECT CAST(2147483647 AS integer) + CAST(1 AS integer) AS x" + ours + " LIMIT 1", "integer addition overflow: 2147483647 + 1"},
	} {
		lakeWantFailed(t, ct, c.sql, c.want)
	}
	// Within range, and inside try(), the answers are exact.
	status, rows, _ := sdkQuery(t, ct, "SELECT "+maxBig+" - length(eventName) + 1 AS x, try("+maxBig+" + length(eventName)) AS y, abs(-"+maxBig+") AS z"+ours+" AND eventName = 'Err1'", 10)
	if status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["x"] != "9223372036854775804" || rows[0]["y"] != "" || rows[0]["z"] != maxBig {
		t.Errorf("in-range arithmetic: %s %v", status, rows)
	}
	status, rows, _ = sdkQuery(t, ct, "SELECT (-"+maxBig+" - 1) % -1 AS m, TRY_CAST(1e30 AS bigint) AS c, CAST(2147483646 AS integer) + 1 AS i, try(date_add('day', "+maxBig+", eventTime)) AS d"+ours+" AND eventName = 'Err1'", 10)
	if status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["m"] != "0" || rows[0]["c"] != "" || rows[0]["i"] != "2147483647" || rows[0]["d"] != "" {
		t.Errorf("in-range division, CAST, integer and timestamp arithmetic: %s %v", status, rows)
	}

	// A SELECT in parentheses keeps its own ORDER BY and LIMIT.
	status, rows, _ = sdkQuery(t, ct, "(SELECT eventName"+ours+" ORDER BY eventName LIMIT 1) UNION ALL (SELECT eventName"+ours+" ORDER BY eventName DESC LIMIT 1) ORDER BY eventName", 10)
	var got []string
	for _, r := range rows {
		got = append(got, r["eventName"])
	}
	if status != types.QueryStatusFinished || !slices.Equal(got, []string{"Err0", "Err9"}) {
		t.Errorf("parenthesized branches: %s %v; want [Err0 Err9]", status, got)
	}

	// A query cancelled while it runs reports the time it ran; so does one
	// that runs out of time (query_timeout 3s).
	heavy := fmt.Sprintf("SELECT count(*) FROM %[1]s a CROSS JOIN %[1]s b CROSS JOIN %[1]s c CROSS JOIN %[1]s d CROSS JOIN %[1]s e CROSS JOIN %[1]s f WHERE a.eventName <> f.eventSource", id)
	cancelled, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(heavy)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		st, err := lakeStatuses(ct, []string{aws.ToString(cancelled.QueryId)})
		return err == nil && st[0] == types.QueryStatusRunning, fmt.Sprintf("%v %v", st, err)
	})
	if _, err := ct.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: cancelled.QueryId}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		d, err := ct.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: cancelled.QueryId})
		if err != nil || d.QueryStatus != types.QueryStatusCancelled || d.QueryStatistics == nil {
			return false, fmt.Sprintf("%+v %v", d, err)
		}
		ms := aws.ToInt32(d.QueryStatistics.ExecutionTimeInMillis)
		return ms > 0, fmt.Sprintf("a cancelled query's ExecutionTimeInMillis is %d", ms)
	})
	// (A query that waited out query_timeout for a slot while the cancelled
	// one was stopping never ran: it is started again.)
	var d *cloudtrail.DescribeQueryOutput
	for attempt := 0; attempt < 3; attempt++ {
		timedOut, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(heavy)})
		if err != nil {
			t.Fatal(err)
		}
		if d = lakeEnd(t, ct, timedOut.QueryId); !strings.Contains(aws.ToString(d.ErrorMessage), "did not run") {
			break
		}
	}
	if d.QueryStatus != types.QueryStatusTimedOut || d.QueryStatistics == nil || aws.ToInt32(d.QueryStatistics.ExecutionTimeInMillis) < 3000 {
		t.Errorf("a query past query_timeout: %s %d ms; want TIMED_OUT having run at least 3000 ms (%q)", d.QueryStatus, aws.ToInt32(d.QueryStatistics.ExecutionTimeInMillis), aws.ToString(d.ErrorMessage))
	}
}
