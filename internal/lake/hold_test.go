package lake

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// cursorCounting is a memStore that counts the reads and writes of the
// fill cursors' documents.
type cursorCounting struct {
	*memStore
	mu           sync.Mutex
	gets, writes int
}

func (c *cursorCounting) GetState(ctx context.Context, key string) (store.StateDoc, error) {
	if strings.HasPrefix(key, cursorPrefix) {
		c.mu.Lock()
		c.gets++
		c.mu.Unlock()
	}
	return c.memStore.GetState(ctx, key)
}

func (c *cursorCounting) PutState(ctx context.Context, key string, doc []byte, expect int64) (int64, error) {
	if strings.HasPrefix(key, cursorPrefix) {
		c.mu.Lock()
		c.writes++
		c.mu.Unlock()
	}
	return c.memStore.PutState(ctx, key, doc, expect)
}

func (c *cursorCounting) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets, c.writes
}

// TestFillerIdleWithoutStores: with no event data store the filler's
// passes read and write nothing of the cursor (document or the engine's
// mark) however many events arrive, yet a wait for every store ends; a
// store made then wakes it, and takes the events that follow.
func TestFillerIdleWithoutStores(t *testing.T) {
	st := &cursorCounting{memStore: newMemStore()}
	engine := newFakeEngine()
	svc := New(st, engine, Options{})
	defer svc.Close()
	ctx := context.Background()
	f := svc.Filler()
	if _, err := f.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	gets, writes := st.counts()
	for i := range 5 {
		st.add(alice.Account, "us-east-1", "Idle", false)
		f.Wake()
		if _, err := f.Pass(ctx); err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
	}
	if g, w := st.counts(); g != gets || w != writes {
		t.Errorf("idle passes read the cursor %d times and wrote it %d times; want none", g-gets, w-writes)
	}
	engine.mu.Lock()
	_, marked := engine.marks[fillMark]
	engine.mu.Unlock()
	if marked {
		t.Errorf("idle passes wrote the engine's mark")
	}
	if err := f.WaitFilled(ctx, 5); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Create(ctx, alice, CreateInput{Name: ptr("wakes")})
	if err != nil {
		t.Fatal(err)
	}
	e := st.add(alice.Account, "us-east-1", "Y", false)
	for more := true; more; {
		if more, err = f.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := engine.ids(d.ID); !slices.Equal(got, []string{e.ID}) {
		t.Errorf("the store made after the idle passes holds %v, want [%s]", got, e.ID)
	}
	if st.reads > 1 {
		t.Errorf("the log was read %d times: the cursor did not skip the events no store takes", st.reads)
	}
}

// TestFillerHoldsRetention: while a store takes events, ReadTo (what
// retention may purge up to) is no further than what every node's filler
// has copied; with no store taking events it is the log's end.
func TestFillerHoldsRetention(t *testing.T) {
	st := newMemStore()
	svc := New(st, newFakeEngine(), Options{Node: "n1"})
	defer svc.Close()
	ctx := context.Background()
	f := svc.Filler()
	readTo := func() int64 {
		t.Helper()
		n, err := f.ReadTo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 3 {
		st.add(alice.Account, "us-east-1", "Before", false)
	}
	if n := readTo(); n != 3 {
		t.Errorf("no store: ReadTo %d, want the log's end 3", n)
	}
	if _, err := svc.Create(ctx, alice, CreateInput{Name: ptr("holds")}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		st.add(alice.Account, "us-east-1", "After", false)
	}
	if n := readTo(); n != 3 {
		t.Errorf("a store, nothing copied: ReadTo %d, want 3", n)
	}
	for more := true; more; {
		var err error
		if more, err = f.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := readTo(); n != 7 {
		t.Errorf("everything copied: ReadTo %d, want 7", n)
	}
	// Another node's filler that is behind holds retention too.
	b, _ := json.Marshal(cursor{Seq: 5})
	if _, err := st.PutState(ctx, cursorPrefix+"n2", b, 0); err != nil {
		t.Fatal(err)
	}
	if n := readTo(); n != 5 {
		t.Errorf("another node at 5: ReadTo %d, want 5", n)
	}
}

// TestFillerStaleCursorsReleaseRetention: on a shared store another
// node's cursor holds retention back until it goes unwritten for
// CursorStaleAfter, and is deleted then; one of an earlier version
// (without its time) is stamped and holds until as long after; on a
// single-node store no other node's cursor holds, and each is deleted.
func TestFillerStaleCursorsReleaseRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	setup := func(single bool) (*memStore, *Filler) {
		st := newMemStore()
		svc := New(st, newFakeEngine(), Options{Node: "n1", SingleNode: single, Now: clock})
		t.Cleanup(svc.Close)
		for range 3 {
			st.add(alice.Account, "us-east-1", "Before", false)
		}
		if _, err := svc.Create(ctx, alice, CreateInput{Name: ptr("holds")}); err != nil {
			t.Fatal(err)
		}
		st.add(alice.Account, "us-east-1", "After", false)
		f := svc.Filler()
		for more := true; more; {
			var err error
			if more, err = f.Pass(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return st, f
	}
	put := func(st *memStore, node string, c cursor) {
		t.Helper()
		b, _ := json.Marshal(c)
		if _, err := st.PutState(ctx, cursorPrefix+node, b, 0); err != nil {
			t.Fatal(err)
		}
	}
	readTo := func(f *Filler) int64 {
		t.Helper()
		n, err := f.ReadTo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	gone := func(st *memStore, node string) bool {
		_, err := st.GetState(ctx, cursorPrefix+node)
		return errors.Is(err, store.ErrNotFound)
	}

	st, f := setup(false)
	put(st, "fresh", cursor{Seq: 3, Updated: now.Add(-CursorStaleAfter + time.Hour)})
	put(st, "old", cursor{Seq: 3}) // an earlier version's document
	if n := readTo(f); n != 3 {
		t.Errorf("shared store, live nodes at 3: ReadTo %d, want 3", n)
	}
	now = now.Add(2 * time.Hour) // "fresh" is stale now; "old" was stamped
	if n := readTo(f); n != 3 {
		t.Errorf("shared store, stamped earlier-version cursor at 3: ReadTo %d, want 3", n)
	}
	if !gone(st, "fresh") || gone(st, "old") {
		t.Errorf("after %v: stale cursor deleted %v (want true), stamped one deleted %v (want false)",
			CursorStaleAfter, gone(st, "fresh"), gone(st, "old"))
	}
	now = now.Add(CursorStaleAfter)
	if n := readTo(f); n != 4 {
		t.Errorf("shared store, every other cursor stale: ReadTo %d, want 4", n)
	}
	if !gone(st, "old") {
		t.Errorf("the stamped cursor was not deleted once stale")
	}

	st, f = setup(true)
	put(st, "earlier-id", cursor{Seq: 3, Updated: now})
	if n := readTo(f); n != 4 {
		t.Errorf("single-node store, an earlier node ID's cursor at 3: ReadTo %d, want 4", n)
	}
	if !gone(st, "earlier-id") {
		t.Errorf("single-node store: the earlier node ID's cursor was not deleted")
	}
}
