package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// Pack rows are merged once their generation is sealed. Each index
// transaction writes a row for each bucket its one-off keys fall in, so a
// generation indexed in many transactions has many rows a bucket: a store
// filling at 50,000 events/s about 20 (a transaction a second), one at
// 1,000 events/s hundreds. A lookup reads its bucket's rows in every
// generation, so it read them all. When the indexer has indexed every
// event of a generation, no row of it is written again, and its rows of
// each bucket are rewritten as few (mergePacks: rows of at most
// mergeRowBytes, in key order), mergeChunk buckets a transaction, between
// index transactions. The merge is background work: it gives way to
// indexing once mergeWhilePending events are waiting (at 50,000
// events/s, about a third of a second after a transaction), or after
// mergeBudget while fewer are.
//
// The ID index's runs (id_runs, layout.go) are made the same way, a run
// a bucket for each transaction, and read the same way, by EventId
// lookups and the writer's duplicate check: each chunk merges them too,
// the ID buckets of the same part of the hash space (4,096 buckets to
// the packs' 8,192).
//
// How far merging has got is kept in the seqs table as packs_merged: the
// slot (generation << packBucketBits | bucket) of the next bucket to
// merge, written in the transaction that merges the bucket before it.
const (
	mergeChunk        = 256
	mergeWhilePending = indexTrigger / 4
	mergeBudget       = indexDelay / 4
	mergeRetry        = time.Minute
)

// mergedSlot is the packs_merged value of generation g's bucket b.
func mergedSlot(g, b int64) int64 { return g<<packBucketBits | b }

// packsSealedBelow is the first generation that may still get pack rows:
// that of the first pending event, or with none pending, of the next
// event.
func (s *Store) packsSealedBelow() int64 {
	last := s.last.Load() // before firstPending: an append after has a later seq
	if first := s.firstPending.Load(); first <= last {
		return idGen(first)
	}
	return idGen(last + 1)
}

// mergePacks merges the pack rows of sealed generations, chunk by chunk,
// until none is left to merge or the store closes; it gives way to
// indexing when a flush or a full batch asks for it, when
// mergeWhilePending events are waiting, or when any are and it has run
// for mergeBudget. A merge that fails is logged and not tried again for
// mergeRetry (indexing does not depend on it). It runs on the indexer's
// goroutine.
func (s *Store) mergePacks(ctx context.Context) {
	if time.Now().Before(s.mergeAfter) {
		return
	}
	began := time.Now()
	for {
		select {
		case <-s.ixQuit:
			return
		default:
		}
		if len(s.full) > 0 {
			return // the indexer takes the token when it gathers
		}
		if n := s.pendingCount(); n >= mergeWhilePending || n > 0 && time.Since(began) > mergeBudget {
			return
		}
		sealed := s.packsSealedBelow()
		next := max(s.packMerged.Load(), mergedSlot(s.packLow.Load(), 0))
		if next>>packBucketBits >= sealed {
			return
		}
		if err := s.mergeChunk(ctx, next); err != nil {
			s.log.Warn("store: merging the index's pack rows failed; lookups read them unmerged meanwhile",
				"generation", next>>packBucketBits, "bucket", next&(1<<packBucketBits-1), "retry_in", mergeRetry, "err", err)
			s.mergeAfter = time.Now().Add(mergeRetry)
			return
		}
	}
}

