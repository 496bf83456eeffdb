package lake

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// countingEngine is a fakeEngine that counts how often each store was
// given each event.
type countingEngine struct {
	*fakeEngine
	mu       sync.Mutex
	inserted map[string]int // store/eventID → Insert calls that carried it
}

func (c *countingEngine) Insert(ctx context.Context, id string, evs []*event.Event) error {
	c.mu.Lock()
	for _, e := range evs {
		c.inserted[id+"/"+e.ID]++
	}
	c.mu.Unlock()
	return c.fakeEngine.Insert(ctx, id, evs)
}

// TestWaitFilledWaitsOnlyForItsStores: a query's wait for its store ends
// once that store holds the events acknowledged before it, while another
// account's backlog is still unfilled; the main pass then fills the rest
// without giving the waited store its events a second time.
func TestWaitFilledWaitsOnlyForItsStores(t *testing.T) {
	st := newMemStore()
	engine := &countingEngine{fakeEngine: newFakeEngine(), inserted: map[string]int{}}
	svc := New(st, engine, Options{})
	defer svc.Close()
	f := svc.Filler()
	f.batch = 10 // small passes: the backlog takes many
	ctx := context.Background()
	bob := Caller{Account: "222222222222", Region: "us-east-1"}
	a, err := svc.Create(ctx, alice, CreateInput{Name: ptr("a-store")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Create(ctx, bob, CreateInput{Name: ptr("b-store")})
	if err != nil {
		t.Fatal(err)
	}
	var bobs []string
	for i := range 500 {
		st.add(alice.Account, "us-east-1", "A", false)
		if i%100 == 50 {
			bobs = append(bobs, st.add(bob.Account, "us-east-1", "B", false).ID)
		}
	}
	end := int64(len(st.log))

	waited := make(chan error, 1)
	go func() { waited <- f.WaitFilled(ctx, end, b.ID) }()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		return len(f.waitTargets()) == 1, "the query's wait is not registered"
	})
	for range 10 {
		waiting, err := f.Priority(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !waiting {
			break
		}
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if got := engine.ids(b.ID); !slices.Equal(got, bobs) {
		t.Fatalf("B's store holds %v, want %v", got, bobs)
	}
	if n := len(engine.ids(a.ID)); n != 0 {
		t.Fatalf("A's store was filled (%d events) before B's query could run", n)
	}
	// The main pass fills A and leaves B's events alone.
	for {
		more, err := f.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	if n := len(engine.ids(a.ID)); n != 500 {
		t.Fatalf("A's store holds %d events, want 500", n)
	}
	for k, n := range engine.inserted {
		if n != 1 {
			t.Errorf("%s inserted %d times", k, n)
		}
	}
	if err := f.WaitFilled(ctx, end); err != nil {
		t.Fatal(err)
	}
}
