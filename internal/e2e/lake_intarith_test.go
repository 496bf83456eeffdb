package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// TestLakeSDKIntegerLiterals: Lake's SQL is Trino's, where an integer
// literal that fits in 32 bits is an integer. Through aws-sdk-go-v2
// against the real binary: 2147483647 + 1 FAILS ("integer addition
// overflow: 2147483647 + 1"), as do 32-bit products, negation, abs and
// max(…) + 1 of integers, while 2147483648 + 1 and CAST(2147483647 AS
// bigint) + 1 are exact, and sum of integers is a bigint; a UNION of a
// varchar and an integer column, or an integer handed to lower(), is
// refused at StartQuery naming the type integer, and so is 0x10 (not 0
// AS x10). Also the arithmetic SQLite does its own way: round(1250, -2)
// and 5.5 % 2. And a number with a point is a decimal, as in Trino: the
// share of read-only events, count_if(readOnly) * 100.0 / count(*), is
// 66.7 (not a double's 66.66666666666667), 0.1 + 0.2 = 0.3 holds, the
// average of decimals keeps their scale, a CAST to decimal(p, s) rounds
// half up, a decimal divided by zero FAILS, and a decimal type out of
// bounds is refused at StartQuery. Trino's math functions answer too
// (sqrt, mod, truncate).
func TestLakeSDKIntegerLiterals(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "intarith")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Int", 3)
	ours := " FROM " + id + " WHERE eventSource = '" + lakeSource + "'"

	for _, c := range []struct{ sql, want string }{
		{"SELECT 2147483647 + 1 AS x" + ours, "integer addition overflow: 2147483647 + 1"},
		{"SELECT 65536 * 65536 AS x" + ours, "integer multiplication overflow: 65536 * 65536"},
		{"SELECT -(-2147483647 - 1) AS x" + ours, "integer negation overflow: -2147483648"},
		{"SELECT abs(-2147483647 - 1) AS x" + ours, "Value -2147483648 is out of range for abs(integer)"},
		{"SELECT max(2147483647) + 1 AS x" + ours, "integer addition overflow: 2147483647 + 1"},
		{"SELECT 1.0 / 0 AS x" + ours, "Division by zero"},
	} {
		lakeWantFailed(t, ct, c.sql, c.want)
	}

	for _, bad := range []struct{ sql, want string }{
		{"SELECT eventName" + ours + " UNION SELECT 1" + ours, "column 1 in UNION query has incompatible types: varchar, integer"},
		{"SELECT lower(1) AS x" + ours, "Unexpected parameters (integer) for function lower"},
		{"SELECT 0x10" + ours, "line 1:8: identifiers must not start with a digit"},
		{"SELECT CAST(1 AS decimal(39, 2))" + ours, "DECIMAL precision must be in range [1, 38]"},
	} {
		_, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(bad.sql)})
		var iq *types.InvalidQueryStatementException
		if !errors.As(err, &iq) || !strings.Contains(aws.ToString(iq.Message), bad.want) {
			t.Errorf("StartQuery %q: %v; want InvalidQueryStatementException %q", bad.sql, err, bad.want)
		}
	}

	status, rows, _ := sdkQuery(t, ct, "SELECT 2147483648 + 1 AS a, CAST(2147483647 AS bigint) + 1 AS b, -2147483648 - 1 AS c,"+
		" try(2147483647 + 1) AS d, 7 / 2 AS e, sum(2147483647) AS s, count(*) AS n, round(1250, -2) AS r, 5.5 % 2 AS m"+ours, 10)
	want := map[string]string{"a": "2147483649", "b": "2147483648", "c": "-2147483649", "d": "", "e": "3",
		"s": "6442450941", "n": "3", "r": "1300", "m": "1.5"}
	if status != types.QueryStatusFinished || len(rows) != 1 {
		t.Fatalf("in-range arithmetic: %s %v", status, rows)
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("column %s: %q, want %q", k, rows[0][k], v)
		}
	}

	status, rows, _ = sdkQuery(t, ct, "SELECT count_if(readOnly) * 100.0 / count(*) AS pct,"+
		" avg(CASE WHEN readOnly THEN 1.0 ELSE 2.0 END) AS a, 0.1 + 0.2 = 0.3 AS eq, 7.5 / 2 AS d,"+
		" CAST(2.675 AS decimal(10, 2)) AS c, CAST(0.50 AS varchar) AS v, 2.5e0 / 2 AS dbl,"+
		" sqrt(16) AS sq, mod(-7, 3) AS md, truncate(2.759, 2) AS tr"+ours, 10)
	want = map[string]string{"pct": "66.7", "a": "1.3", "eq": "true", "d": "3.8", "c": "2.68", "v": "0.50", "dbl": "1.25",
		"sq": "4.0", "md": "-1", "tr": "2.750"}
	if status != types.QueryStatusFinished || len(rows) != 1 {
		t.Fatalf("decimals: %s %v", status, rows)
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("decimal column %s: %q, want %q", k, rows[0][k], v)
		}
	}
}
