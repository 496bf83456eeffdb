package lakesql

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReadBounds: a statement that computes a value over MaxValueBytes
// fails with a *QueryError naming the limit (it does not grow memory),
// one just under it runs, and the read connections keep temporary
// b-trees in files, not memory.
func TestReadBounds(t *testing.T) {
	db, _ := loadFixture(t)
	stores := map[string]string{"S1": "store1"}
	run := func(sql string) error {
		st, err := Parse(sql)
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		_, err = db.Run(context.Background(), st, RunOptions{Stores: stores})
		return err
	}
	// 'x' becomes 2,000 x's, then each of those 2,000 x's: 4,000,000 bytes,
	// under 4 MiB; 3,000 x's make 9,000,000 bytes, over it.
	blow := func(n int) string {
		xs := "'" + strings.Repeat("x", n) + "'"
		return "SELECT length(replace(replace('x', 'x', " + xs + "), 'x', " + xs + ")) AS n FROM S1 LIMIT 1"
	}
	if err := run(blow(2000)); err != nil {
		t.Errorf("a 4,000,000-byte value: %v", err)
	}
	err := run(blow(3000))
	var qe *QueryError
	if !errors.As(err, &qe) || !strings.Contains(qe.Msg, "over the limit of 4 MiB") {
		t.Errorf("a 9,000,000-byte value: %T %v, want a *QueryError over the limit of 4 MiB", err, err)
	}

	c, err := db.readConn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var store int
	if err := c.QueryRowContext(context.Background(), "PRAGMA temp_store").Scan(&store); err != nil || store != 1 {
		t.Errorf("PRAGMA temp_store on a read connection: %d %v, want 1 (FILE)", store, err)
	}
}
