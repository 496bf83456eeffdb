package lake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

var bob = Caller{Account: "222222222222", Region: "us-east-1"}

// describe polls query id of c until ok says it is as wanted.
func waitStatus(t *testing.T, f *fixture, c Caller, id string, want string) *Query {
	t.Helper()
	var q *Query
	var err error
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		q, err = f.svc.Describe(context.Background(), c, &id)
		return err == nil && q.Status == want, fmt.Sprintf("query %+v, %v; want %s", q, err, want)
	})
	return q
}

// TestOneAccountCannotStarveAnother: an account running as many heavy
// queries as the engine has connections does not hold up another
// account's query; its extra query waits QUEUED, not RUNNING.
func TestOneAccountCannotStarveAnother(t *testing.T) {
	f := newFixture(t, Options{QuerySlots: 4})
	f.engine.conns = make(chan struct{}, 4)
	ctx := context.Background()
	bs, err := f.svc.Create(ctx, bob, CreateInput{Name: ptr("bob-store")})
	if err != nil {
		t.Fatal(err)
	}
	as, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("alice-store")})
	if err != nil {
		t.Fatal(err)
	}
	var heavy []*Query
	for range 4 {
		q, err := f.svc.Start(ctx, bob, StartInput{QueryStatement: ptr("WAIT FROM " + bs.ID)})
		if err != nil {
			t.Fatal(err)
		}
		heavy = append(heavy, q)
	}
	// Three run (one slot is left for other accounts), the fourth waits.
	var running, queued []string
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		running, queued = nil, nil
		for _, q := range heavy {
			cur, err := f.svc.Describe(ctx, bob, &q.ID)
			if err != nil {
				return false, err.Error()
			}
			switch cur.Status {
			case QueryRunning:
				running = append(running, q.ID)
			case QueryQueued:
				queued = append(queued, q.ID)
			}
		}
		return len(running) == 3 && len(queued) == 1, fmt.Sprintf("running %v, queued %v", running, queued)
	})
	if q := runQuery(t, f, alice, "SELECT FROM "+as.ID); q.Status != QueryFinished {
		t.Fatalf("alice's query while bob's run: %+v", q)
	}
	// When one of bob's queries ends, his queued one runs.
	if _, err := f.svc.Cancel(ctx, bob, &running[0]); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, f, bob, queued[0], QueryRunning)
}

func TestSchedulerFairAcrossAccounts(t *testing.T) {
	s := newScheduler(3) // two slots at most per account
	ctx := context.Background()
	relA, err := s.acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	relA2, err := s.acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	relB, err := s.acquire(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 3)
	wait := func(acct string) {
		rel, err := s.acquire(ctx, acct)
		if err == nil {
			got <- acct
			rel()
		}
	}
	go wait("a") // a asked first, but holds two slots...
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.waiting) == 1, "a waiting"
	})
	go wait("c") // ...so c, holding none, goes first
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.waiting) == 2, "c waiting"
	})
	relB()
	if first := <-got; first != "c" {
		t.Errorf("first slot went to %s, want c", first)
	}
	relA() // a is under its cap again
	if second := <-got; second != "a" {
		t.Errorf("second slot went to %s, want a", second)
	}
	relA2()
	// A waiter whose context ends gives up its place.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	relX, _ := s.acquire(ctx, "x")
	relY, _ := s.acquire(ctx, "y")
	relY2, _ := s.acquire(ctx, "y")
	if _, err := s.acquire(cctx, "z"); err == nil {
		t.Error("acquire with a done context and no slot succeeded")
	}
	relX()
	relY()
	relY2()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != 3 || len(s.waiting) != 0 || len(s.running) != 0 {
		t.Errorf("scheduler not back to idle: %+v", s)
	}
}

