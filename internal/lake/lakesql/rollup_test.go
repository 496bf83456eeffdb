package lakesql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// rollupBase is the start of the hour the rollup fixture's events cluster
// around.
var rollupBase = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// rollupEvents makes n events around rollupBase: many on hour edges (the
// first and last millisecond of an hour), the rest anywhere in six hours,
// with dimensions that are sometimes missing, null or not strings.
func rollupEvents(r *rand.Rand, from, n int) []*event.Event {
	names := []string{`"GetObject"`, `"PutObject"`, `"ListBuckets"`, `null`, `12`, ``}
	sources := []string{`"s3.amazonaws.com"`, `"iam.amazonaws.com"`, ``}
	regions := []string{`"us-east-1"`, `"eu-west-1"`, `"us-west-2"`, `null`}
	accounts := []string{`"111111111111"`, `"222222222222"`, ``}
	var evs []*event.Event
	for i := from; i < from+n; i++ {
		h := time.Duration(r.IntN(6)-2) * time.Hour
		var at time.Time
		switch r.IntN(4) {
		case 0:
			at = rollupBase.Add(h)
		case 1:
			at = rollupBase.Add(h - time.Millisecond)
		case 2:
			at = rollupBase.Add(h + time.Duration(r.IntN(3))*time.Millisecond)
		default:
			at = rollupBase.Add(h + time.Duration(r.Int64N(int64(time.Hour))).Truncate(time.Millisecond))
		}
		var b strings.Builder
		b.WriteString(`{"eventVersion":"1.09"`)
		member := func(name, v string) {
			if v != "" {
				b.WriteString(`,"` + name + `":` + v)
			}
		}
		member("eventName", names[r.IntN(len(names))])
		member("eventSource", sources[r.IntN(len(sources))])
		member("awsRegion", regions[r.IntN(len(regions))])
		member("recipientAccountId", accounts[r.IntN(len(accounts))])
		id := fmt.Sprintf("ev-%05d", i)
		member("eventID", `"`+id+`"`)
		member("eventTime", `"`+at.Format(time.RFC3339Nano)+`"`)
		b.WriteString(strings.Repeat(" ", r.IntN(50)) + "}")
		evs = append(evs, &event.Event{ID: id, Time: at, Record: []byte(b.String())})
	}
	return evs
}

