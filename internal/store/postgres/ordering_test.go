package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/postgres/pgtest"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

// The ordering trap: with concurrent writers, a transaction that took lower
// sequence numbers can commit after one that took higher numbers, and a
// reader whose cursor has passed the higher ones skips the lower ones for
// good. These tests run two nodes on one database, hold one node's append
// transaction open after it has taken its numbers (the beforeCommit hook)
// while the other node appends, and follow the log with a cursor as trail
// delivery does.

func node(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// follower reads the log the way a delivery consumer does: from a cursor,
// remembering only the last sequence number it saw.
type follower struct {
	s     *Store
	after int64
	seen  map[int64]bool
}

// poll reads everything visible past the cursor.
func (f *follower) poll(ctx context.Context) error {
	for {
		evs, err := f.s.ReadLog(ctx, f.after, 4)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, e := range evs {
			if e.Seq <= f.after {
				return fmt.Errorf("read seq %d after %d", e.Seq, f.after)
			}
			f.after = e.Seq
			f.seen[e.Seq] = true
		}
	}
}

// missed lists the appended events the follower never returned.
func (f *follower) missed(results ...[]store.AppendResult) []int64 {
	var out []int64
	for _, res := range results {
		for _, r := range res {
			if !f.seen[r.Seq] {
				out = append(out, r.Seq)
			}
		}
	}
	slices.Sort(out)
	return out
}

func batch(t testing.TB, name string, n int) []*event.Event {
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("%s%d", name, i), storetest.Base, nil)
	}
	return evs
}

type appendOutcome struct {
	res []store.AppendResult
	err error
}

// interleave runs the hazardous schedule: the slow node takes its sequence
// numbers and stalls before committing; the fast node appends and commits
// meanwhile (appends of two nodes do not wait for each other); the follower
// reads, bounded by appends in flight or (bounded false) not; then the slow
// node commits and the follower reads again. It returns the sequence
// numbers of both appends and those the follower missed.
func interleave(t *testing.T, bounded bool) (slow, fast []store.AppendResult, missed []int64) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	slowNode, fastNode, reader := node(t, dsn), node(t, dsn), node(t, dsn)
	reader.noReadBound = !bounded

	hasSeqs, release := make(chan struct{}), make(chan struct{})
	var stall, unstall sync.Once
	slowNode.beforeCommit = func() { stall.Do(func() { close(hasSeqs); <-release }) }
	t.Cleanup(func() { unstall.Do(func() { close(release) }) }) // before the nodes close

	slowDone := make(chan appendOutcome, 1)
	go func() {
		res, err := slowNode.Append(ctx, batch(t, "Slow", 5))
		slowDone <- appendOutcome{res, err}
	}()
	select {
	case <-hasSeqs:
	case o := <-slowDone:
		t.Fatalf("slow append ended without stalling: %v", o.err)
	case <-time.After(time.Minute):
		t.Fatal("slow append never reached its commit")
	}
	// The fast append commits while the slow one is open.
	fastRes, err := fastNode.Append(ctx, batch(t, "Fast", 5))
	if err != nil {
		t.Fatalf("fast append: %v", err)
	}
	fastOut := &appendOutcome{res: fastRes}

	f := &follower{s: reader, seen: map[int64]bool{}}
	if err := f.poll(ctx); err != nil { // the slow transaction is still open
		t.Fatal(err)
	}
	unstall.Do(func() { close(release) })
	so := <-slowDone
	if so.err != nil || fastOut.err != nil {
		t.Fatalf("appends: slow %v, fast %v", so.err, fastOut.err)
	}
	if err := f.poll(ctx); err != nil {
		t.Fatal(err)
	}
	return so.res, fastOut.res, f.missed(so.res, fastOut.res)
}

func seqsOf(res []store.AppendResult) []int64 {
	var out []int64
	for _, r := range res {
		out = append(out, r.Seq)
	}
	return out
}

func TestReadLogNeverSkips(t *testing.T) {
	slow, fast, missed := interleave(t, true)
	if len(missed) > 0 {
		t.Fatalf("follower skipped %v (slow took %v, fast took %v)", missed, seqsOf(slow), seqsOf(fast))
	}
	// The fast append took the numbers after the slow one's, and committed
	// first.
	if fast[0].Seq <= slow[len(slow)-1].Seq {
		t.Fatalf("fast took %v before slow's %v", seqsOf(fast), seqsOf(slow))
	}
}

// TestReadLogSkipsWithoutTheBound is the control: the same schedule with a
// reader that ignores appends in flight does make a follower skip events,
// so the test above exercises the hazard it claims to rule out.
func TestReadLogSkipsWithoutTheBound(t *testing.T) {
	slow, fast, missed := interleave(t, false)
	if fmt.Sprint(missed) != fmt.Sprint(seqsOf(slow)) {
		t.Fatalf("without the bound the follower missed %v; want all of slow's %v (fast took %v)",
			missed, seqsOf(slow), seqsOf(fast))
	}
}

