package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// A block's marks find every frame where reading every length finds it.
func TestFrameOffsetMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, frames := range []int{1, markEvery - 1, markEvery, markEvery + 1, 1000} {
		b := block{seq0: 5000, seqN: 5000 + int64(frames) - 1, seg: 1, off: 777}
		for range frames {
			b.lens = binary.AppendUvarint(b.lens, uint64(rng.IntN(100_000)+1))
		}
		marked := b.withMarks()
		if frames > markEvery && len(marked.marks) == 0 {
			t.Fatalf("%d frames: no marks", frames)
		}
		for seq := b.seq0 - 2; seq <= b.seqN+2; seq++ {
			o1, n1, err1 := b.frameOffset(seq)
			o2, n2, err2 := marked.frameOffset(seq)
			if o1 != o2 || n1 != n2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("%d frames, seq %d: plain %d+%d %v, marked %d+%d %v", frames, seq, o1, n1, err1, o2, n2, err2)
			}
			if (seq < b.seq0 || seq > b.seqN) != (err1 != nil) {
				t.Fatalf("%d frames, seq %d: error %v", frames, seq, err1)
			}
		}
	}
	// Damaged lengths are reported, with or without marks.
	b := block{seq0: 1, seqN: 100, off: 0, lens: []byte{0x80}}
	if _, _, err := b.withMarks().frameOffset(50); err == nil {
		t.Fatal("damaged lengths read")
	}
}

// bySeq answers in the order asked, across blocks, with frames near each
// other and far apart, and leaves out what no block holds.
func TestBySeqOrder(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var seqs []int64
	want := map[int64]string{}
	for batch := range 6 {
		var evs []*event.Event
		for i := range 40 {
			pad := strings.Repeat("x", (i*batch*997)%(40<<10)) // some frames far apart
			evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("E%d-%d", batch, i),
				storetest.Base, map[string]any{"requestParameters": map[string]any{"pad": pad}}))
		}
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seqs = append(seqs, e.Seq)
			want[e.Seq] = e.ID
		}
		if batch == 2 {
			s.flushIndex() // half from the index, half pending
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		ask := append([]int64(nil), seqs...)
		rng.Shuffle(len(ask), func(i, j int) { ask[i], ask[j] = ask[j], ask[i] })
		ask = ask[:1+rng.IntN(len(ask))]
		ask = append(ask, 1<<40) // no such event
		got, err := s.bySeq(ctx, ask, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ask)-1 {
			t.Fatalf("round %d: %d events for %d seqs", round, len(got), len(ask)-1)
		}
		for i, e := range got {
			if e.Seq != ask[i] || e.ID != want[ask[i]] {
				t.Fatalf("round %d, #%d: asked %d (%s), got %d (%s)", round, i, ask[i], want[ask[i]], e.Seq, e.ID)
			}
		}
	}
}

func TestIDFilter(t *testing.T) {
	f := newIDFilter()
	rng := rand.New(rand.NewPCG(5, 6))
	added := make([]int64, 100_000)
	for i := range added {
		added[i] = int64(rng.Uint64())
		f.add(added[i])
	}
	for _, h := range added {
		if !f.has(h) {
			t.Fatalf("%x added, not found", h)
		}
	}
	maybe := 0
	for range 100_000 {
		if f.has(int64(rng.Uint64())) {
			maybe++
		}
	}
	if maybe > 10 {
		t.Fatalf("%d of 100000 never added are maybe there", maybe)
	}
}

// waitFilter waits until a filter is built and none is being built.
func waitFilter(t *testing.T, s *Store) {
	t.Helper()
	s.filters.building.Wait()
	if s.filters.current() == nil {
		t.Fatal("no ID filter")
	}
}

