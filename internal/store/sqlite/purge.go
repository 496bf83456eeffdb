package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Purge implements store.Store. Events older than the cut leave every read
// but the log's (ReadLog) at once; a block whose events are all older, and
// all numbered at most readTo, is deleted with its ID index entries, and a
// segment file goes when no block is left in it.
func (s *Store) Purge(ctx context.Context, before time.Time, readTo int64) (int64, error) {
	cut := before.Unix()
	prev := s.purged.Load()
	if cut > prev {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('purged', ?)
			ON CONFLICT(name) DO UPDATE SET last = max(last, excluded.last)`, cut); err != nil {
			return 0, fmt.Errorf("sqlite: purge: %w", err)
		}
		s.purged.Store(cut)
	} else {
		cut = prev
	}
	s.flushIndex() // purge works on indexed blocks
	blocks, err := s.blocksBefore(ctx, cut)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, b := range blocks {
		buf, err := s.segs.readAt(b.seg, b.off, b.size)
		if err != nil {
			return total, err
		}
		var tmax int64 = math.MinInt64
		for len(buf) > 0 {
			e, n, err := parseFrame(buf)
			if err != nil {
				return total, fmt.Errorf("sqlite: purge block %d: %w", b.seq0, err)
			}
			buf = buf[n:]
			t := e.Time.Unix()
			if t >= prev && t < cut {
				total++
			}
			tmax = max(tmax, t)
		}
		if tmax < cut && b.seqN <= readTo {
			if _, err := s.w.ExecContext(ctx, `DELETE FROM blocks WHERE seq0 = ?`, b.seq0); err != nil {
				return total, fmt.Errorf("sqlite: purge: %w", err)
			}
			s.blocks.clear()
		}
	}
	// The ID index's generations older than every block left. One
	// statement: the indexer may add blocks meanwhile.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`DELETE FROM id_runs WHERE g < (SELECT min(seq0) >> %d FROM blocks)`, idGenBits)); err != nil {
		return total, fmt.Errorf("sqlite: purge ID index: %w", err)
	}
	// A span row filed under a day kept may hold postings of days purged:
	// reads leave those out (the retention cut), and the row goes once its
	// own day is purged.
	for _, table := range []string{"postings", "span_rows", "postings_stage", "span_stage"} {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE d < ?`, store.Day(cut)); err != nil {
			return total, fmt.Errorf("sqlite: purge index: %w", err)
		}
	}
	// A pack row goes once all its postings are purged (by its index on
	// tmax); reads leave out the purged postings of the others.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM packs WHERE tmax < ?`, cut); err != nil {
		return total, fmt.Errorf("sqlite: purge index: %w", err)
	}
	if err := s.loadPackLow(ctx, false); err != nil {
		return total, err
	}
	return total, s.removeUnusedSegments(ctx)
}

func (s *Store) blocksBefore(ctx context.Context, cut int64) ([]block, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT `+blockCols+` FROM blocks WHERE tmin < ? ORDER BY seq0`, cut)
	if err != nil {
		return nil, fmt.Errorf("sqlite: purge: %w", err)
	}
	blocks, err := scanBlocks(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: purge: %w", err)
	}
	return blocks, nil
}

// removeUnusedSegments deletes the segment files older than every block,
// pending or indexed. Pending blocks are listed first: one indexed
// meanwhile is among the database's, and a batch written later goes to
// the writer's segment or to a new one, named by its first seq, which is
// past the last acknowledged now.
func (s *Store) removeUnusedSegments(ctx context.Context) error {
	keep := min(s.segs.current(), s.last.Load()+1)
	for _, b := range s.pendingBlocks() {
		keep = min(keep, b.seg)
	}
	var oldest sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT min(seg) FROM blocks`).Scan(&oldest); err != nil {
		return fmt.Errorf("sqlite: purge: %w", err)
	}
	if oldest.Valid {
		keep = min(keep, oldest.Int64)
	}
	if s.beforeSegmentList != nil {
		s.beforeSegmentList()
	}
	nums, err := listSegments(s.segs.dir)
	if err != nil {
		return fmt.Errorf("sqlite: purge: %w", err)
	}
	for _, n := range nums {
		if n < keep {
			if err := s.segs.remove(n); err != nil {
				return fmt.Errorf("sqlite: purge: %w", err)
			}
		}
	}
	return nil
}

// migrate moves the records of a store written before segment files (an
// events table) into segments, a run of consecutive seqs per block, then
// drops the table. It resumes where it stopped if interrupted.
func (s *Store) migrate(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	var after int64
	if err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(seqn), 0) FROM blocks`).Scan(&after); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for {
		evs, err := s.oldEvents(ctx, after)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		for len(evs) > 0 {
			run := 1 // consecutive seqs go in one block
			for run < len(evs) && evs[run].Seq == evs[run-1].Seq+1 {
				run++
			}
			if err := s.migrateRun(ctx, evs[:run]); err != nil {
				return err
			}
			after = evs[run-1].Seq
			evs = evs[run:]
		}
	}
	if _, err := s.w.ExecContext(ctx, `DROP INDEX IF EXISTS events_by_id; DROP TABLE events`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

func (s *Store) oldEvents(ctx context.Context, after int64) ([]*event.Event, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT seq, account, region, event_id, t, category, record
		FROM events WHERE seq > ? ORDER BY seq LIMIT 5000`, after)
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer rows.Close()
	var out []*event.Event
	for rows.Next() {
		e := &event.Event{}
		var t int64
		if err := rows.Scan(&e.Seq, &e.Account, &e.Region, &e.ID, &t, &e.Category, &e.Record); err != nil {
			return nil, fmt.Errorf("sqlite: migrate: %w", err)
		}
		e.Time = time.Unix(t, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) migrateRun(ctx context.Context, evs []*event.Event) error {
	var frames, lens []byte
	var ids []idEntry
	tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, e := range evs {
		n := len(frames)
		frames = appendFrame(frames, e, e.Seq, nil)
		lens = binary.AppendUvarint(lens, uint64(len(frames)-n))
		ids = append(ids, idEntry{h: idHash(e.Account, e.ID), seq: e.Seq})
		tmin, tmax = min(tmin, e.Time.Unix()), max(tmax, e.Time.Unix())
	}
	seg, off, err := s.segs.write(frames, evs[0].Seq)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		s.segs.undo(seg, off)
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	exec := func(q string, args []any) error { _, err := tx.ExecContext(ctx, q, args...); return err }
	b := block{seq0: evs[0].Seq, seqN: evs[len(evs)-1].Seq, seg: seg, off: off, size: int64(len(frames)), lens: lens}
	err = insertBlock(ctx, tx, b, tmin, tmax)
	if err == nil {
		err = insertIDRuns(exec, ids)
	}
	if err == nil {
		err = setIndexed(ctx, tx, b)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		s.segs.undo(seg, off)
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}