// mergeChunk merges the pack rows of the mergeChunk buckets from slot in
// one transaction, and records the slot after them as packs_merged.
func (s *Store) mergeChunk(ctx context.Context, slot int64) error {
	g, b0 := slot>>packBucketBits, slot&(1<<packBucketBits-1)
	b1 := min(b0+mergeChunk, 1<<packBucketBits)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: merge packs: begin: %w", err)
	}
	defer tx.Rollback()
	packs, packBuckets, err := chunkRows(ctx, tx, packChunkQuery, g, b0, b1,
		func(data []byte, b, seq0, tmax int64, into []packEntry) ([]packEntry, error) {
			return packEntries(data, g, b, seq0, tmax, into)
		})
	if err != nil {
		return err
	}
	// The ID index's buckets of the same part of the hash space.
	const idShift = packBucketBits - idBucketBits
	ids, idBuckets, err := chunkRows(ctx, tx, idChunkQuery, g, b0>>idShift, b1>>idShift,
		func(data []byte, _, seq0, _ int64, into []idEntry) ([]idEntry, error) {
			return idEntries(data, seq0, into)
		})
	if err != nil {
		return err
	}
	step := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		// Background work: lookups waiting for a CPU go first.
		if !s.gate.Load().Yield(ctx) {
			runtime.Gosched()
		}
		return err
	}
	exec := func(q string, args []any) error { return step(q, args...) }
	next := mergedSlot(g, b1)
	if b1 == 1<<packBucketBits {
		next = mergedSlot(g+1, 0)
	}
	if len(packBuckets) == 0 && len(idBuckets) == 0 {
		// Nothing to merge: no commit (each is an fsync). The position
		// is written with the next chunk that merges rows; after a
		// restart, chunks up to there are read again and found so.
		s.packMerged.Store(next)
		return nil
	}
	if len(packBuckets) > 0 {
		if err := step(`DELETE FROM packs WHERE g = ? AND b IN (SELECT value FROM json_each(?))`, g, jsonInts(packBuckets)); err != nil {
			return fmt.Errorf("sqlite: merge packs: %w", err)
		}
		if err := insertPackRows(exec, mergedRows(packs)); err != nil {
			return err
		}
	}
	if len(idBuckets) > 0 {
		if err := step(`DELETE FROM id_runs WHERE g = ? AND b IN (SELECT value FROM json_each(?))`, g, jsonInts(idBuckets)); err != nil {
			return fmt.Errorf("sqlite: merge ID runs: %w", err)
		}
		if err := insertIDRunRows(exec, mergedIDRuns(g, ids)); err != nil {
			return err
		}
	}
	if err := step(`INSERT INTO seqs(name, last) VALUES ('packs_merged', ?) ON CONFLICT(name) DO UPDATE SET last = excluded.last`, next); err != nil {
		return fmt.Errorf("sqlite: merge packs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: merge packs: commit: %w", err)
	}
	s.packMerged.Store(next)
	return nil
}

// chunkRows reads generation g's rows of buckets b0 to b1 (exclusive)
// with q (which selects b, seq0, tmax, data in key order), decodes each
// with decode, and returns the entries of each bucket that has more than
// one row or a row longer than mergeRowBytes, and those buckets. A bucket
// with a row that does not decode is left as it is.
func chunkRows[E any](ctx context.Context, tx *sql.Tx, q string, g, b0, b1 int64,
	decode func(data []byte, b, seq0, tmax int64, into []E) ([]E, error)) ([][]E, []int64, error) {
	rows, err := tx.QueryContext(ctx, q, g, b0, b1)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: merge index rows: %w", err)
	}
	defer rows.Close()
	var entries [][]E
	var bucket []E
	var buckets []int64
	cur, n := int64(-1), 0
	corrupt, long := false, false
	flush := func() {
		if (n > 1 || long) && !corrupt {
			entries = append(entries, bucket)
			buckets = append(buckets, cur)
		}
		bucket, n, corrupt, long = nil, 0, false, false
	}
	for rows.Next() {
		var b, seq0, tmax int64
		var data sql.RawBytes
		if err := rows.Scan(&b, &seq0, &tmax, &data); err != nil {
			return nil, nil, fmt.Errorf("sqlite: merge index rows: %w", err)
		}
		if b != cur {
			flush()
			cur = b
		}
		n++
		long = long || len(data) > mergeRowBytes
		if !corrupt {
			bucket, err = decode(data, b, seq0, tmax, bucket)
			corrupt = err != nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: merge index rows: %w", err)
	}
	flush()
	return entries, buckets, nil
}

// The chunk queries of the two tables merged.
const (
	packChunkQuery = `SELECT b, seq0, tmax, data FROM packs WHERE g = ? AND b >= ? AND b < ? ORDER BY b, seq0`
	idChunkQuery   = `SELECT b, seq0, 0, data FROM id_runs WHERE g = ? AND b >= ? AND b < ? ORDER BY b, seq0`
)

// idEntries appends to into every entry of an ID run.
func idEntries(data []byte, seq0 int64, into []idEntry) ([]idEntry, error) {
	err := eachIDEntry(seq0, data, func(h, seq int64) { into = append(into, idEntry{h: h, seq: seq}) })
	return into, err
}

