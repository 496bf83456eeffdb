package lakesql

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestArrayAndStringFunctions: split, regexp_extract_all, array_join,
// lpad, rpad and ends_with as Trino's, with bad arguments failing the
// query in Trino's words.
func TestArrayAndStringFunctions(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	expectValues(t, run, []exprCase{
		{"split('a,b,,c', ',')", "[a, b, , c]"},
		{"split('a,b,c', ',', 2)", "[a, b,c]"},
		{"cardinality(split('a/b/c', '/'))", "3"},
		{"element_at(split('arn:aws:iam::1:user/alice', '/'), -1)", "alice"},
		{"split('a,b,c', ',')[2]", "b"},
		{"array_join(split('a,b,,c', ','), '|')", "a|b||c"},
		{"array_join(ARRAY['a', NULL, 'b'], ',')", "a,b"},
		{"concat_ws('/', ARRAY['a', NULL, 'b'])", "a/b"},
		{"concat_ws('/', split('x:y', ':'))", "x/y"},
		{"concat_ws(CAST(NULL AS varchar), ARRAY['a'])", "NULL"},
		{"array_join(ARRAY['a', NULL, 'b'], ',', '-')", "a,-,b"},
		{"array_join(ARRAY['a', NULL, 'b'], ',', CAST(NULL AS varchar))", "NULL"},
		{"regexp_extract_all('AddUserToGroup', '[A-Z][a-z]+')", "[Add, User, To, Group]"},
		{"regexp_extract_all('k1=v1;k2=v2', '(\\w+)=(\\w+)', 2)", "[v1, v2]"},
		{"regexp_extract_all('ab1', '([a-z])(\\d)?', 2)", "[null, 1]"},
		{"array_join(regexp_extract_all('x', '[0-9]'), ',')", ""},
		{"lpad('7', 3, '0')", "007"},
		{"lpad('abcdef', 3, '0')", "abc"},
		{"rpad('é', 4, 'ab')", "éaba"},
		{"ends_with('GetObject', 'Object')", "true"},
		{"ends_with('GetObject', 'Get')", "false"},
		{"split(NULL, ',')", "NULL"},
	})
	expectQueryErrors(t, run, []exprCase{
		{"split('abc', '')", "The delimiter may not be the empty string"},
		{"split('a,b', ',', 0)", "Limit must be positive"},
		{"lpad('x', 3, '')", "Padding string must not be empty"},
		{"rpad('x', 1 + 2000000, 'y')", "Target length must be in the range [0..1048576]"},
		{"regexp_extract_all('a', 'a', 2)", "pattern has 0 groups. Cannot access group 2"},
		{"regexp_extract_all('a', 'a', -1)", "Group cannot be negative"},
	})
	expectRefused(t, run, []exprCase{
		{"split(1, ',')", "Unexpected parameters (integer) for function split"},
		{"array_join(eventName, ',')", "Unexpected parameters (varchar) for function array_join"},
		{"array_join(resources, ',')", "an array of scalars"},
		{"lpad('x', '3', '0')", "Unexpected parameters (varchar) for function lpad"},
		{"ends_with('x')", "Unexpected parameters for function ends_with: 1 arguments"},
	})
}

