package lakesql

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOverflowAndEngineErrors: a bigint result out of range fails the
// query with Trino's kind of message (+, -, *, negation, abs, sum, sum
// over a window), try(…) makes it NULL, in-range results are exact; no
// error of the engine's own reaches the user in SQLite's words.
func TestOverflowAndEngineErrors(t *testing.T) {
	db, _ := loadFixture(t)
	run := func(sql string) (*Result, error) {
		st, err := Parse(strings.ReplaceAll(sql, "$EDS_ID", storeID))
		if err != nil {
			return nil, err
		}
		return db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}, Now: time.Now()})
	}
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
