package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// writeVersion1 makes, over conn, the database the code before span rows
// wrote: schema version 1, and evs stored with a lookup row per day and key.
func writeVersion1(t *testing.T, conn *pgx.Conn, evs []*event.Event) {
	ctx := context.Background()
	for _, q := range []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		migrations[1], `INSERT INTO schema_migrations(version) VALUES (1)`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	days := map[int64]bool{}
	postings := map[[2]int64][]store.Posting{}
	for i, e := range evs {
		seq, ts := int64(i+1), e.Time.Unix()
		d := store.Day(ts)
		if !days[d] {
			days[d] = true
			for _, table := range []string{"events", "lookup"} {
				if _, err := conn.Exec(ctx, createPartitionSQL(table, d)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := conn.Exec(ctx, `INSERT INTO events (seq, account, region, event_id, t, category, record) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			seq, e.Account, e.Region, e.ID, ts, e.Category, e.Record); err != nil {
			t.Fatal(err)
		}
		for _, k := range store.EventKeys(e) {
			postings[[2]int64{d, k}] = append(postings[[2]int64{d, k}], store.Posting{Time: ts, Seq: seq})
		}
	}
	for _, r := range store.GroupPostings(postings) {
		if _, err := conn.Exec(ctx, `INSERT INTO lookup (d, k, tmax, seq0, tmin, n, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.Day, r.Key, r.MaxTime, r.FirstSeq, r.MinTime, r.Count, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `SELECT setval('event_seq', $1)`, len(evs)); err != nil {
		t.Fatal(err)
	}
}

// TestOpensVersion1Index: a database the code before span rows wrote
// (schema version 1, a lookup row per day and key, no lookup_spans) is
// migrated at open and still answers: every event found by its user, over
// the whole range and in its hour, listed once, counted by the histogram;
// and events this code appends over the same days (span rows) beside them.
func TestOpensVersion1Index(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	old := storetest.SpreadEvents(t, "old", 120)
	writeVersion1(t, conn, old)
	conn.Close(ctx)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckStored(t, s, "version 1 database", old)
	more := storetest.SpreadEvents(t, "new", 90)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	var spans int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM lookup_spans`).Scan(&spans); err != nil || spans == 0 {
		t.Fatalf("span rows after appending: %d, %v", spans, err)
	}
	storetest.CheckStored(t, s, "old and new rows", append(old, more...))
}
