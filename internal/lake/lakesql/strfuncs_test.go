package lakesql

import (
	"strconv"
	"testing"
)

// TestStringURLAndDateHelpers: concat_ws, chr, codepoint, the edit
// distances, the url_extract_* family, last_day_of_month and date, as
// Trino's, with their failures in Trino's words.
func TestStringURLAndDateHelpers(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	const u = "'https://example.com:8443/a/b%20c?x=1&y=two&x=3#frag'"
	expectValues(t, run, []exprCase{
		{"concat_ws('/', 'a', NULL, 'b')", "a/b"},
		{"concat_ws(NULL, 'a', 'b')", "NULL"},
		{"chr(65) || chr(233)", "Aé"},
		{"codepoint('é')", "233"},
		{"levenshtein_distance('kitten', 'sitting')", "3"},
		{"levenshtein_distance('', 'abc')", "3"},
		{"hamming_distance('karolin', 'kathrin')", "3"},
		{"url_extract_host(" + u + ")", "example.com"},
		{"url_extract_port(" + u + ")", "8443"},
		{"url_extract_protocol(" + u + ")", "https"},
		{"url_extract_path(" + u + ")", "/a/b c"},
		{"url_extract_query(" + u + ")", "x=1&y=two&x=3"},
		{"url_extract_fragment(" + u + ")", "frag"},
		{"url_extract_parameter(" + u + ", 'x')", "1"},
		{"url_extract_parameter(" + u + ", 'z')", "NULL"},
		{"url_extract_port('https://example.com/')", "NULL"},
		{"url_extract_parameter('http://h/p?q=a%20b&x=1+2', 'q') || ' ' || url_extract_parameter('http://h/p?q=a%20b&x=1+2', 'x')", "a b 1+2"},
		{"url_extract_parameter('https://signin.aws.amazon.com/console?hashArgs=%23dashboards&isauthcode=true', 'hashArgs')", "#dashboards"},
		{"url_extract_query('http://h/p?a=%2F')", "a=/"},
		{"url_extract_query('http://h/p') = ''", "true"},
		{"url_extract_fragment('http://h/p') = ''", "true"},
		{"url_extract_fragment('http://h/p#a%20b')", "a b"},
		{"url_extract_protocol('HTTP://h/')", "HTTP"},
		{"url_extract_host('http://h/a b')", "NULL"},
		{"url_extract_parameter('http://h/p?a=1;b=2&c=3', 'c')", "3"},
		{"url_extract_host('http://[::1]:8080/')", "[::1]"},
		{"last_day_of_month(timestamp '2024-02-10 12:00:00')", "2024-02-29"},
		{"date(timestamp '2024-02-10 12:34:56')", "2024-02-10"},
		{"date('2024-02-10T12:34:56Z')", "2024-02-10"},
		{"CAST(timestamp '2024-02-10 12:34:56' AS date)", "2024-02-10"},
		{"CAST('2024-02-10' AS date)", "2024-02-10"},
		{"DATE '2024-02-10'", "2024-02-10"},
		{"date(timestamp '2024-02-10 12:34:56') = DATE '2024-02-10'", "true"},
		{"date(timestamp '2024-02-10 12:34:56') < timestamp '2024-02-10 00:00:01'", "true"},
		{"CAST(date('2024-02-10T12:34:56Z') AS varchar)", "2024-02-10"},
		{"typeof(date(timestamp '2024-02-10 12:34:56'))", "date"},
		{"typeof(DATE '2024-02-10')", "date"},
		{"coalesce(NULL, DATE '2024-02-10')", "2024-02-10"},
		{"greatest(DATE '2024-02-10', date(timestamp '2024-02-11 10:00:00'))", "2024-02-11"},
		{"CASE WHEN 1 = 1 THEN DATE '2024-02-10' END", "2024-02-10"},
		{"CASE WHEN 1 = 1 THEN DATE '2024-02-10' ELSE timestamp '2024-02-10 01:00:00' END", "2024-02-10 00:00:00.000"},
	})
	expectQueryErrors(t, run, []exprCase{
		{"chr(-1)", "Not a valid Unicode code point: -1"},
		{"codepoint('ab')", "Input string must be a single character string"},
		{"hamming_distance('a', 'ab')", "The input strings to hamming_distance function must have the same length"},
		{"levenshtein_distance(lpad('a', 1001, 'a'), lpad('b', 1000, 'b'))", "The combined inputs for Levenshtein distance are too large"},
	})
	expectRefused(t, run, []exprCase{
		{"concat_ws('/')", "Unexpected parameters for function concat_ws: 1 arguments"},
		{"chr('a')", "Unexpected parameters (varchar) for function chr"},
		{"url_extract_host(1)", "Unexpected parameters (integer) for function url_extract_host"},
		{"last_day_of_month('x')", "Unexpected parameters (varchar) for function last_day_of_month"},
	})
}

// TestTypeof: typeof names types as Trino does, decimals and string
// literals' lengths included.
func TestTypeof(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	res, err := run("SELECT typeof(1), typeof(2147483648), typeof(1.5), typeof(1e0), typeof('abc'), typeof(eventName), typeof(eventTime)," +
		" typeof(requestParameters), typeof(tlsDetails), typeof(resources), typeof(split('a', ',')), typeof(length(eventName) * 100.0 / 3)," +
		" typeof(NULL), typeof(readOnly), typeof(interval '1' day) FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"integer", "bigint", "decimal(2,1)", "double", "varchar(3)", "varchar", "timestamp(3)", "map(varchar, varchar)",
		"row(tlsversion varchar, ciphersuite varchar, clientprovidedhostheader varchar)",
		"array(row(accountid varchar, type varchar, arn varchar, arnprefix varchar))", "array(varchar)", "decimal(23,1)",
		"unknown", "boolean", "interval day to second"}
	got := project(t, res, nil)[0]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: %s, want %s", i, got[i], want[i])
		}
	}
}

// TestDatesByDay: date(eventTime) groups events by day and shows each day
// as Trino shows a date, and so do min and max of it.
func TestDatesByDay(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	res, err := run("SELECT date(eventTime) AS d, count(*) AS n FROM $EDS_ID GROUP BY date(eventTime) ORDER BY d")
	if err != nil {
		t.Fatal(err)
	}
	days := map[string]int{}
	for _, f := range fs {
		days[f.time().UTC().Format("2006-01-02")]++
	}
	if len(res.Rows) != len(days) {
		t.Fatalf("%d days, want %d", len(res.Rows), len(days))
	}
	for _, row := range res.Rows {
		d := cell(row[0])
		if n, ok := days[d]; !ok || cell(row[1]) != strconv.Itoa(n) {
			t.Errorf("day %q: %s events, want %d", d, cell(row[1]), n)
		}
	}
	res, err = run("SELECT min(date(eventTime)), max(CAST(eventTime AS date)) FROM $EDS_ID")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range res.Rows[0] {
		if s := cell(v); len(s) != len("2006-01-02") {
			t.Errorf("column %d: %q is not a date", i+1, s)
		}
	}
}
