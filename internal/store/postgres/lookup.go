package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

const eventCols = `seq, account, region, event_id, t, category, record`

// scanEvent reads a row of eventCols.
func scanEvent(row pgx.CollectableRow) (*event.Event, error) {
	e := &event.Event{}
	var t int64
	if err := row.Scan(&e.Seq, &e.Account, &e.Region, &e.ID, &t, &e.Category, &e.Record); err != nil {
		return nil, err
	}
	e.Time = time.Unix(t, 0).UTC()
	return e, nil
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit <= 0 {
		return store.Page{}, nil
	}
	start, end, ok := q.Bounds()
	if !ok {
		return store.Page{}, nil
	}
	if q.Attr == event.AttrEventID {
		return s.lookupID(ctx, q, start, end)
	}
	key := store.Key(q.Account, q.Region, q.Category, q.Attr, q.Value)
	top := store.NewTopK(q)
	if q.HideReadOnly {
		if err := s.lookupHiding(ctx, top, q, key, start, end); err != nil {
			return store.Page{}, err
		}
	} else if err := s.scanRows(ctx, s.pool, top, key, start, end); err != nil {
		return store.Page{}, err
	}
	found, next := top.Result()
	page := store.Page{Next: next}
	evs, err := s.byPosting(ctx, found)
	if err != nil {
		return store.Page{}, err
	}
	for _, e := range evs {
		// Index keys are hashes: keep only events that are what was asked.
		if e.Account == q.Account && e.Region == q.Region && e.Category == q.Category {
			page.Events = append(page.Events, e)
		}
	}
	return page, nil
}

// scanRows offers key's index rows to top: the lookup rows of the days in
// range, then the span rows that may reach into it (filed under days up to
// store.SpanDays-1 later), until no older row can change the page.
func (s *Store) scanRows(ctx context.Context, db queryer, top *store.TopK, key, start, end int64) error {
	first, last := store.Day(start), store.Day(end)
	if err := s.scanTable(ctx, db, "lookup", top, key, first, last, start, end); err != nil {
		return err
	}
	sfirst, slast := store.SpanDaysOf(first, last)
	return s.scanTable(ctx, db, "lookup_spans", top, key, sfirst, slast, start, end)
}

// scanTable offers key's rows of table on days first to last to top,
// newest day and newest rows first. It reads windows of days, newest
// first, spanning 1, 2, 4, … partitions (planning a query costs in
// proportion to the partitions it may touch, and most pages are found in
// the newest day or two), and each window in chunks of rows, growing too,
// so that it stops reading where it stops needing rows. A row's day is
// that of its newest posting, so rows come in falling tmax order: once one
// is older than a whole page found, so is every row after it.
func (s *Store) scanTable(ctx context.Context, db queryer, table string, top *store.TopK, key, first, last, start, end int64) error {
	known := s.knownDays(ctx, first, last)
	chunk := 16
	for width, hi := 1, last; hi >= first; width *= 2 {
		// The window reaches down to the width-th known partition: days
		// without one cost nothing, and days this node does not know of yet
		// (another node created them) only widen the window.
		for len(known) > 0 && known[0] > hi {
			known = known[1:]
		}
		lo := first
		if width <= len(known) {
			lo = known[width-1]
		}
		// Position of the last row read: the next chunk starts below it.
		ld, lt, ls := int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64)
		for {
			rows, err := db.Query(ctx, `SELECT d, tmax, seq0, tmin, data FROM `+table+`
				WHERE k = $1 AND d BETWEEN $2 AND $3 AND tmax >= $4 AND (d, tmax, seq0) < ($5, $6, $7)
				ORDER BY d DESC, tmax DESC, seq0 DESC LIMIT $8`,
				key, lo, hi, start, ld, lt, ls, chunk)
			if err != nil {
				return fmt.Errorf("postgres: lookup: %w", err)
			}
			n, stop := 0, false
			var d, tmax, seq0, tmin int64
			var data []byte
			_, err = pgx.ForEachRow(rows, []any{&d, &tmax, &seq0, &tmin, &data}, func() error {
				n++
				ld, lt, ls = d, tmax, seq0
				if stop {
					return nil
				}
				if top.Full() && top.Done(tmax) {
					stop = true
					return nil
				}
				if tmin > end {
					return nil
				}
				return top.Add(data)
			})
			if err != nil {
				return fmt.Errorf("postgres: lookup: %w", err)
			}
			if stop {
				return nil
			}
			if n < chunk {
				break // the window is read
			}
			chunk = min(4*chunk, 1024)
		}
		// Older windows hold rows whose newest posting is before lo.
		if top.Full() && top.Done(dayStart(lo)-1) {
			return nil
		}
		hi = lo - 1
	}
	return nil
}

// dayStart is the first second of day d (of everything before 1970 for -1).
func dayStart(d int64) int64 {
	if d < 0 {
		return math.MinInt64 + 1
	}
	return d * 86400
}

