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
	rows := func(sql string) []string { t.Helper(); return joinedRows(t, run, sql) }
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

// TestGroupingSetsAsAWhole: what applies to a grouping-sets statement as
// a whole — DISTINCT, ORDER BY terms that are not select items, the
// statistics — applies once; sets without aggregates are still groups;
// a grouping key that holds a rolled-up column keeps its value;
// grouping() follows compiled expressions; what Trino refuses is refused.
func TestGroupingSetsAsAWhole(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	rows := func(sql string) []string { t.Helper(); return joinedRows(t, run, sql) }
	sources := map[string]bool{}
	prefixes := map[string]int{}
	for _, f := range fs {
		sources[f.Source] = true
		prefixes[f.Name[:3]]++
	}
	if got := rows("SELECT DISTINCT count(*) > 0 FROM $EDS_ID GROUP BY ROLLUP(eventSource)"); !slices.Equal(got, []string{"true"}) {
		t.Errorf("DISTINCT over the sets: %q", got)
	}
	if got := rows("SELECT eventSource FROM $EDS_ID GROUP BY ROLLUP(eventSource)"); len(got) != len(sources)+1 {
		t.Errorf("ROLLUP without aggregates: %d rows, want %d", len(got), len(sources)+1)
	}
	if got := rows("SELECT 1 FROM $EDS_ID GROUP BY GROUPING SETS (())"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("GROUPING SETS (()) without aggregates: %q", got)
	}
	if got := rows("SELECT eventSource FROM $EDS_ID GROUP BY ROLLUP(eventSource) HAVING count(*) > 5"); !slices.Contains(got, "NULL") {
		t.Errorf("HAVING without aggregates in the items: %q, want the total row among them", got)
	}
	// The subtotal rows of each prefix keep the prefix.
	var want []string
	for p, n := range prefixes {
		want = append(want, fmt.Sprintf("%s|NULL|%d", p, n))
	}
	got := rows("SELECT substr(eventName, 1, 3) AS p, eventName, count(*) FROM $EDS_ID GROUP BY substr(eventName, 1, 3), ROLLUP(eventName) HAVING grouping(eventName) = 1")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("a key holding a rolled-up column:\n got  %q\n want %q", got, want)
	}
	// ORDER BY terms that are not select items, left out of the output.
	res, err := run("SELECT eventSource AS src, count(*) AS n FROM $EDS_ID GROUP BY ROLLUP(eventSource) ORDER BY grouping(eventSource) DESC, max(eventTime) DESC, lower(eventSource)")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Columns, []string{"src", "n"}) || cell(res.Rows[0][0]) != "NULL" || len(res.Rows) != len(sources)+1 {
		t.Errorf("ORDER BY hidden terms: columns %v, first row %v, %d rows", res.Columns, cell(res.Rows[0][0]), len(res.Rows))
	}
	// grouping() by the compiled expression: an ordinal, a qualified name.
	for _, sql := range []string{
		"SELECT eventSource, awsRegion, grouping(eventSource, awsRegion) FROM $EDS_ID GROUP BY 1, ROLLUP(awsRegion)",
		"SELECT t.eventSource, awsRegion, grouping(eventSource, t.awsRegion) FROM $EDS_ID t GROUP BY t.eventSource, ROLLUP(t.awsRegion)",
	} {
		for _, r := range rows(sql) {
			if f := strings.Split(r, "|"); (f[1] == "NULL") != (f[2] == "1") {
				t.Errorf("%s: row %s", sql, r)
			}
		}
	}
	// Counted once: the statistics of a ROLLUP are those of its rows.
	plain, err := run("SELECT eventSource, count(*) FROM $EDS_ID WHERE eventName IN (SELECT eventName FROM $EDS_ID) GROUP BY eventSource")
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := run("SELECT eventSource, count(*) FROM $EDS_ID WHERE eventName IN (SELECT eventName FROM $EDS_ID) GROUP BY CUBE(eventSource, awsRegion)")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Stats.EventsMatched != rolled.Stats.EventsMatched || plain.Stats.EventsScanned != rolled.Stats.EventsScanned {
		t.Errorf("statistics: plain %+v, CUBE %+v", plain.Stats, rolled.Stats)
	}
	expectRefused(t, run, []exprCase{
		{"SELECT eventSource, count(*), sum(count(*)) OVER () FROM $EDS_ID GROUP BY ROLLUP(eventSource)", "Window functions are not supported with GROUP BY ROLLUP"},
		{"SELECT eventSource FROM $EDS_ID GROUP BY ROLLUP(1)", "GROUP BY expression must be a column reference"},
		{"SELECT count(*) FROM $EDS_ID GROUP BY ROLLUP(lower(eventSource))", "GROUP BY expression must be a column reference"},
		{"SELECT DISTINCT eventSource FROM $EDS_ID GROUP BY ROLLUP(eventSource) ORDER BY count(*)", "For SELECT DISTINCT, ORDER BY expressions must appear in select list"},
		{"SELECT count(*) FROM $EDS_ID GROUP BY ROLLUP(" + strings.Repeat("eventSource, ", 100) + "eventName)", "GROUP BY makes more than 64 grouping sets"},
		{"SELECT eventSource, count(*) FROM $EDS_ID GROUP BY ROLLUP(eventSource) LIMIT 1 UNION SELECT 'x', 1 FROM $EDS_ID", "LIMIT is allowed only after the last SELECT"},
	})
}

// joinedRows runs sql and gives each row's values joined by "|".
func joinedRows(t *testing.T, run func(string) (*Result, error), sql string) []string {
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

// TestGroupingSetsBesideOtherExpressions: a grouping set over several
// columns in a query that also holds literals, IS NULL, LIKE, IN or
// BETWEEN (compared with the grouped columns when the sets are expanded)
// answers as the same query counted by hand; expressions of different
// kinds once crashed the comparison.
func TestGroupingSetsBesideOtherExpressions(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	total := map[string]int{}
	for _, f := range fs {
		total[f.Source+"|"+f.Region]++
		total[f.Source+"|NULL"]++
		total["NULL|NULL"]++
	}
	for _, tc := range []struct {
		sql  string
		keep func(key string, n int) bool
	}{
		{"SELECT eventSource, awsRegion, count(*) FROM $EDS_ID GROUP BY ROLLUP(eventSource, awsRegion) HAVING count(*) > 1",
			func(_ string, n int) bool { return n > 1 }},
		{"SELECT coalesce(eventSource, 'ALL'), awsRegion, count(*) FROM $EDS_ID GROUP BY ROLLUP(eventSource, awsRegion) HAVING eventSource IS NULL OR eventSource LIKE '%' AND awsRegion IN ('us-east-1', 'eu-west-1') AND count(*) BETWEEN 1 AND 1000000",
			func(k string, _ int) bool {
				return strings.HasPrefix(k, "NULL|") || strings.HasSuffix(k, "|us-east-1") || strings.HasSuffix(k, "|eu-west-1")
			}},
	} {
		var want []string
		for k, n := range total {
			if tc.keep(k, n) {
				if strings.Contains(tc.sql, "coalesce") && strings.HasPrefix(k, "NULL|") {
					k = "ALL" + k[len("NULL"):]
				}
				want = append(want, fmt.Sprintf("%s|%d", k, n))
			}
		}
		got := joinedRows(t, run, tc.sql)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got  %q\n want %q", tc.sql, got, want)
		}
	}
}
