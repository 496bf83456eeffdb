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

	"github.com/cairn-audit/cairn/internal/store"
)

// Packs hold the postings of one-off keys. An import of a CloudTrail
// archive gives most events lookup keys no other event has (a session's
// access key ID, an S3 object's ARN and name): as index rows of their own,
// they made three rows an event, most of the indexer's work. A key with at
// most packMax postings in an index transaction goes instead into a pack
// row shared with the other such keys of the transaction in its
// generation (of the sequence, as in the ID index) and bucket (the top
// packBucketBits of the key): a transaction writes at most 8,192 pack rows
// a generation. A lookup of any key reads its bucket's pack rows in every
// generation and keeps the entries of its key: 1/8,192 of the one-off
// postings stored, about 500 entries a generation of an import (1M events
// with 4 one-off keys each). More buckets would make lookups read less
// and small transactions write more rows (BenchmarkIndexSpreadOneOff cost
// the same with 4,096 and 16,384).
//
// A pack row's data is its entries sorted by key (as unsigned), each key's
// postings newest first: the key (8 bytes, little-endian), then tmax less
// the posting's time and its sequence less seq0, as uvarints.
const (
	packMax        = 2
	packBucketBits = 13
)

// packBucket is the bucket of key k: the top bits of k mixed (keys are
// FNV-1a hashes, whose top bits hardly differ between values that differ
// in their last characters: user-1, user-2, …).
func packBucket(k int64) int64 {
	x := uint64(k)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return int64(x >> (64 - packBucketBits))
}

// packEntry is one posting of a packed key.
type packEntry struct {
	g, b, k int64
	p       store.Posting
}

// packRow is one row of packs.
type packRow struct {
	g, b, seq0, tmin, tmax int64
	data                   []byte
}

// takeOneOffs removes the keys with at most most postings (packMax;
// tests compare with 0, no packs) from postings and returns their
// postings as pack entries.
func takeOneOffs(postings map[int64][]store.Posting, most int) []packEntry {
	var out []packEntry
	for k, ps := range postings {
		if len(ps) > most {
			continue
		}
		for _, p := range ps {
			out = append(out, packEntry{g: idGen(p.Seq), b: packBucket(k), k: k, p: p})
		}
		delete(postings, k)
	}
	return out
}

