package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// oldLayout makes dir a data directory as the first Cairn wrote it:
// events One, Two and Three in an events table (indexed through the store,
// whose own rows of them are then dropped) and the sequence at highWater
// (0: as the events left it). It returns the events.
func oldLayout(t *testing.T, dir string, highWater int64) []*event.Event {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	for _, name := range []string{"One", "Two", "Three"} {
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, storetest.Base, nil))
	}
	if _, err := s.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
		event_id TEXT NOT NULL, t INTEGER NOT NULL, category TEXT NOT NULL, record BLOB NOT NULL);
		CREATE UNIQUE INDEX events_by_id ON events(account, event_id);
		DELETE FROM blocks; DELETE FROM id_runs; DELETE FROM seqs WHERE name LIKE 'indexed%'`); err != nil {
		t.Fatal(err)
	}
	if highWater > 0 {
		if _, err := db.Exec(`UPDATE seqs SET last = ? WHERE name = 'events'`, highWater); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range evs {
		if _, err := db.Exec(`INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Account, e.Region, e.ID, e.Time.Unix(), e.Category, e.Record); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	oldIndexTables(t, db, "ids")
	return evs
}

// oldIndexTables moves the index tables of db to an earlier layout:
// lookup ordered by key first, with an index by day, and a row per event
// in ids (by hash) or in event_ids (by generation, then hash).
func oldIndexTables(t *testing.T, db *sql.DB, idTable string) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE lookup (d INTEGER NOT NULL, k INTEGER NOT NULL, tmax INTEGER NOT NULL,
			seq0 INTEGER NOT NULL, tmin INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
			PRIMARY KEY (k, d, tmax, seq0)) WITHOUT ROWID;
		CREATE INDEX lookup_by_day ON lookup(d);
		INSERT INTO lookup SELECT d, k, tmax, seq0, tmin, n, data FROM postings;
		DROP TABLE postings;
		CREATE TABLE ids (h INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (h, seq)) WITHOUT ROWID;
		CREATE TABLE event_ids (g INTEGER NOT NULL, h INTEGER NOT NULL, seq INTEGER NOT NULL,
			PRIMARY KEY (g, h, seq)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT seq0, data FROM id_runs`)
	if err != nil {
		t.Fatal(err)
	}
	var entries [][2]int64
	for rows.Next() {
		var seq0 int64
		var data []byte
		if err := rows.Scan(&seq0, &data); err != nil {
			t.Fatal(err)
		}
		if err := eachIDEntry(seq0, data, func(h, seq int64) { entries = append(entries, [2]int64{h, seq}) }); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	for _, e := range entries {
		if _, err := db.Exec(`INSERT INTO ids(h, seq) VALUES (?, ?)`, e[0], e[1]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO event_ids(g, h, seq) VALUES (?, ?, ?)`, e[1]>>20, e[0], e[1]); err != nil {
			t.Fatal(err)
		}
	}
	drop := map[string]string{"ids": "event_ids", "event_ids": "ids"}[idTable]
	if _, err := db.Exec(`DROP TABLE id_runs; DROP TABLE ` + drop); err != nil {
		t.Fatal(err)
	}
}

// TestMigratesIndexTables: a data directory whose index tables are ordered
// by key and hash first opens with them moved into postings and event_ids,
// and every event found by attribute and eventID, in two generations of
// the ID index, and known as a duplicate.
func TestMigratesIndexTables(t *testing.T) {
	for _, idTable := range []string{"ids", "event_ids"} {
		t.Run(idTable, func(t *testing.T) { testMigratesIndexTables(t, idTable) })
	}
}