// packEntries appends to into every entry of a pack row of generation g
// and bucket b.
func packEntries(data []byte, g, b, seq0, tmax int64, into []packEntry) ([]packEntry, error) {
	for len(data) > 0 {
		k, dt, ds, rest, err := packEntryAt(data)
		if err != nil {
			return into, err
		}
		data = rest
		into = append(into, packEntry{g: g, b: b, k: int64(k), p: store.Posting{Time: tmax - int64(dt), Seq: seq0 + int64(ds)}})
	}
	return into, nil
}

// mergeRowBytes bounds the data of a merged pack row. A row of packs is a
// key of its table's b-tree (WITHOUT ROWID), and a key longer than a
// page's local payload (2,030 bytes of an 8 KiB page) spills to overflow
// pages, which SQLite reads whole, with a system call each, to compare
// keys while it seeks: merged into one row a bucket, a generation's rows
// of 5 KB made a lookup's pack reads cost as much as the 16 rows they
// replaced. A bucket's entries are split, in key order, into rows under
// this size.
const mergeRowBytes = 1_800

// mergedRows is the pack rows of each bucket's entries (one
// generation's), sorted by key and split (splitRows).
func mergedRows(buckets [][]packEntry) []packRow {
	var rows []packRow
	for _, es := range buckets {
		sortPackEntries(es)
		tmax, seq0 := es[0].p.Time, es[0].p.Seq
		for _, e := range es {
			tmax, seq0 = max(tmax, e.p.Time), min(seq0, e.p.Seq)
		}
		rows = append(rows, splitRows(es,
			func(e packEntry) int { return 8 + uvarintLen(uint64(tmax-e.p.Time)) + uvarintLen(uint64(e.p.Seq-seq0)) },
			func(grp []packEntry, below int64) (packRow, int64, int) {
				r := packRowFrom(grp, below)
				return r, r.seq0, len(r.data)
			})...)
	}
	return rows
}

// mergedIDRuns is the ID runs of generation g of each bucket's entries,
// sorted by hash and split (splitRows).
func mergedIDRuns(g int64, buckets [][]idEntry) []idRun {
	var runs []idRun
	for _, es := range buckets {
		slices.SortFunc(es, func(x, y idEntry) int { return cmp.Or(cmp.Compare(x.h, y.h), cmp.Compare(x.seq, y.seq)) })
		b := idBucket(es[0].h)
		seq0 := slices.MinFunc(es, func(x, y idEntry) int { return cmp.Compare(x.seq, y.seq) }).seq
		runs = append(runs, splitRows(es,
			func(e idEntry) int { return 8 + uvarintLen(uint64(e.seq-seq0)) },
			func(grp []idEntry, below int64) (idRun, int64, int) {
				r := idRunFrom(g, b, grp, below)
				return r, r.seq0, len(r.data)
			})...)
	}
	return runs
}

// splitRows cuts one bucket's entries, in the order their rows hold them,
// into rows of at most mergeRowBytes with distinct seq0s (the tables'
// key). size bounds an entry's bytes (from the bucket's first sequence
// number and newest time, which a row's own are no further from); row
// makes the row of a group with seq0 at most below, and says its seq0 and
// data length.
func splitRows[E, R any](es []E, size func(E) int, row func(grp []E, below int64) (R, int64, int)) []R {
	var groups [][]E
	start, n := 0, 0
	for i, e := range es {
		if m := size(e); n+m > mergeRowBytes && i > start {
			groups = append(groups, es[start:i:i])
			start, n = i, m
		} else {
			n += m
		}
	}
	groups = append(groups, es[start:])
	var rows []R
	seq0s := map[int64]bool{}
	for len(groups) > 0 {
		grp := groups[0]
		groups = groups[1:]
		r, seq0, length := row(grp, math.MaxInt64)
		for seq0s[seq0] {
			// Another row of the bucket starts at this sequence number
			// (one event with keys on both sides of a split): this one's
			// entries are stored from one below.
			r, seq0, length = row(grp, seq0-1)
		}
		if length > mergeRowBytes && len(grp) > 1 {
			// Its deltas from a seq0 moved below the bucket's outgrew
			// the estimate: split it again.
			half := len(grp) / 2
			groups = append([][]E{grp[:half:half], grp[half:]}, groups...)
			continue
		}
		seq0s[seq0] = true
		rows = append(rows, r)
	}
	return rows
}

// uvarintLen is the length of v as a uvarint.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