// TestFillWaitIsQueuedNotTimedOut: a query waiting for the filler stays
// QUEUED and the wait does not count against the query's time limit; a
// wait past FillWait says why.
func TestFillWaitIsQueuedNotTimedOut(t *testing.T) {
	st, engine := newMemStore(), newFakeEngine()
	svc := New(st, engine, Options{QueryTimeout: 50 * time.Millisecond})
	defer svc.Close()
	f := &fixture{st: st, engine: engine, svc: svc}
	ctx := context.Background()
	d, err := svc.Create(ctx, alice, CreateInput{Name: ptr("behind")})
	if err != nil {
		t.Fatal(err)
	}
	e := st.add(alice.Account, "us-east-1", "X", false)
	q, err := svc.Start(ctx, alice, StartInput{QueryStatement: ptr("SELECT FROM " + d.ID)})
	if err != nil {
		t.Fatal(err)
	}
	// The filler is behind for longer than the query's time limit (no
	// state to poll for: the query must stay as it is).
	time.Sleep(200 * time.Millisecond)
	waitStatus(t, f, alice, q.ID, QueryQueued)
	if _, err := svc.Filler().Pass(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, f, alice, q.ID, QueryFinished)
	if got.Rows != 1 {
		t.Errorf("query saw %d rows, want 1 (%s)", got.Rows, e.ID)
	}

	// A filler that never catches up ends the query with the reason.
	svc2 := New(st, engine, Options{FillWait: 20 * time.Millisecond})
	defer svc2.Close()
	f2 := &fixture{st: st, engine: engine, svc: svc2}
	st.add(alice.Account, "us-east-1", "Y", false)
	q2, err := svc2.Start(ctx, alice, StartInput{QueryStatement: ptr("SELECT FROM " + d.ID)})
	if err != nil {
		t.Fatal(err)
	}
	got = waitStatus(t, f2, alice, q2.ID, QueryTimedOut)
	if !strings.Contains(got.Error, "still being filled") {
		t.Errorf("message: %q", got.Error)
	}
}

// TestFillSkipsEventsPastRetention: an event already older than the
// store's retention is never copied in (not even until the next sweep).
func TestFillSkipsEventsPastRetention(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	f.setClock(time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)) // the fake log's events are of 2026-12-01
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("week"), RetentionPeriod: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	f.st.add(alice.Account, "us-east-1", "Old", false)
	q := runQuery(t, f, alice, "SELECT FROM "+d.ID) // sees every event acknowledged before it
	if q.Status != QueryFinished || q.Rows != 0 {
		t.Errorf("query of a store whose only event is past retention: %+v", q)
	}
}

// TestQueryDoesNotSeeExpiredEvents: a query run after an event passed the
// store's retention does not see it, whether or not the sweep has run.
func TestQueryDoesNotSeeExpiredEvents(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("week"), RetentionPeriod: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	e := f.st.add(alice.Account, "us-east-1", "Old", false) // eventTime 2026-12-01
	waitIDs(t, f, d.ID, e.ID)
	f.setClock(time.Date(2026, 12, 8, 0, 0, 1, 0, time.UTC)) // past 7 days; no sweep
	if q := runQuery(t, f, alice, "SELECT FROM "+d.ID); q.Status != QueryFinished || q.Rows != 0 {
		t.Errorf("query saw an expired event: %+v", q)
	}
}

// TestStartImportNeedsTheModelsRequiredFields: S3BucketRegion and
// S3BucketAccessRoleArn are required by the model, as S3LocationUri is.
func TestStartImportNeedsTheModelsRequiredFields(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("imports")})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []ImportSource{
		{S3LocationUri: HistoryURI},
		{S3LocationUri: HistoryURI, S3BucketRegion: "us-east-1"},
		{S3LocationUri: HistoryURI, S3BucketAccessRoleArn: "arn:aws:iam::111111111111:role/x"},
	} {
		_, err := f.svc.StartImport(ctx, alice, StartImportInput{Destinations: []string{d.ID}, ImportSource: &struct{ S3 *ImportSource }{S3: &src}})
		if code(err) != "InvalidParameterException" {
			t.Errorf("StartImport %+v: %v", src, err)
		}
	}
}

// TestResultsInChecksTheStore: GetQueryResults naming an unknown store,
// or a store the query did not read, returns no rows.
func TestResultsInChecksTheStore(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("read")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("other")})
	if err != nil {
		t.Fatal(err)
	}
	q := runQuery(t, f, alice, "SELECT FROM "+d.ID)
	if _, err := f.svc.ResultsIn(ctx, alice, ptr("00000000-0000-4000-8000-000000000000"), &q.ID, nil, nil); code(err) != "EventDataStoreNotFoundException" {
		t.Errorf("unknown store: %v", err)
	}
	if _, err := f.svc.ResultsIn(ctx, alice, &other.ID, &q.ID, nil, nil); code(err) != "QueryIdNotFoundException" {
		t.Errorf("another store: %v", err)
	}
	if _, err := f.svc.ResultsIn(ctx, alice, &d.ARN, &q.ID, nil, nil); err != nil {
		t.Errorf("the query's store: %v", err)
	}
}
