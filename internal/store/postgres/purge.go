package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/store"
)

// Purge implements store.Store. Days wholly before the cutoff go by dropping
// their partitions (of events and of the index); only the events of the
// cutoff's own day that are before it are deleted row by row, so a cutoff at
// midnight UTC deletes no rows at all. Index rows of the cutoff's day stay,
// as in the SQLite store: lookups skip postings whose events are gone. An
// events partition holding an event numbered above readTo stays whole until
// a later purge finds it read (events stored late with an old eventTime,
// or a trail whose delivery has been failing).
//
// Purge takes purgeLock, so that purges of several nodes run one at a
// time, and then locks the parent tables exclusively, briefly, to drop
// partitions: appends and readers wait for that moment. An append that
// meets a partition dropped meanwhile makes it again and tries again.
func (s *Store) Purge(ctx context.Context, before time.Time, readTo int64) (int64, error) {
	cut := before.Unix()
	cutDay := store.Day(cut)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("postgres: purge: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, purgeLock); err != nil {
		return 0, fmt.Errorf("postgres: purge: lock: %w", err)
	}
	// The cutoff's day, row by row, before any exclusive lock: readers go on
	// reading the old rows meanwhile.
	lo, _ := dayRange(cutDay)
	tag, err := tx.Exec(ctx, `DELETE FROM events WHERE t >= $1 AND t < $2 AND seq <= $3`, lo, cut, readTo)
	if err != nil {
		return 0, fmt.Errorf("postgres: purge: %w", err)
	}
	total := tag.RowsAffected()

	var old []string
	for _, table := range dayTables {
		names, err := partitions(ctx, tx, table)
		if err != nil {
			return 0, err
		}
		for _, n := range names {
			if d, ok := partitionDay(table, n); ok && d < cutDay {
				// A partition already holding an unread event stays whatever
				// is appended meanwhile: leave it out before taking the lock,
				// so that a trail held up for days does not make every purge
				// stop appends.
				if table == "events" {
					var last int64
					if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM `+pgx.Identifier{n}.Sanitize()).Scan(&last); err != nil {
						return 0, fmt.Errorf("postgres: purge: %s: %w", n, err)
					}
					if last > readTo {
						continue
					}
				}
				old = append(old, n)
			}
		}
	}
	var drop []string
	if len(old) > 0 {
		// Parents first, as readers lock them: dropping a partition alone
		// would lock it, then wait for its parent behind a reader that waits
		// for the partition.
		if _, err := tx.Exec(ctx, `LOCK TABLE events, lookup, lookup_spans IN ACCESS EXCLUSIVE MODE`); err != nil {
			return 0, fmt.Errorf("postgres: purge: %w", err)
		}
		// Only now, with every append that was writing to them committed
		// (the lock waited for it) and none to come, does a partition's
		// highest number say whether every trail has read it.
		for _, n := range old {
			if table, _, _ := strings.Cut(n, "_"); table == "events" {
				var c, last int64
				if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(max(seq), 0) FROM `+pgx.Identifier{n}.Sanitize()).Scan(&c, &last); err != nil {
					return 0, fmt.Errorf("postgres: purge: count %s: %w", n, err)
				}
				if last > readTo {
					continue // not read yet
				}
				total += c
			}
			drop = append(drop, n)
		}
		for _, n := range drop {
			if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{n}.Sanitize()); err != nil {
				return 0, fmt.Errorf("postgres: purge: drop %s: %w", n, err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: purge: commit: %w", err)
	}
	if len(drop) > 0 {
		if err := s.loadDays(ctx); err != nil {
			s.forgetDays()
		}
	}
	return total, nil
}

// Stats implements store.Store. LastSeq is the last number the sequence
// handed out (to a committed transaction or not); Bytes is the size of
// Cairn's tables, their partitions, indexes and TOAST data.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_seq),
		(SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint FROM (
			SELECT relid FROM pg_partition_tree('events')
			UNION ALL SELECT relid FROM pg_partition_tree('lookup')
			UNION ALL SELECT relid FROM pg_partition_tree('lookup_spans')
			UNION ALL SELECT 'trails'::regclass
			UNION ALL SELECT 'state'::regclass) r)`).Scan(&st.LastSeq, &st.Bytes)
	if err != nil {
		return st, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}
