package sqlite

import (
	"context"
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
	a, b, c := idKey{"1", "a"}, idKey{"1", "b"}, idKey{"1", "c"}
	p.add(a, 1)
	p.add(b, 2)
	p.indexed(1, map[idKey]int64{}) // b pending: the generation stays, as the old one
	if _, ok := p.get(b); !ok {
		t.Fatal("pending b not found")
	}
	p.add(c, 3)
	p.indexed(1, map[idKey]int64{}) // the old generation still holds pending b
	for _, k := range []idKey{b, c} {
		if _, ok := p.get(k); !ok {
			t.Fatalf("pending %v not found", k)
		}
	}
	p.indexed(2, map[idKey]int64{}) // the old goes; c's generation becomes the old one
	if _, ok := p.get(b); ok {
		t.Fatal("indexed b still held after its generation was indexed")
	}
	if seq, ok := p.get(c); !ok || seq != 3 {
		t.Fatalf("pending c: %d, %v", seq, ok)
	}
	p.indexed(3, map[idKey]int64{})
	n := 0
	p.each(func(idKey) { n++ })
	if n != 0 {
		t.Fatalf("%d IDs held with every event indexed", n)
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
	_, held := s.pendingIDs.get(idKey{"111111111111", first.ID})
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
