package lakesql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// withChain is a WITH chain of n+1 queries whose every query reads the one
// before twice: written out where it is used, its SQL doubles per link.
func withChain(n int) string {
	var b strings.Builder
	b.WriteString("WITH a0 AS (SELECT eventName FROM " + storeID + ")")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, ", a%d AS (SELECT * FROM a%d UNION ALL SELECT * FROM a%d)", i, i-1, i-1)
	}
	fmt.Fprintf(&b, " SELECT count(*) FROM a%d LIMIT 0", n)
	return b.String()
}

// TestCompiledSQLIsBounded: statements whose SQL, written out, would
// double per WITH link, or read the stores in too many places, are refused when they are
// checked, with a message that says what to shorten, before any SQL of
// unbounded size is built; a short chain still runs.
func TestCompiledSQLIsBounded(t *testing.T) {
	db, fs := loadFixture(t)
	o := RunOptions{Stores: map[string]string{storeID: "store1"}}
	// One WITH query used in 101 IN lists.
	many := "WITH x AS (SELECT eventName FROM " + storeID + ") SELECT count(*) FROM x WHERE eventName IN (SELECT * FROM x)" +
		strings.Repeat(" OR eventName IN (SELECT * FROM x)", 100)
	for _, c := range []struct{ sql, want string }{
		{withChain(19), "reads event data stores in"},
		{withChain(60), "reads event data stores in"},
		{many, "the limit is 100"},
	} {
		st, err := Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Check(st, o)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s…: Check = %v, want an error saying %q", c.sql, err, c.want)
		}
	}
	checkRowsAnyOrder(t, db, storeID, strings.TrimSuffix(withChain(3), " LIMIT 0"), [][]string{{fmt.Sprint(8 * len(fs))}})
}
