package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/segment"
	"github.com/cairn-audit/cairn/internal/store"
)

// The indexer lets batches gather for up to indexDelay, or until
// indexTrigger events are pending (reads find pending events in memory
// meanwhile), and then indexes what is pending in one transaction of at
// most maxIndexBatch events. The more events one transaction indexes, the
// fewer rows per event it writes (events share keys) and the fewer pages
// per event it dirties: a transaction's rows land all over the index
// tables (a backfill's over 30 days of them), so its cost is about the
// pages it touches, which grow with the store, not with its events.
// BenchmarkIndexSpread measures it: with 6M events over 30 days stored, a
// transaction of 64,000 such events cost 6.4 µs of CPU an event, one of
// 128,000 4.1 µs and one of 256,000 2.7 µs (1.3–1.4 µs on an empty
// store). A backfill that keeps the indexer behind gets transactions of
// up to maxIndexBatch events. Starting them at 128,000 events or after
// 2 s instead raised the server's peak memory in a 2M-event backfill from
// ~610 to ~910 MiB for a few per cent less CPU, so they start at 64,000.
const (
	indexTrigger  = 64_000
	maxIndexBatch = 256_000
	indexDelay    = time.Second
)

// indexLoop is the indexer: it writes pending batches to the database
// until the store closes, then drains what is left.
func (s *Store) indexLoop() {
	defer close(s.ixDone)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var busy time.Duration // how long the last index transaction took
	s.mergePacks(context.Background())
	for {
		select {
		case <-s.kick:
		case <-retry.C:
		case <-s.ixQuit:
			s.indexPending(true) // what fails here is re-indexed from the log at the next open
			return
		}
		// Gather, unless the last transaction took longer than that: then
		// the indexer is what appends wait for, and plenty has gathered
		// meanwhile.
		if busy < indexDelay {
			gather := time.NewTimer(indexDelay)
			select {
			case <-gather.C:
			case <-s.full:
				gather.Stop()
			case <-s.ixQuit:
				gather.Stop()
			}
		}
		began := time.Now()
		err := s.indexPending(false)
		busy = time.Since(began)
		if err == nil {
			// Between index transactions (packmerge.go says when it
			// gives way to the next).
			s.mergePacks(context.Background())
		}
		if err != nil {
			retry.Reset(200 * time.Millisecond)
		} else if s.pendingCount() > 0 {
			s.kickIndexer() // the rest gathers for the next transaction
		}
	}
}

// indexPending indexes pending batches: all of them, or (all false) one
// transaction's worth, and more only while indexTrigger events are
// waiting, so that what comes in meanwhile gathers for the next.
func (s *Store) indexPending(all bool) error {
	for {
		s.pmu.Lock()
		n, events := 0, 0
		for n < len(s.pending) && events < maxIndexBatch {
			events += len(s.pending[n].ids)
			n++
		}
		take := s.pending[:n:n]
		s.pmu.Unlock()
		if n == 0 {
			return nil
		}
		if err := s.writeIndex(context.Background(), take); err != nil {
			s.indexErr.Store(err.Error())
			s.pmu.Lock()
			s.pcond.Broadcast() // flushIndex gives up
			s.pmu.Unlock()
			return err
		}
		s.indexErr.Store("")
		fresh := newIDTable(s.hints.ids)
		s.pmu.Lock()
		s.pending = s.pending[n:]
		first := int64(math.MaxInt64)
		if len(s.pending) > 0 {
			first = s.pending[0].b.seq0
		}
		s.firstPending.Store(first)
		s.dropIndexed(take, fresh)
		s.pcond.Broadcast()
		behind := s.pendingEvents >= indexTrigger
		s.pmu.Unlock()
		if !all && !behind {
			return nil
		}
	}
}

// dropIndexed removes the IDs of indexed batches from memory, in whole
// generations (their postings left with the batches, taken off pending by
// the caller). The caller holds pmu, which readers and the writer wait
// for meanwhile (BenchmarkDropPending); the IDs are dropped under idMu too.
func (s *Store) dropIndexed(indexed []*batch, fresh *idTable) {
	through := indexed[len(indexed)-1].b.seqN
	s.idMu.Lock()
	if n := s.pendingIDs.indexed(through, fresh); n > 0 {
		s.hints.ids = n
	}
	s.idMu.Unlock()
	for _, bt := range indexed {
		s.pendingEvents -= len(bt.ids)
	}
}