func testMigratesIndexTables(t *testing.T, idTable string) {
	dir := t.TempDir()
	ctx := context.Background()
	var evs []*event.Event
	for round := range 2 {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]*event.Event, 3)
		for i := range batch {
			batch[i] = storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("Name%d%d", round, i),
				storetest.Base.Add(time.Duration(i)*24*time.Hour), nil)
		}
		if _, err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, batch...)
		s.Close()
		if round == 0 { // the next events in a later generation
			db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE seqs SET last = ? WHERE name = 'events'`, 3<<idGenBits); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
	}
	if idGen(evs[0].Seq) == idGen(evs[5].Seq) {
		t.Fatalf("seqs %d and %d in one generation", evs[0].Seq, evs[5].Seq)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	oldIndexTables(t, db, idTable)
	db.Close()

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range evs {
		name := ""
		for _, k := range e.Keys {
			if k.Attr == event.AttrEventName {
				name = k.Value
			}
		}
		for _, q := range []store.Query{
			{Attr: event.AttrEventID, Value: e.ID},
			{Attr: event.AttrEventName, Value: name},
		} {
			q.Account, q.Region, q.Category = e.Account, e.Region, event.CategoryManagement
			q.Start, q.End, q.Limit = storetest.Base, storetest.Base.Add(72*time.Hour), 5
			p, err := s.Lookup(ctx, q)
			if err != nil || len(p.Events) != 1 || p.Events[0].Seq != e.Seq {
				t.Fatalf("event %d by %s %q after migration: %+v, %v", e.Seq, q.Attr, q.Value, p, err)
			}
		}
	}
	s.filters.building.Wait()
	res, err := s.Append(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Duplicate || r.Seq != evs[i].Seq {
			t.Fatalf("event %d appended again: %+v", evs[i].Seq, r)
		}
	}
	var old int
	if err := s.w.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('lookup', 'ids', 'event_ids', 'lookup_by_day')`).Scan(&old); err != nil || old != 0 {
		t.Fatalf("%d old tables left, %v", old, err)
	}
}

// TestMigratesEventsTable: a data directory written before segment files
// (records in an events table) opens with every event readable, by seq,
// lookup and eventID, and the table gone.
func TestMigratesEventsTable(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	evs := oldLayout(t, dir, 0)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ReadLog(ctx, 0, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadLog after migration: %d, %v", len(got), err)
	}
	for i, e := range got {
		if e.Seq != evs[i].Seq || e.ID != evs[i].ID || string(e.Record) != string(evs[i].Record) {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Attr: event.AttrEventID, Value: evs[1].ID, Start: storetest.Base, End: storetest.Base, Limit: 5})
	if err != nil || len(p.Events) != 1 || p.Events[0].ID != evs[1].ID {
		t.Fatalf("lookup by eventID after migration: %+v, %v", p, err)
	}
	if res, err := s.Append(ctx, []*event.Event{evs[0]}); err != nil || !res[0].Duplicate {
		t.Fatalf("a migrated event appended again: %+v, %v", res, err)
	}
}

// TestMigrationKeepsSequence: migrating an old store whose highest seqs
// were purged keeps its high-water mark, so no seq is handed out twice.
func TestMigrationKeepsSequence(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	oldLayout(t, dir, 10) // events 1..3 remain; seqs 4..10 were assigned and purged
	s, err := Open(dir)   // migrates
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Append(ctx, []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "New", storetest.Base, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Seq <= 10 {
		t.Fatalf("new event got seq %d, at or below the old high-water mark 10: a consumer at 10 skips it", res[0].Seq)
	}
}

// TestRecoveryKeepsSegmentAfterFailedWrite: a failed write the writer
// could not take back leaves bytes at the end of a segment, and the log goes
// on in the next; recovery cuts those bytes and keeps the next segment with
// its acknowledged events.
func TestRecoveryKeepsSegmentAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := storetest.Rec(t, "111111111111", "us-east-1", "A", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{a}); err != nil {
		t.Fatal(err)
	}
	waitIndexed(t, s)
	// Hold the write connection so the next events stay unindexed.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Leftover bytes of a failed write whose Truncate also failed.
	seg1 := s.segs.active
	f, _ := os.OpenFile(segmentName(s.segs.dir, seg1), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte(strings.Repeat("leftover of a failed group commit ", 64)))
	f.Close()
	// The segment is then full: the next write rolls.
	s.segs.wmu.Lock()
	s.segs.end = segmentBytes
	s.segs.wmu.Unlock()
	b := storetest.Rec(t, "111111111111", "us-east-1", "B", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{b}); err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	conn.Close()
	r, err := Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.ReadLog(ctx, 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("acknowledged event B lost in recovery: ReadLog %d events, %v", len(got), err)
	}
}

