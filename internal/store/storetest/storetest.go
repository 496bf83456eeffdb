// Package storetest is the conformance suite every store backend passes:
// appends, idempotence, lookups by each attribute, ordering, paging, time
// ranges, the walls between accounts and regions, and purging.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Opener opens a fresh, empty store for one test.
type Opener func(t *testing.T) store.Store

// Base is the time the suite's events are placed around.
var Base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Rec builds a completed event the way the ingest path would.
func Rec(t testing.TB, account, region, name string, at time.Time, extra map[string]any) *event.Event {
	t.Helper()
	r := map[string]any{
		"eventTime":   at.UTC().Format(event.TimeFormat),
		"eventSource": "s3.amazonaws.com",
		"eventName":   name,
		"awsRegion":   region,
		"userIdentity": map[string]any{"type": "IAMUser", "userName": "alice",
			"accessKeyId": "AKIAALICE"},
	}
	for k, v := range extra {
		r[k] = v
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	e, ferr := event.Decode(raw, event.Context{Account: account})
	if ferr != nil {
		t.Fatalf("decode: %v", ferr)
	}
	return e
}

// Run runs the suite against the backend.
func Run(t *testing.T, open Opener) {
	t.Run("AppendAndLookupNewestFirst", func(t *testing.T) { testOrder(t, open(t)) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, open(t)) })
	t.Run("EventIDConflict", func(t *testing.T) { testIDConflict(t, open(t)) })
	t.Run("EventIDConflictInOneAppend", func(t *testing.T) { testIDConflictInOneAppend(t, open(t)) })
	t.Run("EventIDConflictConcurrent", func(t *testing.T) { testIDConflictConcurrent(t, open(t)) })
	t.Run("Attributes", func(t *testing.T) { testAttributes(t, open(t)) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open(t)) })
	t.Run("TimeRange", func(t *testing.T) { testTimeRange(t, open(t)) })
	t.Run("Walls", func(t *testing.T) { testWalls(t, open(t)) })
	t.Run("DataEventsNotInHistory", func(t *testing.T) { testData(t, open(t)) })
	t.Run("Purge", func(t *testing.T) { testPurge(t, open(t)) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Trails", func(t *testing.T) { testTrails(t, open(t)) })
	t.Run("State", func(t *testing.T) { testState(t, open(t)) })
	t.Run("ReadLog", func(t *testing.T) { testReadLog(t, open(t)) })
	t.Run("SequenceSurvivesPurge", func(t *testing.T) { testSeqAfterPurge(t, open(t)) })
	t.Run("PurgeKeepsUnread", func(t *testing.T) { testPurgeKeepsUnread(t, open(t)) })
	t.Run("Histogram", func(t *testing.T) { testHistogram(t, open(t)) })
	t.Run("HistogramAfterPurge", func(t *testing.T) { testHistogramAfterPurge(t, open(t)) })
	t.Run("HideReadOnly", func(t *testing.T) { testHideReadOnly(t, open(t)) })
	t.Run("SpreadOverManyDays", func(t *testing.T) { testSpread(t, open(t)) })
}

// testPurgeKeepsUnread: expired events that a consumer of the log has not
// read yet (events stored late with an old eventTime) stay in the log until
// it has.
func testPurgeKeepsUnread(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	const acct = "111111111111"
	day := 24 * time.Hour
	read := mustAppend(t, s, Rec(t, acct, "us-east-1", "Read", Base.Add(-100*day), nil))
	late := mustAppend(t, s,
		Rec(t, acct, "us-east-1", "Late1", Base.Add(-100*day), nil),
		Rec(t, acct, "us-east-1", "Late2", Base.Add(-120*day), nil),
		Rec(t, acct, "us-east-1", "LateData", Base.Add(-100*day), map[string]any{"eventCategory": "Data"}))
	logNames := func() []string {
		t.Helper()
		evs, err := s.ReadLog(ctx, read[0].Seq, 10)
		if err != nil {
			t.Fatal(err)
		}
		return names(store.Page{Events: evs})
	}
	if _, err := s.Purge(ctx, Base.Add(-90*day), read[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got := logNames(); !eq(got, []string{"Late1", "Late2", "LateData"}) {
		t.Fatalf("log after a purge that a reader holds back: %v", got)
	}
	if _, err := s.Purge(ctx, Base.Add(-90*day), late[2].Seq); err != nil {
		t.Fatal(err)
	}
	if got := logNames(); len(got) != 0 {
		t.Fatalf("log after the reader read everything and a purge: %v", got)
	}
}

// testSeqAfterPurge: sequence numbers never go back, even when retention
// removes every event, or a reader's cursor would skip the next ones.
func testSeqAfterPurge(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	res := mustAppend(t, s, Rec(t, "111111111111", "us-east-1", "Old", Base.Add(-200*24*time.Hour), nil))
	if _, err := s.Purge(ctx, Base, store.ReadAll); err != nil {
		t.Fatal(err)
	}
	again := mustAppend(t, s, Rec(t, "111111111111", "us-east-1", "New", Base, nil))
	if again[0].Seq <= res[0].Seq {
		t.Fatalf("after a purge of everything, seq %d follows %d", again[0].Seq, res[0].Seq)
	}
	evs, err := s.ReadLog(ctx, res[0].Seq, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("ReadLog after the old cursor: %d events, %v", len(evs), err)
	}
	if st, err := s.Stats(ctx); err != nil || st.LastSeq < again[0].Seq {
		t.Fatalf("stats: %+v %v", st, err)
	}
}

func testState(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	if _, err := s.GetState(ctx, "cursor/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	if v, err := s.PutState(ctx, "cursor/a", []byte("1"), 0); err != nil || v != 1 {
		t.Fatalf("create: %d %v", v, err)
	}
	if _, err := s.PutState(ctx, "cursor/a", []byte("1"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
	if v, err := s.PutState(ctx, "cursor/a", []byte("2"), 1); err != nil || v != 2 {
		t.Fatalf("update: %d %v", v, err)
	}
	if _, err := s.PutState(ctx, "cursor/a", []byte("3"), 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale: %v", err)
	}
	s.PutState(ctx, "cursor/b", []byte("b"), 0)
	s.PutState(ctx, "cursos", []byte("x"), 0)
	list, err := s.ListState(ctx, "cursor/")
	if err != nil || len(list) != 2 || list[0].Key != "cursor/a" || string(list[0].Doc) != "2" || list[1].Key != "cursor/b" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.DeleteState(ctx, "cursor/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutState(ctx, "cursor/a", []byte("4"), 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update deleted: %v", err)
	}
}

func testReadLog(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	var evs []*event.Event
	for i := 0; i < 7; i++ {
		evs = append(evs, Rec(t, "111111111111", "us-east-1", fmt.Sprintf("E%d", i), Base, map[string]any{"eventCategory": "Data"}))
	}
	mustAppend(t, s, evs...)
	var got []string
	after := int64(0)
	for {
		page, err := s.ReadLog(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Seq <= after {
				t.Fatalf("seq %d after %d", e.Seq, after)
			}
			after = e.Seq
			got = append(got, names(store.Page{Events: []*event.Event{e}})...)
		}
	}
	if fmt.Sprint(got) != "[E0 E1 E2 E3 E4 E5 E6]" {
		t.Fatalf("read log: %v", got)
	}
}

func testTrails(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	row := store.TrailRow{ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/t1", Account: "111111111111",
		Region: "us-east-1", Name: "t1", Doc: []byte(`{"v":1}`)}
	if v, err := s.PutTrail(ctx, row, 0); err != nil || v != 1 {
		t.Fatalf("create: %d, %v", v, err)
	}
	if _, err := s.PutTrail(ctx, row, 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	row.Doc = []byte(`{"v":2}`)
	if v, err := s.PutTrail(ctx, row, 1); err != nil || v != 2 {
		t.Fatalf("update: %d, %v", v, err)
	}
	if _, err := s.PutTrail(ctx, row, 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	rows, err := s.Trails(ctx)
	if err != nil || len(rows) != 1 || string(rows[0].Doc) != `{"v":2}` || rows[0].Version != 2 || rows[0].Name != "t1" {
		t.Fatalf("trails: %+v, %v", rows, err)
	}
	if err := s.DeleteTrail(ctx, row.ARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTrail(ctx, row.ARN); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.PutTrail(ctx, row, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of deleted: %v", err)
	}
}

func q(account, region string) store.Query {
	return store.Query{Account: account, Region: region, Category: event.CategoryManagement,
		Start: Base.Add(-30 * 24 * time.Hour), End: Base.Add(30 * 24 * time.Hour), Limit: 50}
}

func mustAppend(t *testing.T, s store.Store, evs ...*event.Event) []store.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), evs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if len(res) != len(evs) {
		t.Fatalf("append: %d results for %d events", len(res), len(evs))
	}
	return res
}

func names(p store.Page) []string {
	var out []string
	for _, e := range p.Events {
		var r struct{ EventName string }
		_ = json.Unmarshal(e.Record, &r)
		out = append(out, r.EventName)
	}
	return out
}

func lookup(t *testing.T, s store.Store, qq store.Query) store.Page {
	t.Helper()
	p, err := s.Lookup(context.Background(), qq)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	return p
}

func eq(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func testOrder(t *testing.T, s store.Store) {
	defer s.Close()
	// Across several days, appended out of order.
	mustAppend(t, s,
		Rec(t, "111111111111", "us-east-1", "B", Base.Add(-48*time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "D", Base.Add(time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "A", Base.Add(-72*time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "C", Base, nil),
	)
	p := lookup(t, s, q("111111111111", "us-east-1"))
	if got := names(p); !eq(got, []string{"D", "C", "B", "A"}) {
		t.Fatalf("order = %v", got)
	}
	if p.Next != nil {
		t.Fatalf("unexpected next cursor")
	}
	for _, e := range p.Events {
		if e.Seq == 0 || e.ID == "" || e.Account != "111111111111" || e.Time.IsZero() {
			t.Fatalf("incomplete event %+v", e)
		}
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	defer s.Close()
	a := Rec(t, "111111111111", "us-east-1", "A", Base, map[string]any{"eventID": "11111111-2222-3333-4444-555555555555"})
	first := mustAppend(t, s, a)
	if first[0].Duplicate {
		t.Fatal("first append reported duplicate")
	}
	again := Rec(t, "111111111111", "us-east-1", "A", Base, map[string]any{"eventID": "11111111-2222-3333-4444-555555555555"})
	second := mustAppend(t, s, again, again)
	if !second[0].Duplicate || !second[1].Duplicate || second[0].Seq != first[0].Seq {
		t.Fatalf("re-append = %+v, want duplicates of seq %d", second, first[0].Seq)
	}
	// The same ID in another account is another event.
	other := mustAppend(t, s, Rec(t, "222222222222", "us-east-1", "A", Base, map[string]any{"eventID": "11111111-2222-3333-4444-555555555555"}))
	if other[0].Duplicate {
		t.Fatal("another account's event treated as duplicate")
	}
	if got := names(lookup(t, s, q("111111111111", "us-east-1"))); len(got) != 1 {
		t.Fatalf("events after re-append: %v", got)
	}
}

// byID returns the events of the account and region stored under eventID id.
func byID(t *testing.T, s store.Store, account, region, id string) []string {
	t.Helper()
	qq := q(account, region)
	qq.Attr, qq.Value = event.AttrEventID, id
	return names(lookup(t, s, qq))
}

// testIDConflict: an event whose (account, eventID) is stored with other
// content is a Conflict, not a Duplicate: nothing is written and the stored
// event stays (an event sent first with a guessed ID must not make the real
// one vanish as if it were a resend). The same content stays a Duplicate.
func testIDConflict(t *testing.T, s store.Store) {
	defer s.Close()
	const id = "aaaaaaaa-1111-2222-3333-444444444444"
	orig := Rec(t, "111111111111", "us-east-1", "Original", Base, map[string]any{"eventID": id})
	first := mustAppend(t, s, orig)
	if !first[0].Written() {
		t.Fatalf("first append = %+v", first[0])
	}
	resent := mustAppend(t, s, Rec(t, "111111111111", "us-east-1", "Original", Base, map[string]any{"eventID": id}))
	if !resent[0].Duplicate || resent[0].Conflict || resent[0].Seq != first[0].Seq {
		t.Fatalf("identical resend = %+v, want a duplicate of seq %d", resent[0], first[0].Seq)
	}
	// Other content under the same ID: another name, another parameter,
	// another identity.
	for _, other := range []*event.Event{
		Rec(t, "111111111111", "us-east-1", "Squatter", Base, map[string]any{"eventID": id}),
		Rec(t, "111111111111", "us-east-1", "Original", Base, map[string]any{"eventID": id, "requestParameters": map[string]any{"bucketName": "x"}}),
		Rec(t, "111111111111", "us-east-1", "Original", Base, map[string]any{"eventID": id,
			"userIdentity": map[string]any{"type": "IAMUser", "userName": "mallory", "accessKeyId": "AKIAMALLORY"}}),
	} {
		res := mustAppend(t, s, other)
		if !res[0].Conflict || res[0].Duplicate || res[0].Stored() || res[0].Seq != first[0].Seq {
			t.Fatalf("other content under a stored ID = %+v, want a conflict with seq %d", res[0], first[0].Seq)
		}
		if other.Seq != 0 {
			t.Fatalf("a refused event was given seq %d", other.Seq)
		}
	}
	if got := byID(t, s, "111111111111", "us-east-1", id); !eq(got, []string{"Original"}) {
		t.Fatalf("events under the ID after conflicts: %v, want [Original]", got)
	}
	if got := names(lookup(t, s, q("111111111111", "us-east-1"))); !eq(got, []string{"Original"}) {
		t.Fatalf("history after conflicts: %v, want [Original]", got)
	}
	// Another eventTime is other content too. A backend may key events by
	// eventTime as well (PostgreSQL partitions by it) and then store it as
	// another event; what none may do is drop it as a resend.
	later := Rec(t, "111111111111", "us-east-1", "Later", Base.Add(time.Hour), map[string]any{"eventID": id})
	res := mustAppend(t, s, later)
	switch {
	case res[0].Duplicate:
		t.Fatalf("an event with a stored ID and another eventTime = %+v: dropped as a resend", res[0])
	case res[0].Conflict:
		if res[0].Seq != first[0].Seq {
			t.Fatalf("conflict = %+v, want seq %d", res[0], first[0].Seq)
		}
	default:
		if res[0].Seq == first[0].Seq || later.Seq != res[0].Seq {
			t.Fatalf("an event with a stored ID and another eventTime = %+v (event seq %d)", res[0], later.Seq)
		}
		if got := names(lookup(t, s, q("111111111111", "us-east-1"))); !eq(got, []string{"Later", "Original"}) {
			t.Fatalf("history: %v, want [Later Original]", got)
		}
	}
	// The rule is per account: the ID in another account is another event.
	if res := mustAppend(t, s, Rec(t, "222222222222", "us-east-1", "Squatter", Base, map[string]any{"eventID": id})); !res[0].Written() {
		t.Fatalf("the ID in another account = %+v", res[0])
	}
}

// testIDConflictInOneAppend: within one append, a later event with an
// earlier one's ID is a duplicate of it when identical and a conflict when
// not; the first is the one stored.
func testIDConflictInOneAppend(t *testing.T, s store.Store) {
	defer s.Close()
	const id = "bbbbbbbb-1111-2222-3333-444444444444"
	a := Rec(t, "111111111111", "us-east-1", "First", Base, map[string]any{"eventID": id})
	b := Rec(t, "111111111111", "us-east-1", "Second", Base, map[string]any{"eventID": id})
	a2 := Rec(t, "111111111111", "us-east-1", "First", Base, map[string]any{"eventID": id})
	other := Rec(t, "111111111111", "us-east-1", "Other", Base, nil)
	res := mustAppend(t, s, a, b, a2, other)
	if !res[0].Written() || !res[3].Written() {
		t.Fatalf("new events = %+v, %+v", res[0], res[3])
	}
	if !res[1].Conflict || res[1].Seq != res[0].Seq {
		t.Fatalf("second event with the ID and other content = %+v, want a conflict with seq %d", res[1], res[0].Seq)
	}
	if !res[2].Duplicate || res[2].Conflict || res[2].Seq != res[0].Seq {
		t.Fatalf("identical copy = %+v, want a duplicate of seq %d", res[2], res[0].Seq)
	}
	if got := names(lookup(t, s, q("111111111111", "us-east-1"))); !eq(got, []string{"Other", "First"}) && !eq(got, []string{"First", "Other"}) {
		t.Fatalf("history: %v, want First and Other", got)
	}
}

// testIDConflictConcurrent: appends racing with one ID and different
// content store exactly one of them; every other is a conflict.
func testIDConflictConcurrent(t *testing.T, s store.Store) {
	defer s.Close()
	const id = "cccccccc-1111-2222-3333-444444444444"
	const writers = 6
	results := make([]store.AppendResult, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Append(context.Background(), []*event.Event{
				Rec(t, "111111111111", "us-east-1", fmt.Sprintf("Writer%d", w), Base, map[string]any{"eventID": id})})
			errs[w] = err
			if err == nil {
				results[w] = res[0]
			}
		}()
	}
	wg.Wait()
	written := 0
	for w, r := range results {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		switch {
		case r.Written():
			written++
		case !r.Conflict:
			t.Fatalf("writer %d = %+v, want written or a conflict", w, r)
		}
	}
	if got := byID(t, s, "111111111111", "us-east-1", id); written != 1 || len(got) != 1 {
		t.Fatalf("%d writers stored their event, the ID holds %v; want exactly one", written, got)
	}
}

func testAttributes(t *testing.T, s store.Store) {
	defer s.Close()
	acct := "111111111111"
	mustAppend(t, s,
		Rec(t, acct, "us-east-1", "PutBucketPolicy", Base, map[string]any{
			"eventID": "aaaaaaaa-0000-0000-0000-000000000001", "readOnly": false,
			"resources": []map[string]any{{"ARN": "arn:aws:s3:::audit-bucket", "type": "AWS::S3::Bucket"}}}),
		Rec(t, acct, "us-east-1", "ListBuckets", Base.Add(time.Minute), map[string]any{
			"eventID": "aaaaaaaa-0000-0000-0000-000000000002", "readOnly": true, "eventSource": "s3.amazonaws.com"}),
		Rec(t, acct, "us-east-1", "CreateUser", Base.Add(2*time.Minute), map[string]any{
			"eventID": "aaaaaaaa-0000-0000-0000-000000000003", "readOnly": false, "eventSource": "iam.amazonaws.com",
			"userIdentity": map[string]any{"type": "AssumedRole", "accessKeyId": "ASIAROLE",
				"sessionContext": map[string]any{"sessionIssuer": map[string]any{"userName": "deployer"}}},
			"resources": []map[string]any{{"ARN": "arn:aws:iam::111111111111:user/bob", "type": "AWS::IAM::User"}}}),
	)
	cases := []struct {
		attr  event.Attribute
		value string
		want  []string
	}{
		{event.AttrEventID, "aaaaaaaa-0000-0000-0000-000000000002", []string{"ListBuckets"}},
		{event.AttrEventName, "PutBucketPolicy", []string{"PutBucketPolicy"}},
		{event.AttrReadOnly, "true", []string{"ListBuckets"}},
		{event.AttrReadOnly, "false", []string{"CreateUser", "PutBucketPolicy"}},
		{event.AttrUsername, "alice", []string{"ListBuckets", "PutBucketPolicy"}},
		{event.AttrUsername, "deployer", []string{"CreateUser"}},
		{event.AttrResourceType, "AWS::S3::Bucket", []string{"PutBucketPolicy"}},
		{event.AttrResourceName, "arn:aws:s3:::audit-bucket", []string{"PutBucketPolicy"}},
		{event.AttrResourceName, "audit-bucket", []string{"PutBucketPolicy"}},
		{event.AttrResourceName, "bob", []string{"CreateUser"}},
		{event.AttrEventSource, "iam.amazonaws.com", []string{"CreateUser"}},
		{event.AttrAccessKeyID, "AKIAALICE", []string{"ListBuckets", "PutBucketPolicy"}},
		{event.AttrAccessKeyID, "ASIAROLE", []string{"CreateUser"}},
		{event.AttrEventName, "NoSuchEvent", nil},
		{event.AttrEventID, "no-such-id", nil},
	}
	for _, c := range cases {
		qq := q(acct, "us-east-1")
		qq.Attr, qq.Value = c.attr, c.value
		if got := names(lookup(t, s, qq)); !eq(got, c.want) {
			t.Errorf("%s=%s: got %v, want %v", c.attr, c.value, got, c.want)
		}
	}
}

func testPaging(t *testing.T, s store.Store) {
	defer s.Close()
	var evs []*event.Event
	for i := 0; i < 23; i++ {
		// Several events per second and across days, to exercise ties.
		evs = append(evs, Rec(t, "111111111111", "us-east-1", fmt.Sprintf("E%02d", i),
			Base.Add(time.Duration(i/3)*9*time.Hour), nil))
	}
	mustAppend(t, s, evs...)
	qq := q("111111111111", "us-east-1")
	qq.Limit = 5
	var all []string
	pages := 0
	for {
		p := lookup(t, s, qq)
		pages++
		all = append(all, names(p)...)
		if p.Next == nil {
			break
		}
		qq.After = p.Next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 23 || pages != 5 {
		t.Fatalf("paged %d events in %d pages: %v", len(all), pages, all)
	}
	seen := map[string]bool{}
	for _, n := range all {
		if seen[n] {
			t.Fatalf("%s returned twice", n)
		}
		seen[n] = true
	}
}

func testTimeRange(t *testing.T, s store.Store) {
	defer s.Close()
	mustAppend(t, s,
		Rec(t, "111111111111", "us-east-1", "Early", Base.Add(-time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "AtStart", Base, nil),
		Rec(t, "111111111111", "us-east-1", "AtEnd", Base.Add(time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "Late", Base.Add(2*time.Hour), nil),
	)
	qq := q("111111111111", "us-east-1")
	qq.Start, qq.End = Base, Base.Add(time.Hour)
	if got := names(lookup(t, s, qq)); !eq(got, []string{"AtEnd", "AtStart"}) {
		t.Fatalf("inclusive range: %v", got)
	}
}

func testWalls(t *testing.T, s store.Store) {
	defer s.Close()
	mustAppend(t, s,
		Rec(t, "111111111111", "us-east-1", "Mine", Base, nil),
		Rec(t, "222222222222", "us-east-1", "Theirs", Base, nil),
		Rec(t, "111111111111", "eu-west-1", "MineElsewhere", Base, nil),
	)
	if got := names(lookup(t, s, q("111111111111", "us-east-1"))); !eq(got, []string{"Mine"}) {
		t.Fatalf("account 1 us-east-1: %v", got)
	}
	if got := names(lookup(t, s, q("222222222222", "us-east-1"))); !eq(got, []string{"Theirs"}) {
		t.Fatalf("account 2: %v", got)
	}
	if got := names(lookup(t, s, q("111111111111", "eu-west-1"))); !eq(got, []string{"MineElsewhere"}) {
		t.Fatalf("eu-west-1: %v", got)
	}
	qq := q("222222222222", "us-east-1")
	qq.Attr, qq.Value = event.AttrEventName, "Mine"
	if got := names(lookup(t, s, qq)); len(got) != 0 {
		t.Fatalf("account 2 sees account 1's event: %v", got)
	}
}

func testData(t *testing.T, s store.Store) {
	defer s.Close()
	res := mustAppend(t, s,
		Rec(t, "111111111111", "us-east-1", "GetObject", Base, map[string]any{"eventCategory": "Data"}),
		Rec(t, "111111111111", "us-east-1", "CreateBucket", Base, nil),
	)
	if res[0].Seq == 0 {
		t.Fatal("data event not stored")
	}
	if got := names(lookup(t, s, q("111111111111", "us-east-1"))); !eq(got, []string{"CreateBucket"}) {
		t.Fatalf("history shows %v", got)
	}
}

func testPurge(t *testing.T, s store.Store) {
	defer s.Close()
	mustAppend(t, s,
		Rec(t, "111111111111", "us-east-1", "Old", Base.Add(-100*24*time.Hour), nil),
		Rec(t, "111111111111", "us-east-1", "New", Base, nil),
	)
	n, err := s.Purge(context.Background(), Base.Add(-90*24*time.Hour), store.ReadAll)
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v", n, err)
	}
	qq := q("111111111111", "us-east-1")
	qq.Start = Base.Add(-200 * 24 * time.Hour)
	if got := names(lookup(t, s, qq)); !eq(got, []string{"New"}) {
		t.Fatalf("after purge: %v", got)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	defer s.Close()
	var wg sync.WaitGroup
	const writers, per = 8, 50
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var evs []*event.Event
			for i := 0; i < per; i++ {
				evs = append(evs, Rec(t, "111111111111", "us-east-1", fmt.Sprintf("W%dE%d", w, i), Base.Add(time.Duration(i)*time.Second), nil))
			}
			if _, err := s.Append(context.Background(), evs); err != nil {
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	qq := q("111111111111", "us-east-1")
	total := 0
	for {
		p := lookup(t, s, qq)
		total += len(p.Events)
		if p.Next == nil {
			break
		}
		qq.After = p.Next
	}
	if total != writers*per {
		t.Fatalf("stored %d events, want %d", total, writers*per)
	}
	st, err := s.Stats(context.Background())
	if err != nil || st.LastSeq < int64(writers*per) || st.Bytes <= 0 {
		t.Fatalf("stats = %+v, %v", st, err)
	}
}
