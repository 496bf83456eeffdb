package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairn-audit/cairn/internal/store"
)

// Advisory lock keys (one bigint namespace per database). migrateLock
// serializes schema migrations of nodes starting at once; purgeLock
// serializes purges.
const (
	migrateLock int64 = 0x636169726e0001 // "cairn" 1
	purgeLock   int64 = 0x636169726e0002 // "cairn" 2 (once the append lock)
	// inflightSpace is the top 16 bits of the keys of in-flight append
	// locks, whose low 48 bits carry a lower bound of the sequence numbers
	// the holder takes (see numbering.go).
	inflightSpace int64 = 0x4361 // "Ca"
)

// migrations are the schema's versions, applied in order, each once, in one
// transaction under migrateLock. Never edit one that has shipped: add another.
var migrations = []string{
	1: `
CREATE SEQUENCE event_seq AS bigint;

-- The log. Partitioned by eventTime (Unix seconds), one partition a day,
-- created on demand, so that retention drops whole partitions.
CREATE TABLE events (
	seq      bigint NOT NULL,
	account  text   NOT NULL,
	region   text   NOT NULL,
	event_id text   NOT NULL,
	t        bigint NOT NULL,
	category text   NOT NULL,
	record   bytea  NOT NULL,
	-- A resent event has the same eventTime, so (account, eventID) is unique
	-- within its day's partition; a unique key must contain the partition key.
	CONSTRAINT events_by_id UNIQUE (event_id, account, t)
) PARTITION BY RANGE (t);
CREATE INDEX events_by_seq ON events (seq);

-- The lookup index: one row per lookup key, day and commit group, as in the
-- SQLite store (store.PostingRow), partitioned by day the same way.
CREATE TABLE lookup (
	d    bigint  NOT NULL,
	k    bigint  NOT NULL,
	tmax bigint  NOT NULL,
	seq0 bigint  NOT NULL,
	tmin bigint  NOT NULL,
	n    integer NOT NULL,
	data bytea   NOT NULL,
	PRIMARY KEY (k, d, tmax, seq0)
) PARTITION BY RANGE (d);

CREATE TABLE trails (
	arn     text COLLATE "C" PRIMARY KEY,
	account text   NOT NULL,
	region  text   NOT NULL,
	name    text   NOT NULL,
	doc     bytea  NOT NULL,
	version bigint NOT NULL
);

CREATE TABLE state (
	key     text COLLATE "C" PRIMARY KEY,
	doc     bytea  NOT NULL,
	version bigint NOT NULL
);
`,
	2: `
-- Span rows (store.GroupRows): a key's postings of the days where a commit
-- has few, over up to store.SpanDays days, filed under the newest day.
-- Partitioned by that day like lookup.
CREATE TABLE lookup_spans (
	d    bigint  NOT NULL,
	k    bigint  NOT NULL,
	tmax bigint  NOT NULL,
	seq0 bigint  NOT NULL,
	tmin bigint  NOT NULL,
	n    integer NOT NULL,
	data bytea   NOT NULL,
	PRIMARY KEY (k, d, tmax, seq0)
) PARTITION BY RANGE (d);
`,
}

