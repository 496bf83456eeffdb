package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// spreadEvents are n events over 40 days before storetest.Base, each with
// a user of its own, some on one busy day.
func spreadEvents(t *testing.T, tag string, n int) []*event.Event {
	var evs []*event.Event
	first := storetest.Base.Add(-40 * 24 * time.Hour)
	for i := range n {
		at := first.Add(time.Duration(i*i*7919%(40*86400)) * time.Second)
		if i%4 == 0 {
			at = first.Add(10*24*time.Hour + time.Duration(i)*time.Minute)
		}
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", []string{"GetObject", "PutObject", "ListBuckets"}[i%3], at,
			map[string]any{"eventID": fmt.Sprintf("%s-%04d", tag, i),
				"userIdentity": map[string]any{"type": "IAMUser", "userName": tag + "-user-" + fmt.Sprint(i), "accessKeyId": "AKIAOLD"}}))
	}
	return evs
}

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
	old := spreadEvents(t, "old", 120)
	writeVersion1(t, conn, old)
	conn.Close(ctx)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string, evs []*event.Event) {
		t.Helper()
		for _, e := range evs {
			var user string
			for _, k := range e.Keys {
				if k.Attr == event.AttrUsername {
					user = k.Value
				}
			}
			for _, qq := range []store.Query{
				{Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base},
				{Start: e.Time.Add(-time.Minute), End: e.Time.Add(time.Minute)},
			} {
				qq.Account, qq.Region, qq.Category, qq.Limit = e.Account, e.Region, event.CategoryManagement, 5
				qq.Attr, qq.Value = event.AttrUsername, user
				p, err := s.Lookup(ctx, qq)
				if err != nil || len(p.Events) != 1 || p.Events[0].ID != e.ID {
					t.Fatalf("%s: %s by its user: %+v, %v", when, e.ID, p.Events, err)
				}
			}
		}
		qq := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Limit: 11}
		seen := map[string]bool{}
		for {
			p, err := s.Lookup(ctx, qq)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				if seen[e.ID] {
					t.Fatalf("%s: %s listed twice", when, e.ID)
				}
				seen[e.ID] = true
			}
			if p.Next == nil {
				break
			}
			qq.After = p.Next
		}
		if len(seen) != len(evs) {
			t.Fatalf("%s: %d events listed, want %d", when, len(seen), len(evs))
		}
		b, err := s.Histogram(ctx, store.HistogramQuery{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base, Width: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, x := range b {
			total += x.Count
		}
		if total != int64(len(evs)) {
			t.Fatalf("%s: the histogram counts %d events, want %d", when, total, len(evs))
		}
	}
	check("version 1 database", old)
	more := spreadEvents(t, "new", 90)
	if _, err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	var spans int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM lookup_spans`).Scan(&spans); err != nil || spans == 0 {
		t.Fatalf("span rows after appending: %d, %v", spans, err)
	}
	check("old and new rows", append(old, more...))
}
