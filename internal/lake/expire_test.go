package lake

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// deletesOf is how many DeleteBefore calls store id has had.
func (f *fakeEngine) deletesOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deletes[id]
}

// startAll starts n queries of c and returns their IDs.
func startAll(t *testing.T, f *fixture, c Caller, sql string, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		q, err := f.svc.Start(context.Background(), c, StartInput{QueryStatement: &sql})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, q.ID)
	}
	return ids
}

// waitAll waits until every query of ids is as want says.
func waitAll(t *testing.T, f *fixture, c Caller, ids []string, want func(*Query) bool) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, id := range ids {
			q, err := f.svc.Describe(context.Background(), c, &id)
			if err != nil || !want(q) {
				return false, fmt.Sprintf("query %s: %+v, %v", id, q, err)
			}
		}
		return true, ""
	})
}

// TestExpireIsBatchedAcrossQueries: the retention deletes queries make
// before they run share the engine's one writer: queries started while
// one delete runs are served together by the next, and queries of the
// same second by the one already made — not a write per query.
func TestExpireIsBatchedAcrossQueries(t *testing.T) {
	f := newFixture(t, Options{QuerySlots: 16, MaxConcurrentQueries: 20})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("batched"), RetentionPeriod: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	// The filler's first pass comes after its first sweep, which may
	// have deleted in the store: count from there.
	e := f.st.add(alice.Account, "us-east-1", "X", false)
	waitIDs(t, f, d.ID, e.ID)
	base := f.engine.deletesOf(d.ID)

	// Eight queries within one second: one delete.
	ids := startAll(t, f, alice, "SELECT FROM "+d.ID, 8)
	waitAll(t, f, alice, ids, func(q *Query) bool { return q.Status == QueryFinished })
	if n := f.engine.deletesOf(d.ID) - base; n != 1 {
		t.Errorf("8 queries in one second made %d retention deletes, want 1", n)
	}

	// A delete that takes long: the six queries that ask meanwhile wait
	// for it, RUNNING, and one more delete serves them all.
	gate, deleting := make(chan struct{}), make(chan string, 16)
	f.engine.mu.Lock()
	f.engine.deleteGate, f.engine.deleting = gate, deleting
	f.engine.mu.Unlock()
	f.setClock(f.now().Add(time.Second))
	first := startAll(t, f, alice, "SELECT FROM "+d.ID, 1)
	<-deleting
	f.setClock(f.now().Add(time.Second))
	rest := startAll(t, f, alice, "SELECT FROM "+d.ID, 6)
	waitAll(t, f, alice, rest, func(q *Query) bool { return q.Status == QueryRunning })
	close(gate)
	waitAll(t, f, alice, append(first, rest...), func(q *Query) bool { return q.Status == QueryFinished })
	if n := f.engine.deletesOf(d.ID) - base; n != 3 {
		t.Errorf("7 queries over a slow delete made %d retention deletes in all, want 3 (1 + 1 + 1 batch)", n)
	}
}

// TestStartDoesNotHoldTheServiceLock: while StartQuery lists an
// account's kept queries (slow on a busy PostgreSQL), another account's
// StartQuery and the same account's store changes go ahead.
func TestStartDoesNotHoldTheServiceLock(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	as, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("alice-store")})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := f.svc.Create(ctx, bob, CreateInput{Name: ptr("bob-store")})
	if err != nil {
		t.Fatal(err)
	}
	listing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.st.mu.Lock()
	f.st.listHook = func(prefix string) {
		if prefix == queryPrefix+alice.Account+"/" {
			once.Do(func() { close(listing) })
			<-release
		}
	}
	f.st.mu.Unlock()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	aliceDone := make(chan error, 1)
	go func() {
		_, err := f.svc.Start(ctx, alice, StartInput{QueryStatement: ptr("SELECT FROM " + as.ID)})
		aliceDone <- err
	}()
	<-listing // alice's StartQuery is listing her queries, and stays there
	others := make(chan error, 1)
	go func() {
		if _, err := f.svc.Start(ctx, bob, StartInput{QueryStatement: ptr("SELECT FROM " + bs.ID)}); err != nil {
			others <- fmt.Errorf("bob's StartQuery: %w", err)
			return
		}
		if _, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("alice-second")}); err != nil {
			others <- fmt.Errorf("alice's CreateEventDataStore: %w", err)
			return
		}
		others <- nil
	}()
	select {
	case err := <-others:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("another account's StartQuery and a CreateEventDataStore waited for a StartQuery listing its account's queries")
	}
	close(release)
	if err := <-aliceDone; err != nil {
		t.Fatalf("alice's StartQuery: %v", err)
	}
}