// checkRollups compares every rollup level with the one computed afresh from
// lake_events.
func checkRollups(t *testing.T, db *DB) {
	t.Helper()
	var qs []string
	for _, l := range rollupLevels {
		fresh := "SELECT * FROM (" + l.selectEvents("store", "lake_events", "true") + ")"
		kept := "SELECT store, " + strings.Join(l.key(), ", ") + ", n, bytes FROM " + l.table
		qs = append(qs, kept+" EXCEPT "+fresh, fresh+" EXCEPT "+kept)
	}
	for i, sq := range qs {
		var n int
		if err := db.w.QueryRow(`SELECT count(*) FROM (` + sq + `)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("rollups and events differ (%d rows, direction %d)", n, i)
		}
	}
}

// rollupQueries are statements the rollups answer (most of them) or must
// leave alone, over store S, with hour-edge bounds.
func rollupQueries() []string {
	edges := []string{"2026-03-10 12:00:00", "2026-03-10 11:59:59.999", "2026-03-10 12:00:00.001", "2026-03-10 13:30:00",
		"2026-03-10 10:00:00.002", "2026-03-10 15:00:00", "2026-03-10 14:59:59.999"}
	var bounds []string
	for i, lo := range edges {
		hi := edges[(i+3)%len(edges)]
		bounds = append(bounds,
			fmt.Sprintf("eventTime > '%s'", lo),
			fmt.Sprintf("eventTime >= '%s'", lo),
			fmt.Sprintf("eventTime < '%s'", lo),
			fmt.Sprintf("eventTime <= '%s'", lo),
			fmt.Sprintf("eventTime = '%s'", lo),
			fmt.Sprintf("eventTime >= '%s' AND eventTime < '%s'", lo, hi),
			fmt.Sprintf("eventTime > '%s' AND eventTime <= '%s'", lo, hi),
			fmt.Sprintf("eventTime BETWEEN '%s' AND '%s'", lo, hi),
			fmt.Sprintf("TIMESTAMP '%s' < eventTime AND eventTime > '%s'", lo, hi),
		)
	}
	bounds = append(bounds, "true", "eventTime > now() - interval '3' hour", "eventTime >= date_add('hour', -2, now()) AND eventTime < now()")
	shapes := []string{
		"SELECT eventName, count(*) AS n FROM S WHERE %s GROUP BY eventName",
		"SELECT count(*) FROM S WHERE %s",
		"SELECT awsRegion, recipientAccountId, count(*), count(eventName), count(DISTINCT eventSource) FROM S WHERE %s GROUP BY 1, 2",
		"SELECT eventSource, count_if(awsRegion = 'us-east-1'), min(eventName), max(awsRegion), approx_distinct(recipientAccountId) FROM S WHERE %s AND eventName IS NOT NULL GROUP BY eventSource",
		"SELECT eventName, count(*) FILTER (WHERE awsRegion LIKE 'us-%%') AS us FROM S WHERE %s AND eventSource = 's3.amazonaws.com' GROUP BY eventName HAVING count(*) > 1 ORDER BY us DESC, eventName LIMIT 3",
		"SELECT DISTINCT awsRegion FROM S WHERE %s AND eventName IN ('GetObject', '12')",
		"SELECT eventName FROM S WHERE %s AND (awsRegion IS NULL OR recipientAccountId IS NULL) GROUP BY eventName",
		// Left alone: eventTime outside the bounds, another column, sum.
		"SELECT date_trunc('hour', eventTime), count(*) FROM S WHERE %s GROUP BY 1",
		"SELECT eventName, count(*), max(eventTime) FROM S WHERE %s GROUP BY eventName",
		"SELECT eventName, count(*) FROM S WHERE %s OR eventName = 'PutObject' GROUP BY eventName",
		"SELECT eventName, sum(1) FROM S WHERE %s GROUP BY eventName",
	}
	var out []string
	for _, sh := range shapes {
		for _, b := range bounds {
			out = append(out, fmt.Sprintf(sh, b))
		}
	}
	return out
}

// runBoth runs q with the rollups and without, and fails when the answers
// differ; it reports whether the rollups were used.
func runBoth(t *testing.T, db *DB, q string, now time.Time) bool {
	t.Helper()
	st, err := Parse(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	opts := RunOptions{Stores: map[string]string{"S": "store1"}, Now: now}
	answer := func(off bool) []string {
		db.noRollups = off
		defer func() { db.noRollups = false }()
		res, err := db.Run(context.Background(), st, opts)
		if err != nil {
			t.Fatalf("%s (rollups off: %t): %v", q, off, err)
		}
		var rows []string
		for _, r := range res.Rows {
			var cells []string
			for _, c := range r {
				if c == nil {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, *c)
				}
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
		if !strings.Contains(q, "ORDER BY") {
			slices.Sort(rows)
		}
		return rows
	}
	with, without := answer(false), answer(true)
	if !slices.Equal(with, without) {
		t.Errorf("%s:\n with rollups    %q\n without rollups %q", q, with, without)
	}
	cq, err := compile(st, sqliteDialect{}, map[string]int64{"S": 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(cq.sql, "FROM lake_rollups") || strings.Contains(cq.sql, "FROM lake_hours")
}

// TestRollupsAnswerAsTheEvents runs many aggregates over events on hour
// edges with the rollups and without, and requires the same answers; the
// rollups must be used where they can be and left alone where they
// cannot, and stay equal to the events through inserts (duplicates
// included), retention deletes and dropping another store.
func TestRollupsAnswerAsTheEvents(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 20))
	all := rollupEvents(r, 0, 1500)
	for i := 0; i < len(all); i += 250 {
		batch := all[i:min(i+250, len(all))]
		if i > 0 {
			batch = append(batch, all[i-40:i]...) // already in the store
		}
		if err := db.Insert(ctx, "store1", batch); err != nil {
			t.Fatal(err)
		}
		if err := db.Insert(ctx, "other", batch[:100]); err != nil {
			t.Fatal(err)
		}
	}
	checkRollups(t, db)
	now := rollupBase.Add(90*time.Minute + 17*time.Second)
	check := func() {
		used, plain := 0, 0
		for _, q := range rollupQueries() {
			if runBoth(t, db, q, now) {
				used++
				if strings.Contains(q, "date_trunc") || strings.Contains(q, "max(eventTime)") || strings.Contains(q, "eventTime") && strings.Contains(q, " OR eventName") || strings.Contains(q, "sum(1)") {
					t.Errorf("the rollups answered %s", q)
				}
			} else {
				plain++
			}
		}
		if want := 7*66 + 1; used != want {
			t.Errorf("the rollups answered %d queries, want %d (%d not)", used, want, plain)
		}
	}
	check()
	// Retention cuts an hour in two; another store goes.
	if _, err := db.DeleteBefore(ctx, "store1", rollupBase.Add(-90*time.Minute+time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteBefore(ctx, "store1", rollupBase.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.DropStore(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, db)
	check()
}

// TestRollupsBuiltForAnOlderDatabase: a lake.db made before the rollups
// (or with some of them missing or keyed otherwise) gets them, from its
// events, when opened.
func TestRollupsBuiltForAnOlderDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lake.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(context.Background(), "store1", rollupEvents(rand.New(rand.NewPCG(1, 1)), 0, 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`DROP TABLE lake_rollups; DROP TABLE lake_rollups_names; DROP TABLE lake_hours`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, db)
	// lake_hours missing; lake_rollups keyed otherwise (and empty).
	if _, err := db.w.Exec(`DROP TABLE lake_hours; DROP TABLE lake_rollups; CREATE TABLE lake_rollups (store INTEGER NOT NULL,
		event_name TEXT NOT NULL, event_source TEXT NOT NULL, aws_region TEXT NOT NULL, account TEXT NOT NULL, hour INTEGER NOT NULL,
		n INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (store, event_name, event_source, aws_region, account, hour)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkRollups(t, db)
	var n int
	if err := db.w.QueryRow(`SELECT sum(n) FROM lake_rollups`).Scan(&n); err != nil || n != 300 {
		t.Fatalf("rollups count %d events (%v), want 300", n, err)
	}
}