// writeIndex writes batches (consecutive, oldest first) in one
// transaction: their blocks, ID index entries and postings, the sequence
// and the log position indexed through.
func (s *Store) writeIndex(ctx context.Context, batches []*batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	exec := func(q string, args []any) error {
		st, ok := stmts[q]
		if !ok {
			var err error
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			stmts[q] = st
		}
		_, err := st.ExecContext(ctx, args...)
		// A transaction is hundreds of milliseconds of CPU: between its
		// statements the indexer lets lookups that wait for a CPU run
		// first, rather than after the scheduler's 10 ms time slice, and
		// steps aside (boundedly) while lookups are in flight (yield.go).
		if !s.gate.Load().Yield(ctx) {
			runtime.Gosched()
		}
		return err
	}
	keys, events := 0, 0
	for _, bt := range batches {
		keys, events = max(keys, len(bt.postings)), events+len(bt.ids)
	}
	// At least the keys of the biggest batch: the map grows less often.
	postings := make(map[int64][]store.Posting, keys)
	ids := make([]idEntry, 0, events)
	for _, bt := range batches {
		if err := insertBlock(ctx, tx, bt.b, bt.tmin, bt.tmax); err != nil {
			return err
		}
		ids = append(ids, bt.ids...) // a copy: readers use bt.ids until the batch leaves pending
		for k, ps := range bt.postings {
			postings[k] = append(postings[k], ps...) // a copy: GroupRows reorders it
		}
	}
	if err := insertIDRuns(exec, ids); err != nil {
		return err
	}
	if err := insertPacks(exec, takeOneOffs(postings, s.packMax)); err != nil {
		return err
	}
	dense, spans := store.GroupRows(postings)
	staged := s.staged + len(dense) + len(spans)
	if staged > s.stageMax {
		if err := moveStaged(exec); err != nil {
			return err
		}
		staged = len(dense) + len(spans)
	}
	if err := insertRows(exec, "postings_stage", dense); err != nil {
		return err
	}
	if err := insertRows(exec, "span_stage", spans); err != nil {
		return err
	}
	last := batches[len(batches)-1].b
	if err := setIndexed(ctx, tx, last); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.staged = staged
	return nil
}

// insertOrRollback begins the indexer's inserts of many rows at once. A
// statement that writes several rows and may fail half-way (a constraint
// of the default ABORT kind) makes SQLite copy every page it first
// touches into a statement journal, to undo the statement alone; for a
// backfill's index transaction, whose rows land on thousands of distinct
// pages, that copy was 8 % of the server's CPU. OR ROLLBACK undoes the
// whole transaction instead, which the indexer does on any error anyway
// (the batches stay pending and are indexed again), so SQLite keeps no
// statement journal.
const insertOrRollback = "INSERT OR ROLLBACK INTO "

