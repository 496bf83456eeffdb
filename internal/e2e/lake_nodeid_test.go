package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestLakeFillCursorOfEarlierNodeIDReleasesRetention: on the embedded
// store a data directory is one node, so the fill cursor its earlier node
// ID left (node-id removed, a new ID made at start) holds no event-log
// retention back. Old events (eventTime three days ago,
// event_history_days 1) ingested and copied under the new ID are purged
// at the next start; before the fix the earlier ID's cursor held the
// retention at its position for good.
func TestLakeFillCursorOfEarlierNodeIDReleasesRetention(t *testing.T) {
	// The store is named: the test is of the embedded store's one node.
	cfg := StandardConfig + "event_history_days: 1\nstore: {driver: sqlite}\n"
	srv := Start(t, Options{Config: cfg})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "nodeid")
	count := func(prefix string) string {
		t.Helper()
		c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
		status, rows, _ := sdkQuery(t, c, "SELECT count(*) AS n FROM "+id+" WHERE eventSource = '"+lakeSource+"' AND eventName LIKE '"+prefix+"%'", 10)
		if status != types.QueryStatusFinished || len(rows) != 1 {
			t.Fatalf("count: %s %v", status, rows)
		}
		return rows[0]["n"]
	}
	// The first node ID copies one event: its cursor is at that position.
	ingestLake(t, srv, AdminKey, AdminSecret, Account1, "us-east-1", "Warm", 1)
	if n := count("Warm"); n != "1" {
		t.Fatalf("warm-up: %s events", n)
	}
	earlier := waitCursor(t, srv, 0)
	srv.Stop(t)
	if err := os.Remove(filepath.Join(srv.DataDir, "node-id")); err != nil {
		t.Fatal(err)
	}
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
	if n := count("Old"); n != "5" {
		t.Fatalf("the store holds %s of the 5 old events", n)
	}
	// The new node ID's cursor passes the earlier one's (the old events
	// come after it).
	waitCursor(t, srv, earlier)
	srv.Stop(t)
	copied := fillCursors(t, srv.DataDir)[nodeID(t, srv.DataDir)]
	srv = Start(t, Options{Config: cfg, DataDir: srv.DataDir})
	purged := regexp.MustCompile(`retention: purged expired events" events=\d+ before=\S+ kept_after_seq=(\d+)`)
	var line []string
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		line = purged.FindStringSubmatch(srv.Log())
		return line != nil, "no retention purge in the log yet"
	})
	if kept, _ := strconv.ParseInt(line[1], 10, 64); kept < copied {
		t.Errorf("the purge at start kept the events after %d, though this node copied to %d: the earlier node ID's fill cursor still holds retention back:\n%s",
			kept, copied, grepLines(srv.Log(), "retention"))
	}
	srv.Stop(t)
	if c := fillCursors(t, srv.DataDir); len(c) != 1 {
		t.Errorf("fill cursors left: %v, want only this node's", c)
	}
}

// fillCursors reads the Lake's fill cursors (node: position) from the
// embedded store of a stopped server's data directory.
func fillCursors(t *testing.T, dataDir string) map[string]int64 {
	t.Helper()
	path := filepath.Join(dataDir, "events.db")
	db, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, doc FROM state WHERE key LIKE 'lake/cursor/%'`)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key string
		var doc []byte
		var c struct{ Seq int64 }
		if err := rows.Scan(&key, &doc); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(doc, &c); err != nil {
			t.Fatalf("cursor %s: %v", key, err)
		}
		out[strings.TrimPrefix(key, "lake/cursor/")] = c.Seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// nodeID is the node ID kept in a data directory.
func nodeID(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// waitCursor waits until the running server's node has saved a fill
// cursor past after (a main pass saves it a moment after a query's own
// fill), and returns it.
func waitCursor(t *testing.T, srv *Server, after int64) int64 {
	t.Helper()
	node := nodeID(t, srv.DataDir)
	var pos int64
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		pos = fillCursors(t, srv.DataDir)[node]
		return pos > after, fmt.Sprintf("fill cursor of %s at %d, want past %d", node, pos, after)
	})
	return pos
}
