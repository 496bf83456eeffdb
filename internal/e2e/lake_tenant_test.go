package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// runLakeQuery starts sql and waits for it to end; it returns the query's
// ID and DescribeQuery's last answer.
func runLakeQuery(t *testing.T, ct *cloudtrail.Client, sql string) (string, *cloudtrail.DescribeQueryOutput) {
	t.Helper()
	ctx := context.Background()
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		t.Fatalf("StartQuery %.80q: %v", sql, err)
	}
	d := lakeEnd(t, ct, start.QueryId)
	return aws.ToString(start.QueryId), d
}

// tenStrings is SQL for a string of 10^n a's (n ≥ 1), a few dozen
// characters of statement per power of ten.
func tenStrings(n int) string {
	s := "'aaaaaaaaaa'"
	for range n - 1 {
		s = "replace(" + s + ", 'a', 'aaaaaaaaaa')"
	}
	return s
}

// TestLakeSDKHostileTenantBounds: through aws-sdk-go-v2 against the real
// binary, what one account can make the server build or keep is bounded,
// so that it cannot hurt the other accounts on the server:
//   - a WITH chain whose every query reads the one before twice (the SQL
//     would double per link) is refused at StartQuery with
//     InvalidQueryStatementException saying what to shorten;
//   - a regexp_replace whose result would be n×m bytes stops at the 4 MiB
//     value limit while it builds (the query FAILS naming the function;
//     the server's peak memory stays near where it was);
//   - with lake.max_kept_result_mib: 1, an account's newest results
//     remove its oldest ones (GetQueryResults on those answers
//     QueryIdNotFoundException, DescribeQuery says why), and another
//     account's results stay.
func TestLakeSDKHostileTenantBounds(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig + "lake: {max_result_mib: 1, max_kept_result_mib: 1}\n"})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	ct2 := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	store := lakeStoreID(t, ct, "tenant-store")
	store2 := lakeStoreID(t, ct2, "tenant-store-2")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Tenant", 3)
	ingestLake(t, srv, OtherKey, OtherSecret, Account2, "us-east-1", "Other", 2)
	ours := " FROM " + store + " WHERE eventSource = '" + lakeSource + "'"
	if _, d := runLakeQuery(t, ct, "SELECT count(*) AS n"+ours); d.QueryStatus != types.QueryStatusFinished {
		t.Fatalf("warm-up query: %s %s", d.QueryStatus, aws.ToString(d.ErrorMessage))
	}

	// 1. A WITH chain of 20 links, each reading the one before twice.
	chain := "WITH a0 AS (SELECT eventName FROM " + store + ")"
	for i := 1; i <= 19; i++ {
		chain += fmt.Sprintf(", a%d AS (SELECT * FROM a%d UNION ALL SELECT * FROM a%d)", i, i-1, i-1)
	}
	chain += " SELECT count(*) FROM a19 LIMIT 0"
	_, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(chain)})
	if apiCode(err) != "InvalidQueryStatementException" || !strings.Contains(err.Error(), "reads event data stores in") ||
		!strings.Contains(err.Error(), "Use each WITH query fewer times") {
		t.Errorf("StartQuery of a doubling WITH chain: %v, want InvalidQueryStatementException saying what to shorten", err)
	}

	// 2. regexp_replace of a 10,000-character string's every position by
	// a 20,000-character string: 200 MB unbounded.
	before := vmHWM(t, srv.Pid())
	s10k := tenStrings(4)
	_, d := runLakeQuery(t, ct, "SELECT length(regexp_replace("+s10k+", '', "+s10k+" || "+s10k+")) AS n"+ours+" LIMIT 1")
	if d.QueryStatus != types.QueryStatusFailed || !strings.Contains(aws.ToString(d.ErrorMessage), "regexp_replace builds is over the limit of 4 MiB") {
		t.Errorf("a regexp_replace building 200 MB ended %s with %q, want FAILED naming regexp_replace and the 4 MiB limit", d.QueryStatus, aws.ToString(d.ErrorMessage))
	}
	if after := vmHWM(t, srv.Pid()); after-before > 256<<20 {
		t.Errorf("the server's peak memory grew from %d MiB to %d MiB during the regexp_replace", before>>20, after>>20)
	}

	// 3. Kept results: 1 MiB per account; each query keeps ~400 KB.
	big := tenStrings(5)
	bigSQL := "SELECT eventID, " + big + " || " + big + " || " + big + " || " + big + " AS big"
	otherID, d := runLakeQuery(t, ct2, bigSQL+" FROM "+store2+" LIMIT 1")
	if d.QueryStatus != types.QueryStatusFinished {
		t.Fatalf("the other account's query: %s %s", d.QueryStatus, aws.ToString(d.ErrorMessage))
	}
	var ids []string
	for i := range 3 {
		id, d := runLakeQuery(t, ct, bigSQL+ours+" LIMIT 1")
		if d.QueryStatus != types.QueryStatusFinished {
			t.Fatalf("big query %d: %s %s", i, d.QueryStatus, aws.ToString(d.ErrorMessage))
		}
		ids = append(ids, id)
	}
	readBig := func(ct *cloudtrail.Client, id string) error {
		res, err := ct.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(id)})
		if err != nil {
			return err
		}
		if len(res.QueryResultRows) != 1 || len(res.QueryResultRows[0]) != 2 || len(res.QueryResultRows[0][1]["big"]) != 400_000 {
			return fmt.Errorf("%d rows, want one with a 400,000-byte big", len(res.QueryResultRows))
		}
		return nil
	}
	err = readBig(ct, ids[0])
	if apiCode(err) != "QueryIdNotFoundException" || !strings.Contains(err.Error(), "max_kept_result_mib") {
		t.Errorf("GetQueryResults of the oldest query over the account's bound: %v, want QueryIdNotFoundException naming lake.max_kept_result_mib", err)
	}
	d, err = ct.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: aws.String(ids[0])})
	if err != nil || d.QueryStatus != types.QueryStatusFinished || !strings.Contains(aws.ToString(d.ErrorMessage), "results were removed") {
		t.Errorf("DescribeQuery of the oldest query: %+v %v, want FINISHED saying its results were removed", d, err)
	}
	for _, id := range ids[1:] {
		if err := readBig(ct, id); err != nil {
			t.Errorf("GetQueryResults of a newer query %s: %v", id, err)
		}
	}
	if err := readBig(ct2, otherID); err != nil {
		t.Errorf("GetQueryResults of the other account's query: %v", err)
	}
}
