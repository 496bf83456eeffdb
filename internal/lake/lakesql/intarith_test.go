package lakesql

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIntegerLiteralTypes: the type the compiler gives each expression,
// as Trino types it: an integer literal that fits in 32 bits is an
// integer, a larger one (or a minus sign before 2147483648) a bigint;
// arithmetic takes the wider operand's type; CASE, COALESCE, IF, min, max
// and the set operations keep an integer; sum is a bigint, avg a double.
func TestIntegerLiteralTypes(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"1", "integer"},
		{"2147483647", "integer"},
		{"-2147483647", "integer"},
		{"2147483648", "bigint"},
		{"-2147483648", "bigint"}, // Trino: the negation of the bigint 2147483648
		{"1 + 1", "integer"},
		{"-(1)", "integer"},
		{"1 + 2147483648", "bigint"},
		{"1 + CAST(1 AS bigint)", "bigint"},
		{"1 + length(eventName)", "bigint"},
		{"1 + 1.5", "decimal(12,1)"},
		{"1 + 1.5e0", "double"},
		{"7 / 2", "integer"},
		{"7 % 2", "integer"},
		{"1 + NULL", "integer"},
		{"CAST(1 AS smallint) + CAST(1 AS tinyint)", "smallint"},
		{"CAST(1 AS smallint) + 1", "integer"},
		{"abs(-1)", "integer"},
		{"round(15, -1)", "integer"},
		{"CASE WHEN eventName = 'a' THEN 1 ELSE 2 END", "integer"},
		{"CASE WHEN eventName = 'a' THEN 1 ELSE 2147483648 END", "bigint"},
		{"CASE WHEN eventName = 'a' THEN 1 END", "integer"},
		{"coalesce(NULL, 1)", "integer"},
		{"coalesce(1, 2.5)", "decimal(11,1)"},
		{"coalesce(1, 2.5e0)", "double"},
		{"if(eventName = 'a', 1, 2)", "integer"},
		{"if(eventName = 'a', 1, 2.5)", "decimal(11,1)"},
		{"if(eventName = 'a', 1, 2.5e0)", "double"},
		{"greatest(1, 2)", "integer"},
		{"nullif(1, 2)", "integer"},
		{"try(1 + 1)", "integer"},
		{"1 < 2", "boolean"},
	} {
		if got := compiledType(t, "SELECT "+c.expr+" AS x FROM S1"); got != c.want {
			t.Errorf("%s: %s, want %s", c.expr, got, c.want)
		}
	}
	for _, c := range []struct{ sql, want string }{
		{"SELECT max(1) AS x FROM S1", "integer"},
		{"SELECT min_by(1, eventTime) AS x FROM S1", "integer"},
		{"SELECT sum(1) AS x FROM S1", "bigint"},
		{"SELECT avg(1) AS x FROM S1", "double"},
		{"SELECT count(*) + 1 AS x FROM S1", "bigint"},
		{"SELECT max(1) OVER (ORDER BY eventTime) AS x FROM S1", "integer"},
		{"SELECT sum(1) OVER (ORDER BY eventTime) AS x FROM S1", "bigint"},
		{"SELECT lag(1) OVER (ORDER BY eventTime) AS x FROM S1", "integer"},
		{"SELECT x + 1 AS x FROM (SELECT 1 AS x FROM S1)", "integer"},
		{"WITH t AS (SELECT 1 AS x FROM S1) SELECT x FROM t", "integer"},
		{"SELECT (SELECT 1 AS y FROM S1 LIMIT 1) AS x FROM S1", "integer"},
		{"SELECT 1 AS x FROM S1 UNION ALL SELECT 2 FROM S1", "integer"},
		{"SELECT 1 AS x FROM S1 UNION ALL SELECT 2147483648 FROM S1", "bigint"},
		{"SELECT NULL AS x FROM S1 UNION ALL SELECT 2 FROM S1", "integer"},
		{"SELECT 1 AS x FROM S1 UNION ALL SELECT 2.5 FROM S1", "decimal(11,1)"},
		{"SELECT 1 AS x FROM S1 UNION ALL SELECT 2.5e0 FROM S1", "double"},
	} {
		if got := compiledType(t, c.sql); got != c.want {
			t.Errorf("%s: %s, want %s", c.sql, got, c.want)
		}
	}
}

