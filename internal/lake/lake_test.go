package lake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/testutil"
	"github.com/cairn-audit/cairn/internal/trail"
)

// memStore is a Store in memory: state documents and a log.
type memStore struct {
	mu    sync.Mutex
	docs  map[string]store.StateDoc
	log   []*event.Event
	reads int // ReadLog calls
	// listHook, when set, is called (outside mu) by ListState first.
	listHook func(prefix string)
}

func newMemStore() *memStore { return &memStore{docs: map[string]store.StateDoc{}} }

func (m *memStore) GetState(_ context.Context, key string) (store.StateDoc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[key]
	if !ok {
		return store.StateDoc{}, store.ErrNotFound
	}
	return d, nil
}

func (m *memStore) PutState(_ context.Context, key string, doc []byte, expect int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[key]
	switch {
	case expect == 0 && ok:
		return 0, store.ErrExists
	case expect != 0 && !ok:
		return 0, store.ErrNotFound
	case expect != 0 && d.Version != expect:
		return 0, store.ErrConflict
	}
	v := d.Version + 1
	m.docs[key] = store.StateDoc{Key: key, Doc: append([]byte(nil), doc...), Version: v}
	return v, nil
}

func (m *memStore) ListState(_ context.Context, prefix string) ([]store.StateDoc, error) {
	m.mu.Lock()
	hook := m.listHook
	m.mu.Unlock()
	if hook != nil {
		hook(prefix)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.StateDoc
	for k, d := range m.docs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b store.StateDoc) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (m *memStore) DeleteState(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, key)
	return nil
}

func (m *memStore) ReadLog(_ context.Context, after int64, limit int) ([]*event.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	var out []*event.Event
	for _, e := range m.log {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) Stats(context.Context) (store.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return store.Stats{LastSeq: int64(len(m.log))}, nil
}

// add appends an event of account and region named name.
func (m *memStore) add(account, region, name string, readOnly bool) *event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	seq := int64(len(m.log) + 1)
	id := fmt.Sprintf("ev-%04d", seq)
	rec := fmt.Sprintf(`{"eventVersion":"1.11","eventID":%q,"eventName":%q,"eventSource":"s3.amazonaws.com","eventCategory":"Management","readOnly":%t,"awsRegion":%q,"recipientAccountId":%q,"eventTime":"2026-12-01T00:00:00Z"}`,
		id, name, readOnly, region, account)
	e := &event.Event{Seq: seq, Account: account, Region: region, ID: id, Category: "Management",
		Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Record: []byte(rec)}
	m.log = append(m.log, e)
	return e
}

// fakeEngine keeps events per store. Its SQL: "SELECT FROM <store>"
// lists the store's eventIDs and eventNames in ID order; "WAIT FROM
// <store>" runs until cancelled; anything else is a syntax error.
type fakeEngine struct {
	mu     sync.Mutex
	events map[string]map[string]*event.Event
	// conns, when set, is the engine's pool of read connections: a Run
	// holds one while it runs, as lakesql's does.
	conns chan struct{}
	// marks are the positions SetMark recorded.
	marks map[string]int64
	// deletes counts DeleteBefore calls per store; when deleteGate is
	// set, each call says so on deleting and then waits for the gate.
	deletes    map[string]int
	deleteGate chan struct{}
	deleting   chan string
}

func newFakeEngine() *fakeEngine { return &fakeEngine{events: map[string]map[string]*event.Event{}} }

func (f *fakeEngine) Insert(ctx context.Context, id string, evs []*event.Event) error {
	_, err := f.InsertCount(ctx, id, evs)
	return err
}

func (f *fakeEngine) InsertCount(_ context.Context, id string, evs []*event.Event) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.events[id] == nil {
		f.events[id] = map[string]*event.Event{}
	}
	var n int64
	for _, e := range evs {
		if _, had := f.events[id][e.ID]; !had {
			n++
		}
		f.events[id][e.ID] = e
	}
	return n, nil
}

