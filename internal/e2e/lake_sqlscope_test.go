package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// TestLakeSDKSetOperationsAndWithScoping: through aws-sdk-go-v2 against
// the real binary, ORDER BY and LIMIT after a set operation apply to the
// whole operation, and a WITH query is visible, as in Trino, in later WITH
// queries, subqueries and set operations — while a WITH query named like
// another account's store reads the WITH query, and that store named
// outside the WITH's scope stays refused.
func TestLakeSDKSetOperationsAndWithScoping(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	store := lakeStoreID(t, ct, "scope-store")
	bobStore := lakeStoreID(t, srv.CloudTrail(OtherKey, OtherSecret, "us-east-1"), "bob-store")

	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var recs []map[string]any
	for i := range 6 {
		recs = append(recs, Record(fmt.Sprintf("Scope%d", i%2), lakeSource, "us-east-1", at.Add(time.Duration(i)*time.Second),
			map[string]any{"recipientAccountId": Account1}))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
	ours := "eventSource = '" + lakeSource + "'"
	col := func(what, sql, name string) []string {
		t.Helper()
		status, rows, _ := sdkQuery(t, ct, sql, 50)
		if status != types.QueryStatusFinished {
			t.Fatalf("%s: the query ended %s", what, status)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r[name])
		}
		return out
	}
	check := func(what, sql, name string, want []string) {
		t.Helper()
		if got := col(what, sql, name); !slices.Equal(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
		}
	}

	x := "SELECT eventID FROM " + store + " WHERE " + ours + " AND eventName = 'Scope0'"
	check("X EXCEPT X ORDER BY 1 LIMIT 2", x+" EXCEPT "+x+" ORDER BY 1 LIMIT 2", "eventID", nil)
	all := col("all IDs", "SELECT eventID FROM "+store+" WHERE "+ours, "eventID")
	slices.Sort(all)
	if len(all) != 6 {
		t.Fatalf("%d events, want 6", len(all))
	}
	check("UNION ALL ORDER BY 1 LIMIT 4", x+" UNION ALL SELECT eventID FROM "+store+" WHERE "+ours+" AND eventName = 'Scope1' ORDER BY 1 LIMIT 4",
		"eventID", all[:4])

	three := []string{"3"}
	xcte := "WITH x AS (" + x + ") "
	check("a later WITH query", xcte[:len(xcte)-1]+", y AS (SELECT * FROM x) SELECT count(*) AS n FROM y", "n", three)
	check("IN (subquery)", xcte+"SELECT count(*) AS n FROM "+store+" WHERE eventID IN (SELECT eventID FROM x)", "n", three)
	check("FROM (subquery)", xcte+"SELECT count(*) AS n FROM (SELECT * FROM x)", "n", three)
	check("set operation", xcte+"SELECT eventID FROM "+store+" WHERE "+ours+" EXCEPT SELECT eventID FROM x ORDER BY 1 LIMIT 1",
		"eventID", col("Scope1 IDs", "SELECT eventID FROM "+store+" WHERE "+ours+" AND eventName = 'Scope1' ORDER BY 1 LIMIT 1", "eventID"))

	// A WITH query named like Bob's store is the WITH query.
	q := `WITH "` + bobStore + `" AS (` + x + `) SELECT count(*) AS n FROM "` + bobStore + `"`
	check("a WITH query named like another account's store", q, "n", three)
	// Bob's store named outside that WITH is Bob's store: refused.
	for _, bad := range []string{
		`SELECT count(*) AS n FROM (WITH "` + bobStore + `" AS (` + x + `) SELECT * FROM "` + bobStore + `") UNION ALL SELECT count(*) FROM "` + bobStore + `"`,
		`WITH "` + bobStore + `" AS (SELECT eventID FROM "` + bobStore + `") SELECT count(*) AS n FROM "` + bobStore + `"`,
	} {
		if _, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(bad)}); apiCode(err) != "EventDataStoreNotFoundException" {
			t.Errorf("StartQuery %q: %v, want EventDataStoreNotFoundException", bad, err)
		}
	}
}