// TestReadLogNeverSkipsUnderLoad runs many appenders on two nodes, each
// transaction stalling a random while before it commits, with events over
// several days (so partitions are created concurrently too), while a
// follower on a third node reads continuously. It must see every event once.
func TestReadLogNeverSkipsUnderLoad(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	nodes := []*Store{node(t, dsn), node(t, dsn)}
	for _, n := range nodes {
		n.beforeCommit = func() { time.Sleep(time.Duration(rand.N(3000)) * time.Microsecond) }
	}
	const appenders, appends = 4, 20
	var mu sync.Mutex
	var all [][]store.AppendResult
	var wg sync.WaitGroup
	errs := make(chan error, 2*appenders)
	for ni, n := range nodes {
		for a := range appenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range appends {
					var evs []*event.Event
					for j := range 1 + rand.N(6) {
						at := storetest.Base.Add(time.Duration(rand.N(4*24)) * time.Hour)
						evs = append(evs, storetest.Rec(t, "111111111111", "us-east-1", fmt.Sprintf("N%dA%dI%dE%d", ni, a, i, j), at, nil))
					}
					res, err := n.Append(ctx, evs)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					all = append(all, res)
					mu.Unlock()
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	f := &follower{s: node(t, dsn), seen: map[int64]bool{}}
	polls := 0
	for finished := false; !finished; polls++ {
		select {
		case <-done:
			finished = true // one more poll, after the last commit
		default:
		}
		if err := f.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, res := range all {
		total += len(res)
	}
	if missed := f.missed(all...); len(missed) > 0 {
		t.Fatalf("follower skipped %d of %d events: %v", len(missed), total, missed)
	}
	if len(f.seen) != total {
		t.Fatalf("follower saw %d events, %d were appended", len(f.seen), total)
	}
	t.Logf("%d events in %d appends on 2 nodes; follower polled %d times", total, len(all), polls)
}

// TestSameEventsOnTwoNodes: two nodes storing the same events at the same
// moment store each once, and both answer with its one sequence number.
func TestSameEventsOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	a, b := node(t, dsn), node(t, dsn)
	for round := range 20 {
		evs := batch(t, fmt.Sprintf("Both%d-", round), 20)
		var wg sync.WaitGroup
		var resA, resB []store.AppendResult
		var errA, errB error
		start := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; resA, errA = a.Append(ctx, evs) }()
		go func() {
			defer wg.Done()
			<-start
			resB, errB = b.Append(ctx, batch(t, fmt.Sprintf("Both%d-", round), 20))
		}()
		close(start)
		wg.Wait()
		if errA != nil || errB != nil {
			t.Fatalf("round %d: %v, %v", round, errA, errB)
		}
		for i := range evs {
			if resA[i].Seq != resB[i].Seq || resA[i].Duplicate == resB[i].Duplicate {
				t.Fatalf("round %d, event %d: node a %+v, node b %+v", round, i, resA[i], resB[i])
			}
		}
	}
	all, err := a.ReadLog(ctx, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 20*20 {
		t.Fatalf("%d events stored, want %d", len(all), 20*20)
	}
}

// TestPurgeWaitsForAppendsInFlight: an event with an old eventTime whose
// append is still open when a purge looks at its day's partition is not
// dropped with the partition: the purge decides what to drop only once its
// lock has waited for the append to commit.
func TestPurgeWaitsForAppendsInFlight(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	writer, purger := node(t, dsn), node(t, dsn)
	old := storetest.Base.Add(-100 * 24 * time.Hour)
	read, err := writer.Append(ctx, []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "Read", old, nil)})
	if err != nil {
		t.Fatal(err)
	}

	hasSeqs, release := make(chan struct{}), make(chan struct{})
	var stall, unstall sync.Once
	writer.beforeCommit = func() { stall.Do(func() { close(hasSeqs); <-release }) }
	t.Cleanup(func() { unstall.Do(func() { close(release) }) })
	late := make(chan appendOutcome, 1)
	go func() {
		res, err := writer.Append(ctx, []*event.Event{storetest.Rec(t, "111111111111", "us-east-1", "Late", old.Add(time.Minute), nil)})
		late <- appendOutcome{res, err}
	}()
	select {
	case <-hasSeqs:
	case <-time.After(time.Minute):
		t.Fatal("the late append never reached its commit")
	}
	purged := make(chan error, 1)
	go func() {
		_, err := purger.Purge(ctx, storetest.Base.Add(-90*24*time.Hour), read[0].Seq)
		purged <- err
	}()
	time.Sleep(200 * time.Millisecond) // the purge reaches its lock and waits (a poll cannot show a wait)
	unstall.Do(func() { close(release) })
	o := <-late
	if o.err != nil {
		t.Fatalf("late append: %v", o.err)
	}
	if err := <-purged; err != nil {
		t.Fatalf("purge: %v", err)
	}
	evs, err := purger.ReadLog(ctx, read[0].Seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != o.res[0].Seq {
		t.Fatalf("after the purge the log holds %d events past the reader; want the acknowledged late event (seq %d)", len(evs), o.res[0].Seq)
	}
}
