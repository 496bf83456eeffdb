package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Histogram implements store.Histogrammer. It counts the key's postings in
// one read of the index rows of the days in range (one snapshot). A purge
// deletes the events of its cutoff's day row by row and leaves their index
// rows (every earlier day's lookup rows go with their partition), so the
// postings of the oldest day still indexed, and the older ones span rows of
// later days hold, are checked against the events table, and those whose
// event is gone are left out. Errors come
// from the index of failed events the same way, and from the records of
// events stored before it.
func (s *Store) Histogram(ctx context.Context, q store.HistogramQuery) ([]store.Bucket, error) {
	h, err := store.NewHisto(q)
	if err != nil {
		return nil, err
	}
	start, end, ok := h.Bounds()
	if !ok || end < start {
		return h.Result(), nil
	}
	if q.Attr == event.AttrEventID {
		return h.ByID(ctx, s)
	}
	key := store.Key(q.Account, q.Region, q.Category, q.Attr, q.Value)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("postgres: histogram: %w", err)
	}
	defer tx.Rollback(context.Background())
	oldest, ok, err := oldestIndexDay(ctx, tx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return h.Result(), nil
	}
	if q.HideReadOnly {
		hidden, err := s.hidden(ctx, tx, store.HiddenKey(q.Account, q.Region, q.Category), start, end)
		if err != nil {
			return nil, err
		}
		h.SetHidden(hidden)
	}
	if q.Errors {
		// The failed events first: counting looks each posting up in them.
		if err := s.failedPostings(ctx, tx, h, q, start, end); err != nil {
			return nil, err
		}
	}
	rows, err := indexRows(ctx, tx, key, start, end)
	if err != nil {
		return nil, fmt.Errorf("postgres: histogram: %w", err)
	}
	// Postings of the oldest day, or older (in span rows), are checked
	// against the events table; a lookup row of a later day is counted
	// whole.
	var check, ps []store.Posting
	var d int64
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&d, &data}, func() error {
		if d > oldest+store.SpanDays {
			return h.Add(data, 1<<62)
		}
		var err error
		if ps, err = store.DecodePostings(data, ps[:0]); err != nil {
			return err
		}
		for _, p := range ps {
			if store.Day(p.Time) <= oldest {
				check = append(check, p)
			} else {
				h.AddPostings([]store.Posting{p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: histogram: %w", err)
	}
	if len(check) > 0 {
		if err := s.countExisting(ctx, tx, h, check); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: histogram: %w", err)
	}
	if q.Errors {
		if err := s.histogramErrors(ctx, h); err != nil {
			return nil, err
		}
	}
	return h.Result(), nil
}

// oldestIndexDay is the oldest day with a lookup partition, in tx: a purge
// drops every older one and deletes events of that day row by row, so its
// postings (and older ones in span rows) may name events gone.
func oldestIndexDay(ctx context.Context, tx pgx.Tx) (int64, bool, error) {
	names, err := partitions(ctx, tx, "lookup")
	if err != nil {
		return 0, false, err
	}
	oldest, ok := int64(0), false
	for _, n := range names {
		if d, is := partitionDay("lookup", n); is && (!ok || d < oldest) {
			oldest, ok = d, true
		}
	}
	return oldest, ok, nil
}

// failedPostings offers h the postings of the failed events in range (in
// tx, the snapshot the counts are read in) and where they are complete.
func (s *Store) failedPostings(ctx context.Context, tx pgx.Tx, h *store.Histo, q store.HistogramQuery, start, end int64) error {
	from, err := store.ErrorKeysFrom(ctx, s)
	if err != nil {
		return err
	}
	rows, err := indexRows(ctx, tx, store.ErrorsKey(q.Account, q.Region, q.Category), start, end)
	if err != nil {
		return fmt.Errorf("postgres: histogram: %w", err)
	}
	var d int64
	var data []byte
	if _, err := pgx.ForEachRow(rows, []any{&d, &data}, func() error { return h.AddFailed(data, 1<<62) }); err != nil {
		return fmt.Errorf("postgres: histogram: %w", err)
	}
	h.FailedFrom(from)
	return nil
}

// countExisting counts the postings of ps whose events are still stored.
func (s *Store) countExisting(ctx context.Context, tx pgx.Tx, h *store.Histo, ps []store.Posting) error {
	times := make([]int64, 0, len(ps))
	seqs := make([]int64, 0, len(ps))
	for _, p := range ps {
		times = append(times, p.Time)
		seqs = append(seqs, p.Seq)
	}
	rows, err := tx.Query(ctx, `SELECT e.t, e.seq FROM events e JOIN unnest($1::bigint[], $2::bigint[]) AS p(t, seq)
		ON e.t = p.t AND e.seq = p.seq`, times, seqs)
	if err != nil {
		return fmt.Errorf("postgres: histogram: %w", err)
	}
	var found []store.Posting
	var t, seq int64
	if _, err := pgx.ForEachRow(rows, []any{&t, &seq}, func() error {
		found = append(found, store.Posting{Time: t, Seq: seq})
		return nil
	}); err != nil {
		return fmt.Errorf("postgres: histogram: %w", err)
	}
	h.AddPostings(found)
	return nil
}

// histogramErrors reads the records of the postings counted, in chunks,
// and counts those with an errorCode.
func (s *Store) histogramErrors(ctx context.Context, h *store.Histo) error {
	const chunk = 4096
	for i := 0; i < len(h.Seqs); i += chunk {
		evs, err := s.byPosting(ctx, h.Seqs[i:min(i+chunk, len(h.Seqs))])
		if err != nil {
			return fmt.Errorf("postgres: histogram: %w", err)
		}
		for _, e := range evs {
			h.Record(e.Time.Unix(), e.Record)
		}
	}
	return nil
}
