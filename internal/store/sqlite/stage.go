package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cairn-audit/cairn/internal/store"
)

// Staged index rows. An index transaction's dense and span rows land all
// over the postings and span_rows tables (a backfill's over 30 days of
// them, several thousand keys each), so each row dirties a page of its
// own, and SQLite writes each dirtied page to the write-ahead log at
// commit and again at the checkpoint: with 10M events stored that was
// the part of the server's CPU that grew with the store. The indexer
// now appends its rows to two small staging tables instead (a rowid
// table gains pages only at its end; its index by key is small enough
// that its pages stay in the cache), and once they hold stageMaxRows
// rows it moves them into the key tables in one statement, sorted in
// their order, inside the same transaction: each page of the key tables
// is then written once for the rows of many transactions
// (BenchmarkIndexSpread, 10M events over 30 days in transactions of
// 64,000: 4.2 µs of CPU an event without staging, 2.5 with it).
//
// Reads look in the staging tables before the key tables (rowSources).
// Retention deletes staged rows as it does the others. The staging tables
// are part of index format 3: a cairn of format 2 would not read them,
// and refuses the store.

// stageMaxRows is how many rows the staging tables gather before they are
// moved. A 30-day backfill's transaction of 64,000 events writes about
// 9,000 rows, so about twenty transactions share a move. At 6M events,
// BenchmarkIndexSpread gave 2.5, 2.1 and 1.9 µs an event for 50,000,
// 100,000 and 400,000 rows; 1.9 for 200,000 with the staging index in
// the key tables' order (a move needs no sort), which made lookups read
// the staging tables with a probe per day.
const stageMaxRows = 200_000

const stageSchema = `
CREATE TABLE IF NOT EXISTS postings_stage (` + indexRowCols + `
);
CREATE INDEX IF NOT EXISTS postings_stage_by_key ON postings_stage(k, d, tmax, seq0);
CREATE TABLE IF NOT EXISTS span_stage (` + indexRowCols + `
);
CREATE INDEX IF NOT EXISTS span_stage_by_key ON span_stage(k, d, tmax, seq0);
`

// The staging tables' read queries: those of the key tables (scanQuery,
// spanQuery) with the same parameters and order. The list of days
// (intList) runs from the newest to the oldest: one seek of the staging
// index by key reads its range, where the key tables take a probe per
// day of the list.
const (
	stageScanQuery = `SELECT d, tmax, tmin, data FROM postings_stage
		WHERE k = ?2 AND d BETWEEN json_extract(?1, '$[#-1]') AND json_extract(?1, '$[0]') AND tmax >= ?3
		ORDER BY k DESC, d DESC, tmax DESC, seq0 DESC`
	stageSpanQuery = `SELECT d, tmax, tmin, data FROM span_stage
		WHERE k = ?2 AND d BETWEEN json_extract(?1, '$[#-1]') AND json_extract(?1, '$[0]') AND tmax >= ?3
		ORDER BY k DESC, d DESC, tmax DESC, seq0 DESC`
)

// rowSource is a table of index rows as reads go through it: its read
// statement and the days to ask of it.
type rowSource struct {
	st     *sql.Stmt
	d0, d1 int64
	staged bool // a staging table
}

// rowSources are the tables holding a key's index rows of start to end, in
// the order reads go through them: the staging tables before the key
// tables, so that a row moved between two reads is read twice (a lookup's
// TopK keeps it once), never not at all.
func (s *Store) rowSources(start, end int64) [4]rowSource {
	d0, d1 := store.Day(start), store.Day(end)
	s0, s1 := store.SpanDaysOf(d0, d1)
	return [4]rowSource{{s.stageScan, d0, d1, true}, {s.stageSpans, s0, s1, true}, {s.scan, d0, d1, false}, {s.spans, s0, s1, false}}
}

// stagePairs names each staging table with the key table its rows move to.
var stagePairs = [...]struct{ stage, table string }{{"postings_stage", "postings"}, {"span_stage", "span_rows"}}

// countStaged returns how many rows the staging tables hold.
func (s *Store) countStaged(ctx context.Context) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM postings_stage) + (SELECT count(*) FROM span_stage)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: staged index rows: %w", err)
	}
	return n, nil
}

// moveStaged moves every staged row into its key table, in key order.
func moveStaged(exec func(string, []any) error) error {
	for _, p := range stagePairs {
		if err := exec(insertOrRollback+p.table+`(d, k, tmax, seq0, tmin, n, data)
			SELECT d, k, tmax, seq0, tmin, n, data FROM `+p.stage+` ORDER BY d, k, tmax, seq0`, nil); err != nil {
			return fmt.Errorf("sqlite: move staged index rows: %w", err)
		}
		if err := exec(`DELETE FROM `+p.stage, nil); err != nil {
			return fmt.Errorf("sqlite: move staged index rows: %w", err)
		}
	}
	return nil
}
