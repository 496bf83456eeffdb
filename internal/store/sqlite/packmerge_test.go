package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// openTestStore opens the store in dir.
func openTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// layoutOf is the number of rows of each bucket of generation g that q
// (a chunk query) reads, and the entries decode finds in them in all.
func layoutOf[E any](t *testing.T, s *Store, q string, g int64,
	decode func(data []byte, b, seq0, tmax int64, into []E) ([]E, error)) (rows map[int64]int, entries int) {
	t.Helper()
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows = map[int64]int{}
	_, _, err = chunkRows(context.Background(), tx, q, g, 0, 1<<packBucketBits,
		func(data []byte, b, seq0, tmax int64, into []E) ([]E, error) {
			rows[b]++
			es, err := decode(data, b, seq0, tmax, nil)
			if err != nil {
				t.Fatalf("bucket %d: %v", b, err)
			}
			entries += len(es)
			return into, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return rows, entries
}

// packLayout is layoutOf generation g's pack rows.
func packLayout(t *testing.T, s *Store, g int64) (rows map[int64]int, entries int) {
	return layoutOf(t, s, packChunkQuery, g, func(data []byte, b, seq0, tmax int64, into []packEntry) ([]packEntry, error) {
		return packEntries(data, g, b, seq0, tmax, into)
	})
}

// idRunLayout is layoutOf generation g's ID runs.
func idRunLayout(t *testing.T, s *Store, g int64) (rows map[int64]int, entries int) {
	return layoutOf(t, s, idChunkQuery, g, func(data []byte, _, seq0, _ int64, into []idEntry) ([]idEntry, error) {
		return idEntries(data, seq0, into)
	})
}

// TestPackRowsMerged indexes one-off keys in ten transactions, so that
// many buckets get a pack row from several of them, then merges the
// generation's rows as the indexer does once it is sealed: each bucket
// (of a few entries here) is left one row holding every entry, lookups by those keys find the same
// events (before and after a restart), and how far the merge got is kept.
func TestPackRowsMerged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir)
	defer func() { s.Close() }()
	evs := storetest.SpreadEvents(t, "merge", 20_000)
	for i := 0; i < len(evs); i += 2_000 {
		if _, err := s.Append(ctx, evs[i:i+2_000]); err != nil {
			t.Fatal(err)
		}
		s.flushIndex() // a transaction each
	}
	before, entries := packLayout(t, s, 0)
	shared := 0
	for _, n := range before {
		if n > 1 {
			shared++
		}
	}
	if shared < 1000 {
		t.Fatalf("%d buckets with more than one row (of %d with rows): the test does not make what it merges", shared, len(before))
	}
	found := func(when string) map[string]int {
		t.Helper()
		out := map[string]int{}
		for i := 0; i < len(evs); i += 37 {
			user := fmt.Sprintf("merge-user-%d", i)
			got := userLookup(t, s, user, storetest.Base.Add(-50*24*time.Hour), storetest.Base)
			if len(got) != 1 || got[0].ID != evs[i].ID {
				t.Fatalf("%s: user %s: %d events, want %s", when, user, len(got), evs[i].ID)
			}
			out[user] = len(got)
		}
		return out
	}
	found("before the merge")
	idsBefore, idEntriesBefore := idRunLayout(t, s, 0)
	sharedIDs := 0
	for _, n := range idsBefore {
		if n > 1 {
			sharedIDs++
		}
	}
	if idEntriesBefore != len(evs) || sharedIDs < 20 {
		t.Fatalf("ID runs before the merge: %d entries in %d buckets, %d with more than one run", idEntriesBefore, len(idsBefore), sharedIDs)
	}
	byID := func(when string) {
		t.Helper()
		for i := 0; i < len(evs); i += 53 {
			e := evs[i]
			p, err := s.Lookup(ctx, store.Query{Account: e.Account, Region: e.Region, Category: e.Category,
				Attr: event.AttrEventID, Value: e.ID, Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base.Add(50 * 24 * time.Hour), Limit: 5})
			if err != nil || len(p.Events) != 1 || p.Events[0].ID != e.ID {
				t.Fatalf("%s: event %s by its ID: %d events (%v)", when, e.ID, len(p.Events), err)
			}
		}
	}
	byID("before the merge")

	for b := int64(0); b < 1<<packBucketBits; b += mergeChunk {
		if err := s.mergeChunk(ctx, mergedSlot(0, b)); err != nil {
			t.Fatal(err)
		}
	}
	after, merged := packLayout(t, s, 0)
	if merged != entries || len(after) != len(before) {
		t.Fatalf("after the merge: %d entries in %d buckets, want %d in %d", merged, len(after), entries, len(before))
	}
	for b, n := range after {
		if n != 1 {
			t.Fatalf("bucket %d has %d rows after the merge", b, n)
		}
	}
	found("after the merge")
	byID("after the merge")
	idsAfter, idEntriesAfter := idRunLayout(t, s, 0)
	if idEntriesAfter != len(evs) {
		t.Fatalf("ID runs after the merge hold %d entries, want %d", idEntriesAfter, len(evs))
	}
	for b, n := range idsAfter {
		// A few dozen entries a bucket: one run, where ten transactions
		// made up to ten.
		if n != 1 || idsBefore[b] < n {
			t.Fatalf("ID bucket %d: %d runs after the merge, %d before", b, n, idsBefore[b])
		}
	}
	if got := s.packMerged.Load(); got != mergedSlot(1, 0) {
		t.Fatalf("packs_merged %d, want %d", got, mergedSlot(1, 0))
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	found("after a restart")
	if got := s.packMerged.Load(); got != mergedSlot(1, 0) {
		t.Fatalf("packs_merged after a restart %d, want %d", got, mergedSlot(1, 0))
	}
}

// TestPackMergeWaitsForSealedGenerations: the generation events are
// still being appended to is not merged; one the indexer has finished
// is.
func TestPackMergeWaitsForSealedGenerations(t *testing.T) {
	s := &Store{}
	s.firstPending.Store(1 << 62)
	s.last.Store(5)
	if got := s.packsSealedBelow(); got != 0 {
		t.Fatalf("events 1-5 indexed: sealed below %d, want 0", got)
	}
	s.last.Store(1<<idGenBits - 1)
	if got := s.packsSealedBelow(); got != 1 {
		t.Fatalf("generation 0 indexed whole: sealed below %d, want 1", got)
	}
	s.last.Store(3<<idGenBits + 7)
	s.firstPending.Store(2<<idGenBits + 1)
	if got := s.packsSealedBelow(); got != 2 {
		t.Fatalf("events from %d pending: sealed below %d, want 2", 2<<idGenBits+1, got)
	}
}

// TestMergedRowsSplit: a bucket's entries too many for one row are split
// in key order into rows under mergeRowBytes, with every entry kept and
// no two rows of the bucket sharing a seq0 (the table's key), also when
// one event's keys fall on both sides of a split.
func TestMergedRowsSplit(t *testing.T) {
	var es []packEntry
	for i := range 1000 {
		// Every hundredth key is of the same event, the first: each
		// row's first sequence number is then the same unless the rows
		// are told apart.
		seq := int64(5000 + i%100)
		es = append(es, packEntry{g: 0, b: 7, k: int64(i) * 1_000_003, p: store.Posting{Time: 1_700_000_000 - int64(i), Seq: seq}})
	}
	want := slices.Clone(es)
	rows := mergedRows([][]packEntry{es})
	if len(rows) < 5 {
		t.Fatalf("%d rows for 1,000 entries, want them split", len(rows))
	}
	var got []packEntry
	seq0s := map[int64]bool{}
	for _, r := range rows {
		if r.g != 0 || r.b != 7 {
			t.Fatalf("row of generation %d bucket %d", r.g, r.b)
		}
		if seq0s[r.seq0] {
			t.Fatalf("two rows with seq0 %d", r.seq0)
		}
		seq0s[r.seq0] = true
		if len(r.data) > mergeRowBytes {
			t.Fatalf("a row of %d bytes", len(r.data))
		}
		out, err := packEntries(r.data, r.g, r.b, r.seq0, r.tmax, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
		// What a lookup of each key reads from the row: its postings.
		for _, e := range out {
			ps, err := packPostings(r.data, r.seq0, r.tmax, e.k, nil)
			if err != nil || !slices.Contains(ps, e.p) {
				t.Fatalf("key %d: postings %v (%v), want %v among them", e.k, ps, err, e.p)
			}
		}
	}
	sortPackEntries(got)
	sortPackEntries(want)
	if !slices.Equal(got, want) {
		t.Fatalf("entries after the split differ: %d against %d", len(got), len(want))
	}
}

// BenchmarkLookupPackRows: lookups of one-off keys (a user each), and by
// event ID, in a
// store indexed in transactions of 2,000 events, as a store filling at
// 2,000 events/s is, before its pack rows are merged and after. A bucket
// gets a row from each transaction with one of its keys: with 200,000
// events (CAIRN_PACK_BENCH_EVENTS sets another number, up to a
// generation's 1,048,575) about 22 rows, which the merge makes one.
// cpu-ns/op is the process's CPU per lookup.
//
//	go test -run XXX -bench BenchmarkLookupPackRows ./internal/store/sqlite/
func BenchmarkLookupPackRows(b *testing.B) {
	ctx := context.Background()
	s := openTestStore(b, b.TempDir())
	defer s.Close()
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_PACK_BENCH_EVENTS")); err == nil && v >= 2_000 && v < 1<<idGenBits {
		n = v / 2_000 * 2_000
	}
	evs := storetest.SpreadEvents(b, "bench", n)
	for i := 0; i < len(evs); i += 2_000 {
		if _, err := s.Append(ctx, evs[i:i+2_000]); err != nil {
			b.Fatal(err)
		}
		s.flushIndex()
	}
	run := func(attr event.Attribute) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			start := testutil.CPUTime()
			i := 0
			for b.Loop() {
				n := i*7919%len(evs) | 1 // every fourth event is on a busy day, some past Base
				q := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
					Attr: attr, Value: fmt.Sprintf("bench-user-%d", n), Limit: 50,
					Start: storetest.Base.Add(-50 * 24 * time.Hour), End: storetest.Base}
				if attr == event.AttrEventID {
					q.Value = evs[n].ID
				}
				p, err := s.Lookup(ctx, q)
				if err != nil || len(p.Events) != 1 {
					b.Fatalf("event %d by %v: %d events (%v)", n, attr, len(p.Events), err)
				}
				i++
			}
			testutil.ReportCPU(b, start)
		}
	}
	b.Run("unmerged/user", run(event.AttrUsername))
	b.Run("unmerged/id", run(event.AttrEventID))
	for bk := int64(0); bk < 1<<packBucketBits; bk += mergeChunk {
		if err := s.mergeChunk(ctx, mergedSlot(0, bk)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("merged/user", run(event.AttrUsername))
	b.Run("merged/id", run(event.AttrEventID))
}

// TestPackRowsMergedOnceSealed: the indexer merges a generation's pack
// rows by itself once every event of it is indexed, and not the
// generation events are still appended to. The store's sequence starts
// 10,000 events before the end of generation 0.
func TestPackRowsMergedOnceSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO seqs(name, last) VALUES ('events', ?) ON CONFLICT(name) DO UPDATE SET last = excluded.last`, 1<<idGenBits-10_001); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer func() { s.Close() }()
	evs := storetest.SpreadEvents(t, "sealed", 12_000)
	for i := 0; i < 10_000; i += 2_000 { // generation 0, five transactions
		if _, err := s.Append(ctx, evs[i:i+2_000]); err != nil {
			t.Fatal(err)
		}
		s.flushIndex()
	}
	shared := func(g int64) int {
		rows, _ := packLayout(t, s, g)
		n := 0
		for _, r := range rows {
			if r > 1 {
				n++
			}
		}
		return n
	}
	if n := shared(0); n < 100 {
		t.Fatalf("%d buckets of generation 0 with more than one row: the test does not make what it merges", n)
	}
	if got := s.packMerged.Load(); got >= mergedSlot(1, 0) {
		t.Fatalf("generation 0 merged (%d) while events of it were still to come", got)
	}
	for i := 10_000; i < 12_000; i += 1_000 { // generation 1, two transactions
		if _, err := s.Append(ctx, evs[i:i+1_000]); err != nil {
			t.Fatal(err)
		}
		s.flushIndex()
	}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		got := s.packMerged.Load()
		return got >= mergedSlot(1, 0), fmt.Sprintf("generation 0 not merged: packs_merged %d", got)
	})
	if n := shared(0); n != 0 {
		t.Fatalf("%d buckets of generation 0 still with more than one row once it was merged", n)
	}
	if n := shared(1); n == 0 {
		t.Fatal("generation 1, still being appended to, was merged")
	}
	for i := 1; i < len(evs); i += 41 {
		user := fmt.Sprintf("sealed-user-%d", i)
		got := userLookup(t, s, user, storetest.Base.Add(-50*24*time.Hour), storetest.Base)
		if len(got) != 1 || got[0].ID != evs[i].ID {
			t.Fatalf("user %s: %d events after the merge, want %s", user, len(got), evs[i].ID)
		}
	}
}

// TestPackMergeGivesWay: a merge does not start while a flush or a full
// batch asks the indexer to index (the store here has no database: a
// merge that started would fail).
func TestPackMergeGivesWay(t *testing.T) {
	s := &Store{full: make(chan struct{}, 1), ixQuit: make(chan struct{})}
	s.firstPending.Store(math.MaxInt64)
	s.last.Store(5 << idGenBits) // generations 0-4 sealed
	s.full <- struct{}{}
	s.mergePacks(context.Background())
	if len(s.full) != 1 || s.packMerged.Load() != 0 {
		t.Fatalf("with a flush asked for: token %d, merged to %d", len(s.full), s.packMerged.Load())
	}
}

// TestMergedIDRunsSplit: a bucket's ID entries too many for one run are
// split, by hash, into runs under mergeRowBytes with distinct seq0s, every
// entry kept.
func TestMergedIDRunsSplit(t *testing.T) {
	var es []idEntry
	for i := range 2_000 {
		es = append(es, idEntry{h: int64(0x7ab0_0000_0000_0000 | uint64(i)*0x9e37_79b9), seq: int64(3<<idGenBits + i*7)})
	}
	want := slices.Clone(es)
	runs := mergedIDRuns(3, [][]idEntry{es})
	if len(runs) < 10 {
		t.Fatalf("%d runs for 2,000 entries, want them split", len(runs))
	}
	var got []idEntry
	seq0s := map[int64]bool{}
	for _, r := range runs {
		if r.g != 3 || r.b != idBucket(want[0].h) || seq0s[r.seq0] || len(r.data) > mergeRowBytes {
			t.Fatalf("run g %d b %d seq0 %d (seen %v), %d bytes", r.g, r.b, r.seq0, seq0s[r.seq0], len(r.data))
		}
		seq0s[r.seq0] = true
		var err error
		if got, err = idEntries(r.data, r.seq0, got); err != nil {
			t.Fatal(err)
		}
	}
	less := func(x, y idEntry) int { return cmp.Or(cmp.Compare(x.h, y.h), cmp.Compare(x.seq, y.seq)) }
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	if !slices.Equal(got, want) {
		t.Fatalf("entries after the split differ: %d against %d", len(got), len(want))
	}
}