// migrate brings the schema up to date. Nodes starting at once queue on
// migrateLock: the first applies what is missing, the others then find
// nothing left to do. The lock is transaction-scoped, so a node that dies
// half-way releases it and leaves no half-applied version behind.
func migrate(ctx context.Context, db pgxBeginner) error {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	// Statements after the lock see everything the previous holder committed
	// (READ COMMITTED takes a snapshot per statement).
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	latest := len(migrations) - 1
	if current > latest {
		return fmt.Errorf("postgres: database schema is at version %d, newer than this cairn knows (%d): upgrade cairn", current, latest)
	}
	for v := current + 1; v <= latest; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("postgres: migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("postgres: migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}

// pgxBeginner is what migrate needs of a pool.
type pgxBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Partitions. Day d of events holds eventTimes [d*86400, (d+1)*86400); day
// -1 (store.Day of any time before 1970) holds everything before 0. The
// lookup partition of day d holds rows with d = day. Names carry the UTC
// date: events_20261120, lookup_20261120 (events_pre1970, lookup_pre1970).

func partitionName(table string, day int64) string {
	if day < 0 {
		return table + "_pre1970"
	}
	return table + "_" + time.Unix(day*86400, 0).UTC().Format("20060102")
}

// partitionDay parses a name partitionName made; ok is false for others.
func partitionDay(table, name string) (int64, bool) {
	suffix, ok := strings.CutPrefix(name, table+"_")
	if !ok {
		return 0, false
	}
	if suffix == "pre1970" {
		return -1, true
	}
	t, err := time.Parse("20060102", suffix)
	if err != nil || len(suffix) != 8 {
		return 0, false
	}
	return store.Day(t.Unix()), true
}

func createPartitionSQL(table string, day int64) string {
	name := pgx.Identifier{partitionName(table, day)}.Sanitize()
	var from, to string
	switch {
	case table != "events": // the index tables, by day number
		from, to = fmt.Sprint(day), fmt.Sprint(day+1)
	case day < 0:
		from, to = "MINVALUE", "0"
	default:
		from, to = fmt.Sprint(day*86400), fmt.Sprint((day+1)*86400)
	}
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)`, name, table, from, to)
}

// dayRange is the eventTimes [lo, hi) of a day's events partition.
func dayRange(day int64) (lo, hi int64) {
	if day < 0 {
		return math.MinInt64, 0
	}
	return day * 86400, (day + 1) * 86400
}

// ensureDays creates the events, lookup and lookup_spans partitions of the days that this
// node has not yet seen to exist. Each CREATE runs on its own, outside any
// append transaction: it locks the parent table, which should be held for a
// moment, not for a whole group commit. Nodes creating the same partition at
// once are fine: whoever loses the race finds it there.
func (s *Store) ensureDays(ctx context.Context, days []int64) error {
	for _, d := range days {
		s.mu.Lock()
		known := s.days[d]
		s.mu.Unlock()
		if known {
			continue
		}
		for _, table := range dayTables {
			if _, err := s.pool.Exec(ctx, createPartitionSQL(table, d)); err != nil {
				// duplicate_table, or unique_violation in pg_type: a
				// concurrent CREATE of the same partition won.
				if !isCode(err, "42P07", "23505") {
					return fmt.Errorf("postgres: create partition %s: %w", partitionName(table, d), err)
				}
				var exists bool
				if err2 := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, partitionName(table, d)).Scan(&exists); err2 != nil || !exists {
					return fmt.Errorf("postgres: create partition %s: %w", partitionName(table, d), err)
				}
			}
		}
		s.mu.Lock()
		s.days[d] = true
		s.mu.Unlock()
	}
	return nil
}

// dayTables are the tables partitioned by day: a day is known once it has
// a partition of each.
var dayTables = []string{"events", "lookup", "lookup_spans"}

// loadDays reads which days have every day table's partition.
func (s *Store) loadDays(ctx context.Context) error {
	have := map[string]map[int64]bool{}
	for _, table := range dayTables {
		have[table] = map[int64]bool{}
	}
	for table := range have {
		names, err := partitions(ctx, s.pool, table)
		if err != nil {
			return err
		}
		for _, n := range names {
			if d, ok := partitionDay(table, n); ok {
				have[table][d] = true
			}
		}
	}
	days := map[int64]bool{}
	for d := range have["events"] {
		if have["lookup"][d] && have["lookup_spans"][d] {
			days[d] = true
		}
	}
	s.mu.Lock()
	s.days, s.daysAt = days, time.Now()
	s.mu.Unlock()
	return nil
}

// daysRefresh is how often a node rereads which partitions exist, for the
// partitions other nodes create.
const daysRefresh = time.Minute

// knownDays lists the days in [first, last] whose partitions this node
// knows to exist, newest first, rereading them when they are old news.
func (s *Store) knownDays(ctx context.Context, first, last int64) []int64 {
	s.mu.Lock()
	stale := time.Since(s.daysAt) > daysRefresh
	if stale {
		s.daysAt = time.Now() // one reader rereads; the others go on with what is known
	}
	s.mu.Unlock()
	if stale {
		_ = s.loadDays(ctx) // best effort: what is known stays right, if slower
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for d := range s.days {
		if d >= first && d <= last {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// forgetDays drops what this node knows of partitions, after another node
// may have dropped some; the next lookup rereads them.
func (s *Store) forgetDays() {
	s.mu.Lock()
	s.days, s.daysAt = map[int64]bool{}, time.Time{}
	s.mu.Unlock()
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// partitions lists the partitions of a table by name.
func partitions(ctx context.Context, db querier, table string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("postgres: partitions of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: partitions of %s: %w", table, err)
	}
	return names, nil
}

// isCode reports whether err is a PostgreSQL error with one of the SQLSTATE codes.
func isCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}
