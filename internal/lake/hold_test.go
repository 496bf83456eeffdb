package lake

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

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