func (f *fakeEngine) DeleteBefore(_ context.Context, id string, t time.Time) (int64, error) {
	f.mu.Lock()
	if f.deletes == nil {
		f.deletes = map[string]int{}
	}
	f.deletes[id]++
	gate, deleting := f.deleteGate, f.deleting
	f.mu.Unlock()
	if gate != nil {
		deleting <- id
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for k, e := range f.events[id] {
		if e.Time.Before(t) {
			delete(f.events[id], k)
			n++
		}
	}
	return n, nil
}

func (f *fakeEngine) Sync(context.Context) error { return nil }

func (f *fakeEngine) SetMark(_ context.Context, name string, seq int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.marks == nil {
		f.marks = map[string]int64{}
	}
	f.marks[name] = seq
	return nil
}

func (f *fakeEngine) Mark(_ context.Context, name string) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, ok := f.marks[name]
	return seq, ok, nil
}

func (f *fakeEngine) DropStore(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.events, id)
	return nil
}

func (f *fakeEngine) ids(store string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.events[store] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type fakeStatement struct {
	f     *fakeEngine
	verb  string
	store string
}

func (f *fakeEngine) Compile(sql string) (Compiled, error) {
	w := strings.Fields(sql)
	if len(w) != 3 || (w[0] != "SELECT" && w[0] != "WAIT") || w[1] != "FROM" {
		return nil, errors.New("line 1:1: mismatched input")
	}
	return &fakeStatement{f: f, verb: w[0], store: w[2]}, nil
}

func (s *fakeStatement) Stores() []string { return []string{s.store} }

func (s *fakeStatement) Check(map[string]string) error { return nil }

func (s *fakeStatement) Run(ctx context.Context, stores map[string]string, maxRows int) (*Result, error) {
	if s.f.conns != nil {
		select {
		case s.f.conns <- struct{}{}:
			defer func() { <-s.f.conns }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.verb == "WAIT" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	res := &Result{Columns: []string{"eventID", "eventName"}}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	for _, e := range s.f.events[stores[s.store]] {
		id, name := e.ID, string(e.Record)
		name = name[strings.Index(name, `"eventName":"`)+13:]
		name = name[:strings.IndexByte(name, '"')]
		res.Rows = append(res.Rows, []*string{&id, &name})
	}
	slices.SortFunc(res.Rows, func(a, b []*string) int { return strings.Compare(*a[0], *b[0]) })
	res.Rows = res.Rows[:min(len(res.Rows), maxRows)]
	res.Stats.EventsScanned = int64(len(s.f.events[stores[s.store]]))
	res.Stats.EventsMatched = int64(len(res.Rows))
	return res, nil
}

type fixture struct {
	st     *memStore
	engine *fakeEngine
	svc    *Service
	mu     sync.Mutex
	clock  time.Time
}

// setClock sets the service's clock.
func (f *fixture) setClock(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = t
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f := &fixture{st: newMemStore(), engine: newFakeEngine(), clock: now}
	o.Now = f.now
	o.Poll = 10 * time.Millisecond
	f.svc = New(f.st, f.engine, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Filler().Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; f.svc.Close() })
	return f
}

var alice = Caller{Account: "111111111111", Region: "us-east-1"}

func code(err error) awsproto.Code {
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func TestCreateDefaultsAndRules(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("audit")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusCreated || !d.MultiRegion || !d.TerminationProtection || d.RetentionDays != 366 || d.BillingMode != BillingExtendable {
		t.Errorf("defaults: %+v", d)
	}
	if got, err := f.svc.Get(ctx, alice, &d.ID); err != nil || got.Status != StatusEnabled {
		t.Errorf("GetEventDataStore after create: %+v, %v; want ENABLED", got, err)
	}
	if !strings.HasPrefix(d.ARN, "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/") || len(d.Selectors) != 1 {
		t.Errorf("ARN %s selectors %+v", d.ARN, d.Selectors)
	}
	for _, tc := range []struct {
		in   CreateInput
		want awsproto.Code
	}{
		{CreateInput{Name: ptr("ab")}, awsproto.InvalidParameterException},
		{CreateInput{Name: ptr("audit")}, awsproto.EventDataStoreAlreadyExistsException},
		{CreateInput{Name: ptr("x1y"), RetentionPeriod: ptr(3654)}, awsproto.InvalidParameterException},
		{CreateInput{Name: ptr("x1y"), BillingMode: ptr(BillingFixed), RetentionPeriod: ptr(2558)}, awsproto.InvalidParameterException},
		{CreateInput{Name: ptr("x1y"), OrganizationEnabled: ptr(true)}, awsproto.OrganizationsNotInUseException},
		{CreateInput{Name: ptr("x1y"), KmsKeyId: ptr("alias/x")}, awsproto.UnsupportedOperationException},
		{CreateInput{Name: ptr("x1y"), AdvancedEventSelectors: []trail.AdvancedEventSelector{{FieldSelectors: []trail.AdvancedFieldSelector{{Field: ptr("eventCategory"), Equals: []string{"Insight"}}}}}}, awsproto.InvalidEventSelectorsException},
	} {
		if _, err := f.svc.Create(ctx, alice, tc.in); code(err) != tc.want {
			t.Errorf("Create(%s …): %v, want %s", deref(tc.in.Name), err, tc.want)
		}
	}
	// A store of another account is not found, by ID or ARN.
	bob := Caller{Account: "222222222222", Region: "us-east-1"}
	for _, ref := range []string{d.ID, d.ARN} {
		if _, err := f.svc.Get(ctx, bob, &ref); code(err) != awsproto.EventDataStoreNotFoundException {
			t.Errorf("bob Get(%s): %v", ref, err)
		}
	}
	if _, err := f.svc.Get(ctx, alice, ptr("not-an-arn")); code(err) != awsproto.EventDataStoreARNInvalidException {
		t.Errorf("Get(bad): %v", err)
	}
}

func TestOrganizationStoreOnlyFromManagementAccount(t *testing.T) {
	org := &config.Organization{ID: "o-a1b2c3d4e5", ManagementAccount: "111111111111"}
	f := newFixture(t, Options{Ownership: config.Ownership{Accounts: []string{"111111111111", "222222222222"}, Organization: org}})
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, Caller{Account: "222222222222", Region: "us-east-1"}, CreateInput{Name: ptr("org"), OrganizationEnabled: ptr(true)}); code(err) != awsproto.NotOrganizationMasterAccountException {
		t.Fatalf("member: %v", err)
	}
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("org"), OrganizationEnabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	member := f.st.add("222222222222", "eu-west-1", "CreateBucket", false)
	other := f.st.add("333333333333", "eu-west-1", "CreateBucket", false)
	waitIDs(t, f, d.ID, member.ID)
	if slices.Contains(f.engine.ids(d.ID), other.ID) {
		t.Errorf("an account outside the organization was filled in")
	}
}

func waitIDs(t *testing.T, f *fixture, store string, want ...string) {
	t.Helper()
	slices.Sort(want)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := f.engine.ids(store)
		return slices.Equal(got, want), fmt.Sprintf("store has %v, want %v", got, want)
	})
}

