package lakesql

import (
	"slices"
	"testing"
)

// runRows runs sql ($EDS_ID standing for storeID) over the fixture and
// returns its rows in the order the query gives them.
func runRows(t *testing.T, db *DB, sql string) [][]string {
	t.Helper()
	return project(t, runSample(t, db, sql), nil)
}

// idsOf returns the event IDs of the fixture events keep selects, sorted.
func idsOf(fs []*fx, keep func(*fx) bool) []string {
	var out []string
	for _, f := range fs {
		if keep(f) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestSetOperationOrderLimit checks that ORDER BY, LIMIT and OFFSET after
// a UNION, UNION ALL, EXCEPT or INTERSECT apply to the whole set
// operation, as in Trino, not to its last SELECT.
func TestSetOperationOrderLimit(t *testing.T) {
	db, fs := loadFixture(t)
	gets := idsOf(fs, func(f *fx) bool { return f.Name == "GetObject" })
	puts := idsOf(fs, func(f *fx) bool { return f.Name == "PutObject" })
	if len(gets) < 3 || len(puts) < 2 {
		t.Fatalf("fixture has %d GetObject, %d PutObject events", len(gets), len(puts))
	}
	col := func(rows [][]string) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r[0])
		}
		return out
	}
	both := append(slices.Clone(gets), puts...)
	slices.Sort(both)

	got := runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' EXCEPT SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY 1 LIMIT 2")
	if len(got) != 0 {
		t.Errorf("X EXCEPT X ORDER BY 1 LIMIT 2: got %q, want no rows", got)
	}
	got = runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' UNION ALL SELECT eventID FROM $EDS_ID WHERE eventName = 'PutObject' LIMIT 1")
	if len(got) != 1 {
		t.Errorf("UNION ALL … LIMIT 1: got %d rows, want 1", len(got))
	}
	got = runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName = 'PutObject' UNION ALL SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY 1")
	if !slices.Equal(col(got), both) {
		t.Errorf("UNION ALL … ORDER BY 1: got %q, want %q", col(got), both)
	}
	got = runRows(t, db, "SELECT eventID AS id FROM $EDS_ID WHERE eventName = 'PutObject' UNION SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY id DESC OFFSET 1 LIMIT 3")
	desc := slices.Clone(both)
	slices.Reverse(desc)
	if want := desc[1:4]; !slices.Equal(col(got), want) {
		t.Errorf("UNION … ORDER BY id DESC OFFSET 1 LIMIT 3: got %q, want %q", col(got), want)
	}
	got = runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName IN ('GetObject', 'PutObject') INTERSECT SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY eventID LIMIT 2")
	if want := gets[:2]; !slices.Equal(col(got), want) {
		t.Errorf("INTERSECT … ORDER BY eventID LIMIT 2: got %q, want %q", col(got), want)
	}
	// A SELECT in parentheses keeps its own ORDER BY and LIMIT; those
	// after it are the whole operation's.
	got = runRows(t, db, "(SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY eventID DESC LIMIT 2) UNION ALL (SELECT eventID FROM $EDS_ID WHERE eventName = 'PutObject' ORDER BY eventID LIMIT 1) ORDER BY 1")
	want := []string{puts[0], gets[len(gets)-2], gets[len(gets)-1]}
	slices.Sort(want)
	if !slices.Equal(col(got), want) {
		t.Errorf("(… LIMIT 2) UNION ALL (… LIMIT 1) ORDER BY 1: got %q, want %q", col(got), want)
	}
	got = runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName = 'PutObject' UNION ALL (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY 1 LIMIT 1) ORDER BY 1 DESC LIMIT 2")
	want = append(slices.Clone(puts), gets[0])
	slices.Sort(want)
	slices.Reverse(want)
	if !slices.Equal(col(got), want[:2]) {
		t.Errorf("… UNION ALL (… LIMIT 1) ORDER BY 1 DESC LIMIT 2: got %q, want %q", col(got), want[:2])
	}
	got = runRows(t, db, "(SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject') ORDER BY 1 OFFSET 1 LIMIT 2")
	if !slices.Equal(col(got), gets[1:3]) {
		t.Errorf("(…) ORDER BY 1 OFFSET 1 LIMIT 2: got %q, want %q", col(got), gets[1:3])
	}
	// A SELECT without a set operation keeps its own.
	got = runRows(t, db, "SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject' ORDER BY eventID DESC LIMIT 1")
	if want := gets[len(gets)-1:]; !slices.Equal(col(got), want) {
		t.Errorf("ORDER BY eventID DESC LIMIT 1: got %q, want %q", col(got), want)
	}
}
