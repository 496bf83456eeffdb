package lakesql

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestGroupingSets: GROUP BY ROLLUP, CUBE and GROUPING SETS (also mixed
// with plain terms) give a row per group of each set, the expressions a
// set leaves out NULL (but not inside aggregates), grouping(…) the bits
// of those left out, HAVING per group and ORDER BY/LIMIT over the whole;
// against answers counted here.
func TestGroupingSets(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	rows := func(sql string) []string {
		t.Helper()
		res, err := run(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out []string
		for _, r := range project(t, res, nil) {
			out = append(out, strings.Join(r, "|"))
		}
		return out
	}
	count := func(key func(*fx) string) map[string]int {
		m := map[string]int{}
		for _, f := range fs {
			m[key(f)]++
		}
		return m
	}
	lines := func(m map[string]int, suffix string) []string {
		var out []string
		for k, n := range m {
			out = append(out, fmt.Sprintf("%s|%d%s", k, n, suffix))
		}
		return out
	}
	same := func(what string, got, want []string) {
		t.Helper()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got  %q\n want %q", what, got, want)
		}
	}
	ro := func(f *fx) string { return fmt.Sprint(f.ReadOnly) }

	// ROLLUP(eventSource, awsRegion): each pair, each source, all.
	want := lines(count(func(f *fx) string { return f.Source + "|" + f.Region }), "")
	want = append(want, lines(count(func(f *fx) string { return f.Source + "|NULL" }), "")...)
	want = append(want, fmt.Sprintf("NULL|NULL|%d", len(fs)))
	same("ROLLUP", rows("SELECT eventSource, awsRegion, count(*) FROM $EDS_ID GROUP BY ROLLUP(eventSource, awsRegion)"), want)

	// CUBE with grouping(…): the bits name the columns left out.
	want = lines(count(func(f *fx) string { return f.Source + "|" + ro(f) }), "|0")
	want = append(want, lines(count(func(f *fx) string { return f.Source + "|NULL" }), "|1")...)
	want = append(want, lines(count(func(f *fx) string { return "NULL|" + ro(f) }), "|2")...)
	want = append(want, fmt.Sprintf("NULL|NULL|%d|3", len(fs)))
	same("CUBE", rows("SELECT eventSource, readOnly, count(*), grouping(eventSource, readOnly) FROM $EDS_ID GROUP BY CUBE(eventSource, readOnly)"), want)

	// GROUPING SETS, and a plain term beside a ROLLUP.
	want = lines(count(func(f *fx) string { return ro(f) + "|NULL" }), "")
	want = append(want, lines(count(func(f *fx) string { return "NULL|" + f.Region }), "")...)
	want = append(want, fmt.Sprintf("NULL|NULL|%d", len(fs)))
	same("GROUPING SETS", rows("SELECT readOnly, awsRegion, count(*) FROM $EDS_ID GROUP BY GROUPING SETS ((readOnly), (awsRegion), ())"), want)
	want = lines(count(func(f *fx) string { return f.Source + "|" + f.Region }), "")
	want = append(want, lines(count(func(f *fx) string { return f.Source + "|NULL" }), "")...)
	same("a term and a ROLLUP", rows("SELECT eventSource, awsRegion, count(*) FROM $EDS_ID GROUP BY eventSource, ROLLUP(awsRegion)"), want)

	// Inside an aggregate a left-out expression keeps its values; HAVING
	// filters each set's groups.
	regions := map[string]map[string]bool{}
	all := map[string]bool{}
	for _, f := range fs {
		if regions[f.Source] == nil {
			regions[f.Source] = map[string]bool{}
		}
		regions[f.Source][f.Region], all[f.Region] = true, true
	}
	want = []string{fmt.Sprintf("NULL|%d", len(all))}
	for src, rs := range regions {
		if len(rs) > 1 {
			want = append(want, fmt.Sprintf("%s|%d", src, len(rs)))
		}
	}
	same("count(DISTINCT) and HAVING", rows("SELECT eventSource, count(DISTINCT awsRegion) FROM $EDS_ID GROUP BY ROLLUP(eventSource) HAVING count(DISTINCT awsRegion) > 1"), want)

	// ORDER BY an aggregate and LIMIT apply to the whole: the total first.
	got := rows("SELECT eventSource, count(*) AS n FROM $EDS_ID GROUP BY ROLLUP(eventSource) ORDER BY count(*) DESC, eventSource LIMIT 2")
	bySource := count(func(f *fx) string { return f.Source })
	top, topN := "", 0
	for s, n := range bySource {
		if n > topN || n == topN && s < top {
			top, topN = s, n
		}
	}
	if w := []string{fmt.Sprintf("NULL|%d", len(fs)), fmt.Sprintf("%s|%d", top, topN)}; !slices.Equal(got, w) {
		t.Errorf("ORDER BY count(*) DESC LIMIT 2: %q, want %q", got, w)
	}

	expectRefused(t, run, []exprCase{
		{"SELECT grouping(eventName) FROM $EDS_ID", "grouping() may only be used with GROUP BY"},
		{"SELECT eventSource, grouping(eventName) FROM $EDS_ID GROUP BY ROLLUP(eventSource)", "The arguments to GROUPING() must be expressions referenced by the GROUP BY"},
		{"SELECT count(*) FROM $EDS_ID GROUP BY CUBE(eventSource, eventName, awsRegion, readOnly, errorCode, userAgent, sourceIPAddress)", "CUBE of more than 6 expressions is not supported"},
		{"SELECT eventName, count(*) FROM $EDS_ID GROUP BY ROLLUP(eventSource)", "'eventName' must be an aggregate expression or appear in GROUP BY clause"},
	})
	// grouping() of a plain GROUP BY is 0.
	if got := rows("SELECT DISTINCT grouping(eventName) FROM $EDS_ID GROUP BY eventName"); !slices.Equal(got, []string{"0"}) {
		t.Errorf("grouping() of a plain GROUP BY: %q", got)
	}
}