// makePackRows groups entries into rows, one per generation and bucket:
// a counting sort by row, then each row's entries sorted by key.
func makePackRows(entries []packEntry) []packRow {
	if len(entries) == 0 {
		return nil
	}
	g0, g1 := entries[0].g, entries[0].g
	for _, e := range entries[1:] {
		g0, g1 = min(g0, e.g), max(g1, e.g)
	}
	if g1-g0 > 64 { // not one transaction's consecutive events
		slices.SortFunc(entries, func(x, y packEntry) int { return cmp.Or(cmp.Compare(x.g, y.g), cmp.Compare(x.b, y.b)) })
		var rows []packRow
		for i := 0; i < len(entries); {
			j := i + 1
			for j < len(entries) && entries[j].g == entries[i].g && entries[j].b == entries[i].b {
				j++
			}
			rows = append(rows, packRowOf(entries[i:j]))
			i = j
		}
		return rows
	}
	slot := func(e packEntry) int64 { return (e.g-g0)<<packBucketBits | e.b }
	start := make([]int, (g1-g0+1)<<packBucketBits+1)
	for _, e := range entries {
		start[slot(e)+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	sorted := make([]packEntry, len(entries))
	next := slices.Clone(start)
	for _, e := range entries {
		sorted[next[slot(e)]] = e
		next[slot(e)]++
	}
	var rows []packRow
	for i := 0; i+1 < len(start); i++ {
		if start[i] < start[i+1] {
			rows = append(rows, packRowOf(sorted[start[i]:start[i+1]]))
		}
	}
	return rows
}

// packRowOf is the row of entries of one generation and bucket
// (reordered).
func packRowOf(entries []packEntry) packRow {
	return packRowFrom(entries, math.MaxInt64)
}

// packRowFrom is packRowOf with seq0 at most below: the sequence numbers
// of a row's entries are stored less its seq0, which only needs to be no
// greater than any of them.
func packRowFrom(entries []packEntry, below int64) packRow {
	sortPackEntries(entries)
	e0 := entries[0]
	r := packRow{g: e0.g, b: e0.b, seq0: min(e0.p.Seq, below), tmin: e0.p.Time, tmax: e0.p.Time}
	for _, e := range entries {
		r.seq0, r.tmin, r.tmax = min(r.seq0, e.p.Seq), min(r.tmin, e.p.Time), max(r.tmax, e.p.Time)
	}
	r.data = make([]byte, 0, 14*len(entries))
	for _, e := range entries {
		r.data = binary.LittleEndian.AppendUint64(r.data, uint64(e.k))
		r.data = binary.AppendUvarint(r.data, uint64(r.tmax-e.p.Time))
		r.data = binary.AppendUvarint(r.data, uint64(e.p.Seq-r.seq0))
	}
	return r
}

// sortPackEntries orders entries as a pack row holds them: by key (as
// unsigned), each key's postings newest first.
func sortPackEntries(entries []packEntry) {
	slices.SortFunc(entries, func(x, y packEntry) int {
		return cmp.Or(cmp.Compare(uint64(x.k), uint64(y.k)), cmp.Compare(y.p.Time, x.p.Time), cmp.Compare(y.p.Seq, x.p.Seq))
	})
}

// packRowChunk: rows per insert of pack rows.
const packRowChunk = 256

// insertPacks writes the pack rows of entries.
func insertPacks(exec func(string, []any) error, entries []packEntry) error {
	return insertPackRows(exec, makePackRows(entries))
}

// insertPackRows writes pack rows.
func insertPackRows(exec func(string, []any) error, rows []packRow) error {
	for len(rows) > 0 {
		n := min(len(rows), packRowChunk)
		args := make([]any, 0, 6*n)
		for _, r := range rows[:n] {
			args = append(args, r.g, r.b, r.seq0, r.tmin, r.tmax, r.data)
		}
		if err := exec(insertOrRollback+"packs(g, b, seq0, tmin, tmax, data) VALUES "+placeholders(n, 6), args); err != nil {
			return fmt.Errorf("sqlite: index packs: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

var errPack = errors.New("sqlite: corrupt pack row")

// packPostings appends to into the postings of key in a pack row's data
// (newest first, as the row has them).
func packPostings(data []byte, seq0, tmax, key int64, into []store.Posting) ([]store.Posting, error) {
	want := uint64(key)
	for len(data) > 0 {
		k, dt, ds, rest, err := packEntryAt(data)
		if err != nil {
			return into, err
		}
		data = rest
		if k > want {
			break // entries are by key
		}
		if k == want {
			into = append(into, store.Posting{Time: tmax - int64(dt), Seq: seq0 + int64(ds)})
		}
	}
	return into, nil
}

// packEntryAt decodes the entry data starts with: its key, the row's tmax
// less its time, its sequence less the row's seq0, and the bytes after it.
func packEntryAt(data []byte) (k, dt, ds uint64, rest []byte, err error) {
	if len(data) < 8 {
		return 0, 0, 0, nil, errPack
	}
	k = binary.LittleEndian.Uint64(data)
	dt, n := binary.Uvarint(data[8:])
	if n <= 0 {
		return 0, 0, 0, nil, errPack
	}
	ds, m := binary.Uvarint(data[8+n:])
	if m <= 0 {
		return 0, 0, 0, nil, errPack
	}
	return k, dt, ds, data[8+n+m:], nil
}

// packQuery reads the rows of a bucket in a list of generations that may
// hold postings from start (?3) to end (?4).
const packQuery = `SELECT seq0, tmax, data FROM packs WHERE g IN (SELECT value FROM json_each(?1)) AND b = ?2 AND tmax >= ?3 AND tmin <= ?4`

// packGenLow is the query of the first generation of pack rows.
const packGenLow = `SELECT min(g) FROM packs`

// loadPackLow sets the first generation lookups read pack rows of
// (packLow): that of the oldest row, or with none, the generation of the
// next event, which rows written later are of or after. Purge calls it
// again once rows are gone; it never lowers packLow, and leaves it when
// no row is left (events pending then may be of an earlier generation).
func (s *Store) loadPackLow(ctx context.Context, atOpen bool) error {
	var lo sql.NullInt64
	if err := s.w.QueryRowContext(ctx, packGenLow).Scan(&lo); err != nil {
		return fmt.Errorf("sqlite: packs: %w", err)
	}
	switch {
	case lo.Valid:
		s.packLow.Store(max(s.packLow.Load(), lo.Int64))
	case atOpen:
		s.packLow.Store(idGen(s.next + 1))
	}
	return nil
}

// eachPack calls f with key's postings in each pack row that may hold
// postings from start to end, encoded as index rows' data
// (store.EncodePostings, newest first). The generations read run from
// packLow to that of the last event acknowledged: a row the indexer
// writes holds events acknowledged before, and a lookup that read their
// postings as pending before they were indexed finds them there.
func (s *Store) eachPack(ctx context.Context, key, start, end int64, f func(data []byte) error) error {
	lo, hi := s.packLow.Load(), idGen(s.last.Load())
	if hi < lo {
		return nil
	}
	rows, err := s.packs.QueryContext(ctx, intList(lo, hi), packBucket(key), start, end)
	if err != nil {
		return fmt.Errorf("sqlite: packs: %w", err)
	}
	defer rows.Close()
	var ps []store.Posting
	for rows.Next() {
		var seq0, tmax int64
		var data sql.RawBytes // read in place: nothing keeps it
		if err := rows.Scan(&seq0, &tmax, &data); err != nil {
			return fmt.Errorf("sqlite: packs: %w", err)
		}
		if ps, err = packPostings(data, seq0, tmax, key, ps[:0]); err != nil {
			return err
		}
		if len(ps) == 0 {
			continue
		}
		if err := f(store.EncodePostings(ps)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: packs: %w", err)
	}
	return nil
}

// indexFormat is the layout of the index tables this code writes: 3 adds
// the staging tables (stage.go), which the schema makes; 2 adds
// packs. A store of a later format is refused. Binaries of format 1 (no
// packs, which they would not read) refuse a store of format 2 at open:
// their schema creates a table named spans, which is the name of packs'
// index by time here ("there is already an index named spans"); the span
// rows are in span_rows.
const indexFormat = 3

// upgradeIndexFormat refuses a store of a later index format and brings
// one of an earlier format to this one, in one transaction: the span rows
// move to span_rows (a rename), and packs get their index by time, named
// spans.
func (s *Store) upgradeIndexFormat(ctx context.Context) error {
	format, err := seqValue(ctx, s.w, "index_format")
	if err != nil {
		return err
	}
	if format > indexFormat {
		return fmt.Errorf("sqlite: %s has index format %d, newer than this cairn's (%d): run a cairn at least as new as the one that wrote it", s.path, format, indexFormat)
	}
	if format == indexFormat {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: upgrade index: %w", err)
	}
	defer tx.Rollback()
	var qs []string
	if format < 2 {
		var old int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'spans'`).Scan(&old); err != nil {
			return fmt.Errorf("sqlite: upgrade index: %w", err)
		}
		if old > 0 {
			// The schema made span_rows empty: the old table takes its place.
			qs = append(qs, `DROP TABLE span_rows`, `ALTER TABLE spans RENAME TO span_rows`)
		}
		qs = append(qs, `CREATE INDEX spans ON packs(tmax)`)
	}
	qs = append(qs, fmt.Sprintf(`INSERT INTO seqs(name, last) VALUES ('index_format', %d) ON CONFLICT(name) DO UPDATE SET last = excluded.last`, indexFormat))
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: upgrade index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: upgrade index: %w", err)
	}
	return nil
}
