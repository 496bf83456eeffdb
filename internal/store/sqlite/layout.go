package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// The index tables are ordered so that what the indexer writes lands
// together: postings by day first (a day's rows, not rows all over the
// key space), and the ID index by generation of the sequence first (the
// newest generation's rows, not rows all over the hash space). With 10M
// events stored, ordering by key or hash first made each index
// transaction dirty pages across the whole table. Reads ask for the days
// (or generations) they span by list.

// The ID index holds runs: per index transaction, generation and bucket
// (the top idBucketBits of the hash), one row of (hash, seq) entries sorted
// by hash. A row per event made the ID index most of the indexer's work;
// runs make it a few thousand rows per transaction. A hash is found by
// reading its bucket's runs in every generation. Retention deletes whole
// generations once no block is left in them; until then an entry of a
// purged event finds no block and is left out.

// idGenBits: a generation of the ID index is 2^idGenBits sequence numbers.
const (
	idGenBits    = 20
	idBucketBits = 12
)

func idGen(seq int64) int64 { return seq >> idGenBits }

func idBucket(h int64) int64 { return int64(uint64(h) >> (64 - idBucketBits)) }

// idRun is one row of id_runs.
type idRun struct {
	g, b, seq0 int64
	data       []byte
}

// makeIDRuns groups entries into runs: one per generation and bucket,
// entries by hash; ids is reordered.
func makeIDRuns(ids []idEntry) []idRun {
	slices.SortFunc(ids, func(x, y idEntry) int {
		return cmp.Or(cmp.Compare(idGen(x.seq), idGen(y.seq)), cmp.Compare(idBucket(x.h), idBucket(y.h)),
			cmp.Compare(x.h, y.h), cmp.Compare(x.seq, y.seq))
	})
	var runs []idRun
	for i := 0; i < len(ids); {
		g, b := idGen(ids[i].seq), idBucket(ids[i].h)
		j := i
		for j < len(ids) && idGen(ids[j].seq) == g && idBucket(ids[j].h) == b {
			j++
		}
		runs = append(runs, idRunFrom(g, b, ids[i:j], math.MaxInt64))
		i = j
	}
	return runs
}

// idRunFrom is the run of generation g and bucket b holding ids (in the
// order given: by hash), with seq0 their first sequence number or below,
// if lower.
func idRunFrom(g, b int64, ids []idEntry, below int64) idRun {
	seq0 := below
	for _, id := range ids {
		seq0 = min(seq0, id.seq)
	}
	data := make([]byte, 0, 11*len(ids))
	for _, id := range ids {
		data = binary.LittleEndian.AppendUint64(data, uint64(id.h))
		data = binary.AppendUvarint(data, uint64(id.seq-seq0))
	}
	return idRun{g: g, b: b, seq0: seq0, data: data}
}

// eachIDEntry calls f with each (hash, seq) of a run.
func eachIDEntry(seq0 int64, data []byte, f func(h, seq int64)) error {
	for len(data) > 0 {
		if len(data) < 9 {
			return errIDRun
		}
		h := int64(binary.LittleEndian.Uint64(data))
		d, n := binary.Uvarint(data[8:])
		if n <= 0 {
			return errIDRun
		}
		f(h, seq0+int64(d))
		data = data[8+n:]
	}
	return nil
}

var errIDRun = errors.New("sqlite: corrupt ID index run")

// idRunChunk: rows per insert of runs.
const idRunChunk = 200

// insertIDRuns writes the ID index runs of ids (reordered).
func insertIDRuns(exec func(string, []any) error, ids []idEntry) error {
	return insertIDRunRows(exec, makeIDRuns(ids))
}

// insertIDRunRows writes ID index runs.
func insertIDRunRows(exec func(string, []any) error, runs []idRun) error {
	for len(runs) > 0 {
		n := min(len(runs), idRunChunk)
		args := make([]any, 0, 4*n)
		for _, r := range runs[:n] {
			args = append(args, r.g, r.b, r.seq0, r.data)
		}
		if err := exec(insertOrRollback+"id_runs(g, b, seq0, data) VALUES "+placeholders(n, 4), args); err != nil {
			return fmt.Errorf("sqlite: id index: %w", err)
		}
		runs = runs[n:]
	}
	return nil
}

