package lakesql

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestStatsCountWhatTheQueryReads checks DescribeQuery's statistics
// against answers computed here from the events: EventsScanned and
// BytesScanned are the events within each SELECT's eventTime bounds and
// their records' bytes, EventsMatched the events its FROM and WHERE select,
// with the rollups and without.
func TestStatsCountWhatTheQueryReads(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	evs := rollupEvents(rand.New(rand.NewPCG(3, 4)), 0, 800)
	if err := db.Insert(ctx, "store1", evs); err != nil {
		t.Fatal(err)
	}
	type ev struct {
		t      time.Time
		name   string
		region any
		size   int
	}
	var all []ev
	for _, e := range evs {
		var r struct {
			EventName any
			AwsRegion any
		}
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Fatal(err)
		}
		name, _ := r.EventName.(string)
		all = append(all, ev{t: e.Time, name: name, region: r.AwsRegion, size: len(e.Record)})
	}
	a, b := rollupBase.Add(-time.Hour+time.Millisecond), rollupBase.Add(2*time.Hour)
	ts := func(x time.Time) string { return x.Format("2006-01-02 15:04:05.000") }
	count := func(keep func(ev) bool) (n, bytes int64) {
		for _, e := range all {
			if keep(e) {
				n++
				bytes += int64(e.size)
			}
		}
		return
	}
	inAB := func(e ev) bool { return !e.t.Before(a) && e.t.Before(b) }
	afterA := func(e ev) bool { return e.t.After(a) }
	everything := func(ev) bool { return true }
	scanAB, bytesAB := count(inAB)
	scanAfter, bytesAfter := count(afterA)
	scanAll, bytesAll := count(everything)
	matchedGet, _ := count(func(e ev) bool { return afterA(e) && e.name == "GetObject" })
	cases := []struct {
		sql                      string
		maxRows                  int
		matched, scanned, nbytes int64
	}{
		{fmt.Sprintf("SELECT eventName, count(*) FROM S WHERE eventTime >= '%s' AND eventTime < '%s' GROUP BY eventName", ts(a), ts(b)),
			0, scanAB, scanAB, bytesAB},
		{fmt.Sprintf("SELECT eventName, count(*) FROM S WHERE eventTime >= '%s' AND eventTime < '%s' AND awsRegion = 'us-east-1' GROUP BY eventName ORDER BY 2 DESC LIMIT 1", ts(a), ts(b)),
			0, func() int64 { n, _ := count(func(e ev) bool { return inAB(e) && e.region == "us-east-1" }); return n }(), scanAB, bytesAB},
		{fmt.Sprintf("SELECT eventID FROM S WHERE eventTime > '%s' AND eventName = 'GetObject'", ts(a)), 0, matchedGet, scanAfter, bytesAfter},
		{fmt.Sprintf("SELECT eventID FROM S WHERE eventTime > '%s' AND eventName = 'GetObject'", ts(a)), 3, matchedGet, scanAfter, bytesAfter},
		{fmt.Sprintf("SELECT eventID FROM S WHERE eventTime > '%s' AND eventName = 'GetObject' LIMIT 2", ts(a)), 0, matchedGet, scanAfter, bytesAfter},
		{fmt.Sprintf("SELECT eventName, count(*) FROM S WHERE eventTime > '%s' GROUP BY eventName HAVING count(*) > 1000", ts(a)), 0, scanAfter, scanAfter, bytesAfter},
		{fmt.Sprintf("SELECT DISTINCT eventName FROM S WHERE eventTime > '%s' AND eventName = 'GetObject'", ts(a)), 0, matchedGet, scanAfter, bytesAfter},
		{"SELECT count(*) FROM S", 0, scanAll, scanAll, bytesAll},
		{"SELECT eventName, count(*) FROM S WHERE eventTime < '2000-01-01 00:00:00' GROUP BY eventName", 0, 0, 0, 0},
		// An aggregate whose LIMIT or OFFSET leaves no row still matched
		// the events its FROM and WHERE select.
		{fmt.Sprintf("SELECT eventName, count(*) FROM S WHERE eventTime >= '%s' AND eventTime < '%s' GROUP BY eventName ORDER BY 2 DESC LIMIT 0", ts(a), ts(b)),
			0, scanAB, scanAB, bytesAB},
		{fmt.Sprintf("SELECT eventName, count(*) FROM S WHERE eventTime >= '%s' AND eventTime < '%s' GROUP BY eventName OFFSET 1000", ts(a), ts(b)),
			0, scanAB, scanAB, bytesAB},
		{fmt.Sprintf("SELECT count(*) FROM S WHERE eventTime >= '%s' AND eventTime < '%s' OFFSET 1", ts(a), ts(b)),
			0, scanAB, scanAB, bytesAB},
		// UNNEST adds no store: the store's eventTime bounds still hold.
		// (No fixture event has resources, so no row is matched.)
		{fmt.Sprintf("SELECT eventID, r FROM S CROSS JOIN UNNEST(resources) AS t(r) WHERE eventTime > '%s'", ts(a)), 0, 0, scanAfter, bytesAfter},
		{fmt.Sprintf("SELECT count(*) FROM S, UNNEST(resources) AS t(r) WHERE eventTime >= '%s' AND eventTime < '%s'", ts(a), ts(b)), 0, 0, scanAB, bytesAB},
		// A join scans its stores whole; it matches the rows WHERE keeps.
		{fmt.Sprintf("SELECT count(*) FROM S x JOIN S y ON x.eventID = y.eventID WHERE x.eventTime > '%s'", ts(a)), 0, scanAfter, 2 * scanAll, 2 * bytesAll},
		// A subquery counts as a SELECT of its own.
		{fmt.Sprintf("SELECT count(*) FROM S WHERE eventName IN (SELECT eventName FROM S WHERE eventTime > '%s' AND eventName = 'GetObject')", ts(a)),
			0, func() int64 { n, _ := count(func(e ev) bool { return e.name == "GetObject" }); return n + matchedGet }(), scanAll + scanAfter, bytesAll + bytesAfter},
	}
	for _, tc := range cases {
		st, err := Parse(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []bool{false, true} {
			db.noRollups = off
			res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"S": "store1"}, MaxRows: tc.maxRows})
			db.noRollups = false
			if err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			if s := res.Stats; s.EventsMatched != tc.matched || s.EventsScanned != tc.scanned || s.BytesScanned != tc.nbytes {
				t.Errorf("%s (max rows %d, rollups off %t): matched %d scanned %d bytes %d, want %d %d %d", tc.sql, tc.maxRows, off,
					s.EventsMatched, s.EventsScanned, s.BytesScanned, tc.matched, tc.scanned, tc.nbytes)
			}
		}
	}
}
