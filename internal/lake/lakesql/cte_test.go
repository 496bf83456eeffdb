package lakesql

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCTEScoping checks that a WITH query is visible, as in Trino, in the
// later WITH queries of its WITH, in subqueries and in every SELECT of a
// set operation, and that an inner WITH shadows an outer one.
func TestCTEScoping(t *testing.T) {
	db, fs := loadFixture(t)
	gets := idsOf(fs, func(f *fx) bool { return f.Name == "GetObject" })
	one := func(n int) [][]string { return [][]string{{strconv.Itoa(n)}} }
	cases := []struct {
		sql  string
		want [][]string
	}{
		{"WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject'), y AS (SELECT * FROM x) SELECT count(*) FROM y", one(len(gets))},
		{"WITH x AS (SELECT eventName FROM $EDS_ID WHERE eventName = 'GetObject') SELECT count(*) FROM $EDS_ID WHERE eventName IN (SELECT eventName FROM x)", one(len(gets))},
		{"WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject') SELECT count(*) FROM (SELECT * FROM x)", one(len(gets))},
		{"WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject') SELECT eventID FROM $EDS_ID WHERE eventName = 'ConsoleLogin' EXCEPT SELECT eventID FROM x", nil},
		// The inner x shadows the outer one.
		{"WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject') SELECT count(*) FROM (WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'ConsoleLogin') SELECT * FROM x)", one(2)},
		// A WITH query's own name inside it is not itself.
		{"WITH x AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject') SELECT count(*) FROM x UNION ALL SELECT count(*) FROM (WITH y AS (SELECT * FROM x) SELECT * FROM y)", [][]string{{strconv.Itoa(len(gets))}, {strconv.Itoa(len(gets))}}},
	}
	cases[3].want = nil
	for _, id := range idsOf(fs, func(f *fx) bool { return f.Name == "ConsoleLogin" }) {
		cases[3].want = append(cases[3].want, []string{id})
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			// The names the caller looks up as stores (and refuses when
			// they are not its own) are only the real store's.
			st, err := Parse(strings.ReplaceAll(c.sql, "$EDS_ID", storeID))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Stores(); !slices.Equal(got, []string{storeID}) {
				t.Errorf("Stores() = %q, want only %q", got, storeID)
			}
			checkRowsAnyOrder(t, db, storeID, c.sql, c.want)
		})
	}
}

// TestCTENameIsNotAStore checks account isolation with WITH queries: a
// WITH query named like another account's store resolves to the WITH
// query (the statement does not name that store), and a store named
// outside any WITH query's scope is still one the caller must own.
func TestCTENameIsNotAStore(t *testing.T) {
	db, fs := loadFixture(t)
	const foreign = "FOREIGN-0000-4e8f-8bd1-bcf6cEXAMPLE"
	gets := idsOf(fs, func(f *fx) bool { return f.Name == "GetObject" })
	sql := `WITH "` + foreign + `" AS (SELECT eventID FROM $EDS_ID WHERE eventName = 'GetObject'), y AS (SELECT * FROM "` + foreign + `") SELECT count(*) FROM y WHERE eventID IN (SELECT eventID FROM "` + foreign + `")`
	st, err := Parse(strings.ReplaceAll(sql, "$EDS_ID", storeID))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Stores(); !slices.Equal(got, []string{storeID}) {
		t.Errorf("Stores() = %q, want only %q", got, storeID)
	}
	checkRowsAnyOrder(t, db, storeID, sql, [][]string{{strconv.Itoa(len(gets))}})

	// Before its WITH, in the WITH query's own body, or beside the WITH
	// (in a sibling subquery), the name is a store again.
	for _, sql := range []string{
		`SELECT count(*) FROM (WITH "` + foreign + `" AS (SELECT eventID FROM $EDS_ID) SELECT * FROM "` + foreign + `") UNION ALL SELECT count(*) FROM "` + foreign + `"`,
		`WITH "` + foreign + `" AS (SELECT eventID FROM "` + foreign + `") SELECT count(*) FROM "` + foreign + `"`,
	} {
		st, err := Parse(strings.ReplaceAll(sql, "$EDS_ID", storeID))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(st.Stores(), foreign) {
			t.Errorf("%s: Stores() = %q, want %q in it", sql, st.Stores(), foreign)
		}
		_, err = db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}})
		var ue *UnknownStoreError
		if !errors.As(err, &ue) || ue.Name != foreign {
			t.Errorf("%s: Run error %v, want UnknownStoreError for %q", sql, err, foreign)
		}
	}
}