// intList is a JSON list of the integers from hi down to lo, for the
// json_each lists of the index queries.
func intList(lo, hi int64) string {
	vs := make([]int64, 0, max(0, hi-lo+1))
	for v := hi; v >= lo; v-- {
		vs = append(vs, v)
	}
	return jsonInts(vs)
}

// jsonInts is vs as a JSON list.
func jsonInts(vs []int64) string {
	b := make([]byte, 0, 2+8*len(vs))
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

// genRange is the query of the first and last generation of the ID index
// (two seeks: min and max together would scan it).
const genRange = `SELECT (SELECT min(g) FROM id_runs), (SELECT max(g) FROM id_runs)`

// maxBucketsPerQuery bounds the buckets one ID index query asks for.
const maxBucketsPerQuery = 256

// seqsByHash returns the seqs the ID index holds for the hashes, every
// generation searched.
func (s *Store) seqsByHash(ctx context.Context, hashes []int64) ([]int64, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var lo, hi sql.NullInt64
	if err := s.gens.QueryRowContext(ctx).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	if !lo.Valid {
		return nil, nil
	}
	gens := intList(lo.Int64, hi.Int64)
	wanted := make(map[int64]bool, len(hashes))
	var buckets []int64
	for _, h := range hashes {
		if !wanted[h] {
			wanted[h] = true
			buckets = append(buckets, idBucket(h))
		}
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	var seqs []int64
	for len(buckets) > 0 {
		n := min(len(buckets), maxBucketsPerQuery)
		rows, err := s.byHash.QueryContext(ctx, gens, jsonInts(buckets[:n]))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq0 int64
			var data sql.RawBytes
			if err := rows.Scan(&seq0, &data); err != nil {
				rows.Close()
				return nil, err
			}
			if err := eachIDEntry(seq0, data, func(h, seq int64) {
				if wanted[h] {
					seqs = append(seqs, seq)
				}
			}); err != nil {
				rows.Close()
				return nil, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		buckets = buckets[n:]
	}
	return seqs, nil
}

// migrateIndexTables moves the index tables of earlier layouts (lookup,
// ordered by key first; ids, a row per event by hash, or event_ids, a row
// per event by generation) into this one's, in one transaction: an
// interrupted move is done again at the next open.
func (s *Store) migrateIndexTables(ctx context.Context) error {
	has := func(name string) (bool, error) {
		var n int
		err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
		return n > 0, err
	}
	oldLookup, err := has("lookup")
	if err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	oldIDs := ""
	for _, name := range []string{"ids", "event_ids"} {
		old, err := has(name)
		if err != nil {
			return fmt.Errorf("sqlite: migrate index: %w", err)
		}
		if old {
			oldIDs = name
		}
	}
	if !oldLookup && oldIDs == "" {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	defer tx.Rollback()
	// The old lookup table's order keeps each insert near the one before (a
	// few dozen points of insertion move forward), so no sort is needed.
	if oldLookup {
		for _, q := range []string{`INSERT INTO postings(d, k, tmax, seq0, tmin, n, data)
			SELECT d, k, tmax, seq0, tmin, n, data FROM lookup`,
			`DROP INDEX IF EXISTS lookup_by_day`, `DROP TABLE lookup`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("sqlite: migrate postings: %w", err)
			}
		}
	}
	if oldIDs != "" {
		// Every entry is held in memory to be sorted into runs (16 bytes
		// an event while it lasts, once).
		rows, err := tx.QueryContext(ctx, `SELECT h, seq FROM `+oldIDs)
		if err != nil {
			return fmt.Errorf("sqlite: migrate ID index: %w", err)
		}
		var ids []idEntry
		for rows.Next() {
			var id idEntry
			if err := rows.Scan(&id.h, &id.seq); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: migrate ID index: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: migrate ID index: %w", err)
		}
		exec := func(q string, args []any) error { _, err := tx.ExecContext(ctx, q, args...); return err }
		if err := insertIDRuns(exec, ids); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+oldIDs); err != nil {
			return fmt.Errorf("sqlite: migrate ID index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	return nil
}
