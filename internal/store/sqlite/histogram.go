package sqlite

import (
	"context"
	"fmt"
	"math"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Histogram implements store.Histogrammer. It counts the key's postings:
// those still pending in memory, then the index rows of each day in range,
// counting from a row only postings numbered below the first pending one
// (a batch indexed while the rows are read is counted once, as pending).
// Errors read the records of the postings counted.
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
	pending, below := s.pendingSnapshot(key, store.Day(start), store.Day(end))
	h.AddPostings(pending)
	rows, err := s.scan.QueryContext(ctx, intList(store.Day(start), store.Day(end)), key, start)
	if err != nil {
		return nil, fmt.Errorf("sqlite: histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, tmax, tmin int64
		var data []byte
		if err := rows.Scan(&d, &tmax, &tmin, &data); err != nil {
			return nil, fmt.Errorf("sqlite: histogram: %w", err)
		}
		if tmin > end {
			continue
		}
		if err := h.Add(data, below); err != nil {
			return nil, fmt.Errorf("sqlite: histogram: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: histogram: %w", err)
	}
	if q.Errors {
		if err := s.histogramErrors(ctx, h); err != nil {
			return nil, err
		}
	}
	return h.Result(), nil
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

// pendingSnapshot returns the pending postings of key on days d0 to d1, and
// the first pending sequence number (MaxInt64 when none is pending): every
// indexed posting is numbered below it.
func (s *Store) pendingSnapshot(key, d0, d1 int64) ([]store.Posting, int64) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	var out []store.Posting
	for d := range s.pendingDays {
		if d >= d0 && d <= d1 {
			out = append(out, s.pendingPost[[2]int64{d, key}]...)
		}
	}
	below := int64(math.MaxInt64)
	if len(s.pending) > 0 {
		below = s.pending[0].b.seq0
	}
	return out, below
}
