package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	_ "modernc.org/sqlite" // reads the node's lake.db, as an operator could
)

// lakeEvents is how many events store id holds in the node's lake.db (its
// fill's progress), read from the file as an operator could.
func lakeEvents(t *testing.T, srv *Server, id string) int64 {
	t.Helper()
	path := filepath.Join(srv.DataDir, "lake", "lake.db")
	db, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	err = db.QueryRow(`SELECT coalesce((SELECT events FROM lake_stores WHERE store = ?), 0)`, id).Scan(&n)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return n
}

// TestLakeQueryWaitsOnlyForItsOwnStores: a query waits, QUEUED, for the
// events acknowledged before it in ITS stores, not for another account's
// backlog. Account 1 ingests far more than the node fills meanwhile;
// account 2's one-line count over its own store finishes, with the right
// answer, while account 1's store is still being filled (its count in the
// node's lake.db is short of what was ingested). Before per-store
// progress, account 2's query waited for the node's one cursor to pass
// every event of account 1. It takes ~20 s under -race: the backlog must
// be larger than what the node fills while account 2's query runs, and
// the last query waits for all of it.
func TestLakeQueryWaitsOnlyForItsOwnStores(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bobCT := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	storeID := func(out *cloudtrail.CreateEventDataStoreOutput, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.EventDataStoreArn)
		return arn[strings.LastIndexByte(arn, '/')+1:]
	}
	aID := storeID(ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("busy-account")}))
	bID := storeID(bobCT.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("quiet-account")}))
	ingestLake(t, srv, OtherKey, OtherSecret, Account2, "us-east-1", "Quiet", 3)

	// Account 1 ingests until the node's fill of its store is well behind
	// (the fill costs more per event than ingest, so it falls behind at
	// once; the bound only stops a machine where it does not).
	const backlog, chunk, most = 20_000, 1_000, 400_000
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	ingested := 0
	for ingested-int(lakeEvents(t, srv, aID)) < backlog {
		if ingested >= most {
			t.Fatalf("after %d events the fill of account 1's store is still less than %d behind: this test needs a backlog", ingested, backlog)
		}
		var recs []map[string]any
		for i := range chunk {
			recs = append(recs, Record(fmt.Sprintf("Busy%d", ingested+i), lakeSource, "us-east-1", at,
				map[string]any{"recipientAccountId": Account1}))
		}
		if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != chunk {
			t.Fatalf("ingest: %+v", res)
		}
		ingested += chunk
	}

	// Account 2's query: it must not wait for account 1's backlog.
	status, rows, _ := sdkQuery(t, bobCT, "SELECT count(*) AS n FROM "+bID+" WHERE eventSource = '"+lakeSource+"'", 10)
	filledA := lakeEvents(t, srv, aID)
	if status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["n"] != "3" {
		t.Fatalf("account 2's query: %s %v, want FINISHED n=3", status, rows)
	}
	if filledA >= int64(ingested) {
		t.Fatalf("account 2's query finished only once account 1's store held all %d of its events (%d): it waited for another account's backlog", ingested, filledA)
	}
	t.Logf("account 2's query finished with account 1's store at %d of %d events", filledA, ingested)

	// Account 1's query still sees every event acknowledged before it.
	status, rows, _ = sdkQuery(t, ct, "SELECT count(*) AS n FROM "+aID+" WHERE eventSource = '"+lakeSource+"'", 10)
	if status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["n"] != fmt.Sprint(ingested) {
		t.Fatalf("account 1's query: %s %v, want FINISHED n=%d", status, rows, ingested)
	}
}
