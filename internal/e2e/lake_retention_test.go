package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// copyLakeFiles copies lake.db and its -wal and -shm files (those that
// exist) from one lake directory to another, removing the others there.
func copyLakeFiles(t *testing.T, from, to string) {
	t.Helper()
	for _, name := range []string{"lake.db", "lake.db-wal", "lake.db-shm"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if os.IsNotExist(err) {
			if err := os.Remove(filepath.Join(to, name)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLakeFillerHoldsEventLogRetention: events an event data store has yet
// to receive stay in the event log past the event history window, as they
// do for trail delivery. The node's lake.db is put back to a copy taken
// before old events (eventTime three days ago, event_history_days 1) were
// ingested — the filler is then behind them, as after a power cut or a
// long lag — and the server restarted, which purges expired events at
// once: the store gets them all the same.
func TestLakeFillerHoldsEventLogRetention(t *testing.T) {
	cfg := StandardConfig + "event_history_days: 1\n"
	srv := Start(t, Options{Config: cfg})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "held")
	count := func(ct2 *Server, prefix string) string {
		t.Helper()
		c := ct2.CloudTrail(AdminKey, AdminSecret, "us-east-1")
		status, rows, _ := sdkQuery(t, c, "SELECT count(*) AS n FROM "+id+" WHERE eventSource = '"+lakeSource+"' AND eventName LIKE '"+prefix+"%'", 10)
		if status != types.QueryStatusFinished || len(rows) != 1 {
			t.Fatalf("count: %s %v", status, rows)
		}
		return rows[0]["n"]
	}
	// One event filled: the filler has a position in lake.db to go back to.
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Warm", 1)
	if n := count(srv, "Warm"); n != "1" {
		t.Fatalf("warm-up: %s events", n)
	}
	srv.Stop(t)
	lakeDir, saved := filepath.Join(srv.DataDir, "lake"), t.TempDir()
	copyLakeFiles(t, lakeDir, saved)
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})

	old := time.Now().UTC().Add(-3 * 24 * time.Hour).Truncate(time.Second)
	var recs []map[string]any
	for i := range 5 {
		recs = append(recs, Record(fmt.Sprintf("Old%d", i), lakeSource, "us-east-1", old.Add(time.Duration(i)*time.Second),
			map[string]any{"recipientAccountId": Account1}))
	}
	if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != len(recs) {
		t.Fatalf("ingest: %+v", res)
	}
	if n := count(srv, "Old"); n != "5" {
		t.Fatalf("the store holds %s of the 5 old events", n)
	}
	srv.Stop(t)
	copyLakeFiles(t, saved, lakeDir)
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		return strings.Contains(srv.Log(), "retention: purged expired events"), "no retention purge in the log yet"
	})
	if n := count(srv, "Old"); n != "5" {
		t.Errorf("after the restart's purge the store holds %s of the 5 old events; the event log's retention dropped events the store had yet to receive", n)
	}
}
