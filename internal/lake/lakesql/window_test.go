package lakesql

import (
	"context"
	"errors"
	"slices"

	"strings"
	"testing"
)

// TestWindowFunctions: row_number, rank, dense_rank and aggregates over a
// window, each answer computed here from the fixture.
func TestWindowFunctions(t *testing.T) {
	db, fs := loadFixture(t)
	bySource := map[string][]*fx{}
	for _, f := range byTime(fs) {
		bySource[f.Source] = append(bySource[f.Source], f)
	}
	names := map[string]int{}
	for _, f := range fs {
		names[f.Name]++
	}
	// rank and dense_rank of each name by its count, most first.
	counts := slices.Sorted(func(yield func(int) bool) {
		seen := map[int]bool{}
		for _, n := range names {
			if !seen[n] && !yield(n) {
				return
			}
			seen[n] = true
		}
	})
	slices.Reverse(counts)
	rankOf := func(n int) (rank, dense int) {
		rank = 1
		for _, m := range names {
			if m > n {
				rank++
			}
		}
		return rank, slices.Index(counts, n) + 1
	}
	for _, c := range []struct {
		name, sql string
		want      func() [][]string
	}{
		{"row_number per partition, newest first", `SELECT eventID, row_number() OVER (PARTITION BY eventSource ORDER BY eventTime DESC, eventID) AS rn FROM $EDS_ID`, func() [][]string {
			var out [][]string
			for _, evs := range bySource {
				for i, f := range slices.Backward(evs) {
					out = append(out, []string{f.ID, itoa(int64(len(evs) - i))})
				}
			}
			return out
		}},
		{"the latest event of each source (row_number in a subquery)", `SELECT eventSource, eventID FROM (SELECT eventSource, eventID, row_number() OVER (PARTITION BY eventSource ORDER BY eventTime DESC) AS rn FROM $EDS_ID) WHERE rn = 1`, func() [][]string {
			var out [][]string
			for src, evs := range bySource {
				if len(evs) > 1 && evs[len(evs)-1].Time == evs[len(evs)-2].Time {
					panic("the fixture's latest event of " + src + " is not one")
				}
				out = append(out, []string{src, evs[len(evs)-1].ID})
			}
			return out
		}},
		{"rank and dense_rank over an aggregation", `SELECT eventName, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r, dense_rank() OVER (ORDER BY count(*) DESC) AS d FROM $EDS_ID GROUP BY eventName`, func() [][]string {
			var out [][]string
			for name, n := range names {
				r, d := rankOf(n)
				out = append(out, []string{name, itoa(int64(n)), itoa(int64(r)), itoa(int64(d))})
			}
			return out
		}},
		{"count(*) OVER a partition, and each name's share of all events", `SELECT DISTINCT eventSource, count(*) OVER (PARTITION BY eventSource) AS n, count(*) OVER () AS total FROM $EDS_ID`, func() [][]string {
			var out [][]string
			for src, evs := range bySource {
				out = append(out, []string{src, itoa(int64(len(evs))), itoa(int64(len(fs)))})
			}
			return out
		}},
		{"sum of an aggregate over the whole result", `SELECT eventSource, count(*), sum(count(*)) OVER () FROM $EDS_ID GROUP BY eventSource`, func() [][]string {
			var out [][]string
			for src, evs := range bySource {
				out = append(out, []string{src, itoa(int64(len(evs))), itoa(int64(len(fs)))})
			}
			return out
		}},
		{"lag: the previous event of the same source", `SELECT eventID, lag(eventName) OVER (PARTITION BY eventSource ORDER BY eventTime, eventID), lag(eventName, 1, 'none') OVER (PARTITION BY eventSource ORDER BY eventTime, eventID) FROM $EDS_ID`, func() [][]string {
			var out [][]string
			for _, evs := range bySource {
				for i, f := range evs {
					prev, def := "NULL", "none"
					if i > 0 {
						prev, def = evs[i-1].Name, evs[i-1].Name
					}
					out = append(out, []string{f.ID, prev, def})
				}
			}
			return out
		}},
	} {
		t.Run(c.name, func(t *testing.T) { checkRowsAnyOrder(t, db, storeID, c.sql, c.want()) })
	}
}

// TestWindowMisuse: window functions where they cannot be, or written
// wrong, are refused saying where.
func TestWindowMisuse(t *testing.T) {
	db, _ := loadFixture(t)
	for _, c := range []struct {
		sql       string
		line, col int
		msg       string
	}{
		{"SELECT eventID FROM S1 WHERE row_number() OVER (ORDER BY eventTime) = 1", 1, 30, "WHERE clause cannot contain window functions"},
		{"SELECT row_number() FROM S1", 1, 8, "Window function row_number requires an OVER clause"},
		{"SELECT upper(eventName) OVER () FROM S1", 1, 8, "Function 'upper' is not a window function"},
		{"SELECT approx_distinct(eventName) OVER () FROM S1", 1, 8, "approx_distinct is not supported as a window function"},
		{"SELECT count(DISTINCT eventName) OVER () FROM S1", 1, 8, "DISTINCT and FILTER are not supported in window functions"},
		{"SELECT row_number() OVER (ORDER BY eventTime ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM S1", 1, 46, "Window frames (ROWS …) are not supported"},
		{"SELECT rank(eventName) OVER () FROM S1", 1, 8, "Unexpected parameters for function rank: 1 arguments"},
		{"SELECT ntile(eventName) OVER () FROM S1", 1, 14, "ntile needs a positive integer literal"},
		{"SELECT lag(eventName, eventID) OVER () FROM S1", 1, 23, "the offset of lag must be an integer literal"},
		{"SELECT eventName, row_number() OVER (ORDER BY eventTime) FROM S1 GROUP BY eventName", 1, 19, "must be an aggregate expression or appear in GROUP BY clause"},
		{"SELECT max(row_number() OVER ()) FROM S1", 1, 12, "Cannot nest window functions inside aggregation"},
		{"SELECT eventName FROM S1 GROUP BY rank() OVER ()", 1, 35, "GROUP BY clause cannot contain window functions"},
		{"SELECT row_number() OVER (PARTITION eventName) FROM S1", 1, 37, "Expecting: BY"},
	} {
		st, err := Parse(c.sql)
		if err == nil {
			_, err = db.Run(context.Background(), st, RunOptions{Stores: map[string]string{"S1": "store1"}})
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v (%T), want a *SyntaxError", c.sql, err, err)
			continue
		}
		if se.Line != c.line || se.Column != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: %d:%d %q, want %d:%d %q", c.sql, se.Line, se.Column, se.Msg, c.line, c.col, c.msg)
		}
	}
}
