package lakesql

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestExplain prints the engine's plan for LAKE_EXPLAIN_SQL over the
// database LAKE_EXPLAIN_DB (a tool for benchmarks; nothing to check without them).
func TestExplain(t *testing.T) {
	path, q := os.Getenv("LAKE_EXPLAIN_DB"), os.Getenv("LAKE_EXPLAIN_SQL")
	if path == "" || q == "" {
		return
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	cq, err := compile(st, sqliteDialect{}, map[string]int64{"EDS": 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(cq.sql, cq.args)
	rows, err := db.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+cq.sql, cq.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b, c int
		var d string
		rows.Scan(&a, &b, &c, &d)
		t.Log(d)
	}
	var v string
	db.r.QueryRow("select sqlite_version()").Scan(&v)
	t.Log(v)
}
