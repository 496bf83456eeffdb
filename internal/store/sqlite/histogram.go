package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Histogram implements store.Histogrammer. It counts the key's postings:
// those still pending in memory, then the index rows of each day in range,
// counting from a row only postings numbered below the first one pending
// then (a batch indexed while the rows are read is counted once, as
// pending, and one appended meanwhile not at all).
// Errors come from the index of failed events the same way, and from the
// records of events stored before it.
func (s *Store) Histogram(ctx context.Context, q store.HistogramQuery) ([]store.Bucket, error) {
	h, err := store.NewHisto(q)
	if err != nil {
		return nil, err
	}
	h.ClipStart(s.purged.Load())
	start, end, ok := h.Bounds()
	if !ok || end < start {
		return h.Result(), nil
	}
	if q.Attr == event.AttrEventID {
		return h.ByID(ctx, s)
	}
	key := store.Key(q.Account, q.Region, q.Category, q.Attr, q.Value)
	failedKey := store.ErrorsKey(q.Account, q.Region, q.Category)
	hk := store.HiddenKey(q.Account, q.Region, q.Category)
	pending, below := s.pendingSnapshot([]int64{key, failedKey, hk}, store.Day(start), store.Day(end))
	if q.HideReadOnly {
		hidden, err := s.hidden(ctx, hk, pending[2], start, end)
		if err != nil {
			return nil, err
		}
		h.SetHidden(hidden)
	}
	if q.Errors {
		// The failed events first: counting looks each posting up in them.
		from, err := store.ErrorKeysFrom(ctx, s)
		if err != nil {
			return nil, err
		}
		h.AddFailedPostings(pending[1])
		if err := s.eachRow(ctx, failedKey, start, end, func(data []byte) error { return h.AddFailed(data, below) }); err != nil {
			return nil, err
		}
		h.FailedFrom(from)
	}
	h.AddPostings(pending[0])
	if err := s.eachRow(ctx, key, start, end, func(data []byte) error { return h.Add(data, below) }); err != nil {
		return nil, err
	}
	if err := s.histogramErrors(ctx, h); err != nil {
		return nil, err
	}
	return h.Result(), nil
}

// eachRow calls f with the data of each of key's index rows, dense and
// span, that may hold postings from start to end, and with its postings
// in each pack row that may.
func (s *Store) eachRow(ctx context.Context, key, start, end int64, f func(data []byte) error) error {
	// The staging and key tables (stage.go) are read in one read
	// transaction: a move of staged rows between their reads would have
	// a row read twice, and counted twice.
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: histogram: %w", err)
	}
	defer tx.Rollback()
	for _, src := range s.rowSources(start, end) {
		if !src.staged && s.afterStagedRead != nil {
			s.afterStagedRead()
		}
		if d0, d1 := s.days.clip(src.d0, src.d1); d0 <= d1 {
			if err := eachTableRow(ctx, tx.StmtContext(ctx, src.st), key, d0, d1, start, end, f); err != nil {
				return err
			}
		}
	}
	return s.eachPack(ctx, key, start, end, f)
}

// eachTableRow calls f with the data of the rows st reads of key on days
// d0 to d1 that may hold postings from start to end.
func eachTableRow(ctx context.Context, st *sql.Stmt, key, d0, d1, start, end int64, f func(data []byte) error) error {
	rows, err := st.QueryContext(ctx, intList(d0, d1), key, start)
	if err != nil {
		return fmt.Errorf("sqlite: histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, tmax, tmin int64
		var data sql.RawBytes // read in place: f keeps none of it
		if err := rows.Scan(&d, &tmax, &tmin, &data); err != nil {
			return fmt.Errorf("sqlite: histogram: %w", err)
		}
		if tmin > end {
			continue
		}
		if err := f(data); err != nil {
			return fmt.Errorf("sqlite: histogram: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: histogram: %w", err)
	}
	return nil
}

// histogramErrors reads the records of the postings counted, in chunks,
// and counts those with an errorCode.
func (s *Store) histogramErrors(ctx context.Context, h *store.Histo) error {
	const chunk = 4096
	for i := 0; i < len(h.Seqs); i += chunk {
		part := h.Seqs[i:min(i+chunk, len(h.Seqs))]
		seqs := make([]int64, len(part))
		for j, p := range part {
			seqs[j] = p.Seq
		}
		evs, err := s.bySeq(ctx, seqs, true)
		if err != nil {
			return fmt.Errorf("sqlite: histogram: %w", err)
		}
		for _, e := range evs {
			h.Record(e.Time.Unix(), e.Record)
		}
	}
	return nil
}

// pendingSnapshot returns the pending postings of each key on days d0 to
// d1, and the first sequence number not indexed at that moment: rows read
// later may hold postings numbered from it on, which were not counted.
func (s *Store) pendingSnapshot(keys []int64, d0, d1 int64) ([][]store.Posting, int64) {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	// The writer acknowledges a batch (s.last) under pmu once it is pending:
	// with none pending, every event up to s.last is indexed.
	below := s.last.Load() + 1
	if len(s.pending) > 0 {
		below = s.pending[0].b.seq0
	}
	out := make([][]store.Posting, len(keys))
	for i, key := range keys {
		s.eachPendingList(key, func(ps []store.Posting) {
			for _, p := range ps {
				// Every pending posting is numbered from below on; rows
				// read later may hold some of them (the caller allows).
				if d := store.Day(p.Time); d >= d0 && d <= d1 {
					out[i] = append(out[i], p)
				}
			}
		})
	}
	return out, below
}

// hidden reads the read-only events of q's account, region and category
// from start to end (HideReadOnly): pending is the snapshot of their
// pending postings, and rows are read in full (a row's events numbered
// from the snapshot's bound on are hidden too, which hides nothing
// listed: those are not counted or listed).
func (s *Store) hidden(ctx context.Context, hk int64, pending []store.Posting, start, end int64) (*store.Hidden, error) {
	h := store.NewHidden(start, end)
	h.AddPostings(pending)
	if err := s.eachRow(ctx, hk, start, end, h.Add); err != nil {
		return nil, err
	}
	h.Seal()
	return h, nil
}

// lookupHiding fills top, leaving out the read-only events: it takes one
// snapshot of the pending postings of key and of the read-only key, so
// that every event it lists that is read-only is in the hidden set.
func (s *Store) lookupHiding(ctx context.Context, top *store.TopK, q store.Query, key, start, end int64) error {
	hk := store.HiddenKey(q.Account, q.Region, q.Category)
	pending, below := s.pendingSnapshot([]int64{key, hk}, store.Day(start), store.Day(end))
	hidden, err := s.hidden(ctx, hk, pending[1], start, end)
	if err != nil {
		return err
	}
	top.SetHidden(hidden, below)
	top.AddPostings(pending[0])
	return s.scanRows(ctx, top, key, start, end)
}
