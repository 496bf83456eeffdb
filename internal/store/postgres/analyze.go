package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// A day partition gets planner statistics only when autovacuum analyzes it,
// which on a busy day comes long after the first hundreds of thousands of
// rows; until then the planner guesses, and lookups there took seconds
// (p99 1.4 s right after a 1.1M-event load). The store therefore analyzes
// a day's partitions itself, one ANALYZE at a time, in the background: once
// this node has appended analyzeFirst events to the day, and again each time
// the partition has doubled since: when this node alone has appended as many
// events as the partition then held (other nodes append too, so the
// partition grows at least that fast). Statistics go stale in proportion
// to how much a table has grown, not to how many rows it got (the planner
// scales them by the table's current size), so doubling keeps them as fresh
// as a fixed step while a day of 10M events costs ~10 ANALYZEs, not 40: each
// samples 30,000 rows of 1 KB records, and at a fixed step of 250,000 they
// took 8 % of the database's CPU under a steady ingest.
const analyzeFirst = 10_000

// analyzer counts appended events per day and runs ANALYZE when due.
type analyzer struct {
	mu       sync.Mutex
	appended map[int64]int64 // by day, in all
	next     map[int64]int64 // by day: the count at which it is due
	running  bool
	wg       sync.WaitGroup
}

// added records counts (events appended, by day) and returns the days now
// due, if no ANALYZE is running.
func (a *analyzer) added(counts map[int64]int64) []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appended == nil {
		a.appended, a.next = map[int64]int64{}, map[int64]int64{}
	}
	var due []int64
	for d, n := range counts {
		a.appended[d] += n
		if a.next[d] == 0 {
			a.next[d] = analyzeFirst
		}
		if a.appended[d] >= a.next[d] {
			due = append(due, d)
		}
	}
	if a.running || len(due) == 0 {
		return nil
	}
	a.running = true
	for _, d := range due {
		a.next[d] = 2 * a.appended[d]
	}
	a.wg.Add(1)
	return due
}

// held records that day's events partition held rows when analyzed, which
// may be more than this node appended: then the next ANALYZE waits until
// this node has appended that many more.
func (a *analyzer) held(day, rows int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next != nil && a.next[day] != 0 {
		a.next[day] = max(a.next[day], a.appended[day]+rows)
	}
}

// analyze runs ANALYZE on the partitions of days of each day table.
func (s *Store) analyze(days []int64) {
	defer func() {
		s.analyzer.mu.Lock()
		s.analyzer.running = false
		s.analyzer.mu.Unlock()
		s.analyzer.wg.Done()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, d := range days {
		for _, table := range dayTables {
			name := pgx.Identifier{partitionName(table, d)}.Sanitize()
			if _, err := s.pool.Exec(ctx, "ANALYZE "+name); err != nil {
				return // the partition may be gone (retention); autovacuum remains
			}
		}
		var rows float64
		if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`,
			pgx.Identifier{partitionName("events", d)}.Sanitize()).Scan(&rows); err == nil {
			s.analyzer.held(d, int64(rows))
		}
	}
}
