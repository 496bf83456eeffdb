package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// The index tables are ordered so that what the indexer writes lands
// together: postings by day first (a day's rows, not rows all over the
// key space), and the ID index by generation of the sequence first (the
// newest generation's rows, not rows all over the hash space). With 10M
// events stored, ordering by key or hash first made each index
// transaction dirty pages across the whole table. Reads ask for the days
// (or generations) they span by list.

// idGenBits: a generation of the ID index is 2^idGenBits sequence numbers.
const idGenBits = 20

func idGen(seq int64) int64 { return seq >> idGenBits }

// intList is a JSON list of the integers from hi down to lo, for the
// json_each lists of the index queries.
func intList(lo, hi int64) string {
	b := make([]byte, 0, 2+8*max(0, hi-lo+1))
	b = append(b, '[')
	for v := hi; v >= lo; v-- {
		if v != hi {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

// maxHashesPerQuery bounds the hashes one ID index query asks for.
const maxHashesPerQuery = 500

// seqsByHash returns the seqs the ID index holds for the hashes, every
// generation searched.
func (s *Store) seqsByHash(ctx context.Context, hashes []int64) ([]int64, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT min(g) FROM event_ids), (SELECT max(g) FROM event_ids)`).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	if !lo.Valid {
		return nil, nil
	}
	gens := intList(lo.Int64, hi.Int64)
	var seqs []int64
	for len(hashes) > 0 {
		n := min(len(hashes), maxHashesPerQuery)
		list := make([]byte, 0, 21*n+2)
		list = append(list, '[')
		for i, h := range hashes[:n] {
			if i > 0 {
				list = append(list, ',')
			}
			list = strconv.AppendInt(list, h, 10)
		}
		list = append(list, ']')
		rows, err := s.byHash.QueryContext(ctx, gens, string(list))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		hashes = hashes[n:]
	}
	return seqs, nil
}

// migrateIndexTables moves the index tables of the layout before this one
// (lookup, ordered by key first; ids, by hash first) into theirs, in one
// transaction: an interrupted move is done again at the next open.
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
	oldIDs, err := has("ids")
	if err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	if !oldLookup && !oldIDs {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	defer tx.Rollback()
	// The old tables' orders keep each insert near the one before (a few
	// dozen points of insertion move forward), so no sort is needed.
	var steps []string
	if oldLookup {
		steps = append(steps, `INSERT INTO postings(d, k, tmax, seq0, tmin, n, data)
			SELECT d, k, tmax, seq0, tmin, n, data FROM lookup`,
			`DROP INDEX IF EXISTS lookup_by_day`, `DROP TABLE lookup`)
	}
	if oldIDs {
		steps = append(steps, fmt.Sprintf(`INSERT INTO event_ids(g, h, seq) SELECT seq >> %d, h, seq FROM ids`, idGenBits),
			`DROP TABLE ids`)
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: migrate index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate index: %w", err)
	}
	return nil
}