// compiledType is the type of the first column sql compiles to.
func compiledType(t *testing.T, sql string) string {
	t.Helper()
	st, err := Parse(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	cq, err := compile(st, sqliteDialect{}, map[string]int64{"S1": 1}, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	col := cq.cols[0]
	return val{t: col.t, narrow: col.narrow}.typeName()
}

// TestIntegerLiteralArithmetic: arithmetic on integer literals is 32-bit
// and fails out of range as Trino's does ("integer addition overflow:
// 2147483647 + 1"), NULL inside try(); a bigint literal or operand makes
// it 64-bit; comparisons, sum and avg are unaffected; messages name
// literals' types as Trino does. round(x, d) of an integer is exact, and
// a negative d rounds to tens, hundreds… (SQLite's round takes it as 0).
func TestIntegerLiteralArithmetic(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	const from = " FROM $EDS_ID LIMIT 1"
	for _, c := range []struct{ sql, want string }{
		{"SELECT 2147483647 + 1" + from, "integer addition overflow: 2147483647 + 1"},
		{"SELECT -2147483647 - 2" + from, "integer subtraction overflow: -2147483647 - 2"},
		{"SELECT 65536 * 65536" + from, "integer multiplication overflow: 65536 * 65536"},
		{"SELECT 1 + 2147483647 * 1" + from, "integer addition overflow: 1 + 2147483647"},
		{"SELECT -(-2147483647 - 1)" + from, "integer negation overflow: -2147483648"},
		{"SELECT abs(-2147483647 - 1)" + from, "Value -2147483648 is out of range for abs(integer)"},
		{"SELECT (-2147483647 - 1) / -1" + from, "integer division overflow: -2147483648 / -1"},
		{"SELECT round(2147483647, -1)" + from, "Out of range for integer: 2147483650"},
		{"SELECT round(9223372036854775807, -1)" + from, "numerical overflow: 9223372036854775807"},
		{"SELECT CASE WHEN eventName = 'x' THEN 1 ELSE 2147483647 END + 1" + from, "integer addition overflow"},
		{"SELECT coalesce(NULL, 2147483647) + 1" + from, "integer addition overflow"},
		{"SELECT if(eventName = 'x', 1, 2147483647) + 1" + from, "integer addition overflow"},
		{"SELECT max(2147483647) + 1 FROM $EDS_ID", "integer addition overflow"},
		{"SELECT max(2147483647) OVER (ORDER BY eventTime) + 1" + from, "integer addition overflow"},
		{"SELECT x + 1 FROM (SELECT 2147483647 AS x FROM $EDS_ID) LIMIT 1", "integer addition overflow"},
		{"WITH t AS (SELECT 2147483647 AS x FROM $EDS_ID) SELECT x * 2 FROM t LIMIT 1", "integer multiplication overflow"},
		{"SELECT x + 1 FROM (SELECT 1 AS x FROM $EDS_ID UNION ALL SELECT 2147483647 FROM $EDS_ID)", "integer addition overflow"},
		{"SELECT CAST(127 AS tinyint) + CAST(1 AS tinyint)" + from, "tinyint addition overflow: 127 + 1"},
	} {
		_, err := run(c.sql)
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Msg, c.want) {
			t.Errorf("%s: %v; want a QueryError %q", c.sql, err, c.want)
		}
	}
	// Refused before it runs, with the literal's type in the message.
	for _, c := range []struct{ sql, want string }{
		{"SELECT lower(1)" + from, "Unexpected parameters (integer) for function lower"},
		{"SELECT lower(2147483648)" + from, "Unexpected parameters (bigint) for function lower"},
		{"SELECT eventName || 1" + from, "Cannot apply operator: varchar || integer"},
		{"SELECT eventName FROM $EDS_ID UNION SELECT 1 FROM $EDS_ID", "column 1 in UNION query has incompatible types: varchar, integer"},
		{"SELECT 1, eventName FROM $EDS_ID EXCEPT SELECT 1, eventTime FROM $EDS_ID", "column 2 in EXCEPT query has incompatible types: varchar, timestamp(3)"},
	} {
		_, err := run(c.sql)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, c.want) {
			t.Errorf("%s: %v; want a SyntaxError %q", c.sql, err, c.want)
		}
	}
	res, err := run("SELECT 2147483648 + 1, CAST(2147483647 AS bigint) + 1, 2147483647 + CAST(1 AS bigint), -2147483648 - 1," +
		" try(2147483647 + 1), 2147483647 * 1.0, 7 / 2, -7 % 3, 2147483647 + 0 < 2147483648, -(-2147483647), abs(-2147483647)," +
		" round(1250, -2), round(-1250, -2), round(1249, -2), round(9007199254740993, 0), round(9007199254740993, -1), round(5, 3)," +
		" -CAST(NULL AS integer), abs(CAST(NULL AS integer)), 1 + NULL, CAST(2147483647 AS integer) + 3000000000, CAST(32767 AS smallint) + 1," +
		" round(1234.5, -2), round(-1250.0, -2), round(1234.5678, 2), round(1234.5, 0 - 2 * length('a')), round(1234.5678, length('ab'))" + from)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2147483649", "2147483648", "2147483648", "-2147483649",
		"NULL", "2147483647.0", "3", "-1", "true", "2147483647", "2147483647",
		"1300", "-1300", "1200", "9007199254740993", "9007199254740990", "5",
		"NULL", "NULL", "NULL", "5147483647", "32768",
		"1200.0", "-1300.0", "1234.5700", "1200.0", "1234.5700"}
	for i, v := range res.Rows[0] {
		got := "NULL"
		if v != nil {
			got = *v
		}
		if got != want[i] {
			t.Errorf("column %d: %s, want %s", i, got, want[i])
		}
	}
	// sum of an integer is a bigint and avg a double: no 32-bit overflow,
	// in an aggregation or over a window.
	for _, sql := range []string{
		"SELECT sum(2147483647), count(*), avg(2147483647) FROM $EDS_ID",
		"SELECT sum(2147483647) OVER (), count(*) OVER (), avg(2147483647) OVER ()" + from,
	} {
		res, err = run(sql)
		if err != nil {
			t.Fatal(err)
		}
		r := res.Rows[0]
		n, _ := strconv.ParseInt(*r[1], 10, 64)
		if n < 2 || *r[0] != itoa(n*2147483647) || *r[2] != "2.147483647E9" {
			t.Errorf("%s: %s %s %s", sql, *r[0], *r[1], *r[2])
		}
	}
	// Set operations: an integer and a double column is a double.
	res, err = run("SELECT 1 AS x FROM $EDS_ID UNION SELECT 2.5e0 FROM $EDS_ID ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if got := project(t, res, nil); len(got) != 2 || got[0][0] != "1.0" || got[1][0] != "2.5" {
		t.Errorf("1 UNION 2.5: %q, want [[1.0] [2.5]]", got)
	}
}

// TestDoubleDivisionModuloText: double / and % are IEEE's, as Trino's
// are (x / 0 is ±Infinity, 5.5 % 2 is 1.5, where SQLite gives NULL and
// takes % of integers), and CAST(double AS varchar) writes the double as
// Trino does (1.0E20, not SQLite's 1.0e+20).
func TestDoubleDivisionModuloText(t *testing.T) {
	db, _ := loadFixture(t)
	res := runSample(t, db, "SELECT 5 / 0e0, -5 / 0e0, 55e-1 % 2, 7 % 25e-1, -55e-1 % 2, 75e-1 / 2, 7e0 / length('ab'),"+
		" CAST(1e20 AS varchar), CAST(1e-1 + 2e-1 AS varchar), CAST(25e-1 AS varchar), CAST(-1e-5 AS varchar) FROM $EDS_ID LIMIT 1")
	want := []string{"Infinity", "-Infinity", "1.5", "2.0", "-1.5", "3.75", "3.5",
		"1.0E20", "0.30000000000000004", "2.5", "-1.0E-5"}
	got := project(t, res, nil)[0]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: %s, want %s", i, got[i], want[i])
		}
	}
}
