package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// TestPendingIDSetGenerations: an ID stays found while its event is
// pending, and a generation goes only once all of its events are indexed.
func TestPendingIDSetGenerations(t *testing.T) {
	p := newPendingIDSet()
	a, b, c := idHash("1", "a"), idHash("1", "b"), idHash("1", "c")
	found := func(h int64) []int64 { return p.get(h, nil) }
	p.add(a, 1)
	p.add(b, 2)
	p.indexed(1, newIDTable(0)) // b pending: the generation stays, as the old one
	if len(found(b)) != 1 {
		t.Fatal("pending b not found")
	}
	p.add(c, 3)
	p.indexed(1, newIDTable(0)) // the old generation still holds pending b
	for _, h := range []int64{b, c} {
		if len(found(h)) != 1 {
			t.Fatalf("pending %x not found", h)
		}
	}
	p.indexed(2, newIDTable(0)) // the old goes; c's generation becomes the old one
	if len(found(b)) != 0 {
		t.Fatal("indexed b still held after its generation was indexed")
	}
	if got := found(c); len(got) != 1 || got[0] != 3 {
		t.Fatalf("pending c: %v", got)
	}
	p.indexed(3, newIDTable(0))
	n := 0
	p.each(func(int64) { n++ })
	if n != 0 {
		t.Fatalf("%d IDs held with every event indexed", n)
	}
}

// TestPendingIDSetSharedHash: two pending IDs with the same hash are both
// found (the caller tells them apart by reading their events), in the
// current generation and after it became the old one.
func TestPendingIDSetSharedHash(t *testing.T) {
	p := newPendingIDSet()
	const h = 42
	p.add(h, 1)
	p.add(7, 2)
	p.add(h, 3)
	if got := p.get(h, nil); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("seqs of the shared hash: %v, want [1 3]", got)
	}
	p.indexed(2, newIDTable(0)) // 3 pending: the generation becomes the old one
	p.add(h, 4)
	if got := p.get(h, []int64{9}); !slices.Equal(got, []int64{9, 4, 1, 3}) {
		t.Fatalf("seqs of the shared hash over two generations: %v, want [9 4 1 3]", got)
	}
}

// TestDuplicateFoundBesideAPendingIDOfTheSameHash: an event whose ID is
// indexed is a duplicate when appended again even while another pending
// event's ID shares its hash (forced here): the pending hit does not stop
// the index from being asked.
func TestDuplicateFoundBesideAPendingIDOfTheSameHash(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := storetest.Rec(t, "111111111111", "us-east-1", "First", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{first}); err != nil {
		t.Fatal(err)
	}
	s.flushIndex()
	// A pending event whose ID, as far as the set knows, has first's hash.
	s.idMu.Lock()
	s.pendingIDs.add(idHash(first.Account, first.ID), 1<<40)
	s.idMu.Unlock()
	res, err := s.Append(ctx, []*event.Event{first})
	if err != nil || !res[0].Duplicate || res[0].Seq != first.Seq {
		t.Fatalf("first appended again: %+v, %v", res, err)
	}
}