// insertRows writes index rows to table (postings or span_rows) in chunks.
func insertRows(exec func(string, []any) error, table string, rows []store.PostingRow) error {
	for len(rows) > 0 {
		n := min(len(rows), indexRowChunk)
		args := make([]any, 0, n*7)
		for _, r := range rows[:n] {
			args = append(args, r.Day, r.Key, r.MaxTime, r.FirstSeq, r.MinTime, r.Count, r.Data)
		}
		if err := exec(insertOrRollback+table+"(d, k, tmax, seq0, tmin, n, data) VALUES "+placeholders(n, 7), args); err != nil {
			return fmt.Errorf("sqlite: index: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// setIndexed records, in tx, that the log is indexed through block b.
func setIndexed(ctx context.Context, tx *sql.Tx, b block) error {
	// The sequence only grows: a migrated store's may be past its events.
	if _, err := tx.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('events', ?)
		ON CONFLICT(name) DO UPDATE SET last = max(last, excluded.last)`, b.seqN); err != nil {
		return fmt.Errorf("sqlite: sequence: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('indexed_seg', ?), ('indexed_end', ?)
		ON CONFLICT(name) DO UPDATE SET last = excluded.last`, b.seg, b.off+b.size); err != nil {
		return fmt.Errorf("sqlite: indexed position: %w", err)
	}
	return nil
}

// insertBlock writes the row of one block.
func insertBlock(ctx context.Context, tx *sql.Tx, b block, tmin, tmax int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks(seq0, seqn, seg, off, size, tmin, tmax, lens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		b.seq0, b.seqN, b.seg, b.off, b.size, tmin, tmax, b.lens); err != nil {
		return fmt.Errorf("sqlite: block: %w", err)
	}
	return nil
}

// seqValue reads one number of the seqs table (0 when absent).
func seqValue(ctx context.Context, db *sql.DB, name string) (int64, error) {
	var v int64
	err := db.QueryRowContext(ctx, `SELECT last FROM seqs WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: %w", name, err)
	}
	return v, nil
}

// recoverLog indexes the frames past the indexed position (appends that
// were acknowledged but not yet indexed when the process stopped), cuts off
// a torn last frame, and gives the writer the last segment.
func (s *Store) recoverLog(ctx context.Context) error {
	seg, err := seqValue(ctx, s.w, "indexed_seg")
	if err != nil {
		return err
	}
	end, err := seqValue(ctx, s.w, "indexed_end")
	if err != nil {
		return err
	}
	last, err := s.lastSeq(ctx)
	if err != nil {
		return err
	}
	nums, err := listSegments(s.segs.dir)
	if err != nil {
		return fmt.Errorf("sqlite: segments: %w", err)
	}
	active, activeEnd := int64(0), int64(0)
	for i, n := range nums {
		if n < seg {
			continue
		}
		from := int64(0)
		if n == seg {
			from = end
		}
		good, err := s.recoverSegment(ctx, n, from, &last)
		if err != nil {
			return err
		}
		active, activeEnd = n, good
		fi, err := os.Stat(segmentName(s.segs.dir, n))
		if err != nil {
			return err
		}
		if fi.Size() == good {
			continue
		}
		// Bytes after the last whole frame: a write that failed or was cut
		// short. The log goes on in the next segment only if that one
		// starts with the next frame (the writer moved on after a failed
		// write it could not take back); else nothing after this point was
		// ever acknowledged.
		if i+1 < len(nums) && startsWith(segmentName(s.segs.dir, nums[i+1]), last+1) {
			if err := truncateFile(segmentName(s.segs.dir, n), good); err != nil {
				return err
			}
			continue
		}
		for _, m := range nums[i+1:] {
			if err := os.Remove(segmentName(s.segs.dir, m)); err != nil {
				return err
			}
		}
		break
	}
	if seg > 0 && active == 0 {
		return fmt.Errorf("sqlite: segment %d, indexed through byte %d, is missing", seg, end)
	}
	s.next = last
	s.last.Store(last)
	if active > 0 {
		return s.segs.resume(active, activeEnd)
	}
	return nil
}

// startsWith reports whether the segment file at path begins with a whole
// frame of event seq.
func startsWith(path string, seq int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head, err := segment.ReadAt(f, 0, frameHeader)
	if err != nil {
		return false
	}
	n := format.FrameLen(head)
	if n > frameHeader+2*event.MaxRecordBytes {
		return false
	}
	buf, err := segment.ReadAt(f, 0, n)
	if err != nil {
		return false
	}
	e, _, err := parseFrame(buf)
	return err == nil && e.Seq == seq
}

// truncateFile cuts the file at path to size and syncs it.
func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return segment.Cut(f, size)
}

// recoverSegment indexes the whole frames of segment n from byte from on,
// numbered after *last, and returns where they end.
func (s *Store) recoverSegment(ctx context.Context, n, from int64, last *int64) (int64, error) {
	// Only the part past the indexed position is read: at a clean start,
	// nothing.
	f, err := os.Open(segmentName(s.segs.dir, n))
	if err != nil {
		return 0, fmt.Errorf("sqlite: recover segment %d: %w", n, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("sqlite: recover segment %d: %w", n, err)
	}
	if fi.Size() < from {
		return 0, fmt.Errorf("sqlite: segment %d is %d bytes, shorter than its indexed %d", n, fi.Size(), from)
	}
	var bt *batch
	flush := func() error {
		if bt == nil {
			return nil
		}
		err := s.writeIndex(ctx, []*batch{bt})
		bt = nil
		return err
	}
	good, _, err := format.Scan(f, from, fi.Size(), 0, func(off int64, _ uint64, body []byte) error {
		e, keys, err := parseBody(body, true)
		if err != nil || e.Seq != *last+1 {
			return &segment.CorruptError{Reason: "not the next event's frame"}
		}
		size := frameHeader + len(body)
		if bt == nil {
			bt = &batch{b: block{seq0: e.Seq, seg: n, off: off}, tmin: math.MaxInt64, tmax: math.MinInt64,
				postings: map[int64][]store.Posting{}}
		}
		bt.b.seqN = e.Seq
		bt.b.size += int64(size)
		bt.b.lens = binary.AppendUvarint(bt.b.lens, uint64(size))
		bt.ids = append(bt.ids, idEntry{h: idHash(e.Account, e.ID), seq: e.Seq})
		t := e.Time.Unix()
		bt.tmin, bt.tmax = min(bt.tmin, t), max(bt.tmax, t)
		for _, k := range keys {
			bt.postings[k] = append(bt.postings[k], store.Posting{Time: t, Seq: e.Seq})
		}
		*last = e.Seq
		if len(bt.ids) >= maxIndexBatch {
			return flush()
		}
		return nil
	})
	if err != nil && !segment.IsCorrupt(err) {
		return 0, fmt.Errorf("sqlite: recover segment %d: %w", n, err)
	}
	return good, flush()
}
