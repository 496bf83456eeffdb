package lakesql

import "testing"

// TestDateParse: date_parse reads what date_format writes (MySQL's
// specifiers), fields left out are 1970-01-01's, and input that does not
// fit fails the query saying where.
func TestDateParse(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	expectValues(t, run, []exprCase{
		{"date_parse('2023-01-05', '%Y-%m-%d')", "2023-01-05 00:00:00.000"},
		{"date_parse('2023-01-05T10:20:30Z', '%Y-%m-%dT%H:%i:%sZ')", "2023-01-05 10:20:30.000"},
		{"date_parse('2023-01-05 10:20:30.123456', '%Y-%m-%d %H:%i:%s.%f')", "2023-01-05 10:20:30.123"},
		{"date_parse('5/1/23 9:05:07 PM', '%e/%c/%y %l:%i:%s %p')", "2023-01-05 21:05:07.000"},
		{"date_parse('12:00:00 AM', '%T %p')", "1970-01-01 00:00:00.000"},
		{"date_parse('Mar 2024', '%b %Y')", "2024-03-01 00:00:00.000"},
		{"date_parse('Tuesday, 5 March 2024', '%W, %e %M %Y')", "2024-03-05 00:00:00.000"},
		{"date_parse('2024 060', '%Y %j')", "2024-02-29 00:00:00.000"},
		{"date_parse('99', '%y')", "1999-01-01 00:00:00.000"},
		{"date_parse('100%', '%Y%%')", "0100-01-01 00:00:00.000"},
		{"date_parse('2023-01-05 09:05:07 PM', '%Y-%m-%d %r')", "2023-01-05 21:05:07.000"},
		{"date_parse('2023q1', '%Y%q1')", "2023-01-01 00:00:00.000"},
		{"date_parse(date_format(eventTime, '%Y-%m-%d %H:%i:%s'), '%Y-%m-%d %H:%i:%s') = eventTime", "true"},
		{"date_parse(NULL, '%Y')", "NULL"},
	})
	expectQueryErrors(t, run, []exprCase{
		{"date_parse('2023-13-05', '%Y-%m-%d')", `Cannot parse "2023-13-05": Value 13 for monthOfYear must be in the range [1,12]`},
		{"date_parse('2023-02-30', '%Y-%m-%d')", `Cannot parse "2023-02-30": Value 30 for dayOfMonth must be in the range [1,28]`},
		{"date_parse('2023-01-05x', '%Y-%m-%d')", `Invalid format: "2023-01-05x" is malformed at "x"`},
		{"date_parse('2023/01', '%Y-%m')", `Invalid format: "2023/01" is malformed at "/01"`},
		{"date_parse('2023', '%U')", "%U not supported in date format string"},
		{"date_parse('2023', '%v')", "%v not supported in date format string"},
	})
	expectRefused(t, run, []exprCase{{"date_parse(eventTime, '%Y')", "Unexpected parameters (timestamp(3)) for function date_parse"}})
}
