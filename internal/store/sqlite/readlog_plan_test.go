package sqlite

import (
	"context"
	"strings"
	"testing"
)

// ReadLog finds the blocks past a position through the primary key: a
// scan of the blocks table would cost every follower of the log (streams,
// the live tail, delivery) time in proportion to the whole log at each
// read.
func TestReadLogSearchesBlocks(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+readLogQuery, 1001, 1000, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN blocks") {
			t.Fatalf("ReadLog's query scans the blocks table: %q", plan)
		}
	}
}