// indexRowsQuery reads the data of key's rows of both index tables that may
// hold postings from start to end: $1 key, $2 and $3 the days of lookup
// rows, $4 start, $5 end, $6 the last day of span rows.
const indexRowsQuery = `SELECT d, data FROM lookup WHERE k = $1 AND d BETWEEN $2 AND $3 AND tmax >= $4 AND tmin <= $5
	UNION ALL SELECT d, data FROM lookup_spans WHERE k = $1 AND d BETWEEN $2 AND $6 AND tmax >= $4 AND tmin <= $5`

// indexRows runs indexRowsQuery for key from start to end.
func indexRows(ctx context.Context, db queryer, key, start, end int64) (pgx.Rows, error) {
	first, last := store.Day(start), store.Day(end)
	_, slast := store.SpanDaysOf(first, last)
	return db.Query(ctx, indexRowsQuery, key, first, last, start, end, slast)
}

// queryer runs a query on the pool or in a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// lookupHiding fills top, leaving out the read-only events: the hidden set
// and the listing are read in one snapshot, so that every event listed
// that is read-only is in the set.
func (s *Store) lookupHiding(ctx context.Context, top *store.TopK, q store.Query, key, start, end int64) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: lookup: %w", err)
	}
	defer tx.Rollback(context.Background())
	hidden, err := s.hidden(ctx, tx, store.HiddenKey(q.Account, q.Region, q.Category), start, end)
	if err != nil {
		return err
	}
	top.SetHidden(hidden, math.MaxInt64)
	if err := s.scanRows(ctx, tx, top, key, start, end); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// hidden reads, in tx, the read-only events from start to end
// (HideReadOnly) of the key hk.
func (s *Store) hidden(ctx context.Context, tx pgx.Tx, hk, start, end int64) (*store.Hidden, error) {
	h := store.NewHidden(start, end)
	rows, err := indexRows(ctx, tx, hk, start, end)
	if err != nil {
		return nil, fmt.Errorf("postgres: hidden events: %w", err)
	}
	var d int64
	var data []byte
	if _, err := pgx.ForEachRow(rows, []any{&d, &data}, func() error { return h.Add(data) }); err != nil {
		return nil, fmt.Errorf("postgres: hidden events: %w", err)
	}
	h.Seal()
	return h, nil
}

func (s *Store) lookupID(ctx context.Context, q store.Query, start, end int64) (store.Page, error) {
	after := store.Cursor{Time: math.MaxInt64, Seq: math.MaxInt64}
	if q.After != nil {
		after = *q.After
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events
		WHERE event_id = $1 AND account = $2 AND region = $3 AND category = $4 AND t BETWEEN $5 AND $6
			AND (t, seq) < ($7, $8)
		ORDER BY t DESC, seq DESC LIMIT $9`,
		q.Value, q.Account, q.Region, q.Category, start, end, after.Time, after.Seq, q.Limit)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: lookup: %w", err)
	}
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: lookup: %w", err)
	}
	return store.Page{Events: evs}, nil
}

// byPosting reads the events of postings, in the order given: one query per
// day, so that each reads one partition and looks up only its own sequence
// numbers, all sent in one round trip. The partition is chosen by the
// postings' exact times rather than by the day's range: a range invites the
// planner, on a partition too new to have statistics, to scan an index over
// the whole day.
func (s *Store) byPosting(ctx context.Context, ps []store.Posting) ([]*event.Event, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	type day struct{ times, seqs []int64 }
	var order []int64
	days := map[int64]*day{}
	for _, p := range ps {
		d := days[store.Day(p.Time)]
		if d == nil {
			d = &day{}
			days[store.Day(p.Time)] = d
			order = append(order, store.Day(p.Time))
		}
		if !slices.Contains(d.times, p.Time) {
			d.times = append(d.times, p.Time)
		}
		d.seqs = append(d.seqs, p.Seq)
	}
	got := make(map[int64]*event.Event, len(ps))
	b := &pgx.Batch{}
	for _, k := range order {
		b.Queue(`SELECT `+eventCols+` FROM events WHERE t = ANY($1) AND seq = ANY($2)`,
			days[k].times, days[k].seqs).Query(func(rows pgx.Rows) error {
			evs, err := pgx.CollectRows(rows, scanEvent)
			for _, e := range evs {
				got[e.Seq] = e
			}
			return err
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("postgres: read events: %w", err)
	}
	out := make([]*event.Event, 0, len(ps))
	for _, p := range ps {
		if e, ok := got[p.Seq]; ok { // a purged event may still have index rows
			out = append(out, e)
		}
	}
	return out, nil
}

// ReadLog implements store.Store. It reads only below the appends in
// flight (numbering.go): every lower number that will ever exist is then
// already visible, so a reader never sees a gap fill in later.
func (s *Store) ReadLog(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	bound, err := s.readBound(ctx)
	if err != nil {
		return nil, err
	}
	if bound <= after {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, after, bound, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read log: %w", err)
	}
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("postgres: read log: %w", err)
	}
	return evs, nil
}