// TestArrayAggAndStatistics: array_agg (DISTINCT, FILTER, of booleans and
// timestamps, NULL over no rows), stddev and variance of both kinds and
// approx_percentile, against answers computed here from the fixture.
func TestArrayAggAndStatistics(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	query := func(sql string) [][]string {
		t.Helper()
		res, err := run(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return project(t, res, nil)
	}

	names := map[string][]string{}
	for _, f := range fs {
		if !slices.Contains(names[f.Source], f.Name) {
			names[f.Source] = append(names[f.Source], f.Name)
		}
	}
	for _, r := range query("SELECT eventSource, array_join(array_agg(DISTINCT eventName), ',') FROM $EDS_ID GROUP BY eventSource") {
		got := strings.Split(r[1], ",")
		slices.Sort(got)
		want := slices.Sorted(slices.Values(names[r[0]]))
		if !slices.Equal(got, want) {
			t.Errorf("array_agg(DISTINCT eventName) of %s: %v, want %v", r[0], got, want)
		}
	}
	src := fs[0].Source
	var times []string
	n := 0
	for _, f := range byTime(fs) {
		if f.Source == src {
			times = append(times, tf(f))
			n++
		}
	}
	r := query("SELECT cardinality(array_agg(eventName) FILTER (WHERE eventSource = '" + src + "')) FROM $EDS_ID")
	if r[0][0] != fmt.Sprint(n) {
		t.Errorf("array_agg FILTER: %s elements, want %d", r[0][0], n)
	}
	r = query("SELECT array_agg(eventTime), array_agg(readOnly), array_agg(eventName) FILTER (WHERE false) FROM (SELECT eventTime, readOnly, eventName FROM $EDS_ID WHERE eventSource = '" +
		src + "' ORDER BY eventTime)")
	got := strings.Split(strings.Trim(r[0][0], "[]"), ", ")
	slices.Sort(got)
	if !slices.Equal(got, times) {
		t.Errorf("array_agg(eventTime): %v, want %v", got, times)
	}
	for _, b := range strings.Split(strings.Trim(r[0][1], "[]"), ", ") {
		if b != "true" && b != "false" {
			t.Errorf("array_agg(readOnly): %s", r[0][1])
		}
	}
	if r[0][2] != "NULL" {
		t.Errorf("array_agg over no rows: %s, want NULL", r[0][2])
	}
	// array_agg(x ORDER BY …): in that order, also descending, with
	// DISTINCT and FILTER.
	r = query("SELECT array_agg(eventTime ORDER BY eventTime), array_agg(eventTime ORDER BY eventTime DESC) FROM $EDS_ID WHERE eventSource = '" + src + "'")
	if want := "[" + strings.Join(times, ", ") + "]"; r[0][0] != want {
		t.Errorf("array_agg(eventTime ORDER BY eventTime): %s, want %s", r[0][0], want)
	}
	if want := "[" + strings.Join(reversed(times), ", ") + "]"; r[0][1] != want {
		t.Errorf("array_agg(eventTime ORDER BY eventTime DESC): %s, want %s", r[0][1], want)
	}
	want := slices.Sorted(slices.Values(names[src]))
	r = query("SELECT array_agg(DISTINCT eventName ORDER BY eventName) FILTER (WHERE eventSource = '" + src + "') FROM $EDS_ID")
	if w := "[" + strings.Join(want, ", ") + "]"; r[0][0] != w {
		t.Errorf("array_agg(DISTINCT eventName ORDER BY eventName) FILTER: %s, want %s", r[0][0], w)
	}

	var xs []float64
	var ints []int64
	for _, f := range fs {
		xs = append(xs, float64(len(f.Name)))
		ints = append(ints, int64(len(f.Name)))
	}
	mean := 0.0
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	slices.Sort(ints)
	rank := func(p float64) int64 { return ints[min(len(ints)-1, int(math.Floor(p*float64(len(ints)))))] }
	r = query("SELECT stddev(length(eventName)), stddev_samp(length(eventName)), stddev_pop(length(eventName)), variance(length(eventName)), var_pop(length(eventName))," +
		" approx_percentile(length(eventName), 0.5), approx_percentile(length(eventName), 0.9), approx_percentile(length(eventName), 1) FROM $EDS_ID")
	k := float64(len(xs))
	for i, w := range []float64{math.Sqrt(ss / (k - 1)), math.Sqrt(ss / (k - 1)), math.Sqrt(ss / k), ss / (k - 1), ss / k} {
		var g float64
		fmt.Sscan(r[0][i], &g)
		if math.Abs(g-w) > 1e-9*w {
			t.Errorf("column %d: %s, want %v", i, r[0][i], w)
		}
	}
	for i, p := range []float64{0.5, 0.9, 1} {
		if want := fmt.Sprint(rank(p)); r[0][5+i] != want {
			t.Errorf("approx_percentile(…, %v): %s, want %s", p, r[0][5+i], want)
		}
	}
	// DISTINCT: the spread of the distinct lengths.
	distinct := map[float64]bool{}
	for _, x := range xs {
		distinct[x] = true
	}
	dm, dss := 0.0, 0.0
	for x := range distinct {
		dm += x / float64(len(distinct))
	}
	for x := range distinct {
		dss += (x - dm) * (x - dm)
	}
	r = query("SELECT var_pop(DISTINCT length(eventName)), approx_percentile(length(eventName) * 1.0, 0.5) FROM $EDS_ID")
	if g, _ := strconv.ParseFloat(r[0][0], 64); math.Abs(g-dss/float64(len(distinct))) > 1e-9 {
		t.Errorf("var_pop(DISTINCT …): %s, want %v", r[0][0], dss/float64(len(distinct)))
	}
	if want := fmt.Sprint(rank(0.5)) + ".0"; r[0][1] != want {
		t.Errorf("approx_percentile of a decimal: %s, want the double %s", r[0][1], want)
	}
	r = query("SELECT stddev(length(eventName)), stddev_pop(length(eventName)) FROM $EDS_ID WHERE eventID = '" + fs[0].ID + "'")
	if r[0][0] != "NULL" || r[0][1] != "0.0" {
		t.Errorf("stddev and stddev_pop of one value: %v, want [NULL 0.0]", r[0])
	}

	expectRefused(t, run, []exprCase{
		{"SELECT approx_percentile(length(eventName), 1.5) FROM $EDS_ID", "Percentile must be between 0 and 1"},
		{"SELECT approx_percentile(eventName, 0.5) FROM $EDS_ID", "Unexpected parameters (varchar) for function approx_percentile"},
		{"SELECT approx_percentile(length(eventName), 'a') FROM $EDS_ID", "the percentile is a double"},
		{"SELECT array_agg(requestParameters) FROM $EDS_ID", "array_agg of map(varchar, varchar) is not supported"},
		{"SELECT count(eventName ORDER BY eventTime) FROM $EDS_ID", "ORDER BY in count is not supported (in array_agg it is)"},
		{"SELECT lower(eventName ORDER BY eventTime) FROM $EDS_ID", "lower is not an aggregate function"},
		{"SELECT stddev(length(eventName)) OVER () FROM $EDS_ID", "stddev is not supported as a window function"},
	})
}

// TestJSONFunctions: json_extract gives the value at a path as compact
// JSON (a string keeps its quotes; none there is NULL), and reads
// eventJson; json_array_length, json_parse and json_format as Trino's.
func TestJSONFunctions(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	expectValues(t, run, []exprCase{
		{`json_extract('{"a": [1, {"b": "x"}]}', '$.a[1]')`, `{"b":"x"}`},
		{`json_extract('{"a": [1, {"b": "x"}]}', '$.a[1].b')`, `"x"`},
		{`json_extract('{"a b": 1}', '$["a b"]')`, `1`},
		{`json_extract('{"a": 1}', '$.b')`, `NULL`},
		{`json_extract('not json', '$.a')`, `NULL`},
		{`json_array_length('[1, 2, 3]')`, `3`},
		{`json_array_length('{}')`, `NULL`},
		{`json_parse(' {"a" : [1, 2]} ')`, `{"a":[1,2]}`},
		{`json_format('[1, 2]')`, `[1,2]`},
	})
	res, err := run("SELECT count(*) FROM $EDS_ID WHERE json_extract_scalar(json_extract(eventJson, '$.userIdentity'), '$.arn') = userIdentity.arn" +
		" AND json_extract(eventJson, '$.eventName') = '\"' || eventName || '\"'")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if f.Arn != "" {
			n++
		}
	}
	if cell(res.Rows[0][0]) != fmt.Sprint(n) {
		t.Errorf("events whose eventJson's userIdentity holds their arn: %s, want %d", cell(res.Rows[0][0]), n)
	}
	expectQueryErrors(t, run, []exprCase{
		{"json_parse('nope')", "Cannot convert value to JSON: 'nope'"},
		{`json_extract('{"a":1}', concat('a', ''))`, "Invalid JSON path: 'a'"},
		{`json_extract_scalar('{"a":1}', concat('$.a', '[-1]'))`, "Invalid JSON path: '$.a[-1]'"},
	})
	// Paths Trino refuses: refused before the query runs when written
	// out; a NULL path is NULL.
	expectRefused(t, run, []exprCase{
		{`json_extract('{"a":1}', 'a')`, "Invalid JSON path: 'a'"},
		{`json_extract('{"a":1}', '')`, "Invalid JSON path: ''"},
		{`json_extract_scalar('{"a":[1]}', '$.a[*]')`, "Invalid JSON path: '$.a[*]'"},
		{`json_extract_scalar('{"a":1}', '$..a')`, "Invalid JSON path: '$..a'"},
	})
	expectValues(t, run, []exprCase{
		{`json_extract_scalar('{"a":1}', CAST(NULL AS varchar))`, "NULL"},
		{`json_extract('{"a b":[1,{"c":2}]}', '$["a b"][1].c')`, "2"},
		{`json_extract_scalar('{"a":{"b":"x"}}', '$.a.b')`, "x"},
	})
}

