package lakesql

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestOverflowAndEngineErrors: a bigint result out of range fails the
// query with Trino's kind of message (+, -, *, negation, abs, sum, sum
// over a window), try(…) makes it NULL, in-range results are exact; no
// error of the engine's own reaches the user in SQLite's words.
func TestOverflowAndEngineErrors(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	const maxBig = "9223372036854775807"
	for _, c := range []struct{ sql, want string }{
		{"SELECT " + maxBig + " + length(eventID) FROM $EDS_ID", "bigint addition overflow: 9223372036854775807 + 6"},
		{"SELECT -" + maxBig + " - length(eventID) FROM $EDS_ID", "bigint subtraction overflow"},
		{"SELECT " + maxBig + " * length(eventID) FROM $EDS_ID", "bigint multiplication overflow"},
		{"SELECT -(-" + maxBig + " - 1 + 0 * length(eventID)) FROM $EDS_ID", "bigint negation overflow"},
		{"SELECT abs(-" + maxBig + " - 1 + 0 * length(eventID)) FROM $EDS_ID", "Value -9223372036854775808 is out of range for abs(bigint)"},
		{"SELECT sum(" + maxBig + " - length(eventID)) FROM $EDS_ID", "bigint addition overflow"},
		{"SELECT sum(" + maxBig + " - length(eventID)) OVER (ORDER BY eventTime) FROM $EDS_ID", "bigint addition overflow"},
	} {
		_, err := run(c.sql)
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Msg, c.want) {
			t.Errorf("%s: %v; want a QueryError %q", c.sql, err, c.want)
		}
	}
	res, err := run("SELECT " + maxBig + " - length(eventID) + 1, try(" + maxBig + " + length(eventID)), -(-" + maxBig + "), abs(-" + maxBig + "), 3 * -4 FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"9223372036854775802", "NULL", maxBig, maxBig, "-12"}
	for i, v := range res.Rows[0] {
		got := "NULL"
		if v != nil {
			got = *v
		}
		if got != want[i] {
			t.Errorf("column %d: %s, want %s", i, got, want[i])
		}
	}
	// A failure of the engine's own says so without the engine's words.
	err = runErr(context.Background(), errors.New("SQL logic error: no such function: lake_rec (1)"))
	var ee *EngineError
	if !errors.As(err, &ee) || strings.Contains(err.Error(), "lake_") || strings.Contains(err.Error(), "SQL logic") {
		t.Errorf("an engine error reads %q", err)
	}
}

// TestOverflowDivisionCastTimeInteger: the smallest bigint / -1, a CAST
// out of its integer type's range, timestamp arithmetic outside years 1
// to 9999 and integer (CAST) arithmetic out of 32 bits fail the query in
// Trino's kind of words where SQLite wraps, clamps or widens; try(…) and
// TRY_CAST make them NULL; results in range are unchanged.
func TestOverflowDivisionCastTimeInteger(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	const minBig = "(-9223372036854775807 - 1)"
	for _, c := range []struct{ sql, want string }{
		{"SELECT " + minBig + " / -1 FROM $EDS_ID LIMIT 1", "bigint division overflow: -9223372036854775808 / -1"},
		{"SELECT " + minBig + " / (length(eventID) - 7) FROM $EDS_ID LIMIT 1", "bigint division overflow"},
		{"SELECT CAST(1e30 AS bigint) FROM $EDS_ID LIMIT 1", "Out of range for bigint: 1.0E30"},
		{"SELECT CAST(-1e19 AS bigint) FROM $EDS_ID LIMIT 1", "Out of range for bigint: -1.0E19"},
		{"SELECT CAST(3e9 AS integer) FROM $EDS_ID LIMIT 1", "Out of range for integer: 3.0E9"},
		{"SELECT CAST(3000000000 AS integer) FROM $EDS_ID LIMIT 1", "Out of range for integer: 3000000000"},
		{"SELECT CAST(40000 AS smallint) FROM $EDS_ID LIMIT 1", "Out of range for smallint: 40000"},
		{"SELECT CAST('3000000000' AS int) FROM $EDS_ID LIMIT 1", "cannot cast '3000000000' to INT"},
		{"SELECT CAST('99999999999999999999' AS bigint) FROM $EDS_ID LIMIT 1", "cannot cast '99999999999999999999' to BIGINT"},
		{"SELECT date_add('day', 9223372036854775807, eventTime) FROM $EDS_ID LIMIT 1", "timestamp out of range (years 1 to 9999)"},
		{"SELECT date_add('millisecond', -9223372036854775807, eventTime) FROM $EDS_ID LIMIT 1", "timestamp out of range"},
		{"SELECT date_add('year', 8000, eventTime) FROM $EDS_ID LIMIT 1", "timestamp out of range"},
		{"SELECT date_add('year', 768614336404564650, eventTime) FROM $EDS_ID LIMIT 1", "timestamp out of range"},
		{"SELECT eventTime + INTERVAL '999999999' DAY FROM $EDS_ID LIMIT 1", "timestamp out of range"},
		{"SELECT eventTime - INTERVAL '9000' YEAR FROM $EDS_ID LIMIT 1", "timestamp out of range"},
		{"SELECT CAST(2147483647 AS integer) + CAST(1 AS integer) FROM $EDS_ID LIMIT 1", "integer addition overflow: 2147483647 + 1"},
		{"SELECT CAST(-2147483647 AS integer) - 2 FROM $EDS_ID LIMIT 1", "integer subtraction overflow: -2147483647 - 2"},
		{"SELECT CAST(65536 AS integer) * CAST(length(eventID) AS integer) * 65536 FROM $EDS_ID LIMIT 1", "integer multiplication overflow"},
		{"SELECT CAST(32767 AS smallint) + CAST(1 AS smallint) FROM $EDS_ID LIMIT 1", "smallint addition overflow"},
	} {
		_, err := run(c.sql)
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Msg, c.want) {
			t.Errorf("%s: %v; want a QueryError %q", c.sql, err, c.want)
		}
	}
	res, err := run("SELECT " + minBig + " % -1, try(" + minBig + " / -1), TRY_CAST(1e30 AS bigint), CAST(2.5 AS bigint), CAST(-2.5 AS integer)," +
		" try(date_add('day', 9223372036854775807, eventTime)), date_add('day', 1, TIMESTAMP '9999-12-30 00:00:00.000')," +
		" CAST(2147483646 AS integer) + 1, CAST(2147483647 AS integer) + 3000000000, try(CAST(2147483647 AS integer) + CAST(1 AS integer))," +
		" -9223372036854775807 / (length(eventID) - 7), 7 / -1 FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0", "NULL", "NULL", "3", "-3", "NULL", "9999-12-31 00:00:00.000", "2147483647", "5147483647", "NULL", "9223372036854775807", "-7"}
	for i, v := range res.Rows[0] {
		got := "NULL"
		if v != nil {
			got = *v
		}
		if got != want[i] {
			t.Errorf("column %d: %s, want %s", i, got, want[i])
		}
	}
}