func TestFillBySelectorsAccountRegionAndTime(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	before := f.st.add(alice.Account, "us-east-1", "Before", false)
	all, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("all")})
	if err != nil {
		t.Fatal(err)
	}
	writes, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("writes-here"), MultiRegionEnabled: ptr(false),
		AdvancedEventSelectors: []trail.AdvancedEventSelector{{FieldSelectors: []trail.AdvancedFieldSelector{
			{Field: ptr("eventCategory"), Equals: []string{"Management"}}, {Field: ptr("readOnly"), Equals: []string{"false"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := f.st.add(alice.Account, "us-east-1", "PutObjectAcl", false)
	r := f.st.add(alice.Account, "us-east-1", "GetBucketAcl", true)
	away := f.st.add(alice.Account, "eu-west-1", "DeleteBucket", false)
	f.st.add("222222222222", "us-east-1", "Other", false)
	f.svc.Filler().Wake()
	waitIDs(t, f, all.ID, w.ID, r.ID, away.ID)
	waitIDs(t, f, writes.ID, w.ID)
	if slices.Contains(f.engine.ids(all.ID), before.ID) {
		t.Errorf("an event from before the store was made was filled in")
	}
	// Stopped: takes nothing; started again: takes again.
	if _, err := f.svc.SetIngestion(ctx, alice, &all.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetIngestion(ctx, alice, &all.ID, false); code(err) != awsproto.InvalidEventDataStoreStatusException {
		t.Errorf("stopping twice: %v", err)
	}
	skipped := f.st.add(alice.Account, "us-east-1", "Skipped", false)
	if _, err := f.svc.SetIngestion(ctx, alice, &all.ID, true); err != nil {
		t.Fatal(err)
	}
	taken := f.st.add(alice.Account, "us-east-1", "Taken", false)
	waitIDs(t, f, all.ID, w.ID, r.ID, away.ID, taken.ID)
	_ = skipped
}

func TestDeleteRestoreAndExpiry(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("gone-soon")})
	if err != nil {
		t.Fatal(err)
	}
	e := f.st.add(alice.Account, "us-east-1", "X", false)
	waitIDs(t, f, d.ID, e.ID)
	if _, err := f.svc.Delete(ctx, alice, &d.ID); code(err) != awsproto.EventDataStoreTerminationProtectedException {
		t.Fatalf("delete with protection: %v", err)
	}
	if _, err := f.svc.Update(ctx, alice, UpdateInput{EventDataStore: &d.ID, TerminationProtectionEnabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, alice, &d.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Get(ctx, alice, &d.ID)
	if err != nil || got.Status != StatusPendingDeletion {
		t.Fatalf("after delete: %+v %v", got, err)
	}
	if _, err := f.svc.Start(ctx, alice, StartInput{QueryStatement: ptr("SELECT FROM " + d.ID)}); code(err) != awsproto.InactiveEventDataStoreException {
		t.Errorf("query of a store pending deletion: %v", err)
	}
	if got, err = f.svc.Restore(ctx, alice, &d.ID); err != nil || got.Status != StatusEnabled {
		t.Fatalf("restore: %+v %v", got, err)
	}
	if _, err := f.svc.Delete(ctx, alice, &d.ID); err != nil {
		t.Fatal(err)
	}
	f.setClock(f.now().Add(PendingDeletion + time.Minute))
	if _, err := f.svc.Get(ctx, alice, &d.ID); code(err) != awsproto.EventDataStoreNotFoundException {
		t.Errorf("after pending deletion: %v", err)
	}
	if _, err := f.svc.Restore(ctx, alice, &d.ID); code(err) != awsproto.EventDataStoreNotFoundException {
		t.Errorf("restore after pending deletion: %v", err)
	}
	if err := f.svc.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := f.engine.ids(d.ID); len(ids) != 0 {
		t.Errorf("a gone store's events were kept: %v", ids)
	}
	// Its name is free again.
	if _, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("gone-soon")}); err != nil {
		t.Errorf("reusing the name: %v", err)
	}
}

// runQuery starts sql and waits for it to end.
func runQuery(t *testing.T, f *fixture, c Caller, sql string) *Query {
	t.Helper()
	ctx := context.Background()
	q, err := f.svc.Start(ctx, c, StartInput{QueryStatement: &sql})
	if err != nil {
		t.Fatal(err)
	}
	var got *Query
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got, err = f.svc.Describe(ctx, c, &q.ID)
		return err == nil && got.ended(), fmt.Sprintf("query %+v, %v", got, err)
	})
	return got
}

func TestQueryLifecycle(t *testing.T) {
	f := newFixture(t, Options{MaxConcurrentQueries: 1})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("queries")})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 2500 {
		want = append(want, f.st.add(alice.Account, "us-east-1", fmt.Sprintf("N%d", i), false).ID)
	}
	// The query sees every event acknowledged before it started.
	q := runQuery(t, f, alice, "SELECT FROM "+d.ID)
	if q.Status != QueryFinished || q.Rows != 2500 || q.Chunks != 3 {
		t.Fatalf("query: %+v", q)
	}
	var got []string
	var tok *string
	for {
		p, err := f.svc.Results(ctx, alice, &q.ID, tok, ptr(700))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			got = append(got, *r[0])
		}
		if p.NextToken == "" {
			break
		}
		tok = &p.NextToken
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged results: %d rows, want %d", len(got), len(want))
	}
	if _, err := f.svc.Results(ctx, alice, &q.ID, ptr("bogus"), nil); code(err) != awsproto.InvalidNextTokenException {
		t.Errorf("bad token: %v", err)
	}
	// Another account sees neither the query nor the store.
	bob := Caller{Account: "222222222222", Region: "us-east-1"}
	if _, err := f.svc.Describe(ctx, bob, &q.ID); code(err) != awsproto.QueryIdNotFoundException {
		t.Errorf("bob describe: %v", err)
	}
	if _, err := f.svc.Start(ctx, bob, StartInput{QueryStatement: ptr("SELECT FROM " + d.ID)}); code(err) != awsproto.EventDataStoreNotFoundException {
		t.Errorf("bob query: %v", err)
	}
	if _, err := f.svc.Start(ctx, alice, StartInput{QueryStatement: ptr("SELEC eventName FROM x")}); code(err) != awsproto.InvalidQueryStatementException {
		t.Errorf("bad SQL: %v", err)
	}
	// Cancel a running query; with one allowed at once, a second is refused meanwhile.
	f.setClock(f.now().Add(time.Second)) // (ListQueries lists newest first)
	wait, err := f.svc.Start(ctx, alice, StartInput{QueryStatement: ptr("WAIT FROM " + d.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Start(ctx, alice, StartInput{QueryStatement: ptr("SELECT FROM " + d.ID)}); code(err) != awsproto.MaxConcurrentQueriesException {
		t.Errorf("over the cap: %v", err)
	}
	if c, err := f.svc.Cancel(ctx, alice, &wait.ID); err != nil || c.Status != QueryCancelled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if _, err := f.svc.Cancel(ctx, alice, &wait.ID); code(err) != awsproto.InactiveQueryException {
		t.Errorf("cancel twice: %v", err)
	}
	list, _, err := f.svc.ListQueries(ctx, alice, ListInput{EventDataStore: &d.ID})
	if err != nil || len(list) != 2 || list[0].ID != wait.ID || list[0].Status != QueryCancelled {
		t.Errorf("ListQueries: %v %v", list, err)
	}
	finished, _, err := f.svc.ListQueries(ctx, alice, ListInput{EventDataStore: &d.ID, QueryStatus: ptr(QueryFinished)})
	if err != nil || len(finished) != 1 || finished[0].ID != q.ID {
		t.Errorf("ListQueries FINISHED: %v %v", finished, err)
	}
}

func TestQueryTimeout(t *testing.T) {
	f := newFixture(t, Options{QueryTimeout: 50 * time.Millisecond})
	d, err := f.svc.Create(context.Background(), alice, CreateInput{Name: ptr("slow")})
	if err != nil {
		t.Fatal(err)
	}
	if q := runQuery(t, f, alice, "WAIT FROM "+d.ARN); q.Status != QueryTimedOut || q.Error == "" || q.ExecMillis == 0 {
		t.Errorf("query: %+v", q)
	}
}

func TestRetentionRemovesExpiredEvents(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	d, err := f.svc.Create(ctx, alice, CreateInput{Name: ptr("short"), RetentionPeriod: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	e := f.st.add(alice.Account, "us-east-1", "Old", false) // eventTime 2026-12-01
	waitIDs(t, f, d.ID, e.ID)
	f.setClock(time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)) // 6 days and 23 hours later: kept
	if err := f.svc.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, f, d.ID, e.ID)
	f.setClock(time.Date(2026, 12, 8, 0, 0, 1, 0, time.UTC)) // past 7 days: removed
	if err := f.svc.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, f, d.ID)
}

// TestNoStoresReadsNothing: a server without event data stores does not
// read its log for the Lake; the cursor follows the log's end.
func TestNoStoresReadsNothing(t *testing.T) {
	st, engine := newMemStore(), newFakeEngine()
	svc := New(st, engine, Options{})
	defer svc.Close()
	ctx := context.Background()
	for range 3 {
		st.add(alice.Account, "us-east-1", "X", false)
	}
	if more, err := svc.Filler().Pass(ctx); err != nil || more {
		t.Fatalf("Pass: %t %v", more, err)
	}
	if st.reads != 0 {
		t.Errorf("the log was read %d times", st.reads)
	}
	if err := svc.Filler().WaitFilled(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// A store made now starts at the log's end and takes what comes next.
	d, err := svc.Create(ctx, alice, CreateInput{Name: ptr("later")})
	if err != nil {
		t.Fatal(err)
	}
	e := st.add(alice.Account, "us-east-1", "Y", false)
	if _, err := svc.Filler().Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := engine.ids(d.ID); !slices.Equal(got, []string{e.ID}) {
		t.Errorf("store holds %v", got)
	}
}