// Every stored event is a duplicate to the writer, whether the filter was
// built at open from the ID index or while events were being appended,
// pending and indexed.
func TestIDFilterKeepsEveryID(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	batch := func(b, n int) []*event.Event {
		evs := make([]*event.Event, n)
		for i := range evs {
			evs[i] = storetest.Rec(t, "111111111111", "us-east-1", "Filtered", storetest.Base,
				map[string]any{"eventID": fmt.Sprintf("id-%d-%d", b, i)})
		}
		return evs
	}
	dupes := func(s *Store, evs []*event.Event) int {
		t.Helper()
		res, err := s.Append(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range res {
			if r.Duplicate {
				n++
			}
		}
		return n
	}
	waitFilter(t, s)
	var all [][]*event.Event
	for b := range 200 {
		all = append(all, batch(b, 50))
		if d := dupes(s, all[b]); d != 0 {
			t.Fatalf("batch %d: %d duplicates of new events", b, d)
		}
		switch b % 7 {
		case 0:
			s.idMu.Lock()
			s.startFilterBuild() // while some are pending, some indexed
			s.idMu.Unlock()
		case 3:
			s.flushIndex()
		}
	}
	waitFilter(t, s)
	for b, evs := range all {
		if d := dupes(s, batch(b, 50)); d != len(evs) {
			t.Fatalf("batch %d again: %d of %d found", b, d, len(evs))
		}
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFilter(t, s)
	for b, evs := range all {
		if d := dupes(s, batch(b, 50)); d != len(evs) {
			t.Fatalf("after reopen, batch %d: %d of %d found", b, d, len(evs))
		}
	}
}

// Every query of a read path seeks its index: none scans a whole table or
// sorts (with 10M events, a scan of the ID index took seconds).
func TestReadQueriesSeek(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		strings.ReplaceAll(strings.Replace(scanQuery, "?", "'[2,1]'", 1), "?", "5"),
		strings.ReplaceAll(byHashQuery, "?", "'[1,0]'"),
		genRange,
		`SELECT seq0, data FROM id_runs WHERE g = 1`,
		strings.ReplaceAll(blockQuery, "?", "7"),
	} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if (strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN json_each") && step != "SCAN CONSTANT ROW") ||
				strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s\nplan: %q", q, plan)
			}
		}
	}
}

