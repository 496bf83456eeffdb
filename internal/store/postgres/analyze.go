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
// a day's partitions itself each time this node has appended another
// analyzeEvery events to it (and on the first 10,000), one ANALYZE at a
// time, in the background.
const (
	analyzeFirst = 10_000
	analyzeEvery = 250_000
)

// analyzer counts appended events per day and runs ANALYZE when due.
type analyzer struct {
	mu       sync.Mutex
	appended map[int64]int64 // by day, since the day's last ANALYZE here
	analyzed map[int64]bool  // days analyzed at least once here
	running  bool
	wg       sync.WaitGroup
}

// added records n events appended to day and returns the days now due.
func (a *analyzer) added(counts map[int64]int64) []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appended == nil {
		a.appended, a.analyzed = map[int64]int64{}, map[int64]bool{}
	}
	var due []int64
	for d, n := range counts {
		a.appended[d] += n
		limit := int64(analyzeEvery)
		if !a.analyzed[d] {
			limit = analyzeFirst
		}
		if a.appended[d] >= limit {
			due = append(due, d)
		}
	}
	if a.running || len(due) == 0 {
		return nil
	}
	a.running = true
	for _, d := range due {
		a.appended[d] = 0
		a.analyzed[d] = true
	}
	a.wg.Add(1)
	return due
}

// analyze runs ANALYZE on the events and lookup partitions of days.
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
		for _, table := range []string{"events", "lookup"} {
			name := pgx.Identifier{partitionName(table, d)}.Sanitize()
			if _, err := s.pool.Exec(ctx, "ANALYZE "+name); err != nil {
				return // the partition may be gone (retention); autovacuum remains
			}
		}
	}
}
