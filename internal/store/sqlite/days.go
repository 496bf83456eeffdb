package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/cairn-audit/cairn/internal/store"
)

// dayBounds are the first and last day (store.Day) of the events the store
// was ever given: every index row lies within them, dense or span (a span
// row is filed under the day of its newest posting). Reads ask SQLite only
// for the days of a range that lie within them: each day asked costs a
// probe of the index and an entry of the query's day list, and a lookup
// of the default 90 days asks for the span rows of 31 days past its end
// besides, which hold none while no event is dated in the future. The
// bounds only widen (retention leaves them as they are), so a stale read
// asks for more days than needed, never fewer.
type dayBounds struct {
	lo, hi atomic.Int64
}

// reset makes the bounds empty: no day lies within them.
func (b *dayBounds) reset() {
	b.lo.Store(math.MaxInt64)
	b.hi.Store(math.MinInt64)
}

// widen makes the bounds take in days lo to hi.
func (b *dayBounds) widen(lo, hi int64) {
	for {
		cur := b.lo.Load()
		if lo >= cur || b.lo.CompareAndSwap(cur, lo) {
			break
		}
	}
	for {
		cur := b.hi.Load()
		if hi <= cur || b.hi.CompareAndSwap(cur, hi) {
			break
		}
	}
}

// clip returns the part of days d0 to d1 within the bounds (d0 > d1 when
// none is).
func (b *dayBounds) clip(d0, d1 int64) (int64, int64) {
	return max(d0, b.lo.Load()), min(d1, b.hi.Load())
}

// daysQuery finds the first and last day of the index rows: one seek each
// (min and max together would scan).
const daysQuery = `SELECT (SELECT min(d) FROM postings), (SELECT max(d) FROM postings),
	(SELECT min(d) FROM span_rows), (SELECT max(d) FROM span_rows),
	(SELECT min(d) FROM postings_stage), (SELECT max(d) FROM postings_stage),
	(SELECT min(d) FROM span_stage), (SELECT max(d) FROM span_stage)`

// widenDaysToIndex widens s.days to the days of the index rows written
// before this process appended anything (at open).
func (s *Store) widenDaysToIndex(ctx context.Context) error {
	var v [8]sql.NullInt64
	if err := s.w.QueryRowContext(ctx, daysQuery).Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
		return fmt.Errorf("sqlite: index days: %w", err)
	}
	for i := 0; i < len(v); i += 2 {
		if v[i].Valid && v[i+1].Valid {
			s.days.widen(v[i].Int64, v[i+1].Int64)
		}
	}
	return nil
}

// widenDays takes in the days of a batch about to become readable.
func (s *Store) widenDays(tmin, tmax int64) {
	if tmin <= tmax {
		s.days.widen(store.Day(tmin), store.Day(tmax))
	}
}
