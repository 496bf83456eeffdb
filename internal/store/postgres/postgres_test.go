package postgres_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/postgres"
	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/store/storetest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openDSN(t, pgtest.Start(t)) })
}

func TestReopenKeepsEvents(t *testing.T) {
	dsn := pgtest.Start(t)
	s := openDSN(t, dsn)
	e := storetest.Rec(t, "111111111111", "us-east-1", "Kept", storetest.Base, nil)
	if _, err := s.Append(context.Background(), []*event.Event{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDSN(t, dsn)
	defer s.Close()
	p, err := s.Lookup(context.Background(), store.Query{Account: "111111111111", Region: "us-east-1",
		Category: event.CategoryManagement, Start: storetest.Base, End: storetest.Base, Limit: 5})
	if err != nil || len(p.Events) != 1 {
		t.Fatalf("after reopen: %d events, %v", len(p.Events), err)
	}
}

// TestMigrationsConcurrent starts four nodes on a fresh database at once:
// each must start, and the schema must be applied exactly once.
func TestMigrationsConcurrent(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	const nodes = 4
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = postgres.Open(ctx, dsn)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	versions := func() []int {
		rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		v, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := versions(); fmt.Sprint(v) != "[1 2]" {
		t.Fatalf("schema_migrations = %v, want [1 2]", v)
	}
	var partitioned []string
	rows, _ := conn.Query(ctx, `SELECT c.relname::text FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1`)
	if partitioned, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || fmt.Sprint(partitioned) != "[events lookup lookup_spans]" {
		t.Fatalf("partitioned tables = %v, %v", partitioned, err)
	}
	for _, rel := range []string{"trails", "state", "event_seq", "events_by_seq", "events_by_id", "lookup_pkey", "lookup_spans_pkey"} {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, rel).Scan(&ok); err != nil || !ok {
			t.Errorf("%s missing (%v)", rel, err)
		}
	}
	// Every node works on the shared schema: one writes, another reads.
	e := storetest.Rec(t, "111111111111", "us-east-1", "Shared", storetest.Base, nil)
	if _, err := stores[0].Append(ctx, []*event.Event{e}); err != nil {
		t.Fatal(err)
	}
	if evs, err := stores[3].ReadLog(ctx, 0, 10); err != nil || len(evs) != 1 {
		t.Fatalf("other node reads %d events, %v", len(evs), err)
	}
	// Starting again changes nothing.
	again := openDSN(t, dsn)
	again.Close()
	if v := versions(); fmt.Sprint(v) != "[1 2]" {
		t.Fatalf("after restart schema_migrations = %v", v)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.Start(t)
	openDSN(t, dsn).Close()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO schema_migrations(version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(context.Background(), dsn); err == nil {
		s.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

// TestPurgeDropsPartitions purges with a cutoff inside a day: the days before
// go as whole partitions, the cutoff's day loses only its older rows. A node
// that still believes in a dropped partition can append to its day again.
func TestPurgeDropsPartitions(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	a := openDSN(t, dsn)
	defer a.Close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(days, hours int) time.Time {
		return day.Add(time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour)
	}
	rec := func(name string, tm time.Time) *event.Event {
		return storetest.Rec(t, "111111111111", "us-east-1", name, tm, nil)
	}
	if _, err := a.Append(ctx, []*event.Event{
		rec("D-3", at(-3, 1)), rec("D-2a", at(-2, 1)), rec("D-2b", at(-2, 23)),
		rec("D-1early", at(-1, 12)), rec("D-1late", at(-1, 18)), rec("D", at(0, 6)),
	}); err != nil {
		t.Fatal(err)
	}
	// b knows every partition (it loads them at start).
	b := openDSN(t, dsn)
	defer b.Close()
	n, err := a.Purge(ctx, at(-1, 15), store.ReadAll)
	if err != nil || n != 4 {
		t.Fatalf("purge = %d, %v; want 4", n, err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	parts := func() string {
		rows, _ := conn.Query(ctx, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent IN ('events'::regclass, 'lookup'::regclass) ORDER BY 1`)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(names)
	}
	if got := parts(); got != "[events_20261119 events_20261120 lookup_20261119 lookup_20261120]" {
		t.Fatalf("partitions after purge: %s", got)
	}
	q := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: at(-10, 0), End: at(1, 0), Limit: 50}
	names := func() string {
		p, err := b.Lookup(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range p.Events {
			out = append(out, e.Time.Format("02T15"))
		}
		return fmt.Sprint(out)
	}
	if got := names(); got != "[20T06 19T18]" {
		t.Fatalf("after purge: %s", got)
	}
	// b still believes in the dropped partitions; a has forgotten them.
	if _, err := b.Append(ctx, []*event.Event{rec("late", at(-3, 2))}); err != nil {
		t.Fatalf("append to a dropped day from a stale node: %v", err)
	}
	if _, err := a.Append(ctx, []*event.Event{rec("later", at(-2, 2))}); err != nil {
		t.Fatalf("append to a dropped day: %v", err)
	}
	if got := names(); got != "[20T06 19T18 18T02 17T02]" {
		t.Fatalf("after appending to purged days: %s", got)
	}
	// Purging everything before a midnight leaves only the partitions after it.
	if n, err := b.Purge(ctx, day, store.ReadAll); err != nil || n != 3 {
		t.Fatalf("second purge = %d, %v; want 3", n, err)
	}
	if got := parts(); got != "[events_20261120 lookup_20261120]" {
		t.Fatalf("partitions after second purge: %s", got)
	}
}

// TestLookupAcrossManyDays pages through a history spread thinly over many
// days, on a node that knows every partition and on one that started before
// any existed (lookups read windows of days sized by the partitions a node
// knows of; what it does not know must only cost, never hide, events).
func TestLookupAcrossManyDays(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	early := openDSN(t, dsn) // knows no partitions
	defer early.Close()
	var evs []*event.Event
	for i := 0; i < 60; i++ {
		// Days 0, 1, 3, 6, 10, … back from Base, several events on some.
		back := time.Duration(i*(i+1)/2%97) * 24 * time.Hour
		for j := 0; j <= i%3; j++ {
			name := fmt.Sprintf("E%02d-%d", i, j)
			extra := map[string]any{}
			if i%4 == 0 {
				extra["readOnly"] = true
			}
			evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, storetest.Base.Add(-back-time.Duration(j)*time.Minute), extra))
		}
	}
	writer := openDSN(t, dsn)
	defer writer.Close()
	res, err := writer.Append(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	late := openDSN(t, dsn) // knows them all
	defer late.Close()
	page := func(s *postgres.Store, attr event.Attribute, value string) []int64 {
		q := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Attr: attr, Value: value, Start: storetest.Base.Add(-120 * 24 * time.Hour), End: storetest.Base, Limit: 7}
		var seqs []int64
		for pages := 0; ; pages++ {
			p, err := s.Lookup(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				seqs = append(seqs, e.Seq)
			}
			if p.Next == nil || pages > 100 {
				return seqs
			}
			q.After = p.Next
		}
	}
	// Expected: newest first by time, then by sequence.
	type ts struct{ t, seq int64 }
	var all, ro []ts
	for i, e := range evs {
		all = append(all, ts{e.Time.Unix(), res[i].Seq})
		if strings.Contains(string(e.Record), `"readOnly":true`) {
			ro = append(ro, ts{e.Time.Unix(), res[i].Seq})
		}
	}
	order := func(x []ts) []int64 {
		slices.SortFunc(x, func(a, b ts) int { return cmp.Or(cmp.Compare(b.t, a.t), cmp.Compare(b.seq, a.seq)) })
		var out []int64
		for _, v := range x {
			out = append(out, v.seq)
		}
		return out
	}
	wantAll, wantRO := order(all), order(ro)
	for name, s := range map[string]*postgres.Store{"early": early, "late": late} {
		if got := page(s, "", ""); !slices.Equal(got, wantAll) {
			t.Errorf("%s node, all events:\n got %v\nwant %v", name, got, wantAll)
		}
		if got := page(s, event.AttrReadOnly, "true"); !slices.Equal(got, wantRO) {
			t.Errorf("%s node, readOnly:\n got %v\nwant %v", name, got, wantRO)
		}
	}
}

func TestRejectsTextPostgresCannotStore(t *testing.T) {
	s := openDSN(t, pgtest.Start(t))
	defer s.Close()
	e := storetest.Rec(t, "111111111111", "us-east-1", "Nul", storetest.Base, map[string]any{"eventID": "a\x00b"})
	if _, err := s.Append(context.Background(), []*event.Event{e}); !errors.Is(err, postgres.ErrInvalidText) {
		t.Fatalf("append = %v, want ErrInvalidText", err)
	}
	ok := storetest.Rec(t, "111111111111", "us-east-1", "Fine", storetest.Base, nil)
	if _, err := s.Append(context.Background(), []*event.Event{ok}); err != nil {
		t.Fatal(err)
	}
}

// benchStore opens the database of CAIRN_BENCH_POSTGRES_DSN (to reuse a
// loaded history between runs) or a fresh one.
func benchStore(b *testing.B, reuse bool) *postgres.Store {
	dsn := os.Getenv("CAIRN_BENCH_POSTGRES_DSN")
	if dsn == "" || !reuse {
		dsn = pgtest.Start(b)
	}
	return openDSN(b, dsn)
}

// BenchmarkAppend measures durable appends of 500-event batches from 4
// concurrent clients (the shape of the ingest API under load); the same as
// the SQLite store's.
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b, false)
	defer s.Close()
	storetest.BenchAppend(b, s)
}

// BenchmarkLookup measures LookupEvents-shaped queries over a history of
// CAIRN_BENCH_EVENTS events (default 20,000) spread over 10 days; the same
// as the SQLite store's.
func BenchmarkLookup(b *testing.B) {
	s := benchStore(b, true)
	defer s.Close()
	storetest.BenchLookup(b, s)
}

// TestAnalyzesBusyDays: a day partition that received many events gets
// planner statistics from the store itself, without waiting for autovacuum.
func TestAnalyzesBusyDays(t *testing.T) {
	dsn := pgtest.Start(t)
	s := openDSN(t, dsn)
	ctx := context.Background()
	var evs []*event.Event
	for i := range 10_000 {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("Busy%d", i), storetest.Base, nil))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	s.Close() // waits for the ANALYZE it started
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Statistics reach pg_stat_user_tables within about a second.
	for _, table := range []string{"events", "lookup"} {
		analyzed, _ := testutil.PollEvery(15*time.Second, 100*time.Millisecond, func() (bool, string) {
			if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
				t.Fatal(err)
			}
			var analyzed bool
			if err := conn.QueryRow(ctx, `SELECT coalesce(bool_or(last_analyze IS NOT NULL), false) FROM pg_stat_user_tables
				WHERE relname LIKE $1 || '\_%'`, table).Scan(&analyzed); err != nil {
				t.Fatal(err)
			}
			return analyzed, ""
		})
		if !analyzed {
			t.Errorf("the %s partition of a day with 10,000 events was not analyzed", table)
		}
	}
}

// A group commit does not ask which of its events are stored until it has
// seen a duplicate lately: the unique key refuses a group holding one, and
// the group is then written again, asking. Either way a resent event is
// answered as the duplicate of the stored one, with its sequence number,
// and the new events beside it are stored once.
func TestResentAmongNewEvents(t *testing.T) {
	s := openDSN(t, pgtest.Start(t))
	defer s.Close()
	ctx := context.Background()
	const acct = "111111111111"
	rec := func(i int) *event.Event {
		return storetest.Rec(t, acct, "us-east-1", fmt.Sprintf("E%d", i), storetest.Base.Add(time.Duration(i)*time.Second),
			map[string]any{"eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", i)})
	}
	first, err := s.Append(ctx, []*event.Event{rec(1), rec(2)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, res []store.AppendResult, wantDup map[int]int64) {
		t.Helper()
		for i, r := range res {
			want, dup := wantDup[i]
			if r.Duplicate != dup || (dup && r.Seq != want) || r.Seq == 0 {
				t.Errorf("%s: result %d = %+v, want duplicate %v (seq %d)", what, i, r, dup, want)
			}
		}
	}
	// Right after: nothing seen yet, so this group is refused once.
	res, err := s.Append(ctx, []*event.Event{rec(3), rec(1), rec(4)})
	if err != nil {
		t.Fatal(err)
	}
	check("resent at once", res, map[int]int64{1: first[0].Seq})
	// Enough groups without duplicates for the store to stop asking.
	for i := 100; i < 400; i++ {
		if _, err := s.Append(ctx, []*event.Event{rec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	res, err = s.Append(ctx, []*event.Event{rec(5), rec(2), rec(5)})
	if err != nil {
		t.Fatal(err)
	}
	check("resent later", res, map[int]int64{1: first[1].Seq, 2: res[0].Seq})
	page, err := s.Lookup(ctx, store.Query{Account: acct, Region: "us-east-1", Category: event.CategoryManagement,
		Start: storetest.Base.Add(-time.Hour), End: storetest.Base.Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range page.Events {
		seen[e.ID]++
	}
	if len(page.Events) != 305 || len(seen) != 305 {
		t.Errorf("stored %d events, %d distinct; want 305 once each", len(page.Events), len(seen))
	}
}

// A group larger than one COPY chunk is written in several, all in its one
// transaction: every event and every index row arrives.
func TestGroupOfManyChunks(t *testing.T) {
	s := openDSN(t, pgtest.Start(t))
	defer s.Close()
	ctx := context.Background()
	const acct, n = "111111111111", 1_234
	var evs []*event.Event
	for i := range n {
		evs = append(evs, storetest.Rec(t, acct, "us-east-1", fmt.Sprintf("E%d", i%7), storetest.Base.Add(time.Duration(i)*time.Second),
			map[string]any{"eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
				"resources": []map[string]any{{"ARN": fmt.Sprintf("arn:aws:s3:::bucket-%d", i), "type": "AWS::S3::Bucket"}}}))
	}
	res, err := s.Append(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	log, err := s.ReadLog(ctx, 0, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != n {
		t.Fatalf("log holds %d events, want %d", len(log), n)
	}
	for i, e := range log {
		if e.Seq != res[i].Seq || e.ID != evs[i].ID || !bytes.Equal(e.Record, evs[i].Record) {
			t.Fatalf("log event %d = seq %d %s, want seq %d %s with its record", i, e.Seq, e.ID, res[i].Seq, evs[i].ID)
		}
	}
	q := store.Query{Account: acct, Region: "us-east-1", Category: event.CategoryManagement,
		Start: storetest.Base.Add(-time.Hour), End: storetest.Base.Add(time.Hour), Limit: 2 * n}
	for _, c := range []struct {
		attr  event.Attribute
		value string
		want  int
	}{{"", "", n}, {event.AttrEventName, "E3", n / 7}, {event.AttrResourceName, "bucket-1000", 1}, {event.AttrResourceName, "bucket-17", 1}} {
		q.Attr, q.Value = c.attr, c.value
		page, err := s.Lookup(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != c.want {
			t.Errorf("lookup %s=%q: %d events, want %d", c.attr, c.value, len(page.Events), c.want)
		}
	}
}

// Two nodes on one database: an event with an ID another node stored with
// other content is a conflict on this one too, whether the unique key
// refused its group (the node had seen no duplicate lately) or it asked
// first; racing nodes with one ID and different content store one event.
func TestConflictAcrossNodes(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	rec := func(name, id string) *event.Event {
		return storetest.Rec(t, "111111111111", "us-east-1", name, storetest.Base, map[string]any{"eventID": id})
	}
	const x = "00000000-0000-0000-0000-0000000000aa"
	first, err := a.Append(ctx, []*event.Event{rec("FromA", x)})
	if err != nil || !first[0].Written() {
		t.Fatalf("node a: %+v, %v", first, err)
	}
	for _, what := range []string{"refused by the unique key", "asked first"} {
		res, err := b.Append(ctx, []*event.Event{rec("FromB", x), rec("New"+what, "")})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Conflict || res[0].Seq != first[0].Seq || !res[1].Written() {
			t.Fatalf("%s: node b = %+v, want a conflict with seq %d and a new event", what, res, first[0].Seq)
		}
	}
	if res, err := b.Append(ctx, []*event.Event{rec("FromA", x)}); err != nil || !res[0].Duplicate || res[0].Seq != first[0].Seq {
		t.Fatalf("identical on node b: %+v, %v", res, err)
	}

	const y = "00000000-0000-0000-0000-0000000000bb"
	var wg sync.WaitGroup
	results := make([][]store.AppendResult, 2)
	for i, s := range []*postgres.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Append(ctx, []*event.Event{rec(fmt.Sprintf("Racer%d", i), y)})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if results[0][0].Written() == results[1][0].Written() || (!results[0][0].Conflict && !results[1][0].Conflict) {
		t.Fatalf("racing nodes: %+v and %+v, want one written and one conflict", results[0], results[1])
	}
}