// TestArrayLiterals: ARRAY[…] of varchar, integers or booleans, with
// contains, cardinality, subscripts and array_join, as in the common
// contains(ARRAY['GetObject', 'PutObject'], eventName).
func TestArrayLiterals(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	res, err := run("SELECT ARRAY['a', 'b', NULL], ARRAY[1, 2], ARRAY[true, false], ARRAY[], cardinality(ARRAY['x', 'y']), ARRAY['a', 'b'][2]," +
		" array_join(ARRAY['a', 'b'], '-'), contains(ARRAY[1, 2], 2), contains(ARRAY[1, 2], 3) FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[a, b, null]", "[1, 2]", "[true, false]", "[]", "2", "b", "a-b", "true", "false"}
	if got := project(t, res, nil)[0]; !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	res, err = run("SELECT count(*) FROM $EDS_ID WHERE contains(ARRAY['GetObject', 'PutObject'], eventName)")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if f.Name == "GetObject" || f.Name == "PutObject" {
			n++
		}
	}
	if cell(res.Rows[0][0]) != fmt.Sprint(n) {
		t.Errorf("contains(ARRAY[…], eventName): %s events, want %d", cell(res.Rows[0][0]), n)
	}
	expectRefused(t, run, []exprCase{
		{"SELECT ARRAY[1, 'a'] FROM $EDS_ID", "line 1:17: All ARRAY elements must be the same type: integer, varchar"},
		{"SELECT ARRAY[1.5] FROM $EDS_ID", "ARRAY of decimal(2,1) is not supported"},
		{"SELECT ARRAY['a' FROM $EDS_ID", "line 1:18:"},
	})
}

// reversed is a reversed copy of s.
func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
