package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// vmHWM is the peak resident memory of process pid, in bytes (Linux's
// /proc/<pid>/status VmHWM).
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestLakeSDKQueryValueTooBig: a Lake query that builds huge strings
// (nested replace, as a tenant can write in under 10,000 characters) ends
// FAILED with a message naming the limit instead of growing the server's
// memory; the server's peak memory stays near where it was, and the
// tenant's and another account's ordinary queries still run.
func TestLakeSDKQueryValueTooBig(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	store := lakeStoreID(t, ct, "mem-store")
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "LakeMem", 5)
	ours := " FROM " + store + " WHERE eventSource = '" + lakeSource + "'"
	if status, rows, _ := sdkQuery(t, ct, "SELECT count(*) AS n"+ours, 10); status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["n"] != "5" {
		t.Fatalf("warm-up query: %s %v", status, rows)
	}
	before := vmHWM(t, srv.Pid())

	// Each eventName has two e's: the inner replace makes ~6,000 e's, the
	// outer one ~18 MB per row, over the 4 MiB limit.
	es := strings.Repeat("e", 3000)
	sql := "SELECT count(DISTINCT replace(replace(eventName, 'e', '" + es + "'), 'e', eventID || '" + es + "')) AS n" + ours
	start, err := ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		t.Fatalf("StartQuery: %v", err)
	}
	d := lakeEnd(t, ct, start.QueryId)
	if d.QueryStatus != types.QueryStatusFailed || !strings.Contains(aws.ToString(d.ErrorMessage), "over the limit of 4 MiB") {
		t.Fatalf("a query building 18 MB strings ended %s with %q, want FAILED over the limit of 4 MiB", d.QueryStatus, aws.ToString(d.ErrorMessage))
	}
	if after := vmHWM(t, srv.Pid()); after-before > 256<<20 {
		t.Errorf("the server's peak memory grew from %d MiB to %d MiB during the failed query", before>>20, after>>20)
	}

	// The server is up: the same account and another account still query.
	if status, rows, _ := sdkQuery(t, ct, "SELECT count(*) AS n"+ours, 10); status != types.QueryStatusFinished || len(rows) != 1 || rows[0]["n"] != "5" {
		t.Errorf("a query after the failed one: %s %v", status, rows)
	}
	ct2 := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	store2 := lakeStoreID(t, ct2, "mem-store-2")
	if status, rows, _ := sdkQuery(t, ct2, "SELECT count(*) AS n FROM "+store2, 10); status != types.QueryStatusFinished || len(rows) != 1 {
		t.Errorf("another account's query: %s %v", status, rows)
	}
}