// TestIndexedIDsHeldAWhile: an eventID still in the pending set after its
// event was indexed (until the next transaction) is found once by
// LookupEvents, and its event is a duplicate when appended again.
func TestIndexedIDsHeldAWhile(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := s.w.Conn(ctx) // the indexer waits for it
	if err != nil {
		t.Fatal(err)
	}
	waits := s.w.Stats().WaitCount
	first := storetest.Rec(t, "111111111111", "us-east-1", "First", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{first}); err != nil {
		t.Fatal(err)
	}
	s.full <- struct{}{} // index now, not after the gathering delay
	deadline := time.Now().Add(10 * time.Second)
	for s.w.Stats().WaitCount == waits { // the indexer took first and waits
		if time.Now().After(deadline) {
			t.Fatal("the indexer never asked for the connection")
		}
		time.Sleep(time.Millisecond)
	}
	second := storetest.Rec(t, "111111111111", "us-east-1", "Second", storetest.Base, nil)
	if _, err := s.Append(ctx, []*event.Event{second}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	s.pmu.Lock()
	for s.pendingEvents > 1 {
		s.pcond.Wait()
	}
	s.idMu.RLock()
	held := len(s.pendingIDs.get(idHash("111111111111", first.ID), nil)) > 0
	s.idMu.RUnlock()
	s.pmu.Unlock()
	if !held {
		t.Fatal("first's ID left the pending set with second pending: the case is not the one to test")
	}
	for _, e := range []*event.Event{first, second} {
		p, err := s.Lookup(ctx, store.Query{Account: "111111111111", Region: "us-east-1", Category: event.CategoryManagement,
			Attr: event.AttrEventID, Value: e.ID, Start: storetest.Base, End: storetest.Base, Limit: 5})
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != e.ID {
			t.Fatalf("lookup of %s: %+v, %v", e.ID, p, err)
		}
		res, err := s.Append(ctx, []*event.Event{e})
		if err != nil || !res[0].Duplicate || res[0].Seq != e.Seq {
			t.Fatalf("%s appended again: %+v, %v", e.ID, res, err)
		}
	}
}

// TestPendingIDSetGrows: a generation that outgrows its first table (the
// indexer behind) keeps finding every ID in it, each once, and gives its
// size to the next generation's table.
func TestPendingIDSetGrows(t *testing.T) {
	p := newPendingIDSet()
	const n = 20_000 // several tables past the first's 1,024
	for i := range int64(n) {
		p.add(store.HashPair("111111111111", fmt.Sprint(i)), i+1)
	}
	if len(p.cur.tables) < 3 {
		t.Fatalf("%d tables for %d IDs", len(p.cur.tables), n)
	}
	for i := range int64(n) {
		if got := p.get(store.HashPair("111111111111", fmt.Sprint(i)), nil); !slices.Contains(got, i+1) {
			t.Fatalf("ID %d: seqs %v", i, got)
		}
	}
	held := 0
	p.each(func(int64) { held++ })
	if held != n {
		t.Fatalf("each saw %d IDs, want %d", held, n)
	}
	if got := p.indexed(n, newIDTable(0)); got != n {
		t.Fatalf("indexed reports %d IDs, want %d", got, n)
	}
	if got := newIDTable(n); len(got.slots) < 2*n {
		t.Fatalf("a table for %d IDs has %d slots", n, len(got.slots))
	}
}

// TestPendingIDSetOneHashMany: many pending IDs sharing one hash (a
// tenant's crafted collisions) are all found, across tables.
func TestPendingIDSetOneHashMany(t *testing.T) {
	p := newPendingIDSet()
	const n = 3_000
	for i := range int64(n) {
		p.add(77, i+1)
	}
	if got := p.get(77, nil); len(got) != n {
		t.Fatalf("%d seqs of the shared hash, want %d", len(got), n)
	}
	if got := p.get(78, nil); len(got) != 0 {
		t.Fatalf("seqs for a hash never added: %v", got)
	}
}

// TestPendingIDSetReserve: a table reserved ahead of a batch takes the
// batch's IDs whole, and none is made while they are added; a table
// reserved when the generation has room after all is not used.
func TestPendingIDSetReserve(t *testing.T) {
	p := newPendingIDSet()
	const batch = 3_000 // past the first table's room
	n := p.grows(batch)
	if n < batch {
		t.Fatalf("grows(%d) = %d", batch, n)
	}
	p.reserve(newIDTable(n), batch)
	tables := len(p.cur.tables)
	for i := range int64(batch) {
		p.add(store.HashPair("111111111111", fmt.Sprint(i)), i+1)
	}
	if len(p.cur.tables) != tables {
		t.Fatalf("%d tables after adding the batch, %d before", len(p.cur.tables), tables)
	}
	for i := range int64(batch) {
		if got := p.get(store.HashPair("111111111111", fmt.Sprint(i)), nil); !slices.Contains(got, i+1) {
			t.Fatalf("ID %d: seqs %v", i, got)
		}
	}
	if p.grows(1) != 0 {
		t.Fatal("the reserved table has no room for one more")
	}
	p.reserve(newIDTable(10), 1)
	if len(p.cur.tables) != tables {
		t.Fatal("a table reserved with room to spare was added")
	}
}