// Retention deletes a generation of the ID index once no block is left in
// it, and keeps the rest: events of later generations are still found by
// eventID and known as duplicates.
func TestPurgeDropsIDGenerations(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	old := storetest.Rec(t, "111111111111", "us-east-1", "Old", storetest.Base, nil)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, []*event.Event{old}); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	if _, err := s.w.Exec(`UPDATE seqs SET last = ? WHERE name = 'events'`, 5<<idGenBits); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newer := storetest.Rec(t, "111111111111", "us-east-1", "New", storetest.Base.Add(48*time.Hour), nil)
	if _, err := s.Append(ctx, []*event.Event{newer}); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	gens := func() (n int) {
		if err := s.w.QueryRow(`SELECT count(DISTINCT g) FROM id_runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := gens(); n != 2 {
		t.Fatalf("%d generations before the purge", n)
	}
	if _, err := s.Purge(ctx, storetest.Base.Add(24*time.Hour), store.ReadAll); err != nil {
		t.Fatal(err)
	}
	if n := gens(); n != 1 {
		t.Fatalf("%d generations after the purge", n)
	}
	q := store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
		Attr: event.AttrEventID, Value: newer.ID, Start: storetest.Base, End: storetest.Base.Add(72 * time.Hour), Limit: 5}
	if p, err := s.Lookup(ctx, q); err != nil || len(p.Events) != 1 || p.Events[0].Seq != newer.Seq {
		t.Fatalf("the kept event by eventID: %+v, %v", p, err)
	}
	q.Value = old.ID
	if p, err := s.Lookup(ctx, q); err != nil || len(p.Events) != 0 {
		t.Fatalf("the purged event by eventID: %+v, %v", p, err)
	}
	s.filters.building.Wait()
	res, err := s.Append(ctx, []*event.Event{newer, old})
	if err != nil || !res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("appended again: %+v, %v", res, err)
	}
}

// Pending postings are found in every pending batch, in seq order, by
// day, and only while their batch is pending.
func TestPendingPostingsAcrossBatches(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const key = 77
	mk := func(seq0 int64, days ...int64) *batch {
		bt := &batch{b: block{seq0: seq0, seqN: seq0 + int64(len(days)) - 1}, postings: map[int64][]store.Posting{}}
		for i, d := range days {
			p := store.Posting{Time: d*86400 + int64(i), Seq: seq0 + int64(i)}
			bt.postings[key] = append(bt.postings[key], p)
			bt.postings[key+1] = append(bt.postings[key+1], p)
		}
		return bt
	}
	a, b, c := mk(1000, 10, 10, 11), mk(1003, 11, 12), mk(1005, 10, 12)
	seqs := func(d0, d1 int64) []int64 {
		var out []int64
		for _, p := range s.pendingPostings(key, d0, d1) {
			out = append(out, p.Seq)
		}
		slices.Sort(out)
		return out
	}
	s.pmu.Lock()
	s.pending = append(s.pending, a, b, c)
	s.pmu.Unlock()
	if got := seqs(10, 12); !slices.Equal(got, []int64{1000, 1001, 1002, 1003, 1004, 1005, 1006}) {
		t.Fatalf("all pending: %v", got)
	}
	if got := seqs(11, 11); !slices.Equal(got, []int64{1002, 1003}) {
		t.Fatalf("day 11: %v", got)
	}
	// In seq order, batch after batch, for TopK and the histogram.
	var order []int64
	s.pmu.RLock()
	s.eachPendingList(key+1, func(ps []store.Posting) {
		for _, p := range ps {
			order = append(order, p.Seq)
		}
	})
	s.pmu.RUnlock()
	if !slices.IsSorted(order) || len(order) != 7 {
		t.Fatalf("key+1's pending postings in order: %v", order)
	}
	// a and b indexed, c not; then d added, and c indexed.
	s.pmu.Lock()
	s.pending = s.pending[2:]
	s.pmu.Unlock()
	if got := seqs(0, 100); !slices.Equal(got, []int64{1005, 1006}) {
		t.Fatalf("after indexing a and b: %v", got)
	}
	d := mk(1007, 13)
	s.pmu.Lock()
	s.pending = append(s.pending, d)
	s.pmu.Unlock()
	if got := seqs(0, 100); !slices.Equal(got, []int64{1005, 1006, 1007}) {
		t.Fatalf("with d: %v", got)
	}
	s.pmu.Lock()
	s.pending = s.pending[1:]
	s.pmu.Unlock()
	if got := seqs(0, 100); !slices.Equal(got, []int64{1007}) {
		t.Fatalf("after indexing c: %v", got)
	}
	s.pmu.Lock()
	s.pending = nil
	s.pmu.Unlock()
	if got := seqs(0, 100); len(got) != 0 {
		t.Fatalf("after indexing all: %v", got)
	}
}

// An event whose ID is stored with other content is a conflict whichever
// way the writer finds the stored one: in a pending batch, in the ID index
// (through the ID filter), and after a reopen; the identical event is a
// duplicate each time, and an eventTime of its own makes no other event.
func TestIDConflictPendingIndexedReopened(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(name string, at time.Time) *event.Event {
		return storetest.Rec(t, "111111111111", "us-east-1", name, at, map[string]any{"eventID": "dddddddd-1111-2222-3333-444444444444"})
	}
	check := func(s *Store, when string, wantSeq int64) {
		t.Helper()
		res, err := s.Append(ctx, []*event.Event{rec("Original", storetest.Base), rec("Squatter", storetest.Base),
			rec("Original", storetest.Base.Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Duplicate || res[0].Seq != wantSeq {
			t.Errorf("%s: identical event = %+v, want a duplicate of seq %d", when, res[0], wantSeq)
		}
		for _, r := range res[1:] {
			if !r.Conflict || r.Seq != wantSeq {
				t.Errorf("%s: other content = %+v, want a conflict with seq %d", when, r, wantSeq)
			}
		}
	}
	first, err := s.Append(ctx, []*event.Event{rec("Original", storetest.Base)})
	if err != nil {
		t.Fatal(err)
	}
	check(s, "pending", first[0].Seq)
	waitIndexed(t, s)
	waitFilter(t, s)
	check(s, "indexed", first[0].Seq)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, "reopened", first[0].Seq)
	waitFilter(t, s)
	check(s, "reopened, filter built", first[0].Seq)
}
