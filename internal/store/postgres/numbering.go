package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// How appends on any number of nodes take sequence numbers without waiting
// for each other, and how a reader following the log never skips one.
//
// An append transaction, before it takes numbers, takes a shared advisory
// lock (transaction-scoped) whose key carries a lower bound of the numbers
// it will take: the sequence's last value + 1. It holds the lock until it
// commits or rolls back, and a dead node's transactions end with its
// sessions. A reader (ReadLog) reads, in this order and each in its own
// statement:
//
//  1. V, the sequence's last value;
//  2. M, the smallest lower bound among the in-flight locks held now;
//  3. the events numbered at most V and below M, with a new snapshot.
//
// A number at most V was taken before step 1, so its transaction took its
// lock before that too: at step 2 it either still holds it (then M is at
// most its numbers, which the reader leaves for later) or has ended (then
// its events are in the snapshot of step 3, or were rolled back). A number
// above V is left for later. So every event the reader returns has every
// lower number either returned with it or never to appear.

// takeSeqs takes n sequence numbers, in increasing order, after taking the
// in-flight lock that bounds them (key: inflightSpace<<48 | lower bound,
// computed in the statement so that the bound is read where it is locked).
func takeSeqs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1::bigint << 48 | (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM event_seq))`,
		inflightSpace); err != nil {
		return nil, fmt.Errorf("postgres: in-flight lock: %w", err)
	}
	var seqs []int64
	if err := tx.QueryRow(ctx, `SELECT array_agg(v) FROM (SELECT nextval('event_seq') AS v FROM generate_series(1, $1)) x`,
		n).Scan(&seqs); err != nil {
		return nil, fmt.Errorf("postgres: take sequence numbers: %w", err)
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("postgres: took %d sequence numbers, want %d", len(seqs), n)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// readBound is the highest number a reader may read up to now (steps 1
// and 2 above).
func (s *Store) readBound(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_seq`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: sequence: %w", err)
	}
	if s.noReadBound {
		return v, nil
	}
	var lo *int64
	if err := s.pool.QueryRow(ctx, `SELECT min((classid::bigint & 65535) << 32 | objid::bigint) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 1 AND classid::bigint >> 16 = $1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, inflightSpace).Scan(&lo); err != nil {
		return 0, fmt.Errorf("postgres: in-flight appends: %w", err)
	}
	if lo != nil && *lo-1 < v {
		v = *lo - 1
	}
	return v, nil
}