// TestNoSkipUnderLoad: concurrent appends with retries, a consumer tailing
// ReadLog with small limits, lookups of acknowledged events and Purge: the
// consumer never skips a seq and nothing acknowledged goes missing.
func TestNoSkipUnderLoad(t *testing.T) {
	testutil.SkipShort(t, "a load test that runs for seconds")
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	var stop atomic.Bool
	var acked sync.Map // seq -> id
	var maxAcked atomic.Int64
	errc := make(chan error, 100)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				var evs []*event.Event
				for j := 0; j < 1+i%7; j++ {
					evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("W%d-%d-%d", w, i, j), storetest.Base.Add(time.Duration(i%50)*time.Second), nil))
				}
				res, err := s.Append(ctx, evs)
				if err != nil {
					errc <- err
					return
				}
				// retry: all duplicates, same seqs
				if i%5 == 0 {
					res2, err := s.Append(ctx, evs)
					if err != nil {
						errc <- err
						return
					}
					for k := range res2 {
						if !res2[k].Duplicate || res2[k].Seq != res[k].Seq {
							errc <- fmt.Errorf("retry not duplicate: %+v vs %+v", res2[k], res[k])
							return
						}
					}
				}
				for k, r := range res {
					acked.Store(r.Seq, evs[k].ID)
					for {
						m := maxAcked.Load()
						if r.Seq <= m || maxAcked.CompareAndSwap(m, r.Seq) {
							break
						}
					}
				}
				if i%10 == 0 {
					p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
						Attr: event.AttrEventID, Value: evs[0].ID, Start: storetest.Base.Add(-time.Hour), End: storetest.Base.Add(time.Hour), Limit: 5})
					if err != nil || len(p.Events) != 1 {
						errc <- fmt.Errorf("lookup by id of acked event: %d, %v", len(p.Events), err)
						return
					}
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() { // consumer
		defer wg.Done()
		after := int64(0)
		for !stop.Load() {
			evs, err := s.ReadLog(ctx, after, 1+int(after%5))
			if err != nil {
				errc <- err
				return
			}
			for _, e := range evs {
				if e.Seq != after+1 {
					errc <- fmt.Errorf("ReadLog skipped: after %d got %d", after, e.Seq)
					return
				}
				after = e.Seq
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := s.Purge(ctx, storetest.Base.Add(-24*time.Hour), store.ReadAll); err != nil {
				errc <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(6 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	t.Logf("max acked seq %d", maxAcked.Load())
}

// TestPurgedEventsLeaveNoEmptyPages: events older than the retention cut,
// in a block Purge keeps, must not fill pages that then come out empty
// with a Next cursor.
func TestPurgedEventsLeaveNoEmptyPages(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cut := storetest.Base
	var evs []*event.Event
	for i, name := range []string{"Old1", "Old2", "Old3", "New"} {
		at := cut.Add(-time.Duration(10-i) * time.Second)
		if name == "New" {
			at = cut.Add(time.Second)
		}
		evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", name, at, nil))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Purge(ctx, cut, store.ReadAll); err != nil {
		t.Fatal(err)
	}
	q := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Start: cut.Add(-time.Hour), End: cut.Add(time.Hour), Limit: 1}
	for page := 0; page < 5; page++ {
		p, err := s.Lookup(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("page %d: %d events, next %v", page, len(p.Events), p.Next)
		if len(p.Events) == 0 && p.Next != nil {
			t.Errorf("page %d is empty but has a Next cursor", page)
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
}

// TestPurgeKeepsSegmentBeingStarted: retention deciding what to keep just
// before the first commit creates the first segment file must not delete
// that file (the writer creates it before it is the writer's).
func TestPurgeKeepsSegmentBeingStarted(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := segmentName(s.segs.dir, s.last.Load()+1)
	s.beforeSegmentList = func() {
		// What roll has done at this point: created the file, named by
		// the commit's first seq.
		if err := os.WriteFile(first, nil, 0o600); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.Purge(ctx, storetest.Base.Add(-time.Hour), store.ReadAll); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first); err != nil {
		t.Fatalf("Purge removed the segment a commit was starting: %v", err)
	}
}
